#!/usr/bin/env bash
# t_repl_disk_full.sh - one follower's disk full under an idempotent acks=all load
# (issue 11 item 7g).
#   Broker F (not the controller) is stopped once the topic exists, its log.dirs
#   moved onto a 128 MiB ext4 image mounted with -o loop, and started again (it
#   leads nothing then: auto.leader.rebalance.enable=false). A filler file leaves
#   the image ~256 KiB free: F's replica appends fail with ENOSPC. F must stay up
#   (no crash, its log intact), the leaders take it out of every ISR after
#   replica.lag.time.max.ms (3000) and the producer keeps being acknowledged by
#   the other two (min.insync.replicas=2); time to the shrink and F's CPU use and
#   ENOSPC log lines while full are printed. The filler is deleted: F catches up
#   and rejoins every ISR (time printed); the checker reads everything back: 0
#   lost, 0 duplicates, order kept.
# Needs root (mount -o loop) and mkfs.ext4; fails without them (CI has both).
. "$(dirname "$0")/lib_repl.sh"

[ "$(id -u)" = 0 ] || fail "needs root for mount -o loop"
command -v mkfs.ext4 >/dev/null || fail "mkfs.ext4 missing"
MNT=
dfull_cleanup() {
    local rc=$? p
    trap - EXIT
    for p in "${CL_BG[@]}"; do kill -KILL "$p" 2>/dev/null; done
    # the brokers hold files on the image: down first, then umount
    [ -d "$CL_DIR" ] && CLUSTER_GRACE=5 "$ROOT/tools/cluster.sh" down --dir "$CL_DIR" >/dev/null 2>&1
    if [ -n "$MNT" ]; then
        umount "$MNT" 2>/dev/null || { sleep 1; umount "$MNT" 2>/dev/null; } ||
            umount -l "$MNT" 2>/dev/null || echo "warning: could not umount $MNT" >&2
    fi
    (exit "$rc")
    _cl_cleanup
}
trap dfull_cleanup EXIT

rp_up --override replica.lag.time.max.ms=3000 --override auto.leader.rebalance.enable=false \
    --override log.preallocate.step.bytes=65536
c=$(cl_controller)
F=
for i in 3 2 1; do [ "$i" != "$c" ] && F=$i && break; done
D=$CL_DIR/broker-$F/data
cl_term "$F"
IMG=$T_TMP/disk.img
truncate -s 128M "$IMG"
mkfs.ext4 -q -F -m 0 "$IMG" || fail "mkfs.ext4"
mv "$D" "$D.old"
mkdir -p "$D"
mount -o loop "$IMG" "$D" 2>"$T_TMP/mount.err" || fail "mount -o loop: $(cat "$T_TMP/mount.err")"
MNT=$D
cp -a "$D.old/." "$D/" || fail "copying broker $F's log.dirs onto the image"
rm -rf "$D.old"
cl_start "$F"
wait_for 60 "broker $F (log.dirs on the image) back in every ISR" rp_isr_full
leads=$(cl_json "$(cl_meta "$c")" "sum(1 for v in d['topics']['$RP_T']['partitions'].values() if v['leader'] == $F)")
[ "$leads" = 0 ] || fail "broker $F leads $leads partitions after its restart"
info "broker $F: log.dirs on a loop-mounted ext4 image, follower of every partition"

