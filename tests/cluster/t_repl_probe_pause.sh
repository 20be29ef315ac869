#!/usr/bin/env bash
# t_repl_probe_pause.sh - the liveness probes never take a paused broker for dead
# (issue 11 item 8), with default settings (zookeeper.session.timeout.ms 18000,
# broker.liveness.probe.interval.ms 300), under the idempotent acks=all load.
#   Partition 0's leader P is paused with SIGSTOP for 6 s (20 probe intervals, a
#   third of the session timeout): the kernel still completes the probes'
#   handshakes into its listen backlog, so no probe is refused. Throughout the
#   pause /brokers/ids/P stays, and after SIGCONT it is the same registration
#   (same data: the registration's timestamp); no survivor logged P dead; P is
#   still partition 0's leader and the load carries on. Its registration deleted
#   by hand while it lives, it registers again (time printed).
#   Then P is killed with -9:
#   its registration is gone within 8 s (far less than the 18 s session: the
#   probes are on and find a dead broker), it is restarted and rejoins every ISR,
#   and the checker reads everything back: 0 lost, 0 duplicates, order kept.
# CL_ETCD=1 runs the same on etcd.
CL_SESSION_MS=${CL_SESSION_MS:-18000}
. "$(dirname "$0")/lib_repl.sh"

probed_dead() { cat "$CL_DIR"/broker-*/broker.log 2>/dev/null | grep -c "broker $1 refused .* it is dead"; }

rp_up
rp_load_start
P=$(rp_leader 0) || fail "no Metadata for partition 0"
[[ "$P" =~ ^[123]$ ]] || fail "partition 0 has no leader ('$P')"
reg0=$(cl_q_get "/brokers/ids/$P") || fail "broker $P is not registered"
d0=$(probed_dead "$P")
sleep 1
cl_pause "$P"
end=$((SECONDS + 6))
while [ $SECONDS -lt $end ]; do
    cl_q_get "/brokers/ids/$P" >/dev/null || { cl_cont "$P"; fail "the paused broker $P's registration was removed (session alive)"; }
    sleep 0.3
done
cl_cont "$P"
reg1=$(cl_q_get "/brokers/ids/$P") || fail "broker $P is not registered after SIGCONT"
[ "$reg1" = "$reg0" ] || fail "broker $P registered again during the pause: '$reg0' -> '$reg1'"
[ "$(probed_dead "$P")" = "$d0" ] || fail "a survivor's probes declared the paused broker $P dead"
[ "$(rp_leader 0)" = "$P" ] || fail "partition 0's leader moved off the paused broker $P (now $(rp_leader 0))"
secs=$(rp_wait_progress 0 30) || fail "no acknowledgement for partition 0 within 30 s of SIGCONT"
info "broker $P paused 6 s: still registered (same registration), still leader of partition 0, acknowledged again ${secs} s after SIGCONT"

# A live broker whose registration vanished (an operator, or probes that were
# wrong) registers again: at once through its watch on /brokers/ids (the time is
# printed; bounded only loosely, as its lease renewal every session/6 = 3 s would
# also do it).
cl_q_del "/brokers/ids/$P" || fail "deleting /brokers/ids/$P"
t0=$(date +%s.%N)
back() { local r; r=$(cl_q_get "/brokers/ids/$P" 2>/dev/null) && [ "$r" != "$reg0" ]; }
wait_for 10 "broker $P registered again after its registration was deleted" back
info "broker $P's registration deleted while it lives: registered again after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s (polled)"
grep -q "/brokers/ids/$P is gone: registering again" "$CL_DIR/broker-$P/broker.log" ||
    fail "broker $P did not log its registering again"
wait_for 30 "every partition led again with a full ISR" rp_isr_full

cl_kill9 "$P"
t0=$(date +%s.%N)
gone() { ! cl_q_get "/brokers/ids/$P" >/dev/null 2>&1; }
wait_for 8 "broker $P's registration removed by the probes (session timeout ${CL_SESSION_MS} ms)" gone
info "broker $P killed: registration removed after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s (polled)"
cl_start "$P"
wait_for 60 "broker $P back in every ISR" rp_isr_full
rp_load_stop
rp_check
