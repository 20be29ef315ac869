#!/usr/bin/env bash
# t_broker_pause_orphaned.sh - a paused broker survives the end of the job that
# started it.
#   The CI of 2026-12-07 lost the paused brokers of t_repl_hw_checkpoint and
#   t_repl_reassign_failover without a line in their logs: the brokers of one
#   `tools/cluster.sh up` shared a process group; with one of them paused
#   (SIGSTOP), the exit of another orphaned that group, and the kernel sends
#   SIGHUP then SIGCONT to every member of a group orphaned while a member is
#   stopped. The broker died of the SIGHUP. (There the trigger was the exit of a
#   broker whose parent, init, shares the CI runner's session; here the same
#   kernel rule is met through the job that started the broker.)
#   Steps: broker 3 is restarted by a job that runs in a process group of its own
#   (as a shell with job control would) and stays alive; broker 3 is paused; the
#   job exits. Before tools/cluster.sh gave each broker its own session, broker 3
#   was in that job's group and got the SIGHUP here. Now it must still be paused,
#   rejoin the ISR after SIGCONT, and the records acknowledged before and after
#   must all read back.
#   A broker that does get a SIGHUP shuts down cleanly and says so
#   (tests/integration/t_sighup.sh).
. "$(dirname "$0")/lib_repl.sh"

RP_PARTS=1
rp_up
B=3
out=$(ct 90 $CLC produce "$CL_BS" $RP_T 0 200 0 "$T_TMP/acks") || fail "produce: $out"
info "$out"

cl_term $B
# The job: its own process group in this session, starts broker 3, waits for
# $T_TMP/release, exits.
"$PY" - "$ROOT/tools/cluster.sh" "$CL_DIR" $B "$T_TMP/release" "$T_TMP/job.pid" <<'EOF' &
import os, subprocess, sys, time
tool, d, b, release, pidf = sys.argv[1:]
os.setpgid(0, 0)
open(pidf, "w").write(str(os.getpid()))
r = subprocess.run([tool, "start-broker", b, "--dir", d], stdout=subprocess.DEVNULL)
if r.returncode != 0:
    sys.exit(r.returncode)
for _ in range(1200):
    if os.path.exists(release):
        sys.exit(0)
    time.sleep(0.1)
sys.exit(3)
EOF
job=$!
started() { [ -n "$(cl_pid $B)" ]; }
wait_for 60 "broker $B started by the job" started
wait_for 60 "broker $B back in the ISR" rp_isr_full
jpg=$(ps -o pgid= -p "$(cat "$T_TMP/job.pid")" | tr -d ' ')
bpg=$(ps -o pgid= -p "$(cl_pid $B)" | tr -d ' ')
bsid=$(ps -o sid= -p "$(cl_pid $B)" | tr -d ' ')
info "job process group $jpg; broker $B: pid $(cl_pid $B), process group $bpg, session $bsid"

cl_pause $B
touch "$T_TMP/release"
wait "$job" || fail "the job that started broker $B failed (rc=$?)"
sleep 1 # the kernel's SIGHUP, had there been one, is delivered by now
p=$(cl_pid $B)
st=$(ps -o stat= -p "$p" 2>/dev/null) || fail "broker $B (pid $p) is gone after its starter's process group was orphaned: $(tail -3 "$CL_DIR/broker-$B/broker.log")"
[[ "$st" == Z* ]] && fail "broker $B (pid $p) died after its starter's process group was orphaned: $(tail -3 "$CL_DIR/broker-$B/broker.log")"
[[ "$st" == T* ]] || fail "broker $B is no longer paused (state '$st'): it got a SIGCONT with the orphaned group's SIGHUP"
grep -q "received SIGHUP" "$CL_DIR/broker-$B/broker.log" && fail "broker $B received SIGHUP"
info "broker $B still paused (state $st) after the job exited"

cl_cont $B
out=$(ct 90 $CLC produce "$CL_BS" $RP_T 200 200 0 "$T_TMP/acks") || fail "produce after the pause: $out"
wait_for 60 "broker $B back in the ISR after SIGCONT" rp_isr_full
rp_check
