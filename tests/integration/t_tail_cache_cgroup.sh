#!/usr/bin/env bash
# t_tail_cache_cgroup.sh - the auto-sized tail cache (log.tail.cache.bytes=-1)
# follows a memory cgroup's limit, as a broker in a container or a systemd unit
# with MemoryMax needs: the host's MemAvailable is not what it may take.
#   A. outside any limit: the broker logs its per-shard size from MemAvailable.
#   B. started inside a new memory cgroup limited to 1 GiB (v1
#      memory.limit_in_bytes, or v2 memory.max where the memory controller is
#      on the unified hierarchy): a quarter of the headroom over the shards, so
#      at most 256 MiB per shard; records produced there read back.
. "$(dirname "$0")/lib.sh"

LIMIT=$((1 << 30))
per_shard() { # the MiB per shard the last start logged
    sed -n 's/.*tail cache: \([0-9]*\) MiB per shard.*/\1/p' "$RB_LOG" | tail -1
}

rb_start --override log.tail.cache.bytes=-1
host=$(per_shard)
[ -n "$host" ] || fail "A: no 'tail cache: N MiB per shard' line in the log"
info "A: no cgroup limit: $host MiB per shard (MemAvailable $(awk '/MemAvailable/ {print int($2 / 1024)}' /proc/meminfo) MiB)"
rb_stop

if [ -w /sys/fs/cgroup/memory ]; then # v1 memory controller (hybrid hosts)
    CG=/sys/fs/cgroup/memory/rb-test-$$
    mkdir "$CG" || fail "cannot create the memory cgroup $CG"
    echo $LIMIT >"$CG/memory.limit_in_bytes" || fail "cannot set $CG/memory.limit_in_bytes"
elif grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then # v2
    CG=/sys/fs/cgroup/rb-test-$$
    mkdir "$CG" || fail "cannot create the memory cgroup $CG"
    echo $LIMIT >"$CG/memory.max" || fail "cannot set $CG/memory.max"
else
    fail "no writable memory cgroup hierarchy (v1 /sys/fs/cgroup/memory or v2 with memory)"
fi
_cg_cleanup() { # the broker leaves the cgroup before it can be removed
    local rc=$? p
    for p in "${RB_PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rmdir "$CG" 2>/dev/null
    (exit $rc)
    _rb_cleanup
}
trap _cg_cleanup EXIT

# the broker joins the cgroup before it starts: a wrapper that moves itself in
cat >"$T_TMP/in-cgroup.sh" <<EOF
#!/bin/sh
echo \$\$ >"$CG/cgroup.procs" || exit 97
exec "$RB_BIN" "\$@"
EOF
chmod +x "$T_TMP/in-cgroup.sh"
RB_BIN=$T_TMP/in-cgroup.sh
rb_restart
grep -q "rb-test-$$" "/proc/$RB_PID/cgroup" || fail "B: the broker is not in $CG: $(cat "/proc/$RB_PID/cgroup")"
cg=$(per_shard)
[ -n "$cg" ] || fail "B: no 'tail cache: N MiB per shard' line in the log"
[ "$cg" -le 256 ] || fail "B: $cg MiB per shard in a 1 GiB cgroup (want at most 256: a quarter of the headroom)"
seq 1 2000 | ct 60 "$KCAT" -P -b "$(rb_bootstrap)" -t cg -X acks=all >"$T_TMP/p.out" 2>&1 ||
    fail "B: produce: $(tail -3 "$T_TMP/p.out")"
n=$(ct 60 "$KCAT" -C -b "$(rb_bootstrap)" -t cg -o beginning -e -q 2>/dev/null | wc -l)
[ "$n" = 2000 ] || fail "B: read back $n of 2000 records"
info "B: in a memory cgroup limited to 1 GiB: $cg MiB per shard (host: $host); 2000 records read back"
rb_stop
