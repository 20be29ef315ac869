#!/usr/bin/env bash
# t_fault_diskfull.sh - disk full on a small loop-mounted ext4 image (fault 8d).
#
# log.dirs lives on a 96 MiB ext4 image mounted with -o loop; a filler file on the
# same file system leaves ~20 MiB free. Production with acks=all runs until the
# disk is full: producers must get errors (not hang), the broker must stay up.
# Then the filler is deleted, production resumes and every record acknowledged
# before, during and after the full disk is read back (0 lost, no duplicates,
# order kept).
#
# Behaviour checked (see storage/log_write.c, part/append.c): when preallocation
# finds no space the append is refused with KAFKA_STORAGE_ERROR (56, retriable in
# every client) while the partition stays ONLINE - unlike Kafka, which takes the
# whole log dir offline. Nothing was written for the refused batch, so nothing is
# lost and retries succeed once space is freed.
#
# Needs root (mount -o loop); skipped (exit 0 with a note) when that is impossible.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

T=dfull
MNT=$T_TMP/mnt
IMG=$T_TMP/disk.img
MOUNTED=

df_cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    for p in "${RB_PIDS[@]}"; do # the broker holds files on the image
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    if [ -n "$MOUNTED" ]; then
        umount "$MNT" 2>/dev/null || { sleep 0.5; umount "$MNT" 2>/dev/null; } ||
            umount -l "$MNT" 2>/dev/null || echo "warning: could not umount $MNT" >&2
    fi
    (exit "$rc")
    _rb_cleanup
}
trap df_cleanup EXIT

if [ "$(id -u)" != 0 ] || ! command -v mkfs.ext4 >/dev/null; then
    echo "SKIP: $T_NAME needs root and mkfs.ext4"
    exit 0
fi
mkdir -p "$MNT"
truncate -s 96M "$IMG"
mkfs.ext4 -q -F "$IMG" || fail "mkfs.ext4"
if ! mount -o loop "$IMG" "$MNT" 2>"$T_TMP/mount.err"; then
    echo "SKIP: $T_NAME: mount -o loop failed: $(cat "$T_TMP/mount.err")"
    exit 0
fi
MOUNTED=1
mkdir -p "$MNT/data"
avail_kb() { df -k --output=avail "$MNT" | tail -1 | tr -d ' '; }
# leave ~20 MiB for the log
fill_kb=$(($(avail_kb) - 20 * 1024))
[ "$fill_kb" -gt 0 ] || fail "image too small: $(avail_kb) KiB free"
fallocate -l "${fill_kb}K" "$MNT/filler" || fail "fallocate filler"
sync
info "image: $(avail_kb) KiB free after a ${fill_kb} KiB filler"

rt=$(rb_client rb_roundtrip)
rb_start --override "log.dirs=$MNT/data" --override num.partitions=1 \
    --override log.preallocate.step.bytes=4194304
RB_DIR=$MNT/data
bs=$(rb_bootstrap)

# 1. fill the disk: ~1-2 KiB records until errors come back (failures allowed)
ct 180 "$rt" produce -b "$bs" -t $T -n 40000 -S 2000 -a "$T_TMP/acks1" -F -T 8000 \
    >"$T_TMP/p1.out" 2>"$T_TMP/p1.err" || fail "produce 1: $(tail -3 "$T_TMP/p1.err")"
info "phase 1 (disk filling): $(cat "$T_TMP/p1.out")"
failed1=$(sed -n 's/.* failed=\([0-9]*\).*/\1/p' "$T_TMP/p1.out")
[ "${failed1:-0}" -gt 0 ] || fail "the disk never filled: $(cat "$T_TMP/p1.out"), $(avail_kb) KiB free"
_rb_alive "$RB_PID" || fail "broker died on a full disk"
grep -q "No space left" "$RB_LOG" || fail "broker did not log ENOSPC"
info "broker log: $(grep -m1 "No space left" "$RB_LOG" | cut -c1-200)"

# 2. the error a producer gets, without retries: KAFKA_STORAGE_ERROR (56)
# (big records: a small one may still fit in the already preallocated tail)
for i in 1 2 3 4; do head -c 900000 /dev/zero | tr '\0' x; echo; done >"$T_TMP/big"
ct 20 "$KCAT" -P -b "$bs" -t $T -p 0 -k kF -X acks=all -X message.max.bytes=1000000 \
    -X message.send.max.retries=0 -X message.timeout.ms=5000 <"$T_TMP/big" >"$T_TMP/k.out" 2>&1
grep -qiE "disk error|storage" "$T_TMP/k.out" || fail "no storage error on a full disk: $(cat "$T_TMP/k.out")"
info "producer sees: $(grep -iE -m1 "disk error|storage" "$T_TMP/k.out" | cut -c1-160)"
# consumers keep reading what is there while the disk is full
fl_read $T 0 "$T_TMP/got_full" || fail "read while full: $(tail -3 "$T_TMP/got_full.err")"
info "read while full: $(wc -l <"$T_TMP/got_full") records"

# 3. free space: production recovers
rm -f "$MNT/filler"
sync
info "filler removed: $(avail_kb) KiB free"
ct 120 "$rt" produce -b "$bs" -t $T -n 3000 -s 1000000 -S 2000 -a "$T_TMP/acks2" -T 30000 \
    >"$T_TMP/p2.out" 2>"$T_TMP/p2.err" || fail "produce after freeing space: $(tail -3 "$T_TMP/p2.err")"
info "phase 2 (space freed): $(cat "$T_TMP/p2.out")"
grep -q "acked=3000 failed=0" "$T_TMP/p2.out" || fail "not every record acked after freeing space"

# 4. nothing acknowledged is lost: now and after a clean restart
cat "$T_TMP/acks1" "$T_TMP/acks2" >"$T_TMP/acks"
fl_read $T 0 "$T_TMP/got" || fail "read: $(tail -3 "$T_TMP/got.err")"
res=$(fl_check "$T_TMP/acks" "$T_TMP/got") || fail "after freeing space: $res"
info "after freeing space: $res"
rb_stop
rb_restart
fl_read $T 0 "$T_TMP/got_r" || fail "read after restart: $(tail -3 "$T_TMP/got_r.err")"
res=$(fl_check "$T_TMP/acks" "$T_TMP/got_r") || fail "after restart: $res"
info "diskfull: failed_while_full=$failed1 acked_total=$(wc -l <"$T_TMP/acks") after restart: $res"
rb_stop
exit 0
