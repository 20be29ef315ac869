#!/usr/bin/env bash
# t_repl_unclean.sh - no unclean leader election unless unclean.leader.election.enable
# (issue 11 item 3), and a diverged old leader truncated when it comes back.
#   Topic uc (1 partition, RF 3, min.insync.replicas=1, created by Kafka 2.8.2's
#   TopicCommand --zookeeper), replica.lag.time.max.ms=3000:
#   1. A1: 100 records acknowledged (acks=all) with the full ISR.
#   2. both followers killed (SIGKILL): the ISR shrinks to the leader L; A2: 100
#      more acknowledged by L alone.
#   3. L killed, follower F restarted: F is not in the ISR, so the partition
#      stays without a leader (unclean election off, the default) for 10 s.
#   4. unclean.leader.election.enable=true on the topic (Kafka 2.8.2's
#      ConfigCommand --zookeeper): F leads; A1 is all there (A2 is what an unclean
#      election loses, by definition).
#   5. L restarted: its log diverged (A2 at offsets F reused), it truncates and
#      rejoins the ISR; A3: 100 more; the checker reads A1 + A3 back exactly
#      (0 lost, 0 duplicates, order kept) and none of A2.
. "$(dirname "$0")/lib_repl.sh"

rp_up --override replica.lag.time.max.ms=3000
k28_topics --create --topic uc --partitions 1 --replication-factor 3 --config min.insync.replicas=1 ||
    k28_fail "TopicCommand --create uc"
wait_for 60 "a full ISR for uc" rp_isr_full uc 1
state() { cl_q_get /brokers/topics/uc/partitions/0/state; }
field() { cl_json "$(state)" "d['$1']"; }
l=$(field leader)
fs=$(cl_ids | grep -vx "$l" | tr '\n' ' ')
f=${fs%% *}
info "uc-0: leader $l, followers $fs"
ct 120 $CLC produce "$CL_BS" uc 0 100 0 "$T_TMP/a1" || fail "A1"
for x in $fs; do cl_kill9 "$x"; done
isr_is_leader() { [ "$(cl_json "$(state)" "d['isr']")" = "$l" ]; }
wait_for 30 "the ISR to shrink to [$l]" isr_is_leader
ct 120 $CLC produce "$(cl_addr "$l")" uc 1000 100 0 "$T_TMP/a2" || fail "A2 (acks=all, ISR [$l], min.insync 1)"
cl_kill9 "$l"
cl_start "$f"
sleep 10
[ "$(field leader)" = -1 ] || fail "uc-0 got leader $(field leader) from outside the ISR with unclean election off: $(state)"
info "unclean election off: uc-0 without a leader 10 s after its ISR [$l] died ($(state))"
k28_configs --alter --entity-type topics --entity-name uc --add-config unclean.leader.election.enable=true ||
    k28_fail "ConfigCommand --alter uc"
led_by_f() { [ "$(field leader)" = "$f" ]; }
wait_for 30 "broker $f to lead uc-0 after unclean.leader.election.enable=true" led_by_f
info "unclean election on: broker $f leads uc-0 ($(state))"
cl_start "$l"
for x in $fs; do [ -n "$(cl_pid "$x")" ] || cl_start "$x"; done
wait_for 90 "broker $l (diverged) truncated and all 3 back in the ISR" rp_isr_full uc 1
grep -h "uc-0: truncating\|uc-0 diverged" "$CL_DIR/broker-$l/broker.log" | sed 's/^/info: broker '"$l"': /' | head -3
ct 120 $CLC produce "$CL_BS" uc 2000 100 0 "$T_TMP/a3" || fail "A3"
CL_CHECK_ORDER=1 ct 120 $CLC consume "$CL_BS" uc 0 "$T_TMP/a1" "$T_TMP/a3" >"$T_TMP/c.out" 2>&1 ||
    fail "checker: $(cat "$T_TMP/c.out")"
info "$(cat "$T_TMP/c.out")"
grep -q "^consume uc: 200 records read, 200 acknowledged, 0 lost" "$T_TMP/c.out" ||
    fail "uc holds other than A1 + A3 (A2 must be gone): $(cat "$T_TMP/c.out")"
