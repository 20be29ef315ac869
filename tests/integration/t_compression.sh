#!/usr/bin/env bash
# t_compression.sh - topic compression.type: the broker rebuilds batches whose
# codec differs from the topic's, and deep-validates what it keeps.
# Broker with 2 shards and broker compression.type=zstd. Topics (1 partition):
# c_lz4 (lz4), c_zstd (zstd), c_gzip (gzip), c_snappy (snappy), c_unc
# (uncompressed), c_prod (producer), c_def (no topic setting: the broker's zstd),
# c_dyn (no topic setting, produced after the broker default became gzip through
# a dynamic broker config).
# kcat produces 3,000 keyed records with headers to each with another codec
# (c_lz4 twice: snappy, then none with idempotence), values up to 3 KB so
# batches span several lz4/snappy blocks; kcat reads everything back (CRC
# checked) and the exact (offset, key, headers, value) sequence must match.
# compression.type=brotli must be refused. After a clean stop, `ringctl dump-log
# --deep-iteration` and Kafka's own DumpLogSegments --deep-iteration read every
# segment: every batch valid, compresscodec = the topic's codec (c_prod keeps
# the producer's snappy), record counts = what was produced. Finally
# tests/clients/py_compress_wire.py sends hand-made bad batches (zip bomb,
# malformed inner records, corrupt gzip, bad codec, timestamps past
# message.timestamp.after.max.ms, two batches) to a producer topic and an lz4
# topic and checks the error codes; the broker must stay up with RSS below 500 MiB.
. "$(dirname "$0")/lib.sh"

N=3000
CTL=${RINGCTL_BIN:-$(dirname "$RB_BIN")/ringctl}
[ -x "$CTL" ] || fail "ringctl missing: $CTL"
command -v java >/dev/null || fail "java missing (Java 17 is part of the machine image)"
LIB=$(ct 900 "$ROOT/tools/fetch-kafka.sh" 2>"$T_TMP/fetch.err") ||
    fail "cannot fetch Kafka: $(tail -5 "$T_TMP/fetch.err")"
rb_start --override num.shards=2 --override num.partitions=1 --override compression.type=zstd
bs=$(rb_bootstrap)

create() { # create TOPIC [compression.type]
    local cfg=()
    [ -n "${2:-}" ] && cfg=(--config "compression.type=$2")
    ct 30 "$CTL" topics --bootstrap-server "$bs" --create --topic "$1" --partitions 1 "${cfg[@]}" \
        >"$T_TMP/create.$1" 2>&1 || fail "create $1: $(cat "$T_TMP/create.$1")"
}
create c_lz4 lz4
create c_zstd zstd
create c_gzip gzip
create c_snappy snappy
create c_unc uncompressed
create c_prod producer
create c_def
create c_dyn
create w_keep producer
create w_lz4 lz4
if ct 30 "$CTL" topics --bootstrap-server "$bs" --create --topic c_bad --partitions 1 \
    --config compression.type=brotli >"$T_TMP/create.bad" 2>&1; then
    fail "compression.type=brotli accepted: $(cat "$T_TMP/create.bad")"
fi
grep -qiE 'INVALID_CONFIG|invalid config|compression.type' "$T_TMP/create.bad" ||
    fail "compression.type=brotli: no config error in $(cat "$T_TMP/create.bad")"
info "compression.type=brotli refused: $(head -1 "$T_TMP/create.bad")"

# input: N lines k<i>:<value>, value sizes 1..3000 bytes (every 7th is long)
"$PY" - "$T_TMP/in" "$N" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
alpha = "abcdefghijklmnopqrstuvwxyz,.ABCXYZ0123456789 "
with open(path, "w") as f:
    for i in range(n):
        size = 3000 if i % 7 == 0 else 1 + (i * 13) % 200
        f.write("k%d:v%d-%s\n" % (i, i, "".join(alpha[(i * 3 + j) % len(alpha)] for j in range(size))))
PY

produce() { # produce TOPIC CODEC RUN [extra kcat args]
    local t=$1 z=$2 run=$3
    shift 3
    ct 60 "$KCAT" -b "$bs" -P -t "$t" -p 0 -K: -z "$z" -H "run=$run" -H "codec=$z" \
        -X acks=all -X linger.ms=20 "$@" <"$T_TMP/in" 2>"$T_TMP/p.$t.$run.err" ||
        fail "kcat -P $t ($z): rc=$? $(tail -5 "$T_TMP/p.$t.$run.err")"
    grep -qiE 'fail|error' "$T_TMP/p.$t.$run.err" &&
        fail "kcat -P $t ($z) reported: $(tail -5 "$T_TMP/p.$t.$run.err")"
    return 0
}
# topic:expected stored codec:codec kcat sends
PLAN="c_lz4:lz4:snappy c_zstd:zstd:gzip c_gzip:gzip:lz4 c_snappy:snappy:zstd c_unc:none:lz4
      c_prod:snappy:snappy c_def:zstd:gzip c_dyn:gzip:lz4"
for p in $PLAN; do
    IFS=: read -r t want z <<<"$p"
    [ "$t" = c_dyn ] || produce "$t" "$z" 1
