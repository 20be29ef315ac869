#!/usr/bin/env bash
# t_repl_groups_moves.sh - a group's coordinator moves with the leadership of its
# __consumer_offsets partition, and every broker that becomes coordinator
# answers the offsets committed last, whatever it held in memory before.
# offsets.retention.check.interval.ms=100 makes every broker's offset expiry
# timer run every 100 ms: the timer loads the __consumer_offsets partitions of
# its shard, and it must leave the partitions the broker only follows alone
# (the CI failure of t_repl_groups: a follower loaded its replica before the
# commit reached it, kept it as loaded, and answered -1001 once it led).
#   1. commit 4242; the coordinator C (leader of the group's partition) is
#      killed (SIGKILL); the new coordinator answers 4242; commit 5000 there.
#   2. C restarts, catches up; a preferred election gives C the partition
#      back: C answers 5000.
#   3. C is paused past its session: the partition moves away; commit 6000 on
#      the new coordinator; C resumes, follows, catches up; a preferred
#      election gives it the partition again: C answers 6000 (not the 5000 it
#      held in memory as the partition's leader before the pause).
. "$(dirname "$0")/lib_repl.sh"

G=gmove
rp_up --override offsets.retention.check.interval.ms=100 --override auto.leader.rebalance.enable=false
ct 90 $CLC commit "$CL_BS" $G $RP_T 0,1,2 4242 || fail "first commit"
wait_for 60 "a full ISR for __consumer_offsets" rp_isr_full __consumer_offsets 6
c=$(rp_coordinator $G) || exit 1
# the group's partition: Kafka's abs(String.hashCode) % offsets.topic.num.partitions
gp=$(python3 -c "
h = 0
for ch in '$G': h = (31 * h + ord(ch)) & 0xffffffff
h = h - (1 << 32) if h >= 1 << 31 else h
print((0 if h == -(1 << 31) else abs(h)) % 6)")
pref=$(cl_json "$(cl_meta 1)" "d['topics']['__consumer_offsets']['partitions']['$gp']['replicas'][0]")
[ "$pref" = "$c" ] || fail "coordinator $c is not the preferred replica ($pref) of __consumer_offsets-$gp"
sleep 1 # several expiry passes on every broker
info "1: group $G on __consumer_offsets-$gp, coordinator broker $c"

cl_kill9 "$c"
bs=$(cl_bs_without "$c")
rp_committed_is "$bs" $G 4242 "after coordinator $c's kill"
ct 90 $CLC commit "$bs" $G $RP_T 0,1,2 5000 || fail "commit after the kill"
co2=$(ct 30 $CLC coordinator "${bs%%,*}" $G)
info "1: after the kill of $c the new coordinator ($co2) answered 4242; committed 5000"

preferred() { # C leads the group's partition in every running broker's view
    local i
    for i in $(cl_ids); do
        [ -n "$(cl_pid "$i")" ] || continue
        [ "$(cl_leader "$i" __consumer_offsets "$gp")" = "$c" ] || return 1
    done
}
elect_preferred() {
    local i
    for i in $(seq 1 5); do
        ct 60 "$ROOT/build/bin/ringctl" leaders --preferred --topic __consumer_offsets \
            --zookeeper "$CL_ZK" >"$T_TMP/rl.out" 2>&1 || fail "ringctl leaders --preferred: $(cat "$T_TMP/rl.out")"
        for _ in $(seq 1 30); do
            preferred && return 0
            sleep 0.3
        done
    done
    fail "broker $c does not lead __consumer_offsets-$gp after 5 preferred elections: $(cat "$T_TMP/rl.out")"
}

cl_start "$c"
wait_for 90 "broker $c back in every ISR of __consumer_offsets" rp_isr_full __consumer_offsets 6
elect_preferred
rp_committed_is "$(cl_addr "$c")" $G 5000 "from broker $c leading again"
info "2: broker $c leads __consumer_offsets-$gp again and answers 5000"

cl_pause "$c"
moved() { # another broker leads the group's partition in the others' view
    local i l
    for i in $(cl_ids); do
        [ "$i" = "$c" ] && continue
        l=$(cl_leader "$i" __consumer_offsets "$gp")
        [ "$l" -ge 0 ] && [ "$l" != "$c" ] || return 1
    done
}
wait_for 60 "__consumer_offsets-$gp led by another broker" moved
ct 90 $CLC commit "$bs" $G $RP_T 0,1,2 6000 || fail "commit while $c is paused"
cl_cont "$c"
wait_for 90 "broker $c back in every ISR of __consumer_offsets" rp_isr_full __consumer_offsets 6
elect_preferred
rp_committed_is "$(cl_addr "$c")" $G 6000 "from broker $c after its pause"
rp_committed_is "$CL_BS" $G 6000 "at the end"
info "3: after its pause broker $c leads __consumer_offsets-$gp again and answers 6000"
