#!/usr/bin/env bash
# t_fault_kill9.sh - kill -9 during acks=all production over 8 partitions, ROUNDS
# (5) times in a row: after each restart every acknowledged record (of every round
# so far) is read back at its acknowledged offset, in order, without duplicates;
# any lost, duplicated or reordered record fails the test. Each round produces
# 2*MIN records at a bounded rate and kills the broker once at least MIN (100,000)
# records were acknowledged in that round, so the kill lands mid-stream, with
# batches in flight and unflushed data in the chunk buffers. Small segments and
# preallocation steps make segment rolls, the next segment's preparation and
# preallocation growth (storage/log_seg.c) run all the time, so kills also land
# in the middle of those.
. "$(dirname "$0")/lib.sh"

ROUNDS=${RB_IT_KILL_ROUNDS:-5}
MIN=${RB_IT_KILL_MIN:-100000}
RATE=${RB_IT_KILL_RATE:-100000}
T=k9
rt=$(rb_client rb_roundtrip)
rb_start --override num.partitions=8 --override log.flush.offset.checkpoint.interval.ms=500 \
    --override log.segment.bytes=1048576 --override log.preallocate.step.bytes=262144
bs=$(rb_bootstrap)
acks=()
seq0=0
for r in $(seq 1 "$ROUNDS"); do
    a=$T_TMP/acks.$r
    : >"$a"
    "$rt" produce -b "$bs" -t $T -n $((MIN * 2)) -s $seq0 -a "$a" -r "$RATE" -F -T 4000 \
        >"$T_TMP/p.$r.out" 2>"$T_TMP/p.$r.err" &
    ppid=$!
    deadline=$((SECONDS + 30))
    while [ "$(wc -l <"$a")" -lt "$MIN" ]; do
        kill -0 $ppid 2>/dev/null || fail "round $r: producer ended early: $(tail -3 "$T_TMP/p.$r.err")"
        [ $SECONDS -lt $deadline ] || fail "round $r: only $(wc -l <"$a") acked in 30 s"
        sleep 0.05
    done
    rb_kill9
    deadline=$((SECONDS + 40))
    while kill -0 $ppid 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || { kill -KILL $ppid; fail "round $r: producer did not finish"; }
        sleep 0.2
    done
    wait $ppid || fail "round $r: producer rc=$?: $(tail -3 "$T_TMP/p.$r.err")"
    acks+=(-a "$a")
    n=$(wc -l <"$a")
    [ "$n" -ge "$MIN" ] || fail "round $r: only $n records acknowledged"
    info "round $r: $n records acknowledged before kill -9"
    seq0=$((seq0 + MIN * 2))
    rb_restart
    out=$(ct 90 "$rt" consume -b "$bs" -t $T -p 8 "${acks[@]}" 2>"$T_TMP/c.$r.err") ||
        fail "round $r: check failed: $out $(tail -5 "$T_TMP/c.$r.err")"
    info "round $r after restart: $(grep '^consumed' <<<"$out")"
done
nseg=$(find "$RB_DIR" -path "*/$T-*" -name '*.log' | wc -l)
info "segment files after $ROUNDS rounds: $nseg"
[ "$nseg" -gt 16 ] || fail "expected segment rolls during the rounds, found $nseg segments"
rb_stop
exit 0
