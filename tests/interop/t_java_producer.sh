#!/usr/bin/env bash
# t_java_producer.sh - the Java producer with default settings (Kafka 4.4:
# enable.idempotence=true, acks=all, linger 5 ms, batch 16 KiB) through
# ProducerPerformance: N records of 200 bytes to a 3-partition topic, nothing
# but bootstrap.servers set. Checks: the tool reports N sent and no error; kcat
# reads back exactly N records, offsets contiguous from 0 per partition; after a
# clean stop Kafka's DumpLogSegments shows every batch valid and written by the
# idempotent producer: one producer id >= 0, epoch >= 0, and per partition the
# batches' sequence numbers contiguous from 0 (baseSequence = previous
# lastSequence + 1) and equal to the batch's offset delta (no duplicate, no gap).
. "$(dirname "$0")/lib.sh"

N=50000
TOPIC=jprod
kafka_setup
rb_start --override num.shards=2
bs=$(rb_bootstrap)

jrun 60 $K_TOPICS --bootstrap-server "$bs" --create --topic $TOPIC --partitions 3 \
    >"$T_TMP/create.out" 2>&1 || fail "kafka-topics --create: $(tail -5 "$T_TMP/create.out")"
jrun 120 $K_PPERF --topic $TOPIC --num-records $N --record-size 200 --throughput -1 \
    --producer-props bootstrap.servers="$bs" >"$T_TMP/perf.out" 2>"$T_TMP/perf.err" ||
    fail "ProducerPerformance rc=$?: $(tail -5 "$T_TMP/perf.err"; broker_unsupported)"
grep -q "^$N records sent" "$T_TMP/perf.out" || fail "ProducerPerformance summary: $(tail -3 "$T_TMP/perf.out")"
grep -q 'ERROR\|Exception' "$T_TMP/perf.err" && fail "ProducerPerformance logged errors: $(grep -m5 'ERROR\|Exception' "$T_TMP/perf.err")"
info "ProducerPerformance: $(tail -1 "$T_TMP/perf.out" | cut -d'(' -f1)"

ct 60 "$KCAT" -b "$bs" -C -t $TOPIC -e -q -f '%p %o %S\n' >"$T_TMP/read" 2>"$T_TMP/read.err" ||
    fail "kcat read back: $(tail -3 "$T_TMP/read.err")"
"$PY" - "$T_TMP/read" "$N" <<'PY' || fail "read back wrong (above)"
import sys, collections
offs = collections.defaultdict(list)
sizes = collections.Counter()
for l in open(sys.argv[1]):
    p, o, s = map(int, l.split())
    offs[p].append(o)
    sizes[s] += 1
n = sum(len(v) for v in offs.values())
print("info: read back %d records, per partition %s, sizes %s" % (n, {p: len(v) for p, v in sorted(offs.items())}, dict(sizes)))
ok = n == int(sys.argv[2]) and all(v == list(range(len(v))) for v in offs.values()) and set(sizes) == {200}
sys.exit(0 if ok else 1)
PY
rb_stop

for d in "$RB_DIR"/$TOPIC-*; do
    p=${d##*-}
    segs=$(ls "$d"/*.log | paste -sd, -)
    jrun 120 $K_DUMP --files "$segs" >"$T_TMP/dump.$p" 2>"$T_TMP/dump.$p.err" ||
        fail "DumpLogSegments $segs: $(tail -5 "$T_TMP/dump.$p.err")"
done
"$PY" - "$T_TMP" "$N" <<'PY' || fail "producer state in the log wrong (above)"
import glob, re, sys
pat = re.compile(r"baseOffset: (\d+) lastOffset: (\d+) count: (\d+) baseSequence: (-?\d+) "
                 r"lastSequence: (-?\d+) producerId: (-?\d+) producerEpoch: (-?\d+).*isvalid: (\w+)")
pids, bad, total, batches = set(), [], 0, 0
for f in sorted(glob.glob(sys.argv[1] + "/dump.*")):
    if f.endswith(".err"):
        continue
    nextseq, nextoff = 0, 0
    for l in open(f):
        m = pat.search(l)
        if not m:
            continue
        bo, lo, cnt, bs, ls, pid, ep, valid = m.groups()
        bo, lo, cnt, bs, ls, pid, ep = map(int, (bo, lo, cnt, bs, ls, pid, ep))
        batches += 1
        total += cnt
        pids.add((pid, ep))
        if valid != "true" or bs != nextseq or ls - bs != lo - bo or bo != nextoff or pid < 0 or ep < 0:
            bad.append((f, l.strip()[:200]))
        nextseq, nextoff = ls + 1, lo + 1
print("info: log: %d batches, %d records, producer (id, epoch) %s, %d bad" % (batches, total, sorted(pids), len(bad)))
if bad or len(pids) != 1 or total != int(sys.argv[2]):
    print("bad", bad[:5])
    sys.exit(1)
PY
echo "PASS: t_java_producer ($N records from the default (idempotent) Java producer; sequences contiguous)"
