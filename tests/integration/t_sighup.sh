#!/usr/bin/env bash
# t_sighup.sh - SIGHUP stops the broker cleanly, as it stops Kafka; a fatal
# signal leaves a report in the log.
#   A. kill -HUP: the broker logs "received SIGHUP: shutting down", closes its
#      logs ("shut down cleanly"), exits 0; the 500 acknowledged records read
#      back after a restart.
#   B. the kernel's SIGHUP: the broker runs in a job's process group, is paused
#      (SIGSTOP), and the job exits. The group is orphaned with a stopped member,
#      so the kernel sends it SIGHUP then SIGCONT. Before this test the broker
#      died of that SIGHUP without a line (the CI of 2026-12-07 lost two paused
#      cluster brokers so). Now it shuts down cleanly and says why; 500 more
#      records were acknowledged before, all 1000 read back.
#   C. kill -SEGV: the log names the fatal signal (cmd/crash.c; under ASan, the
#      sanitizer's own report) and the broker dies of it.
. "$(dirname "$0")/lib.sh"

T=hup
produce() { # first n
    seq "$1" $(($1 + $2 - 1)) | ct 60 "$KCAT" -P -b "$(rb_bootstrap)" -t $T -X acks=all \
        >"$T_TMP/p.out" 2>&1 || fail "produce $2 from $1: $(tail -3 "$T_TMP/p.out")"
}
count() {
    ct 60 "$KCAT" -C -b "$(rb_bootstrap)" -t $T -o beginning -e -q 2>"$T_TMP/c.err" | wc -l
}
clean_stop_logged() { # log why
    grep -q "received SIGHUP: shutting down" "$1" || fail "$2: no 'received SIGHUP' in the log: $(tail -3 "$1")"
    grep -q "shut down cleanly" "$1" || fail "$2: no clean shutdown in the log: $(tail -3 "$1")"
}

# A
rb_start
produce 1 500
kill -HUP "$RB_PID"
deadline=$((SECONDS + STOP_WAIT))
while _rb_alive "$RB_PID"; do
    [ $SECONDS -lt $deadline ] || fail "A: broker still running ${STOP_WAIT}s after SIGHUP"
    sleep 0.1
done
wait "$RB_PID"
rc=$?
[ $rc = 0 ] || fail "A: exit status $rc after SIGHUP (want 0)"
clean_stop_logged "$RB_LOG" A
info "A: SIGHUP: $(grep -o 'received SIGHUP.*' "$RB_LOG" | head -1); exit 0"

# B: started by a job in its own process group; the job exits while it is paused
RB_NSTART=$((RB_NSTART + 1))
RB_LOG=$T_TMP/broker.$RB_NSTART.log
"$PY" - "$RB_BIN" "$RB_CONFIG" "$RB_PORT" "$RB_DIR" "$RB_LOG" "$T_TMP/release" "$T_TMP/bpid" <<'EOF' &
import os, sys, time
binp, cfg, port, d, log, release, pidf = sys.argv[1:]
os.setpgid(0, 0)
b = os.fork()
if b == 0:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    os.execv(binp, [binp, cfg, "--override", "listeners=PLAINTEXT://127.0.0.1:" + port,
                    "--override", "log.dirs=" + d])
open(pidf, "w").write(str(b))
for _ in range(1200):
    if os.path.exists(release):
        os._exit(0)
    time.sleep(0.05)
os._exit(3)
EOF
job=$!
for _ in $(seq 1 200); do [ -s "$T_TMP/bpid" ] && break; sleep 0.05; done
bpid=$(cat "$T_TMP/bpid") || fail "B: the job did not start the broker"
RB_PIDS+=("$bpid")
for _ in $(seq 1 200); do rb_port_open "$RB_PORT" && break; sleep 0.1; done
rb_port_open "$RB_PORT" || fail "B: broker not accepting on $RB_PORT"
[ "$(count)" = 500 ] || fail "B: $(count) records after the restart, want 500"
produce 501 500
kill -STOP "$bpid"
# the group stop completes when every thread has stopped, later than kill returns
# on a loaded machine: the kernel sends the SIGHUP only to a group that has a
# stopped member when it becomes orphaned
stopped() { [[ "$(ps -o stat= -p "$bpid" 2>/dev/null)" == T* ]]; }
for _ in $(seq 1 100); do stopped && break; sleep 0.1; done
stopped || fail "B: broker $bpid not stopped 10 s after SIGSTOP (state $(ps -o stat= -p "$bpid"))"
touch "$T_TMP/release"
wait "$job" || fail "B: the job failed (rc=$?)"
deadline=$((SECONDS + STOP_WAIT))
while _rb_alive "$bpid"; do
    [ $SECONDS -lt $deadline ] || fail "B: broker $bpid still running ${STOP_WAIT}s after its group was orphaned (state $(ps -o stat= -p "$bpid"))"
    sleep 0.1
done
clean_stop_logged "$RB_LOG" B
info "B: orphaned while stopped: $(grep -o 'received SIGHUP.*' "$RB_LOG" | head -1)"

# C
rb_restart
n=$(count)
[ "$n" = 1000 ] || fail "C: $n records after the restart, want 1000"
info "C: 1000 records read back after both SIGHUP stops"
kill -SEGV "$RB_PID"
wait "$RB_PID"
rc=$?
[ $rc -ne 0 ] || fail "C: exit status 0 after SIGSEGV"
grep -q "ringbroker: fatal signal SEGV\|AddressSanitizer" "$RB_LOG" ||
    fail "C: no crash report in the log after SIGSEGV: $(tail -5 "$RB_LOG")"
info "C: SIGSEGV: exit status $rc; $(grep -m1 'fatal signal SEGV\|AddressSanitizer' "$RB_LOG")"
exit 0
