#!/usr/bin/env bash
# t_isr.sh - the ISR on a real ZooKeeper ensemble, 3 brokers, topic "isr" (1
# partition, RF 3, min.insync.replicas=2,
# replica.lag.time.max.ms=1500):
#   1. a follower paused (SIGSTOP, shorter than its session) while records arrive
#      leaves the ISR by the leader's own write (leader epoch unchanged: not the
#      controller's), an acks=all produce sent meanwhile is acknowledged once it
#      did; after SIGCONT it catches up and the leader adds it back;
#      the controller consumed the /isr_change_notification nodes;
#   2. both followers killed (kill -9): the controller takes them out of the ISR
#      (leader epoch bumped), acks=all is refused with NOT_ENOUGH_REPLICAS, acks=1
#      is accepted;
#   3. one follower restarted: it catches up, joins, acks=all works again.
. "$(dirname "$0")/lib.sh"

command -v kcat >/dev/null || fail "kcat missing (tools/install-deps.sh)"
cl_up --override replica.lag.time.max.ms=1500
k44_setup
T=isr
jrun 90 $K_TOPICS --bootstrap-server "$(cl_addr 1)" --create --topic $T --partitions 1 \
    --replication-factor 3 --config min.insync.replicas=2 >"$T_TMP/j.out" 2>&1 ||
    fail "kafka-topics --replication-factor 3: $(tail -5 "$T_TMP/j.out")"
wait_for 30 "a leader for $T-0" cl_topic_led $T 1
ST=/brokers/topics/$T/partitions/0/state
st() { cl_q_get $ST | "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
isr_is() { [ "$(st "sorted(d['isr'])")" = "$1" ]; }
wait_for 30 "ISR [1, 2, 3]" isr_is "[1, 2, 3]"
L=$(st "d['leader']")
E0=$(st "d['leader_epoch']")
F=$(cl_ids | grep -vx "$L" | tr '\n' ' ')
set -- $F
F1=$1 F2=$2
info "$T-0: leader $L, followers $F1 $F2, leader epoch $E0"
send() { # acks n: n records to isr-0 through the leader; kcat's exit status
    seq "$2" | ct 20 kcat -P -b "$(cl_addr "$L")" -t $T -p 0 -X acks="$1" \
        -X message.timeout.ms=8000 -X retries=0 2>>"$T_TMP/kcat.err"
}
send all 100 || fail "acks=all with the full ISR: $(tail -3 "$T_TMP/kcat.err")"

# 1. lag: F1 paused while records arrive
cl_pause "$F1"
t0=$SECONDS
send 1 50 || fail "acks=1 while $F1 is paused"
send all 10 || fail "acks=all while $F1 is paused (should complete once $F1 left the ISR): $(tail -3 "$T_TMP/kcat.err")"
s_isr=$(st "sorted(d['isr'])")
s_ep=$(st "d['leader_epoch']")
cl_cont "$F1"
[ $((SECONDS - t0)) -lt 6 ] || fail "the pause outlasted the session ($((SECONDS - t0)) s)"
[ "$s_isr" = "[$((L < F2 ? L : F2)), $((L < F2 ? F2 : L))]" ] || fail "ISR while $F1 was paused: $s_isr"
[ "$s_ep" = "$E0" ] || fail "leader epoch moved ($E0 -> $s_ep): the controller did it, not the leader"
info "paused follower $F1 left the ISR by the leader's write after <= $((SECONDS - t0)) s; acks=all acknowledged then"
wait_for 30 "$F1 back in the ISR" isr_is "[1, 2, 3]"
[ "$(st "d['leader_epoch']")" = "$E0" ] || fail "leader epoch moved on the expand"
notes() { [ -z "$(cl_q_ls /isr_change_notification)" ]; }
wait_for 20 "the controller consumed the ISR change notifications" notes
info "$F1 caught up and joined again (leader epoch $E0 throughout); notifications consumed"

# 2. both followers gone: NOT_ENOUGH_REPLICAS
cl_kill9 "$F1"
cl_kill9 "$F2"
wait_for 30 "ISR [$L] (dead followers removed by the controller)" isr_is "[$L]"
E1=$(st "d['leader_epoch']")
[ "$E1" -gt "$E0" ] || fail "leader epoch after the controller's shrink: $E1"
: >"$T_TMP/kcat.err"
if send all 1; then fail "acks=all accepted with an ISR of 1 < min.insync.replicas=2"; fi
grep -qi "not enough in-sync replicas\|NOT_ENOUGH_REPLICAS" "$T_TMP/kcat.err" ||
    fail "acks=all refusal: $(tail -3 "$T_TMP/kcat.err")"
send 1 5 || fail "acks=1 with an ISR of 1: $(tail -3 "$T_TMP/kcat.err")"
info "ISR [$L] (epoch $E0 -> $E1): acks=all refused with NOT_ENOUGH_REPLICAS, acks=1 accepted"

# 3. a follower back: it catches up, joins, acks=all works
cl_start "$F1"
wait_for 60 "$F1 back in the ISR" isr_is "[$((L < F1 ? L : F1)), $((L < F1 ? F1 : L))]"
send all 10 || fail "acks=all after $F1 rejoined: $(tail -3 "$T_TMP/kcat.err")"
info "restarted $F1 caught up and joined the ISR; acks=all accepted again"
