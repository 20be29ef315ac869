#!/usr/bin/env bash
# t_tail_cache_budget.sh - the tail cache draws from the shard's memory budget
# (issue 13 item 1).
#
# log.tail.cache.bytes (128 MiB per shard) is set far above the shards' budget
# (shard.memory.budget.bytes = 32 MiB). A producer floods a topic with ~150 MB
# (acks=all) - every chunk it writes would stay in the tail cache - while two
# other connections pipeline 128 unread Fetches each of another topic. The cache
# may keep only what the connections leave of the budget (at least its floor,
# budget / 8) and gives the rest back, oldest first, before connections are
# paused; reads of what it gave back go to the files. Asserted: broker RSS peak
# under what it used before the attack + the shards' budgets + a margin (before
# this, the cache alone grew to ~150 MB), another client served within 5 s
# during the attack, RSS within the same bound after it, every acknowledged
# record of both topics read back after kill -9 and a restart.
AB_BUDGET_MB=32
AB_MARGIN_MB=${AB_MARGIN_MB:-64}
FLOOD_N=${FLOOD_N:-150000}
. "$(dirname "$0")/lib_abuse.sh"

ab_start --override "log.tail.cache.bytes=$((128 << 20))"
ab_fill small 50 2000 1024
rss0=$(rb_rss_mb)
"$PY" "$AB_PY" pipelined "$(rb_bootstrap)" small 50 128 2 30 >"$T_TMP/attack.out" 2>&1 &
apid=$!
(ab_fill flood 4 "$FLOOD_N" 1024) >"$T_TMP/flood.log" 2>&1 &
fpid=$!
sleep 4
rb_check_alive "during the attack"
rss=$(rb_rss_mb)
secs=$(ab_served) && served=1 || served=0
wait "$fpid" || fail "the flood's producer failed: $(tail -3 "$T_TMP/flood.log")"
rb_check_alive "after the flood"
rss_flood=$(rb_rss_mb)
rss_peak=$(awk '/^VmHWM:/ {print int($2 / 1024)}' "/proc/$RB_PID/status")
wait "$apid" || fail "attack client: $(cat "$T_TMP/attack.out")"
sleep 3
rss_after=$(rb_rss_mb)
bound=$(ab_rss_bound "$rss0")
info "$(head -1 "$T_TMP/attack.out")"
info "flood: $FLOOD_N records of 1024 bytes acknowledged, tail cache 128 MiB per shard over a ${AB_BUDGET_MB} MiB shard budget"
info "RSS before ${rss0} MiB, during ${rss} MiB, at the flood's end ${rss_flood} MiB (peak ${rss_peak}, bound ${bound}), after ${rss_after} MiB; other client served in ${secs}s"
[ "$served" = 1 ] || fail "the other client was not served during the attack: $secs"
[ "$rss_peak" -le "$bound" ] || fail "RSS peak ${rss_peak} MiB over the bound ${bound} MiB"
[ "$rss_after" -le "$bound" ] || fail "RSS ${rss_after} MiB after the attack (bound ${bound} MiB)"
ab_check_restart flood "$FLOOD_N"
got=$(ab_count small)
[ "$got" -ge 2000 ] || fail "after restart small has $got records, 2000 were acknowledged"
info "after restart: $got of 2000 acknowledged records of small read back"
rb_stop
exit 0
