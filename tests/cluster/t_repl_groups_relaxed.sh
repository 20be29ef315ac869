#!/usr/bin/env bash
# t_repl_groups_relaxed.sh - a group's new coordinator loads its partition to the
# log end under Kafka's own flush defaults (log.flush.interval.messages and
# log.flush.interval.ms at Long.MAX_VALUE: writes are acknowledged once written
# and synced only when a roll needs it). The follower's replica of the group's
# partition is then written but not synced when it becomes the leader; a load
# that waited for the durable end would never end (COORDINATOR_LOAD_IN_PROGRESS
# and a spinning shard), one that stopped there would answer older offsets.
#   commit 4242 twice (two batches); kill -9 of the coordinator: the new one
#   answers 4242 within the client's timeout, then takes a commit of 5000.
. "$(dirname "$0")/lib_repl.sh"

G=grelax
rp_up --override log.flush.interval.messages=9223372036854775807 \
    --override log.flush.interval.ms=9223372036854775807
ct 90 $CLC commit "$CL_BS" $G $RP_T 0,1,2 4000 || fail "first commit"
ct 90 $CLC commit "$CL_BS" $G $RP_T 0,1,2 4242 || fail "second commit"
wait_for 60 "a full ISR for __consumer_offsets" rp_isr_full __consumer_offsets 6
c=$(rp_coordinator $G) || exit 1
info "group $G committed 4000 then 4242; coordinator broker $c; flush intervals at Long.MAX_VALUE"
cl_kill9 "$c"
bs=$(cl_bs_without "$c")
rp_committed_is "$bs" $G 4242 "after coordinator $c's kill"
ct 60 $CLC commit "$bs" $G $RP_T 0,1,2 5000 || fail "commit after the kill"
rp_committed_is "$bs" $G 5000 "at the end"
info "after kill -9 of coordinator $c: the new one answered 4242, then took 5000"
