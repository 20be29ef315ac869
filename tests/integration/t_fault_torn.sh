#!/usr/bin/env bash
# t_fault_torn.sh - a torn tail above the recovery point is cut by recovery and the
# partition serves. Phase 1 records are covered by the recovery point (clean
# restart with a long checkpoint interval); phase 2 records are acknowledged but
# above it; then kill -9 and damage the tails of two partitions' active segments:
#   partition 0: garbage appended right after the last batch (nothing lost);
#   partition 1: the file cut in the middle of its last batch (that batch's
#                records are the only ones allowed to be missing).
# After the restart: every other acknowledged record is read back (0 lost, no
# duplicates, order kept), the broker logged the truncation, and both partitions
# take and serve new records at the right next offsets.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

N=${RB_IT_TORN_N:-6000}
T=torn
rt=$(rb_client rb_roundtrip)
rb_start --override num.partitions=2
bs=$(rb_bootstrap)
ct 90 "$rt" produce -b "$bs" -t $T -n "$N" -a "$T_TMP/acks1" >/dev/null 2>"$T_TMP/p1.err" ||
    fail "phase 1 produce: $(tail -3 "$T_TMP/p1.err")"
rb_stop
rb_restart --override log.flush.offset.checkpoint.interval.ms=600000
ct 90 "$rt" produce -b "$bs" -t $T -n "$N" -s "$N" -a "$T_TMP/acks2" >/dev/null 2>"$T_TMP/p2.err" ||
    fail "phase 2 produce: $(tail -3 "$T_TMP/p2.err")"
rb_kill9
cat "$T_TMP/acks1" "$T_TMP/acks2" >"$T_TMP/acks"

seg0=$(ls "$RB_DIR/$T-0"/*.log | tail -1)
seg1=$(ls "$RB_DIR/$T-1"/*.log | tail -1)
end0=$(fl_seg_end "$seg0")
head -c 3000 /dev/urandom | dd of="$seg0" bs=1 seek="$end0" conv=notrunc status=none
read -r pos1 size1 base1 last1 < <(fl_last_batch "$seg1")
truncate -s $((pos1 + size1 / 2)) "$seg1"
for o in $(seq "$base1" "$last1"); do echo "1 $o"; done >"$T_TMP/allowed"
info "damage: $T-0 garbage after byte $end0; $T-1 cut inside its last batch (offsets $base1-$last1)"

rb_restart
grep -q "WARN.*$T-0/.*invalid batch at position $end0.*truncating" "$RB_LOG" ||
    fail "no truncation warning for $T-0 at $end0"
grep -q "WARN.*$T-1/.*invalid batch at position $pos1.*truncating" "$RB_LOG" ||
    fail "no truncation warning for $T-1 at $pos1"
: >"$T_TMP/got"
for p in 0 1; do
    fl_read $T $p "$T_TMP/got.$p" || fail "read $T-$p: $(tail -3 "$T_TMP/got.$p.err")"
    cat "$T_TMP/got.$p" >>"$T_TMP/got"
done
res=$(fl_check "$T_TMP/acks" "$T_TMP/got" "$T_TMP/allowed") || fail "after recovery: $res"
info "after recovery: $res"
al=$(sed -n 's/.*allowed_lost=\([0-9]*\).*/\1/p' <<<"$res")
[ "$al" = $((last1 - base1 + 1)) ] || fail "expected exactly the torn batch missing, got $al"
ct 60 "$rt" produce -b "$bs" -t $T -n 200 -s $((2 * N)) -a "$T_TMP/acks3" >/dev/null \
    2>"$T_TMP/p3.err" || fail "produce after recovery: $(tail -3 "$T_TMP/p3.err")"
first1=$(awk '$1 == 1 { print $2; exit }' "$T_TMP/acks3")
[ "$first1" = "$base1" ] || fail "$T-1: new records start at $first1, want $base1"
cat "$T_TMP/acks3" >>"$T_TMP/acks"
: >"$T_TMP/got"
for p in 0 1; do
    fl_read $T $p "$T_TMP/got.$p" || fail "re-read $T-$p"
    cat "$T_TMP/got.$p" >>"$T_TMP/got"
done
res=$(fl_check "$T_TMP/acks" "$T_TMP/got" "$T_TMP/allowed") || fail "after new produce: $res"
info "torn tail: partitions serve after recovery: $res"
rb_stop
exit 0
