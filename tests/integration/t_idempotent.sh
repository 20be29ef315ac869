#!/usr/bin/env bash
# t_idempotent.sh - the idempotent producer (InitProducerId, per-partition
# sequence tracking, producer state across restarts).
# 1. librdkafka with enable.idempotence=true produces N records to 3 partitions;
#    rb_roundtrip consume checks exactly N, content, order, no duplicates, every
#    acked record at its offset; the producer got a producer id.
# 2. wire-level rules (py_idem_wire.py): retried batch -> original offset, gap ->
#    45, stale epoch -> 47, new epoch must start at 0, transactional id refused;
#    then again after a clean restart (snapshot) and after kill -9 (log replay);
#    producer ids are never reused across restarts.
# 3. kill -9 in the middle of idempotent production, restart within the
#    producer's message timeout: the same producer finishes with every record
#    acked, and the topic holds each record exactly once, in order (retries of
#    batches that were already in the log are deduplicated); then a new producer
#    continues on the same topic.
# 4. the Apache Kafka 4.4 Java producer with default settings (when cached).
. "$(dirname "$0")/lib.sh"

N=${RB_IT_IDEM_N:-20000}
rt=$(rb_client rb_roundtrip)
idem=$(rb_client rb_idem)
rb_start --override num.partitions=3
bs=$(rb_bootstrap)

consume() { # label topic consume-args...
    local label=$1 t=$2 out rc
    shift 2
    out=$(ct 90 "$rt" consume -b "$bs" -t "$t" -p 3 "$@" 2>"$T_TMP/c.err")
    rc=$?
    [ $rc -eq 0 ] || fail "$label: rc=$rc $out $(tail -12 "$T_TMP/c.err")"
    info "$label: $(grep '^consumed' <<<"$out")"
}

# 1. plain idempotent production
out=$(ct 120 "$idem" -b "$bs" -t ia -n "$N" -a "$T_TMP/a1" 2>"$T_TMP/p1.err") ||
    fail "phase 1 produce: $out $(tail -5 "$T_TMP/p1.err")"
info "$out"
grep -q 'producer_id=[0-9]' <<<"$out" || fail "phase 1: no producer id assigned: $out"
consume "phase 1 exactly once" ia -n "$N" -a "$T_TMP/a1"

# 2. the rules on the wire, across a clean restart and a kill -9
ct 60 "$PY" "$ROOT/tests/clients/py_idem_wire.py" "$bs" iw "$T_TMP/wire.json" phase1 \
    >"$T_TMP/w1.out" 2>&1 || fail "wire phase1: $(tail -5 "$T_TMP/w1.out")"
tail -1 "$T_TMP/w1.out"
rb_stop
ls "$RB_DIR"/iw-0/*.rbsnap >/dev/null 2>&1 || fail "no producer state snapshot after a clean stop"
rb_restart
ct 60 "$PY" "$ROOT/tests/clients/py_idem_wire.py" "$bs" iw "$T_TMP/wire.json" after-clean-restart \
    >"$T_TMP/w2.out" 2>&1 || fail "wire after clean restart: $(tail -5 "$T_TMP/w2.out")"
tail -1 "$T_TMP/w2.out"
rb_kill9
rb_restart
ct 60 "$PY" "$ROOT/tests/clients/py_idem_wire.py" "$bs" iw "$T_TMP/wire.json" after-kill9 \
    >"$T_TMP/w3.out" 2>&1 || fail "wire after kill -9: $(tail -5 "$T_TMP/w3.out")"
tail -1 "$T_TMP/w3.out"

# 3. kill -9 while an idempotent producer is running
"$idem" -b "$bs" -t ib -n $((4 * N)) -a "$T_TMP/a3" -r $((2 * N)) -T 60000 \
    >"$T_TMP/p3.out" 2>"$T_TMP/p3.err" &
ppid=$!
sleep 1.2
rb_kill9
sleep 1
rb_restart
deadline=$((SECONDS + 90))
while kill -0 $ppid 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { kill -KILL $ppid; fail "phase 3 producer did not finish"; }
    sleep 0.2
done
wait $ppid
prc=$?
info "$(cat "$T_TMP/p3.out")"
[ $prc -eq 0 ] || fail "phase 3: producer rc=$prc: $(cat "$T_TMP/p3.out") $(tail -5 "$T_TMP/p3.err")"
consume "phase 3 exactly once across kill -9" ib -n $((4 * N)) -a "$T_TMP/a3"
out=$(ct 120 "$idem" -b "$bs" -t ib -n "$N" -s $((4 * N)) -a "$T_TMP/a4" 2>"$T_TMP/p4.err") ||
    fail "phase 3 new producer: $out $(tail -5 "$T_TMP/p4.err")"
info "$out"
consume "phase 3 after a new producer" ib -n $((5 * N)) -a "$T_TMP/a3" -a "$T_TMP/a4"

# 4. Apache Kafka 4.4's Java producer with its defaults (idempotent, acks=all),
#    when the jars are already cached (tools/fetch-kafka.sh); exactly-once count.
KLIB=${RINGBROKER_CACHE:-$HOME/.cache/ringbroker}/kafka-4.4.0/lib
if [ -f "$KLIB/../.complete" ] && command -v java >/dev/null; then
    JN=20000
    ct 180 java -cp "$KLIB/*" org.apache.kafka.tools.ProducerPerformance --topic ij \
        --num-records $JN --record-size 100 --throughput -1 \
        --command-property bootstrap.servers="$bs" >"$T_TMP/j.out" 2>&1 ||
        fail "Java producer: $(tail -5 "$T_TMP/j.out")"
    info "java: $(grep 'records sent' "$T_TMP/j.out")"
    got=$(ct 60 "$KCAT" -b "$bs" -C -t ij -e -q -f '%p %o\n' | sort -u | wc -l)
    [ "$got" -eq $JN ] || fail "Java producer: $got distinct records in the topic, want $JN"
    info "java producer: $got records, each once"
else
    info "skipped: Apache Kafka 4.4 jars not cached (tools/fetch-kafka.sh)"
fi
rb_stop
exit 0
