#!/usr/bin/env bash
# t_repl_leader_kill.sh - kill -9 of the leader of each partition in turn, 6
# bounces, under an idempotent acks=all load (issue 11 item 7a).
#   Each round: the leader L of partition (round mod 3) is killed with SIGKILL; the
#   failover time is the time until the producer gets its next acknowledgement
#   for that partition (printed; bounded only as a liveness check: session
#   timeout + 30 s); L is restarted and the round ends once every partition has
#   a full ISR again (L caught up and rejoined). At the end the checker reads
#   everything back: 0 lost, 0 duplicates, order kept, counts printed.
# CL_ETCD=1 runs the same on etcd (t_etcd_repl_leader_kill.sh).
. "$(dirname "$0")/lib_repl.sh"

rp_up
rp_load_start
times=""
for round in 1 2 3 4 5 6; do
    p=$((round % RP_PARTS))
    l=$(rp_leader $p) || fail "no Metadata for partition $p"
    [[ "$l" =~ ^[123]$ ]] || fail "round $round: partition $p has no leader ('$l')"
    sleep 1
    cl_kill9 "$l"
    secs=$(rp_wait_progress $p $((CL_SESSION_MS / 1000 + 30))) ||
        fail "round $round: no acknowledgement for partition $p within the session timeout + 30 s of killing its leader $l"
    nl=$(rp_leader $p)
    info "round $round: partition $p leader $l killed; new leader $nl; produce acknowledged again after ${secs} s"
    times="$times $secs"
    cl_start "$l"
    wait_for 90 "broker $l back in every ISR" rp_isr_full
done
rp_load_stop
rp_check
info "failover times (s, session timeout ${CL_SESSION_MS} ms):$times"
