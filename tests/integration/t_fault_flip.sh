#!/usr/bin/env bash
# t_fault_flip.sh - one flipped byte below the recovery point takes that partition
# offline, with an ERROR naming the file and position; the others keep serving.
# Produce N records over 4 partitions (acks=all), wait for the recovery-point
# checkpoint to cover them, kill -9, flip one byte inside the first batch of
# partition 0, restart: the broker must start, log the corruption, answer
# partition 0 with KAFKA_STORAGE_ERROR, and serve partitions 1-3 with every
# acknowledged record (0 lost); partition 1 must still take new records.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

N=${RB_IT_FLIP_N:-8000}
T=flip
rt=$(rb_client rb_roundtrip)
rb_start --override num.partitions=4 --override log.flush.offset.checkpoint.interval.ms=200
bs=$(rb_bootstrap)
ct 90 "$rt" produce -b "$bs" -t $T -n "$N" -a "$T_TMP/acks" >/dev/null 2>"$T_TMP/p.err" ||
    fail "produce: $(tail -3 "$T_TMP/p.err")"
ck=$RB_DIR/recovery-point-offset-checkpoint
want=$(awk '$1 == 0' "$T_TMP/acks" | wc -l)
deadline=$((SECONDS + 10))
until [ -f "$ck" ] && grep -q "^$T 0 $want\$" "$ck"; do
    [ $SECONDS -lt $deadline ] || fail "checkpoint never reached $want for $T-0: $(cat "$ck" 2>/dev/null)"
    sleep 0.1
done
[ "$(head -1 "$ck")" = 0 ] || fail "checkpoint version line: $(head -1 "$ck")"
info "recovery-point checkpoint: $(grep -c "^$T " "$ck") partitions of $T, $T-0 at $want"
rb_kill9

# The shards recover their logs while the listener may already answer: give the
# ERROR line a few seconds to reach the log.
wait_corruption_logged() {
    local i
    for i in $(seq 1 100); do
        grep -q "ERROR.*$T-0/00000000000000000000.log.*position 0" "$RB_LOG" && return 0
        sleep 0.1
    done
    return 1
}

seg=$RB_DIR/$T-0/00000000000000000000.log
printf '\x5a' | dd of="$seg" bs=1 seek=70 conv=notrunc status=none
rb_restart
wait_corruption_logged || fail "no ERROR naming $seg and the position"
info "broker says: $(grep -m1 "ERROR.*$T-0/0000" "$RB_LOG" | cut -c1-220)"

# partition 0: ListOffsets answers KAFKA_STORAGE_ERROR
ct 15 "$KCAT" -b "$bs" -Q -t "$T:0:-1" >"$T_TMP/q0" 2>&1
grep -qiE "storage|disk error" "$T_TMP/q0" || fail "partition 0 not reported offline: $(cat "$T_TMP/q0")"
info "partition 0: $(grep -iE -m1 "storage|disk error" "$T_TMP/q0")"

# partitions 1-3 serve every acknowledged record
: >"$T_TMP/got"
for p in 1 2 3; do
    fl_read $T $p "$T_TMP/got.$p" || fail "read $T-$p: $(tail -3 "$T_TMP/got.$p.err")"
    cat "$T_TMP/got.$p" >>"$T_TMP/got"
done
awk '$1 != 0' "$T_TMP/acks" >"$T_TMP/acks123"
res=$(fl_check "$T_TMP/acks123" "$T_TMP/got") || fail "partitions 1-3 after restart: $res"
info "partitions 1-3: $res"
echo "v-after" | ct 15 "$KCAT" -P -b "$bs" -t $T -p 1 -k kX -X acks=all 2>"$T_TMP/p2.err" ||
    fail "produce to $T-1 after restart: $(cat "$T_TMP/p2.err")"
fl_read $T 1 "$T_TMP/got1b" || fail "re-read $T-1"
grep -q " kX$" "$T_TMP/got1b" || fail "new record on $T-1 not read back"
info "flip: partition 0 offline, partitions 1-3 serve ($(wc -l <"$T_TMP/got") records, 0 lost)"
rb_stop
# the corruption is still detected after a clean restart (the checkpoint kept it)
rb_restart
wait_corruption_logged || fail "corruption not reported again after a clean restart"
fl_read $T 2 "$T_TMP/got2c" || fail "read $T-2 after second restart"
info "second restart: $T-0 still offline, $T-2 serves $(wc -l <"$T_TMP/got2c") records"
rb_stop
exit 0
