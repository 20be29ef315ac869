#!/usr/bin/env bash
# t_repl_partition2.sh - the leader of a partition cut off from the other brokers
# in both directions, still reaching ZooKeeper and reached by the clients, under
# an idempotent acks=all load (issue 11 item 7e, the two-way cut; the one-way cut
# is t_repl_partition.sh).
#   Harness: the test runs in its own network namespace (unshare -n); broker I runs
#   as uid 61000+I (tools/cluster.sh CLUSTER_BROKER_UID_BASE) and the load as uid
#   65534, so iptables' owner match cuts exactly the broker-to-broker links of L:
#   L's packets to the other brokers' ports and theirs to L's port are dropped
#   (connects hang, no refusal: the liveness probes must not call L dead).
#   L leads a partition P and is not the controller; L also follows the other
#   brokers' partitions.
#   During the cut: L stays registered and leader of P; its followers stop
#   fetching, L shrinks P's ISR to [L] and acknowledges nothing for P
#   (min.insync.replicas=2); the partitions L follows drop L from their ISR and
#   keep being acknowledged with two replicas. After the heal: every ISR full
#   again, P acknowledged again (times printed); the checker reads everything
#   back: 0 lost, 0 duplicates, order kept.
# Needs root (unshare -n, iptables, setpriv).
if [ -z "${RP_NETNS:-}" ]; then
    [ "$(id -u)" = 0 ] || { echo "FAIL: t_repl_partition2: needs root (unshare -n, iptables)"; exit 1; }
    # shellcheck disable=SC2016 # $0 expands in the inner bash
    RP_NETNS=1 exec unshare -n bash -c 'ip link set lo up && exec bash "$0"' "$0"
fi
. "$(dirname "$0")/lib_repl.sh"

command -v iptables >/dev/null || fail "iptables missing"
UIDB=61000
export CLUSTER_BROKER_UID_BASE=$UIDB
chmod 755 "$T_TMP"
rp_up --override replica.lag.time.max.ms=3000
for i in 1 2 3; do
    u=$(ps -o uid= -p "$(cl_pid "$i")" | tr -d ' ')
    [ "$u" = $((UIDB + i)) ] || fail "broker $i runs as uid $u, not $((UIDB + i))"
done
rp_load_start 65534 # the load as uid 65534: the cut does not apply to it
rp_pick_led_off_controller
# st PART EXPR: a field of the partition's state node
st() { cl_q_get "/brokers/topics/$RP_T/partitions/$1/state" | "$PY" -c "import json,sys; d=json.load(sys.stdin); print($2)"; }
# the partitions L follows (led by another broker)
F=()
for p in $(seq 0 $((RP_PARTS - 1))); do
    [ "$(st "$p" "d['leader']")" != "$L" ] && F+=("$p")
done
[ ${#F[@]} -gt 0 ] || fail "broker $L leads every partition: nothing to follow"
info "partition $P: leader $L (controller $c), ISR $(st "$P" "sorted(d['isr'])"); $L follows ${F[*]}"
others=()
for i in 1 2 3; do [ "$i" != "$L" ] && others+=("$i"); done
rules=("-p tcp -m owner --uid-owner $((UIDB + L)) -m multiport --dports $(cl_port "${others[0]}"),$(cl_port "${others[1]}") -j DROP")
for o in "${others[@]}"; do
    rules+=("-p tcp -m owner --uid-owner $((UIDB + o)) --dport $(cl_port "$L") -j DROP")
done
sleep 2
for r in "${rules[@]}"; do
    # shellcheck disable=SC2086 # a rule is words
    iptables -A OUTPUT $r || fail "iptables -A OUTPUT $r"
done
t0=$SECONDS
info "broker $L cut off from brokers ${others[*]} both ways (${#rules[@]} rules)"
isr_is_l() { [ "$(st "$P" "d['isr']")" = "[$L]" ]; }
wait_for 60 "P's ISR shrunk to [$L] by its leader" isr_is_l
info "partition $P: ISR [$L] $((SECONDS - t0)) s into the cut (leader $(st "$P" "d['leader']"), epoch $(st "$P" "d['leader_epoch']"))"
l_out() {
    local p
    for p in "${F[@]}"; do
        [ "$(st "$p" "$L in d['isr']")" = False ] || return 1
    done
}
wait_for 60 "broker $L out of the ISR of the partitions it follows (${F[*]})" l_out
info "partitions ${F[*]}: ISR without $L $((SECONDS - t0)) s into the cut"
sleep 1
n1=$(rp_acks_of "$P")
for p in "${F[@]}"; do
    rp_wait_progress "$p" 20 >/dev/null || fail "partition $p: no acknowledgement during the cut"
done
rp_hold_registered "$L" "$t0"
n2=$(rp_acks_of "$P")
[ "$n2" = "$n1" ] || fail "partition $P: $((n2 - n1)) acknowledgements with ISR [$L] (min.insync.replicas=2)"
[ "$(st "$P" "d['leader']")" = "$L" ] || fail "partition $P: leader moved to $(st "$P" "d['leader']") during the cut"
info "during the cut ($((SECONDS - t0)) s): $L registered throughout, leader of $P, 0 acknowledgements for $P with ISR [$L]; partitions ${F[*]} acknowledged with 2 replicas"
for r in "${rules[@]}"; do
    # shellcheck disable=SC2086 # a rule is words
    iptables -D OUTPUT $r || fail "iptables -D OUTPUT $r"
done
th=$SECONDS
secs=$(rp_wait_progress "$P" 60) || fail "partition $P: no acknowledgement within 60 s of the heal"
info "healed: partition $P acknowledged again after ${secs} s"
wait_for 90 "a full ISR everywhere after the heal" rp_isr_full
info "every ISR full $((SECONDS - th)) s after the heal"
rp_load_stop
rp_check
exit 0
