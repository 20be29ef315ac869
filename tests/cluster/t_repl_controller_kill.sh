#!/usr/bin/env bash
# t_repl_controller_kill.sh - kill -9 of the controller under an idempotent
# acks=all load on a replicated topic (issue 11 item 7c). Another broker takes
# /controller, the partitions the killed broker led get new leaders from their
# ISR, the producer carries on; the killed broker is restarted and rejoins every
# ISR; the checker reads everything back: 0 lost, 0 duplicates, order kept.
# CL_ETCD=1 runs the same on etcd (t_etcd_repl_controller_kill.sh).
. "$(dirname "$0")/lib_repl.sh"

rp_up
rp_load_start
c=$(cl_controller)
[[ "$c" =~ ^[123]$ ]] || fail "no controller ('$c')"
sleep 1
cl_kill9 "$c"
new_ctl() { local n; n=$(cl_controller); [ -n "$n" ] && [ "$n" != "$c" ]; }
wait_for $((CL_SESSION_MS / 1000 + 30)) "a new controller" new_ctl
info "controller $c killed; new controller $(cl_controller)"
for p in $(seq 0 $((RP_PARTS - 1))); do
    secs=$(rp_wait_progress "$p" $((CL_SESSION_MS / 1000 + 30))) ||
        fail "no acknowledgement for partition $p after the controller's kill"
    info "partition $p: acknowledged again ${secs} s after the new controller (leader $(rp_leader "$p"))"
done
cl_start "$c"
wait_for 90 "broker $c back in every ISR" rp_isr_full
rp_load_stop
rp_check
