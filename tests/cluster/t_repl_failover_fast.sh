#!/usr/bin/env bash
# t_repl_failover_fast.sh - failover time with DEFAULT settings (issue 11 item 8):
# zookeeper.session.timeout.ms 18000 (Kafka's), broker.liveness.probe.interval.ms
# 300 (ours): a broker killed with -9 refuses its listener's connects, the other
# brokers' probes remove its registration (and /controller) at the second refusal,
# and the controller elects new leaders then, not ~18 s later at session expiry.
#   Rounds 1-3: the leader of partition (round mod 3) is killed with SIGKILL; its
#   failover time (kill until the idempotent acks=all producer gets its next
#   acknowledgement for that partition) is printed; the broker is restarted and
#   rejoins every ISR. Round 4: the controller is killed with SIGKILL; the time
#   until every partition is acknowledged again is printed, and a new controller
#   must be in place. Each wait is bounded as a liveness check only (15 s: less than the
#   session timeout, so a failover that waited for the expiry fails). The probes
#   must be what found the dead broker (its removal is logged by a survivor).
#   The checker then reads everything back: 0 lost, 0 duplicates, order kept.
# CL_ETCD=1 runs the same on etcd (the lease TTL is the session timeout).
CL_SESSION_MS=${CL_SESSION_MS:-18000}
. "$(dirname "$0")/lib_repl.sh"

BOUND=15

# The acknowledgement counts of every partition, space-separated.
acks_all() { local p; for p in $(seq 0 $((RP_PARTS - 1))); do printf '%s ' "$(rp_acks_of "$p")"; done; }

# wait_all_progress "COUNTS" T0: until every partition has an acknowledgement
# beyond COUNTS; prints the seconds since T0.
wait_all_progress() {
    local n0 p deadline=$((SECONDS + BOUND)) ok
    read -r -a n0 <<<"$1"
    while :; do
        ok=1
        for p in $(seq 0 $((RP_PARTS - 1))); do
            [ "$(rp_acks_of "$p")" -gt "${n0[$p]}" ] || ok=0
        done
        [ $ok = 1 ] && break
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
    awk -v a="$2" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f\n", b - a }'
}

# How many times the survivors' probes declared broker $1 dead (logged).
probed_dead() { cat "$CL_DIR"/broker-*/broker.log 2>/dev/null | grep -c "broker $1 refused .* it is dead"; }

rp_up
rp_load_start
times=""
for round in 1 2 3; do
    p=$((round % RP_PARTS))
    l=$(rp_leader $p) || fail "no Metadata for partition $p"
    [[ "$l" =~ ^[123]$ ]] || fail "round $round: partition $p has no leader ('$l')"
    sleep 1
    d0=$(probed_dead "$l")
    cl_kill9 "$l"
    secs=$(rp_wait_progress $p $BOUND) ||
        fail "round $round: no acknowledgement for partition $p within ${BOUND} s of killing its leader $l"
    [ "$(probed_dead "$l")" -gt "$d0" ] || fail "round $round: no survivor's probes declared broker $l dead"
    info "round $round: partition $p leader $l killed; new leader $(rp_leader $p); produce acknowledged again after ${secs} s"
    times="$times $secs"
    cl_start "$l"
    wait_for 60 "broker $l back in every ISR" rp_isr_full
done

c=$(cl_controller)
[[ "$c" =~ ^[123]$ ]] || fail "no controller ('$c')"
sleep 1
d0=$(probed_dead "$c")
n0=$(acks_all)
t0=$(date +%s.%N)
cl_kill9 "$c"
# every partition's next acknowledgement first (polling the acks file is cheap;
# a quorum reader per poll would add its own second to the figure)
all_secs=$(wait_all_progress "$n0" "$t0") ||
    fail "not every partition acknowledged again within ${BOUND} s of killing the controller $c"
new_ctl() { local n; n=$(cl_controller); [ -n "$n" ] && [ "$n" != "$c" ]; }
wait_for $BOUND "a new controller within ${BOUND} s" new_ctl
[ "$(probed_dead "$c")" -gt "$d0" ] || fail "no survivor's probes declared the controller $c dead"
info "controller $c killed: every partition acknowledged again after ${all_secs} s; new controller $(cl_controller)"
cl_start "$c"
wait_for 60 "broker $c back in every ISR" rp_isr_full
rp_load_stop
rp_check
info "failover times (s; session timeout ${CL_SESSION_MS} ms, probe interval 300 ms): leaders:$times; controller: $all_secs"
