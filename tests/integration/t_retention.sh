#!/usr/bin/env bash
# t_retention.sh - log start offset: DeleteRecords (API 21) and retention.bytes.
# 1. DeleteRecords v1 (raw wire, Python) to offset 400 of a 1-partition topic:
#    low_watermark 400, consumers start at 400, an offset beyond the high
#    watermark gets OFFSET_OUT_OF_RANGE (1); the start offset survives a restart
#    (log-start-offset-checkpoint).
# 2. retention.bytes with small segments: the retention timer drops old segment
#    files (off the shard), the log start offset moves, what is left is readable;
#    the dropped files wait as *.deleted (log.segment.delete.delay.ms, 60 s default).
# 3. A restart removes leftover *.deleted files; with file.delete.delay.ms 1000
#    (topic config) they are unlinked about a second after retention renames them.
. "$(dirname "$0")/lib.sh"

rt=$(rb_client rb_roundtrip)
rb_start --override num.partitions=1 --override log.segment.bytes=60000 \
    --override log.retention.check.interval.ms=300
bs=$(rb_bootstrap)
ct 60 "$rt" produce -b "$bs" -t dr -n 1000 -a "$T_TMP/a.dr" >/dev/null 2>"$T_TMP/p.err" ||
    fail "produce: $(tail -3 "$T_TMP/p.err")"

delete_records() { # topic partition offset -> "low_watermark error"
    timeout 15 "$PY" - "$RB_PORT" "$1" "$2" "$3" <<'PY'
import socket, struct, sys
port, topic, part, off = int(sys.argv[1]), sys.argv[2].encode(), int(sys.argv[3]), int(sys.argv[4])
body = struct.pack(">i", 1) + struct.pack(">h", len(topic)) + topic
body += struct.pack(">i", 1) + struct.pack(">iq", part, off) + struct.pack(">i", 5000)
hdr = struct.pack(">hhi", 21, 1, 7) + struct.pack(">h", 2) + b"it"
msg = hdr + body
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(struct.pack(">i", len(msg)) + msg)
def rd(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: raise SystemExit("closed")
        b += c
    return b
n = struct.unpack(">i", rd(4))[0]
r = rd(n)
corr, thr, nt = struct.unpack(">iii", r[:12])
tl = struct.unpack(">h", r[12:14])[0]
p = 14 + tl
np_, pi, lw, err = struct.unpack(">iiqh", r[p:p + 18])
print(lw, err)
PY
}
res=$(delete_records dr 0 400) || fail "DeleteRecords failed"
[ "$res" = "400 0" ] || fail "DeleteRecords to 400: got '$res'"
res=$(delete_records dr 0 5000) || fail "DeleteRecords failed"
[ "$res" = "-1 1" ] || fail "DeleteRecords beyond HW: got '$res', want OFFSET_OUT_OF_RANGE"
first=$(ct 20 "$KCAT" -C -b "$bs" -t dr -p 0 -o beginning -c 1 -e -q -f '%o\n')
[ "$first" = 400 ] || fail "first offset after DeleteRecords: $first"
info "DeleteRecords: low watermark 400, consumers start at 400, beyond HW -> error 1"
rb_stop
rb_restart
first=$(ct 20 "$KCAT" -C -b "$bs" -t dr -p 0 -o beginning -c 1 -e -q -f '%o\n')
[ "$first" = 400 ] || fail "first offset after restart: $first (log-start-offset-checkpoint)"
grep -q "^dr 0 400$" "$RB_DIR/log-start-offset-checkpoint" || fail "log-start-offset-checkpoint lacks dr 0 400"
info "log start offset 400 survives a restart"
rb_stop

rb_restart --override log.retention.bytes=150000
for i in $(seq 0 14); do # one producer run per ~50 KB batch: many segments
    ct 60 "$rt" produce -b "$bs" -t ret -n 400 -s $((i * 400)) -a "$T_TMP/a.ret" >/dev/null \
        2>"$T_TMP/p2.err" || fail "produce: $(tail -3 "$T_TMP/p2.err")"
done
rolled=$(grep -c "ret-0: rolled new segment" "$RB_LOG")
deadline=$((SECONDS + 10))
while :; do
    first=$(ct 20 "$KCAT" -C -b "$bs" -t ret -p 0 -o beginning -c 1 -e -q -f '%o\n')
    [ "${first:-0}" -gt 0 ] && break
    [ $SECONDS -lt $deadline ] || fail "retention never moved the log start ($rolled rolls)"
    sleep 0.3
done
sleep 0.5
after=$(ls "$RB_DIR"/ret-0/*.log | wc -l)
[ ! -e "$RB_DIR/ret-0/00000000000000000000.log" ] && [ "$after" -lt $((rolled + 1)) ] ||
    fail "segment files not deleted: $((rolled + 1)) segments, $after files left"
grep -q "ret-0: deleting .* segment(s)" "$RB_LOG" || fail "no deletion logged"
ndel=$(ls "$RB_DIR"/ret-0/ | grep -c '\.log\.deleted$')
[ "$ndel" -gt 0 ] || fail "dropped segments not kept as *.log.deleted for the delete delay"
total=$(ct 30 "$KCAT" -C -b "$bs" -t ret -p 0 -o beginning -e -q -f '%o\n' | wc -l)
last=$(awk '{print $2}' "$T_TMP/a.ret" | sort -n | tail -1)
[ "$total" = $((last + 1 - first)) ] || fail "after retention read $total records from $first, want $((last + 1 - first))"
info "retention.bytes: $((rolled + 1)) -> $after segment files ($ndel *.log.deleted), log start $first, $total records readable"
rb_stop

rb_restart --override log.retention.bytes=150000
left=$(ls "$RB_DIR"/ret-0/ | grep -c '\.deleted$')
[ "$left" = 0 ] || fail "restart left $left *.deleted files"
total2=$(ct 30 "$KCAT" -C -b "$bs" -t ret -p 0 -o beginning -e -q -f '%o\n' | wc -l)
[ "$total2" = "$total" ] || fail "after restart read $total2 records, want $total"
CTL=${RINGCTL_BIN:-$(dirname "$RB_BIN")/ringctl}
ct 30 "$CTL" configs --bootstrap-server "$bs" --entity-type topics --entity-name ret --alter \
    --add-config file.delete.delay.ms=1000 >/dev/null 2>"$T_TMP/cfg.err" ||
    fail "alter file.delete.delay.ms: $(tail -3 "$T_TMP/cfg.err")"
for i in $(seq 15 22); do
    ct 60 "$rt" produce -b "$bs" -t ret -n 400 -s $((i * 400)) -a "$T_TMP/a.ret" >/dev/null \
        2>"$T_TMP/p3.err" || fail "produce: $(tail -3 "$T_TMP/p3.err")"
done
deadline=$((SECONDS + 10))
until grep -q "ret-0: removing .* deleted segment(s)" "$RB_LOG"; do
    [ $SECONDS -lt $deadline ] || fail "*.deleted files never removed after file.delete.delay.ms"
    sleep 0.3
done
sleep 1.5 # the last drops' delay
deadline=$((SECONDS + 10))
while [ "$(ls "$RB_DIR"/ret-0/ | grep -c '\.deleted$')" != 0 ]; do
    [ $SECONDS -lt $deadline ] || fail "*.deleted files left: $(ls "$RB_DIR"/ret-0/)"
    sleep 0.3
done
info "restart removed the *.deleted files; with file.delete.delay.ms=1000 they go after the delay"
rb_stop
exit 0
