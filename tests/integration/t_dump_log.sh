#!/usr/bin/env bash
# t_dump_log.sh - our segments are readable by Apache Kafka's own dump tool.
# Produces N records to a topic per codec (none, gzip, lz4, zstd) with acks=all,
# stops the broker cleanly (segments trimmed and indexed), then runs Kafka 4.4's
# DumpLogSegments (org.apache.kafka.tools.DumpLogSegments; fetched from Maven
# Central by tools/fetch-kafka.sh — the test fails if that is impossible) with
# --print-data-log on every partition's segment and checks: every batch
# isvalid: true, batches contiguous from offset 0, the record lines count equals
# what was acknowledged, and `ringctl dump-log` prints the same batch and record
# lines (byte for byte). Leader epochs: every batch carries partitionLeaderEpoch 0
# (the standalone leader's epoch, stamped by the broker) in Kafka's dump, and each
# partition's leader-epoch-checkpoint reads back through Kafka's own
# LeaderEpochCheckpointFile as "0 0"; a file Kafka writes is the text our unit test
# (tests/unit/test_epoch_cache.c) expects.
. "$(dirname "$0")/lib.sh"

N=${RB_IT_DUMP_N:-3000}
CTL=${RINGCTL_BIN:-$(dirname "$RB_BIN")/ringctl}
[ -x "$CTL" ] || fail "ringctl missing: $CTL"
command -v java >/dev/null || fail "java missing (Java 17 is part of the machine image)"
LIB=$(ct 900 "$ROOT/tools/fetch-kafka.sh" 2>"$T_TMP/fetch.err") ||
    fail "cannot fetch Kafka: $(tail -5 "$T_TMP/fetch.err")"
[ -d "$LIB" ] || fail "fetch-kafka.sh printed no lib dir: $LIB"
CLASS=org.apache.kafka.tools.DumpLogSegments
rt=$(rb_client rb_roundtrip)
rb_start --override num.partitions=2
bs=$(rb_bootstrap)
codecs="none gzip lz4 zstd"
for z in $codecs; do
    ct 90 "$rt" produce -b "$bs" -t "d_$z" -n "$N" -z "$z" -a "$T_TMP/ack.$z" >/dev/null \
        2>"$T_TMP/p.$z.err" || fail "produce $z: $(tail -3 "$T_TMP/p.$z.err")"
done
rb_stop

