#!/usr/bin/env bash
# t_fault_fsync.sh - an fdatasync error injected through the storage ops takes
# that partition offline (fault 8e).
#
# The broker runs with the testing aid test.fault.partition=fs-0 and
# test.fault.fsync.fail.after=K (storage/disk_fault.h): fs-0's first K syncs
# succeed, the next one fails with EIO. Produce N records (acks=all) over 3
# partitions: then fs-0 must be offline - producers and consumers of fs-0 get
# KAFKA_STORAGE_ERROR - while fs-1 and fs-2 serve every acknowledged record and
# take new ones, and the broker stays up. After a restart without the fault,
# every record of fs-0 acknowledged before the fault is read back (0 lost).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

N=${RB_IT_FSYNC_N:-6000}
K=${RB_IT_FSYNC_AFTER:-10}
T=fs
rt=$(rb_client rb_roundtrip)
rb_start --override num.partitions=3 --override test.fault.partition=$T-0 \
    --override test.fault.fsync.fail.after="$K"
bs=$(rb_bootstrap)
# failures allowed: fs-0's records after the fault are refused
ct 120 "$rt" produce -b "$bs" -t $T -n "$N" -a "$T_TMP/acks" -r 3000 -F -T 8000 \
    >"$T_TMP/p.out" 2>"$T_TMP/p.err" || fail "produce: $(tail -3 "$T_TMP/p.err")"
info "produce with the fault armed: $(cat "$T_TMP/p.out")"
failed=$(sed -n 's/.* failed=\([0-9]*\).*/\1/p' "$T_TMP/p.out")
acked0=$(awk '$1 == 0' "$T_TMP/acks" | wc -l)
[ "${failed:-0}" -gt 0 ] || fail "no produce failed: was the fault injected?"
_rb_alive "$RB_PID" || fail "broker died after the fsync error"
grep -q "ERROR.*$T-0.*fdatasync failed" "$RB_LOG" || fail "no ERROR about the failed fdatasync of $T-0"
info "broker says: $(grep -m1 "ERROR.*$T-0.*fdatasync" "$RB_LOG" | cut -c1-200)"
awk '$1 != 0' "$T_TMP/acks" | cut -d' ' -f1 | sort -u | tr '\n' ' ' >"$T_TMP/others"
[ "$(cat "$T_TMP/others")" = "1 2 " ] || fail "partitions 1 and 2 lost acks: $(cat "$T_TMP/others")"

# fs-0 is offline: produce, fetch and ListOffsets all answer KAFKA_STORAGE_ERROR
echo "v0" | ct 20 "$KCAT" -P -b "$bs" -t $T -p 0 -k kX0 -X acks=all \
    -X message.send.max.retries=0 -X message.timeout.ms=5000 >"$T_TMP/k0.out" 2>&1
grep -qiE "disk error|storage" "$T_TMP/k0.out" || fail "produce to offline $T-0: $(cat "$T_TMP/k0.out")"
info "produce to $T-0: $(grep -iE -m1 "disk error|storage" "$T_TMP/k0.out" | cut -c1-150)"
# (a raw Fetch: librdkafka retries storage errors silently)
ct 20 "$PY" "$ROOT/tests/clients/py_fetch_err.py" "$bs" $T 0 >"$T_TMP/c0.out" 2>&1
grep -q "error=56$" "$T_TMP/c0.out" || fail "fetch from offline $T-0: $(tail -3 "$T_TMP/c0.out")"
ct 20 "$PY" "$ROOT/tests/clients/py_fetch_err.py" "$bs" $T 1 >>"$T_TMP/c0.out" 2>&1
grep -q "$T-1 error=0$" "$T_TMP/c0.out" || fail "fetch from $T-1: $(tail -3 "$T_TMP/c0.out")"
info "fetch: $(tr '\n' ' ' <"$T_TMP/c0.out")"
ct 15 "$KCAT" -b "$bs" -Q -t "$T:0:-1" >"$T_TMP/q0" 2>&1
grep -qiE "disk error|storage" "$T_TMP/q0" || fail "ListOffsets of $T-0: $(cat "$T_TMP/q0")"

# fs-1 and fs-2 serve everything acknowledged and take new records
: >"$T_TMP/got"
for p in 1 2; do
    fl_read $T $p "$T_TMP/got.$p" || fail "read $T-$p: $(tail -3 "$T_TMP/got.$p.err")"
    cat "$T_TMP/got.$p" >>"$T_TMP/got"
done
awk '$1 != 0' "$T_TMP/acks" >"$T_TMP/acks12"
res=$(fl_check "$T_TMP/acks12" "$T_TMP/got") || fail "partitions 1-2: $res"
info "partitions 1-2 while $T-0 is offline: $res"
echo "v-after" | ct 15 "$KCAT" -P -b "$bs" -t $T -p 1 -k kY -X acks=all 2>"$T_TMP/p1.err" ||
    fail "produce to $T-1: $(cat "$T_TMP/p1.err")"
fl_read $T 1 "$T_TMP/got1b" || fail "re-read $T-1"
grep -q " kY$" "$T_TMP/got1b" || fail "new record on $T-1 not read back"

# restart without the fault: nothing of fs-0 acknowledged before the fault is lost
rb_stop
rb_restart --override test.fault.fsync.fail.after=-1
fl_read $T 0 "$T_TMP/got0" || fail "read $T-0 after restart: $(tail -3 "$T_TMP/got0.err")"
awk '$1 == 0' "$T_TMP/acks" >"$T_TMP/acks0"
res=$(fl_check "$T_TMP/acks0" "$T_TMP/got0") || fail "$T-0 after restart: $res"
info "$T-0 after restart: $res"
info "fsync: fault after $K syncs; acked=$(wc -l <"$T_TMP/acks") (of them $T-0: $acked0) failed=$failed; $T-0 lost=0, $T-1/2 lost=0"
rb_stop
exit 0
