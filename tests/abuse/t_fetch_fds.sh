#!/usr/bin/env bash
# t_fetch_fds.sh - descriptor exhaustion through fetches (issue 13 row 2).
#
# With the tail cache off every fetch reads segment files. Four connections each
# pipeline 128 Fetch requests of 1,000 partition entries and never read. Before,
# each entry held a dup() of its segment's descriptor until its response was
# sent: 128,000 wanted, all the process's descriptors taken, every other client
# timed out. Now responses borrow descriptors from a fixed per-shard cache
# (part/fdcache.c). Asserted: descriptors during the attack at most what the
# broker held before + the caches' slots + a margin, and under the limit; another
# client served within 5 s; every acknowledged record back after kill -9 (done
# before the attack: the restart leaves every byte in the segment files).
AB_NOFILE=4096 # 1,000 partitions hold ~2,000 descriptors of their own
. "$(dirname "$0")/lib_abuse.sh"

# After a restart every byte below each partition's last chunk is read from its
# segment file (the tail cache is off).
ab_start --override log.tail.cache.bytes=0 --override log.chunk.bytes=4096
ab_fill big 1000 16000 1024
ab_check_restart big 16000
fds0=$(ab_fds)
"$PY" "$AB_PY" pipelined "$(rb_bootstrap)" big 1000 128 4 12 >"$T_TMP/attack.out" 2>&1 &
apid=$!
sleep 5
rb_check_alive "during the attack"
fds=$(ab_fds)
secs=$(ab_served) && served=1 || served=0
fds2=$(ab_fds)
wait "$apid" || fail "attack client: $(cat "$T_TMP/attack.out")"
# the cache's slots: RLIMIT_NOFILE / (8 x shards), at most 256, per shard
slots=$((AB_NOFILE / (8 * AB_SHARDS)))
[ $slots -gt 256 ] && slots=256
bound=$((fds0 + AB_SHARDS * slots + 64))
info "$(head -1 "$T_TMP/attack.out")"
info "fds ${fds0} before, ${fds}/${fds2} during (bound ${bound}, limit $AB_NOFILE); other client served in ${secs}s"
[ "$served" = 1 ] || fail "the other client was not served during the attack: $secs"
[ "$fds" -le "$bound" ] && [ "$fds2" -le "$bound" ] || fail "descriptors during the attack ${fds}/${fds2} over ${bound}"
grep -q "Too many open files" "$RB_LOG" && fail "the broker ran out of descriptors: $(grep -m2 'Too many' "$RB_LOG")"
rb_stop
exit 0
