#!/usr/bin/env bash
# t_rdkafka_roundtrip.sh - librdkafka C producer/consumer round trip with lz4,
# zstd and no compression (tests/clients/rb_roundtrip.c).
# For each codec: N records (acks=all, no idempotence) to its own 3-partition
# topic, every delivery report checked; then a group-less consumer reads all
# partitions from the beginning: exact content, contiguous offsets, per-partition
# order, no duplicates, exact count, every acked (partition, offset) holds its
# record. Also checks that the compressed runs really sent compressed batches
# (producer tx_bytes well below the uncompressed run's): librdkafka silently
# stops compressing when the broker's advertised versions do not allow it.
. "$(dirname "$0")/lib.sh"

N=${RB_IT_RDKAFKA_N:-20000}
rt=$(rb_client rb_roundtrip)
rb_start --override num.partitions=3
bs=$(rb_bootstrap)

declare -A txb
for codec in lz4 zstd none; do
    topic=rd-$codec
    out=$(ct 90 "$rt" produce -b "$bs" -t "$topic" -n "$N" -z "$codec" -a "$T_TMP/acks.$codec" 2>"$T_TMP/p.$codec.err")
    rc=$?
    echo "$out"
    [ $rc -eq 0 ] || fail "produce $codec: rc=$rc $out $(tail -5 "$T_TMP/p.$codec.err")"
    txb[$codec]=$(sed -n 's/.* tx_bytes=\([0-9-]*\).*/\1/p' <<<"$out")
    out=$(ct 90 "$rt" consume -b "$bs" -t "$topic" -n "$N" -p 3 -a "$T_TMP/acks.$codec" 2>"$T_TMP/c.$codec.err")
    rc=$?
    echo "$out"
    [ $rc -eq 0 ] || fail "consume $codec: rc=$rc $out $(tail -12 "$T_TMP/c.$codec.err")"
    info "$codec: $(grep '^consumed' <<<"$out")"
done
info "producer tx_bytes: lz4=${txb[lz4]} zstd=${txb[zstd]} none=${txb[none]}"
for codec in lz4 zstd; do
    [ "${txb[$codec]:--1}" -gt 0 ] && [ "${txb[none]:--1}" -gt 0 ] ||
        fail "no tx_bytes statistics ($codec=${txb[$codec]} none=${txb[none]})"
    [ $((txb[$codec] * 2)) -lt "${txb[none]}" ] ||
        fail "$codec run sent ${txb[$codec]} bytes vs ${txb[none]} uncompressed: not compressed (check advertised Produce/Fetch versions)"
done
rb_check_alive "after the round trips"
rb_stop
exit 0
