#!/usr/bin/env bash
# t_dup_partitions.sh - one partition listed 600 times in a Fetch (issue 13 row 3).
#
# A 9.6 KB Fetch listing TOPIC-0 600 times with max_bytes 2^31-1 used to read the
# partition 600 times (2.7 GB). Kafka keys a fetch's partitions in a map: the
# partition is read once and listed once. Asserted: the answer lists 1 partition
# and at most fetch.max.bytes of records (plus the first batch); then 16 such
# requests pipelined on one unread connection keep the broker's RSS under the
# budget + margin, another client is served meanwhile, and every acknowledged
# record is back after kill -9.
. "$(dirname "$0")/lib_abuse.sh"

ab_start --override fetch.max.bytes=8388608
ab_fill dup 1 40000 1024
rss0=$(rb_rss_mb)
ct 60 "$PY" "$AB_PY" dups "$(rb_bootstrap)" dup 600 >"$T_TMP/one.out" 2>&1 ||
    fail "single duplicate fetch: $(cat "$T_TMP/one.out")"
info "$(cat "$T_TMP/one.out")"
listed=$(sed -n 's/.*partitions_listed=\([0-9]*\).*/\1/p' "$T_TMP/one.out")
rec=$(sed -n 's/.*record_bytes=\([0-9]*\).*/\1/p' "$T_TMP/one.out")
"$PY" "$AB_PY" dups_unread "$(rb_bootstrap)" dup 600 16 10 >"$T_TMP/attack.out" 2>&1 &
apid=$!
sleep 4
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
[ "$listed" = 1 ] || fail "the partition is listed $listed times in the answer (Kafka: once)"
[ "$rec" -le $((8388608 + 1048576)) ] || fail "$rec record bytes in one answer (fetch.max.bytes 8 MiB)"
[ "$served" = 1 ] || fail "the other client was not served during the attack: $secs"
[ "$rss_peak" -le "$bound" ] || fail "RSS peak ${rss_peak} MiB over the bound ${bound} MiB"
[ "$fds" -lt "$AB_NOFILE" ] || fail "$fds fds open (limit $AB_NOFILE)"
ab_check_restart dup 40000
rb_stop
exit 0
