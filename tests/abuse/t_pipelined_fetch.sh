#!/usr/bin/env bash
# t_pipelined_fetch.sh - pipelined unread fetches (issue 13 rows 2 and 3).
#
# One connection pipelines 128 Fetch requests of 1,000 partition entries each
# (max_bytes 2^31-1) for data in the shards' tail cache and never reads a byte.
# Before: every response was built (a copy of the data per request: ~2.3 GB for 2
# connections). Now a connection's responses, reservations and frames are capped
# by connection.memory.max.bytes (requests past it wait undispatched, the socket
# stops being read) and a response by fetch.max.bytes. Asserted: broker RSS under
# what it used before the attack + the shards' budgets + a margin, fds under the
# limit, another client served within 5 s during the attack, RSS back down after
# the attacker leaves, every acknowledged record read back after kill -9.
AB_NOFILE=4096 # 1,000 partitions hold ~2,000 descriptors of their own
. "$(dirname "$0")/lib_abuse.sh"

ab_start
ab_fill big 1000 8000 1024
rss0=$(rb_rss_mb)
fds0=$(ab_fds)
"$PY" "$AB_PY" pipelined "$(rb_bootstrap)" big 1000 128 2 12 >"$T_TMP/attack.out" 2>&1 &
apid=$!
sleep 5
rb_check_alive "during the attack"
rss=$(rb_rss_mb)
fds=$(ab_fds)
secs=$(ab_served) && served=1 || served=0
rss_peak=$(awk '/^VmHWM:/ {print int($2 / 1024)}' "/proc/$RB_PID/status")
wait "$apid" || fail "attack client: $(cat "$T_TMP/attack.out")"
sleep 3
rss_after=$(rb_rss_mb)
bound=$(ab_rss_bound "$rss0")
info "$(head -1 "$T_TMP/attack.out")"
info "RSS before ${rss0} MiB, during ${rss} MiB (peak ${rss_peak}, bound ${bound}), after ${rss_after} MiB; fds ${fds0} before, ${fds} during (limit $AB_NOFILE); other client served in ${secs}s"
[ "$served" = 1 ] || fail "the other client was not served during the attack: $secs"
[ "$rss_peak" -le "$bound" ] || fail "RSS peak ${rss_peak} MiB over the bound ${bound} MiB"
[ "$fds" -lt "$AB_NOFILE" ] || fail "$fds fds open (limit $AB_NOFILE)"
[ "$rss_after" -le $((rss0 + 64)) ] || fail "RSS ${rss_after} MiB after the attack (before: ${rss0} MiB)"
ab_check_restart big 8000
rb_stop
exit 0