total_batches=0
for z in $codecs; do
    recs=0
    for d in "$RB_DIR"/d_"$z"-*; do
        p=${d##*-}
        segs=$(ls "$d"/*.log | paste -sd, -)
        ct 120 java -Xmx256m -cp "$LIB/*" $CLASS --files "$segs" --print-data-log \
            >"$T_TMP/k.$z.$p" 2>"$T_TMP/k.$z.$p.err" ||
            fail "$CLASS failed on $segs: $(tail -5 "$T_TMP/k.$z.$p.err")"
        ct 60 "$CTL" dump-log --files "$segs" --print-data-log >"$T_TMP/r.$z.$p" \
            2>"$T_TMP/r.$z.$p.err" || fail "ringctl dump-log failed on $segs: $(cat "$T_TMP/r.$z.$p.err")"
        nb=$(grep -c '^baseOffset:' "$T_TMP/k.$z.$p")
        nv=$(grep -c '^baseOffset:.*isvalid: true' "$T_TMP/k.$z.$p")
        [ "$nb" -gt 0 ] && [ "$nb" = "$nv" ] || fail "$z p$p: $nv of $nb batches valid for Kafka"
        # batches continue each other: baseOffset == previous lastOffset + 1, from 0
        awk '/^baseOffset:/ { if ($2 != next_off) { print "gap at " $2 " want " next_off; bad=1 }
             next_off = $4 + 1 } END { exit bad }' next_off=0 "$T_TMP/k.$z.$p" ||
            fail "$z p$p: Kafka sees non-contiguous batches"
        nr=$(grep -c '^| offset:' "$T_TMP/k.$z.$p")
        ack=$(awk -v p="$p" '$1 == p' "$T_TMP/ack.$z" | wc -l)
        [ "$nr" = "$ack" ] || fail "$z p$p: Kafka printed $nr records, $ack acknowledged"
        # ringctl agrees on every batch (base offset, count, position, crc)
        diff <(grep -E '^(baseOffset:|\| offset:)' "$T_TMP/k.$z.$p") \
            <(grep -E '^(baseOffset:|\| offset:)' "$T_TMP/r.$z.$p") >"$T_TMP/diff.$z.$p" ||
            fail "$z p$p: ringctl dump-log disagrees with Kafka: $(head -4 "$T_TMP/diff.$z.$p")"
        ne=$(grep -c '^baseOffset:.* partitionLeaderEpoch: 0 ' "$T_TMP/k.$z.$p")
        [ "$ne" = "$nb" ] || fail "$z p$p: $ne of $nb batches with partitionLeaderEpoch 0 for Kafka"
        ct 60 java -Xmx128m -cp "$LIB/*" "$ROOT/tests/clients/EpochCheckpoint.java" read \
            "$d/leader-epoch-checkpoint" >"$T_TMP/e.$z.$p" 2>"$T_TMP/e.$z.$p.err" ||
            fail "$z p$p: Kafka cannot read our leader-epoch-checkpoint: $(tail -3 "$T_TMP/e.$z.$p.err")"
        [ "$(cat "$T_TMP/e.$z.$p")" = "0 0" ] ||
            fail "$z p$p: Kafka read epochs '$(cat "$T_TMP/e.$z.$p")' (file: $(cat "$d/leader-epoch-checkpoint"))"
        nrr=$(grep -c '^| offset:' "$T_TMP/r.$z.$p")
        [ "$nrr" = "$nr" ] || fail "$z p$p: ringctl printed $nrr records, Kafka $nr"
        recs=$((recs + nr))
        total_batches=$((total_batches + nb))
    done
    info "codec $z: Kafka DumpLogSegments read $recs records, all batches valid"
    [ "$recs" = "$N" ] || fail "codec $z: $recs records dumped, $N produced"
done

# Kafka's writer produces the exact text our unit test expects of ours
ct 60 java -Xmx128m -cp "$LIB/*" "$ROOT/tests/clients/EpochCheckpoint.java" write \
    "$T_TMP/kafka-epochs" 0:0 3:1234 2147483647:9223372036854775806 >"$T_TMP/kw.err" 2>&1 ||
    fail "Kafka's LeaderEpochCheckpointFile write: $(tail -3 "$T_TMP/kw.err")"
[ "$(od -c "$T_TMP/kafka-epochs")" = "$(printf '0\n3\n0 0\n3 1234\n2147483647 9223372036854775806\n' | od -c)" ] ||
    fail "Kafka wrote $(od -c "$T_TMP/kafka-epochs" | head -3)"
info "leader epochs: partitionLeaderEpoch 0 on every batch, checkpoints read by Kafka, Kafka's text matches ours"

# a flipped byte: both tools must say invalid, ringctl must exit non-zero
seg=$(ls "$RB_DIR"/d_none-0/*.log | head -1)
mkdir -p "$T_TMP/bad"
cp "$seg" "$T_TMP/bad/00000000000000000000.log"
printf '\xff' | dd of="$T_TMP/bad/00000000000000000000.log" bs=1 seek=100 conv=notrunc status=none
ct 60 java -Xmx256m -cp "$LIB/*" $CLASS --files "$T_TMP/bad/00000000000000000000.log" >"$T_TMP/kbad" 2>&1
grep -q "isvalid: false" "$T_TMP/kbad" || fail "Kafka did not flag the flipped byte: $(head -c 600 "$T_TMP/kbad")"
if ct 30 "$CTL" dump-log --files "$T_TMP/bad/00000000000000000000.log" >"$T_TMP/rbad" 2>&1; then
    fail "ringctl dump-log exited 0 on a corrupt batch"
fi
grep -q 'isvalid: false' "$T_TMP/rbad" || fail "ringctl did not print isvalid: false"
info "dump-log: $total_batches batches checked by Kafka $CLASS and ringctl; corrupt copy flagged by both"
exit 0
