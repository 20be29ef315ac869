#!/usr/bin/env bash
# t_fetch_paths.sh - catch-up consumes served from segment files, through both
# file paths (fetch.file.transfer=splice and =read), byte-exact.
# A broker with a tiny tail cache (log.tail.cache.bytes=262144: almost every
# fetch is file bytes followed by a few cached/unwritten chunk bytes) and small
# segments (4 MiB: reads cross rolled, closed segments) gets 200,000 records of
# varying size (0..300 bytes of filler) in 3 partitions via kcat -P -p. kcat -C
# then reads the whole topic back twice: with small fetches (64 KiB per
# partition: many responses, partial splices) and with large ones (8 MiB per
# partition, above the 1 MiB stage: each file region goes out in several
# fill/drain steps). Per partition, the sha256 of "offset<TAB>value" lines must
# equal the one computed from the input. Then with the default tail cache (64
# MiB, all in memory) as a control. Each path on its own broker.
# The read path here reads with O_DIRECT and reads ahead (fetch.file.direct=true,
# fetch.file.readahead=true; opt-in): its broker's metrics must show file bytes
# both read when sent and found read ahead (the metrics endpoint,
# ringbroker_fetch_file_read_bytes_total), so the byte-exact checks cover both.
. "$(dirname "$0")/lib.sh"

N=200000
TOPIC=fp

"$PY" - "$T_TMP" "$N" <<'PY'
import hashlib, sys
d, n = sys.argv[1], int(sys.argv[2])
alpha = "abcdefghijklmnopqrstuvwxyz0123456789-_.ABCDEFGHIJ"
files = [open("%s/in.%d" % (d, p), "w") for p in range(3)]
exp = [[] for _ in range(3)]
for i in range(n):
    p = i % 3
    v = "v%d-%s" % (i, "".join(alpha[(i * 13 + j) % len(alpha)] for j in range((i * 7919) % 301)))
    files[p].write(v + "\n")
    exp[p].append("%d\t%s\n" % (len(exp[p]), v))
for p in range(3):
    files[p].close()
    open("%s/exp.%d" % (d, p), "w").write(hashlib.sha256("".join(exp[p]).encode()).hexdigest())
PY

# consume LABEL ARGS...: read everything, compare per partition
consume() {
    local label=$1
    shift
    ct 120 "$KCAT" -b "$(rb_bootstrap)" -C -t "$TOPIC" -o beginning -e -q -X check.crcs=true \
        -f '%p\t%o\t%s\n' "$@" >"$T_TMP/out" 2>"$T_TMP/c.err" ||
        fail "$label: kcat -C rc=$? $(tail -5 "$T_TMP/c.err")"
    local p got want lines
    lines=$(wc -l <"$T_TMP/out")
    [ "$lines" -eq "$N" ] || fail "$label: consumed $lines of $N records"
    for p in 0 1 2; do
        got=$(awk -F'\t' -v p=$p '$1 == p { sub(/^[^\t]*\t/, ""); print }' "$T_TMP/out" |
            sha256sum | cut -d' ' -f1)
        want=$(cat "$T_TMP/exp.$p")
        [ "$got" = "$want" ] || fail "$label: partition $p differs (sha256 $got, want $want)"
    done
    info "$label: $N records, 3 partitions byte-exact"
}

# file_bytes WHEN: ringbroker_fetch_file_read_bytes_total{when="WHEN"} now
file_bytes() {
    ct 10 curl -sf "http://127.0.0.1:$MPORT/metrics" |
        awk -v w="{when=\"$1\"}" 'index($0, "ringbroker_fetch_file_read_bytes_total" w " ") == 1 { print $2 }'
}

run_path() {
    local path=$1 cache=$2
    MPORT=$(rb_free_port) || fail "no free port"
    rb_start --override num.partitions=3 --override log.segment.bytes=4194304 \
        --override log.tail.cache.bytes=$cache --override fetch.file.transfer=$path \
        --override metrics.listener=http://127.0.0.1:$MPORT --override fetch.file.direct=true \
        --override fetch.file.readahead=true
    local bs
    bs=$(rb_bootstrap)
    local p
    for p in 0 1 2; do
        ct 90 "$KCAT" -b "$bs" -P -t "$TOPIC" -p $p -X acks=all -X linger.ms=5 \
            -X allow.auto.create.topics=true -X enable.idempotence=false \
            <"$T_TMP/in.$p" 2>"$T_TMP/p.err" || fail "$path: kcat -P -p $p: rc=$? $(tail -5 "$T_TMP/p.err")"
        grep -qiE 'fail|error' "$T_TMP/p.err" && fail "$path: kcat -P reported: $(tail -5 "$T_TMP/p.err")"
    done
    local segs
    segs=$(ls "$RB_DIR/$TOPIC-0"/*.log | wc -l)
    [ "$segs" -ge 2 ] || fail "$path: expected rolled segments in $TOPIC-0, found $segs"
    consume "$path cache=$cache small fetches" -X message.max.bytes=65536 -X fetch.max.bytes=196608 \
        -X max.partition.fetch.bytes=65536
    consume "$path cache=$cache large fetches" -X fetch.max.bytes=52428800 \
        -X max.partition.fetch.bytes=8388608 -X receive.message.max.bytes=60000000
    grep -E 'ERROR|offline' "$RB_LOG" && fail "$path: broker logged errors"
    if [ "$path" = read ] && [ "$cache" -lt 1048576 ]; then
        local sent ahead
        sent=$(file_bytes sent)
        ahead=$(file_bytes ahead)
        info "$path: file bytes read when sent ${sent:-?}, read ahead ${ahead:-?}"
        [ "${sent:-0}" -gt 0 ] || fail "$path: no file bytes read when sent"
        [ "${ahead:-0}" -gt 0 ] || fail "$path: no file bytes found read ahead"
    fi
    rb_stop
    rm -rf "$RB_DIR"
}

run_path splice 262144
run_path read 262144
run_path splice 67108864
