#!/usr/bin/env bash
# t_fetch_read_fault.sh - a segment file that cannot give back the bytes the log
# handed out, with each fetch path (fetch.file.transfer=splice and =read, the
# latter also with O_DIRECT reads and read-ahead: fetch.file.direct/readahead).
# A 1-partition topic with 1 MiB segments and no tail cache (every fetch is file
# bytes, sent by the connection's shard) gets ~3 MiB; then the first, closed
# segment is cut in the middle of its last batch behind the broker's back (its
# index and headers still describe the whole batch). A Fetch from offset 0
# (py_fetch_err.py, max 1 MiB: all of segment 0) must end with the connection
# closed (the response was partly sent when the read came up short), the
# broker must log the partition offline, and the next Fetch must answer
# KAFKA_STORAGE_ERROR (56). The broker still stops cleanly.
. "$(dirname "$0")/lib.sh"

TOPIC=rf

run_path() {
    local path=$1 direct=${2:-false}
    rb_start --override num.partitions=1 --override log.segment.bytes=1048576 \
        --override log.tail.cache.bytes=0 --override fetch.file.transfer=$path \
        --override fetch.file.direct=$direct --override fetch.file.readahead=$direct
    local bs
    bs=$(rb_bootstrap)
    "$PY" -c 'import sys
for i in range(3000): sys.stdout.write("r%d-%s\n" % (i, "x" * 1000))' |
        ct 60 "$KCAT" -b "$bs" -P -t "$TOPIC" -X acks=all -X linger.ms=5 \
            -X allow.auto.create.topics=true 2>"$T_TMP/p.err" ||
        fail "$path: kcat -P rc=$? $(tail -3 "$T_TMP/p.err")"
    local seg=$RB_DIR/$TOPIC-0/00000000000000000000.log
    [ "$(ls "$RB_DIR/$TOPIC-0"/*.log | wc -l)" -ge 2 ] || fail "$path: segment 0 not rolled"
    # cut segment 0 inside the data of its last batch
    local cut
    cut=$("$PY" - "$seg" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
pos = last = 0
while pos + 12 <= len(b):
    n = struct.unpack(">i", b[pos + 8:pos + 12])[0]
    if n <= 0 or pos + 12 + n > len(b):
        break
    last, pos = pos, pos + 12 + n
total = pos - last
assert total > 200, total
print(last + 61 + (total - 61) // 2)
PY
    ) || fail "$path: cannot parse $seg"
    truncate -s "$cut" "$seg"
    info "$path: cut segment 0 to $cut bytes"
    if ct 20 "$PY" "$ROOT/tests/clients/py_fetch_err.py" "$bs" $TOPIC 0 >"$T_TMP/f1.out" 2>&1; then
        fail "$path: first fetch answered: $(cat "$T_TMP/f1.out")"
    fi
    grep -q "connection closed" "$T_TMP/f1.out" || fail "$path: first fetch: $(tail -3 "$T_TMP/f1.out")"
    local ok=
    for _ in $(seq 1 20); do
        grep -q "$TOPIC-0 is offline: a read of its log failed" "$RB_LOG" && ok=1 && break
        sleep 0.1
    done
    [ -n "$ok" ] || fail "$path: no 'offline' report in the broker log"
    ct 20 "$PY" "$ROOT/tests/clients/py_fetch_err.py" "$bs" $TOPIC 0 >"$T_TMP/f2.out" 2>&1 ||
        fail "$path: second fetch: $(tail -3 "$T_TMP/f2.out")"
    grep -q "fetch $TOPIC-0 error=56" "$T_TMP/f2.out" ||
        fail "$path: second fetch: want error=56, got $(cat "$T_TMP/f2.out")"
    info "$path: connection closed on the short read, then KAFKA_STORAGE_ERROR (partition offline)"
    rb_stop
    rm -rf "$RB_DIR"
}

run_path splice
run_path read
run_path read true
