#!/usr/bin/env bash
# t_repl_groups.sh - __consumer_offsets replicated (issue 11 item 5): with
# offsets.topic.replication.factor 3 (the default) the topic gets 3 replicas; a
# group commits offsets; the group's coordinator (the leader of its
# __consumer_offsets partition) is killed with SIGKILL; the new leader of that
# partition becomes the coordinator, has loaded the group's offsets from its
# replica, and answers them (librdkafka, confluent-kafka); a commit after the
# failover works and survives the old coordinator's return.
. "$(dirname "$0")/lib_repl.sh"

rp_up
G=gfail
ct 90 $CLC commit "$CL_BS" $G $RP_T 0,1,2 4242 || fail "first commit"
rf=$(cl_json "$(cl_meta 1)" "len(d['topics']['__consumer_offsets']['partitions']['0']['replicas'])")
[ "$rf" = 3 ] || fail "__consumer_offsets has $rf replicas (offsets.topic.replication.factor 3)"
wait_for 60 "a full ISR for __consumer_offsets" rp_isr_full __consumer_offsets 6
c=$(rp_coordinator $G) || exit 1
info "group $G committed 4242 on 3 partitions; coordinator broker $c; __consumer_offsets RF $rf"
cl_kill9 "$c"
bs=$(cl_bs_without "$c")
got=$(ct 90 $CLC committed "$bs" $G $RP_T 0,1,2) || fail "committed after the failover: $got"
[ "$got" = "0:4242,1:4242,2:4242" ] || fail "committed offsets after the coordinator's kill: '$got', want 4242 each"
a=${bs%%,*}
co2=$(ct 30 $CLC coordinator "$a" $G)
info "after kill -9 of coordinator $c: new coordinator ($co2) answers $got"
ct 90 $CLC commit "$bs" $G $RP_T 0,1,2 5000 || fail "commit after the failover"
cl_start "$c"
wait_for 90 "broker $c back in every ISR of __consumer_offsets" rp_isr_full __consumer_offsets 6
got=$(ct 90 $CLC committed "$CL_BS" $G $RP_T 0,1,2) || fail "committed at the end: $got"
[ "$got" = "0:5000,1:5000,2:5000" ] || fail "committed offsets at the end: '$got', want 5000 each"
info "after broker $c's return: $got"
