#!/usr/bin/env bash
# t_restart_probe.sh - a broker restarts at once on its port after a kill -9, and
# a broker started on a port someone else listens on exits with a message.
# 1. start, produce (acks=all) with consumers connected, kill -9, restart at once
#    on the same port and dir: it must come up on the first try (the old
#    connections in TIME_WAIT do not keep the port: SO_REUSEADDR), and read back
#    everything acknowledged.
# 2. a second broker (own log dir) on the first one's port: non-zero exit within
#    a bound (no hang, and no sharing the port through SO_REUSEPORT), a message
#    naming the port and the listening process; the first broker still serves.
# 3. the same against a port held by a plain (non-broker) listener.
. "$(dirname "$0")/lib.sh"

rb_start --override num.partitions=2
bs=$(rb_bootstrap)
printf 'r%d\n' $(seq 1 50) | ct 30 "$KCAT" -P -b "$bs" -t rp -p 0 -X acks=all ||
    fail "produce failed"
# connections that are open when the broker dies (they go to TIME_WAIT)
ct 30 "$KCAT" -C -b "$bs" -t rp -p 0 -o 0 -c 50 -e -q >/dev/null || fail "first read failed"
(ct 20 "$KCAT" -C -b "$bs" -t rp -p 1 -o 0 -q >/dev/null 2>&1 &)
sleep 1
rb_kill9
rb_restart # fails the test when the broker exits at startup (e.g. cannot bind)
grep -qi "cannot bind" "$RB_LOG" && fail "restart after kill -9 complained about the port"
got=$(ct 30 "$KCAT" -C -b "$bs" -t rp -p 0 -o 0 -c 50 -e -q | tr '\n' ' ')
[ "$got" = "$(printf 'r%d ' $(seq 1 50))" ] || fail "after kill -9 read '$got'"
info "restarted at once on port $RB_PORT after kill -9; 50 acknowledged records read back"

# second broker on the same port, its own log dir
second() { # port logfile -> exit status of a broker started on port (bounded)
    mkdir -p "$T_TMP/second"
    timeout 30 "$RB_BIN" "$T_TMP/server.properties" \
        --override "listeners=PLAINTEXT://127.0.0.1:$1" \
        --override "log.dirs=$T_TMP/second" 2>"$2" >&2
}
: >"$T_TMP/server.properties"
second "$RB_PORT" "$T_TMP/second.log"
rc=$?
[ $rc -ne 0 ] || fail "a second broker on taken port $RB_PORT exited 0"
[ $rc -ne 124 ] || fail "a second broker on taken port $RB_PORT still ran after 30 s (shares the port?)"
grep -q "127.0.0.1:$RB_PORT.*in use by another process: pid $RB_PID (ringbroker)" \
    "$T_TMP/second.log" || {
    cat "$T_TMP/second.log" >&2
    fail "the second broker's message does not name the port and pid $RB_PID"
}
info "second broker on port $RB_PORT: exit $rc, '$(grep -o 'cannot bind.*' "$T_TMP/second.log" | head -1)'"
got=$(ct 30 "$KCAT" -C -b "$bs" -t rp -p 0 -o 0 -c 50 -e -q | wc -l)
[ "$got" -eq 50 ] || fail "the first broker read back $got records after the second one tried"

# a port held by something that is not a broker
port=$(rb_free_port) || fail "no free port"
"$PY" -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(1); time.sleep(60)' "$port" &
holder=$!
RB_PIDS+=("$holder")
for _ in $(seq 1 50); do rb_port_open "$port" && break; sleep 0.1; done
second "$port" "$T_TMP/third.log"
rc=$?
kill "$holder" 2>/dev/null
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "a broker on port $port held by python: exit $rc"
grep -q "in use by another process: pid $holder (python" "$T_TMP/third.log" || {
    cat "$T_TMP/third.log" >&2
    fail "the message does not name the python listener $holder"
}
info "broker on a port held by pid $holder: exit $rc with the holder named"
rb_stop
exit 0
