#!/usr/bin/env bash
# t_partial_frames.sh - 8 connections each send 8 MiB of a 9 MiB frame and idle
# (issue 13 row 3: 786 MB held while idle).
#
# Frame buffers grow with the bytes received and are charged to the shard's
# memory budget; over it, connections holding big frames stop being read while
# small requests still flow. Asserted: RSS under the budget + margin while they
# idle, another client served meanwhile, RSS back down once they leave, every
# acknowledged record back after kill -9. The budget (16 MiB a shard) is below
# what the attackers send (64 MiB), so they are stopped part way.
AB_BUDGET_MB=16
. "$(dirname "$0")/lib_abuse.sh"

ab_start
ab_fill part 4 2000 1024
rss0=$(rb_rss_mb)
"$PY" "$AB_PY" partial "$(rb_bootstrap)" 8 8 10 >"$T_TMP/attack.out" 2>&1 &
apid=$!
for _ in $(seq 1 120); do
    grep -q "^partial" "$T_TMP/attack.out" && break
    sleep 0.5
done
rb_check_alive "during the attack"
rss=$(rb_rss_mb)
fds=$(ab_fds)
secs=$(ab_served) && served=1 || served=0
rss_peak=$(awk '/^VmHWM:/ {print int($2 / 1024)}' "/proc/$RB_PID/status")
wait "$apid" || fail "attack client: $(cat "$T_TMP/attack.out")"
sleep 2
rss_after=$(rb_rss_mb)
bound=$(ab_rss_bound "$rss0")
info "$(head -1 "$T_TMP/attack.out")"
info "RSS before ${rss0} MiB, during ${rss} MiB (peak ${rss_peak}, bound ${bound}), after ${rss_after} MiB; fds ${fds} (limit $AB_NOFILE); other client served in ${secs}s"
[ "$served" = 1 ] || fail "the other client was not served during the attack: $secs"
[ "$rss_peak" -le "$bound" ] || fail "RSS peak ${rss_peak} MiB over the bound ${bound} MiB"
[ "$rss_after" -le $((rss0 + 64)) ] || fail "RSS ${rss_after} MiB after the attack (before: ${rss0} MiB)"
ab_check_restart part 2000
rb_stop
exit 0