done
produce c_lz4 none 2 -X enable.idempotence=true
# the broker default changed at run time (dynamic config) applies to c_dyn
ct 30 "$CTL" configs --bootstrap-server "$bs" --entity-type brokers --entity-default --alter \
    --add-config compression.type=gzip >"$T_TMP/alter" 2>&1 || fail "alter broker compression.type: $(cat "$T_TMP/alter")"
produce c_dyn lz4 1
info "produced $N records to each topic (c_lz4 twice)"

for p in $PLAN; do
    IFS=: read -r t want z <<<"$p"
    ct 60 "$KCAT" -b "$bs" -C -t "$t" -o beginning -e -q -X check.crcs=true \
        -f '%o\t%k\t%h\t%s\n' >"$T_TMP/out.$t" 2>"$T_TMP/c.$t.err" ||
        fail "kcat -C $t: rc=$? $(tail -5 "$T_TMP/c.$t.err")"
    runs=1
    [ "$t" = c_lz4 ] && runs=2
    "$PY" - "$T_TMP/in" "$T_TMP/out.$t" "$t" "$z" "$runs" <<'PY' || fail "$t: consumed data differs (above)"
import sys
inp, outp, topic, codec, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
lines = open(inp).read().split("\n")[:-1]
want = []
for run in range(1, runs + 1):
    z = codec if run == 1 else "none"
    for l in lines:
        k, v = l.split(":", 1)
        want.append((k, "run=%d,codec=%s" % (run, z), v))
got = open(outp).read().split("\n")[:-1]
errors = []
if len(got) != len(want):
    errors.append("%d records, want %d" % (len(got), len(want)))
for i, (g, w) in enumerate(zip(got, want)):
    f = g.split("\t", 3)
    if len(f) != 4 or f[0] != str(i) or tuple(f[1:]) != w:
        errors.append("record %d: got %r want %r" % (i, g[:90], (i,) + tuple(x[:40] for x in w)))
    if len(errors) > 5:
        break
print("info: %s: %d records read back, %d errors" % (topic, len(got), len(errors)))
for e in errors:
    print("  " + e)
sys.exit(1 if errors else 0)
PY
done

out=$(ct 240 "$PY" "$ROOT/tests/clients/py_compress_wire.py" "$bs" w_keep w_lz4 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || fail "py_compress_wire: $(grep -E '^FAIL|Error|error' <<<"$out" | head -5)"
rb_check_alive "after the bad batches"
rss=$(rb_rss_mb)
info "broker RSS after the zip bombs: $rss MiB"
[ "$rss" -lt 500 ] || fail "broker RSS $rss MiB >= 500 MiB"
rb_stop

# Stored codecs, as ringctl and Kafka's DumpLogSegments read the segments.
all=
for p in $PLAN; do
    IFS=: read -r t want z <<<"$p"
    segs=$(ls "$RB_DIR/$t-0"/*.log | paste -sd, -)
    all=${all:+$all,}$segs
    ct 60 "$CTL" dump-log --files "$segs" --deep-iteration >"$T_TMP/d.$t" 2>"$T_TMP/d.$t.err" ||
        fail "ringctl dump-log --deep-iteration $t: $(cat "$T_TMP/d.$t.err")"
    want_n=$N
    [ "$t" = c_lz4 ] && want_n=$((2 * N))
    awk -v t="$t" -v want="$want" -v n="$want_n" '
        /^baseOffset:/ { b++; for (i = 1; i < NF; i++) {
            if ($i == "compresscodec:" && $(i + 1) != want) { print "batch codec " $(i + 1); bad = 1 }
            if ($i == "isvalid:" && $(i + 1) != "true") { print "invalid batch"; bad = 1 }
            if ($i == "count:") c += $(i + 1) } }
        END { if (c != n) { print "records " c " want " n; bad = 1 }
              printf "info: ringctl: %s: %d batches, %d records, codec %s\n", t, b, c, want; exit bad }' \
        "$T_TMP/d.$t" || fail "$t: stored batches (ringctl) not as expected (above)"
done
ct 120 java -Xmx256m -cp "$LIB/*" org.apache.kafka.tools.DumpLogSegments --files "$all" \
    --deep-iteration >"$T_TMP/kafka.dump" 2>"$T_TMP/kafka.err" ||
    fail "DumpLogSegments: $(tail -5 "$T_TMP/kafka.err")"
for p in $PLAN; do
    IFS=: read -r t want z <<<"$p"
    want_n=$N
    [ "$t" = c_lz4 ] && want_n=$((2 * N))
    awk -v t="$t" -v dir="/$t-0/" -v want="$want" -v n="$want_n" '
        /^Dumping / { on = index($0, dir) > 0 }
        on && /^baseOffset:/ { b++; for (i = 1; i < NF; i++) {
            if ($i == "compresscodec:" && tolower($(i + 1)) != want) { print "batch codec " $(i + 1); bad = 1 }
            if ($i == "isvalid:" && $(i + 1) != "true") { print "invalid batch"; bad = 1 } } }
        on && /^\| offset:/ { r++ }
        END { if (r != n || b == 0) { print "records " r " batches " b " want " n; bad = 1 }
              printf "info: Kafka DumpLogSegments: %s: %d batches, %d records, codec %s\n", t, b, r, want
              exit bad }' "$T_TMP/kafka.dump" || fail "$t: stored batches (Kafka) not as expected (above)"
done
exit 0
