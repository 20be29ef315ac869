#!/usr/bin/env bash
# t_fault_kill9.sh - kill -9 during acks=all production over 8 partitions, ROUNDS
# times in a row: after each restart every acknowledged record (of every round so
# far) is read back at its acknowledged offset, in order, without duplicates.
# Each round produces at a bounded rate and kills the broker once at least MIN
# records were acknowledged in that round (so the kill lands mid-stream, with
# batches in flight and unflushed data in the chunk buffers).
. "$(dirname "$0")/lib.sh"

ROUNDS=${RB_IT_KILL_ROUNDS:-3}
MIN=${RB_IT_KILL_MIN:-30000}
RATE=${RB_IT_KILL_RATE:-50000}
T=k9
rt=$(rb_client rb_roundtrip)
rb_start --override num.partitions=8 --override log.flush.offset.checkpoint.interval.ms=500
bs=$(rb_bootstrap)
acks=()
seq0=0
for r in $(seq 1 "$ROUNDS"); do
    a=$T_TMP/acks.$r
    : >"$a"
    "$rt" produce -b "$bs" -t $T -n $((MIN * 4)) -s $seq0 -a "$a" -r "$RATE" -F -T 4000 \
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
    info "round $r: $(wc -l <"$a") records acknowledged before kill -9"
    seq0=$((seq0 + MIN * 4))
    rb_restart
    out=$(ct 90 "$rt" consume -b "$bs" -t $T -p 8 "${acks[@]}" 2>"$T_TMP/c.$r.err") ||
        fail "round $r: check failed: $out $(tail -5 "$T_TMP/c.$r.err")"
    info "round $r after restart: $(grep '^consumed' <<<"$out")"
done
rb_stop
exit 0
