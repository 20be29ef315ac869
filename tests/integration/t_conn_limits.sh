#!/usr/bin/env bash
# t_conn_limits.sh - max.connections, max.connections.per.ip and
# connections.max.idle.ms are enforced (issue 13 item 10).
#
#   A. max.connections=10 (broker-wide, 2 shards): of 30 connections the broker
#      closes exactly 20 at once; a new client is served once they are gone.
#   B. max.connections.per.ip=5: of 12 connections from 127.0.0.1, 7 are closed.
#   C. connections.max.idle.ms=1000: 5 idle connections are all closed within
#      3 s, while a client that keeps talking is served.
#   D. the defaults close none of 50 connections held for 2 s.
. "$(dirname "$0")/lib.sh"

flood() { # N HOLD_S -> prints the number the broker closed
    ct 60 "$PY" "$ROOT/tests/clients/py_conn_flood.py" "$(rb_bootstrap)" "$1" "$2" >"$T_TMP/f.out" 2>&1 ||
        fail "flood: $(cat "$T_TMP/f.out")"
    grep -q "^open $1\$" "$T_TMP/f.out" || fail "flood did not open $1: $(cat "$T_TMP/f.out")"
    awk '/^closed_by_broker/ {print $2}' "$T_TMP/f.out"
}
served() {
    ct 20 "$KCAT" -L -b "$(rb_bootstrap)" >"$T_TMP/l.out" 2>&1 || fail "$1: kcat -L not served: $(cat "$T_TMP/l.out")"
}

rb_start --override num.shards=2 --override max.connections=10
got=$(flood 30 2)
[ "$got" = 20 ] || fail "max.connections=10: broker closed $got of 30 (want 20)"
served A
info "A: max.connections=10: 20 of 30 closed, then served"
rb_stop

rb_start --override num.shards=2 --override max.connections.per.ip=5
got=$(flood 12 2)
[ "$got" = 7 ] || fail "max.connections.per.ip=5: broker closed $got of 12 (want 7)"
served B
info "B: max.connections.per.ip=5: 7 of 12 closed, then served"
rb_stop

rb_start --override num.shards=2 --override connections.max.idle.ms=1000
"$PY" - "$(rb_bootstrap)" >"$T_TMP/busy.out" 2>&1 <<'PY' &
import socket, struct, sys, time
host, port = sys.argv[1].split(":")
s = socket.create_connection((host, int(port)), timeout=5)
hdr = struct.pack(">hhih", 18, 0, 1, 4) + b"busy"
for i in range(12):  # ApiVersions every 250 ms for 3 s: never idle for 1 s
    s.sendall(struct.pack(">i", len(hdr)) + hdr)
    n = struct.unpack(">i", s.recv(4))[0]
    while n > 0:
        n -= len(s.recv(n))
    time.sleep(0.25)
print("busy ok")
PY
bpid=$!
got=$(flood 5 3)
wait "$bpid" || fail "a busy connection was closed as idle: $(cat "$T_TMP/busy.out")"
[ "$got" = 5 ] || fail "connections.max.idle.ms=1000: broker closed $got of 5 idle (want 5)"
served C
info "C: connections.max.idle.ms=1000: 5 of 5 idle closed, the busy one kept"
rb_stop

rb_start --override num.shards=2
got=$(flood 50 2)
[ "$got" = 0 ] || fail "defaults: broker closed $got of 50"
info "D: defaults: none of 50 closed"
rb_stop
exit 0