rp_load_start
sleep 2
avail_kb() { df -k --output=avail "$D" | tail -1 | tr -d ' '; }
fallocate -l "$(($(avail_kb) - 256))K" "$D/filler" || fail "fallocate filler"
info "image filled: $(avail_kb) KiB free"
enospc() { grep -q 'No space left' "$CL_DIR/broker-$F/broker.log"; }
wait_for 90 "broker $F's first ENOSPC" enospc
t0=$SECONDS
isr_without_f() {
    local p s
    for p in $(seq 0 $((RP_PARTS - 1))); do
        s=$(cl_q_get "/brokers/topics/$RP_T/partitions/$p/state") || return 1
        "$PY" -c "import json,sys; sys.exit(0 if $F not in json.loads(sys.argv[1])['isr'] else 1)" "$s" || return 1
    done
}
wait_for 90 "broker $F out of every ISR (disk full)" isr_without_f
info "broker $F out of every ISR $((SECONDS - t0)) s after its first ENOSPC (replica.lag.time.max.ms 3000)"
for p in $(seq 0 $((RP_PARTS - 1))); do # from the logs: F's first ENOSPC on p, the leader's shrink
    e=$(grep -m1 "replica append to $RP_T-$p: No space left" "$CL_DIR/broker-$F/broker.log" | cut -c13-24)
    r=$(grep -h "$RP_T-$p: ISR .*(removed broker $F" "$CL_DIR"/broker-*/broker.log | tail -1 | cut -c13-24)
    info "partition $p: first ENOSPC on $F at ${e:-never}, out of the ISR at ${r:-?}"
done
pid=$(cl_pid "$F")
cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
c0=$(cpu)
n0=$(grep -c 'No space left' "$CL_DIR/broker-$F/broker.log")
for p in $(seq 0 $((RP_PARTS - 1))); do
    rp_wait_progress "$p" 20 >/dev/null || fail "partition $p: no acknowledgement with broker $F's disk full"
done
sleep 5
kill -0 "$pid" 2>/dev/null || fail "broker $F died on a full disk"
[ "$(cl_pid "$F")" = "$pid" ] || fail "broker $F restarted on a full disk"
c1=$(cpu)
n1=$(grep -c 'No space left' "$CL_DIR/broker-$F/broker.log")
info "while full: broker $F up, $(((c1 - c0) * 10)) ms of CPU in ~5 s, $((n1 - n0)) 'No space left' log lines; acks keep coming"
grep -m1 'No space left' "$CL_DIR/broker-$F/broker.log" | cut -c1-220 | sed 's/^/info: broker log: /'
[ "$n1" -gt 0 ] || fail "broker $F never logged ENOSPC (the disk did not fill?) free $(avail_kb) KiB"
[ "$((n1 - n0))" -lt 500 ] || fail "broker $F logged ENOSPC $((n1 - n0)) times in ~5 s (a retry loop without back-off)"
rm -f "$D/filler"
tf=$SECONDS
info "filler deleted: $(avail_kb) KiB free"
wait_for 90 "broker $F back in every ISR after space was freed" rp_isr_full
info "broker $F caught up and back in every ISR $((SECONDS - tf)) s after space was freed"
rp_load_stop
rp_check
# F's log intact: after a clean stop the same batches (offsets, CRCs) on all three
RINGCTL=$(dirname "$RINGBROKER_BIN")/ringctl
batches() { # i p
    local files
    files=$(ls "$CL_DIR/broker-$1/data/$RP_T-$2"/*.log 2>/dev/null | sort | tr '\n' ',' | sed 's/,$//')
    [ -n "$files" ] || return 0
    "$RINGCTL" dump-log --files "$files" 2>/dev/null | grep -o 'baseOffset: [0-9]* lastOffset: [0-9]* .*crc: [0-9-]*' |
        sed 's/ CreateTime: [0-9-]*//; s/ isTransactional.*size: [0-9]*//'
}
for i in $(cl_ids); do cl_term "$i"; done
for p in $(seq 0 $((RP_PARTS - 1))); do
    batches 1 "$p" >"$T_TMP/s1.$p"
    [ -s "$T_TMP/s1.$p" ] || fail "partition $p: no batches on broker 1 (ringctl dump-log)"
    for i in 2 3; do
        batches "$i" "$p" >"$T_TMP/s$i.$p"
        cmp -s "$T_TMP/s1.$p" "$T_TMP/s$i.$p" ||
            fail "partition $p: brokers 1 and $i hold different batches after stop: $(diff "$T_TMP/s1.$p" "$T_TMP/s$i.$p" | head -5)"
    done
    info "partition $p: $(wc -l <"$T_TMP/s1.$p") batches, identical on brokers 1, 2, 3 after stop"
done
