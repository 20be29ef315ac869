#!/usr/bin/env bash
# t_repl_zk_kill.sh - kill -9 of one quorum node under an idempotent acks=all load
# on a replicated topic (issue 11 item 7d).
#   1. the leader of the ZooKeeper ensemble is killed: for twice the session
#      timeout every partition keeps being acknowledged (the wait for each
#      partition's next acknowledgement is printed), every broker stays
#      registered, a controller stays; the node is restarted and rejoins;
#   2. the same with a follower of the ensemble.
#   At the end every partition has a full ISR and the checker reads everything
#   back: 0 lost, 0 duplicates, order kept, counts printed.
# CL_ETCD=1 runs the same on etcd, killing the etcd leader member, then a
# follower member (t_etcd_repl_zk_kill.sh).
. "$(dirname "$0")/lib_repl.sh"

rp_up
rp_load_start
steady() {
    [ "$(cl_q_ls /brokers/ids | tr '\n' ' ')" = "1 2 3 " ] || return 1
    [ -n "$(cl_controller)" ]
}
for role in leader follower; do
    if [ $role = leader ]; then
        victim=$(cl_q_status | awk '$NF == "leader" {print $2}')
    else
        victim=$(cl_q_status | awk '$NF != "leader" {print $2}' | head -1)
    fi
    [[ "$victim" =~ ^[123]$ ]] || fail "no quorum $role in: $(cl_q_status | tr '\n' ';')"
    sleep 1
    t0=$SECONDS
    cl_q_kill "$victim"
    info "quorum ($role $victim killed): $(cl_q_status | tr '\n' ';')"
    waits=""
    while [ $((SECONDS - t0)) -lt $((2 * CL_SESSION_MS / 1000)) ]; do
        for p in $(seq 0 $((RP_PARTS - 1))); do
            secs=$(rp_wait_progress "$p" 15) ||
                fail "partition $p: no acknowledgement for 15 s, $((SECONDS - t0)) s after killing quorum $role $victim"
            waits="$waits $secs"
        done
        steady || fail "brokers unregistered or no controller $((SECONDS - t0)) s after killing quorum $role $victim"
        sleep 1
    done
    max=$(echo "$waits" | tr ' ' '\n' | sort -g | tail -1)
    info "quorum $role $victim down $((SECONDS - t0)) s: every partition acknowledged throughout (longest wait ${max} s)"
    cl_q_start "$victim"
    info "quorum after restart: $(cl_q_status | tr '\n' ';')"
    wait_for 30 "a steady cluster after quorum node $victim came back" steady
    wait_for 60 "a full ISR after quorum node $victim came back" rp_isr_full
done
rp_load_stop
rp_check
