#!/usr/bin/env bash
# t_repl_partition.sh - the leader of a partition cut off from the other brokers
# but not from ZooKeeper nor from the clients, under an idempotent acks=all load
# (issue 11 item 7e).
#   Harness: the whole test runs in its own network namespace (unshare -n, its
#   own loopback, so its iptables rules touch nobody else); the load runs as
#   uid 65534 and the brokers as root, so one rule, OUTPUT tcp to the port of L
#   from uid 0 DROP, cuts every broker's connection to L (the followers' fetches,
#   the controller's requests; the test's own Metadata calls to L too) while the
#   producer still reaches it and L still reaches ZooKeeper and the other brokers.
#   L is the leader of a partition P and not the controller.
#   During the cut: L stays registered (its session is fine), the other
#   partitions keep being acknowledged; L's followers stop fetching, L takes them
#   out of P's ISR (its own write: ISR [L]) and from then on acknowledges nothing
#   for P (min.insync.replicas=2). The rule is removed: the followers catch up,
#   P's ISR is full again and P acknowledged again (times printed); the checker
#   reads everything back: 0 lost, 0 duplicates, order kept.
# Needs root (unshare -n, iptables, setpriv).
if [ -z "${RP_NETNS:-}" ]; then
    [ "$(id -u)" = 0 ] || { echo "FAIL: t_repl_partition: needs root (unshare -n, iptables)"; exit 1; }
    # shellcheck disable=SC2016 # $0 expands in the inner bash
    RP_NETNS=1 exec unshare -n bash -c 'ip link set lo up && exec bash "$0"' "$0"
fi
. "$(dirname "$0")/lib_repl.sh"

command -v iptables >/dev/null || fail "iptables missing"
rp_up --override replica.lag.time.max.ms=3000
rp_load_start 65534 # the load as uid 65534: the cut does not apply to it
rp_pick_led_off_controller
st() { cl_q_get "/brokers/topics/$RP_T/partitions/$P/state" | "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
info "partition $P: leader $L (controller $c), ISR $(st "sorted(d['isr'])")"
sleep 2
iptables -A OUTPUT -p tcp --dport "$(cl_port "$L")" -m owner --uid-owner 0 -j DROP || fail "iptables"
t0=$SECONDS
info "broker $L cut off from the other brokers (port $(cl_port "$L") from uid 0 dropped)"
isr_is_l() { [ "$(st "d['isr']")" = "[$L]" ]; }
wait_for 60 "P's ISR shrunk to [$L] by its leader" isr_is_l
info "partition $P: ISR [$L] $((SECONDS - t0)) s into the cut (leader $(st "d['leader']"), epoch $(st "d['leader_epoch']"))"
sleep 1
n1=$(rp_acks_of "$P")
for p in $(seq 0 $((RP_PARTS - 1))); do
    [ "$p" = "$P" ] && continue
    rp_wait_progress "$p" 20 >/dev/null || fail "partition $p: no acknowledgement during the cut"
done
rp_hold_registered "$L" "$t0"
n2=$(rp_acks_of "$P")
[ "$n2" = "$n1" ] || fail "partition $P: $((n2 - n1)) acknowledgements with ISR [$L] (min.insync.replicas=2)"
info "during the cut ($((SECONDS - t0)) s): $L registered throughout, leader of $P $(st "d['leader']"), 0 acknowledgements for $P with ISR [$L]; the other partitions acknowledged"
iptables -D OUTPUT -p tcp --dport "$(cl_port "$L")" -m owner --uid-owner 0 -j DROP || fail "iptables -D"
th=$SECONDS
secs=$(rp_wait_progress "$P" 60) || fail "partition $P: no acknowledgement within 60 s of the heal"
info "healed: partition $P acknowledged again after ${secs} s"
wait_for 90 "a full ISR everywhere after the heal" rp_isr_full
info "every ISR full $((SECONDS - th)) s after the heal"
rp_load_stop
rp_check
