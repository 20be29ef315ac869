#!/usr/bin/env bash
# t_fetch_readahead.sh - the read-ahead of consumer streams (net/readahead.c;
# fetch.file.direct=true fetch.file.readahead=true) gives back exactly what was
# written while the streams move: two partitions read side by side, a stream that
# jumps back and forward, segments deleted by retention (DeleteRecords) under a
# stream's read-ahead, segments rolling while a stream reads at the log end, and
# a connection gone quiet that must not keep deleted segments on the disk.
# A broker with a tiny tail cache (256 KiB: file reads) and 4 MiB segments gets
# N records per partition (0..1,200 bytes each, value a function of partition and
# offset) from kcat; tests/clients/py_fetch_ahead.py then reads over one
# connection and checks every record's offset and value (its header says how).
# The broker's metrics must show file bytes found read ahead, it must log no
# error, and a second run with fetch.file.readahead.bytes=1048576 (one stage per
# stream) must pass the same checks.
. "$(dirname "$0")/lib.sh"

N=40000
M=8000
TOPIC=fa
(cd "$T_TMP" && "$PY" "$IT_DIR/../clients/py_fetch_ahead.py" gen $N $M) || fail "gen"

file_bytes() { # WHEN: ringbroker_fetch_file_read_bytes_total{when="WHEN"}
    ct 10 curl -sf "http://127.0.0.1:$MPORT/metrics" |
        awk -v w="{when=\"$1\"}" 'index($0, "ringbroker_fetch_file_read_bytes_total" w " ") == 1 { print $2 }'
}

run() { # label, extra overrides
    local label=$1
    shift
    MPORT=$(rb_free_port) || fail "no free port"
    rb_start --override num.partitions=2 --override log.segment.bytes=4194304 \
        --override log.tail.cache.bytes=262144 --override fetch.file.direct=true \
        --override fetch.file.readahead=true --override log.retention.check.interval.ms=200 \
        --override log.segment.delete.delay.ms=0 \
        --override metrics.listener=http://127.0.0.1:$MPORT "$@"
    local bs p
    bs=$(rb_bootstrap)
    for p in 0 1; do
        ct 90 "$KCAT" -b "$bs" -P -t "$TOPIC" -p $p -X acks=all -X linger.ms=5 \
            -X allow.auto.create.topics=true <"$T_TMP/in.$p" 2>"$T_TMP/p.err" ||
            fail "$label: kcat -P -p $p: rc=$? $(tail -5 "$T_TMP/p.err")"
    done
    (cd "$T_TMP" && ct 240 "$PY" "$IT_DIR/../clients/py_fetch_ahead.py" check "$bs" "$TOPIC" \
        $N $M "$RB_DIR" "$KCAT" "$RB_PID") >"$T_TMP/check.out" 2>&1 ||
        fail "$label: $(tail -5 "$T_TMP/check.out")"
    info "$label: $(tail -1 "$T_TMP/check.out")"
    local sent ahead
    sent=$(file_bytes sent)
    ahead=$(file_bytes ahead)
    info "$label: file bytes read when sent ${sent:-?}, found read ahead ${ahead:-?}"
    [ "${ahead:-0}" -gt 0 ] || fail "$label: no file bytes found read ahead"
    grep -E 'ERROR|offline' "$RB_LOG" && fail "$label: broker logged errors"
    rb_stop
    rm -rf "$RB_DIR"
}

run "4 MiB per stream"
run "1 MiB per stream" --override fetch.file.readahead.bytes=1048576
