#!/usr/bin/env bash
# t_stats_sigusr1.sh - the group-commit counters perf/run reads (issue 3 item 9).
#
# SIGUSR1 makes the broker log one line per shard and go on serving:
#   stats shard=N t_ms=MONO flush_cycles=.. flushes=.. syncs=.. bytes=..
# (counted in net/partition.c, printed by cmd/ringbroker.c); a clean stop logs them
# once more.
#   A. before any produce every shard's counters are 0.
#   B. 2000 acks=all records of 100 bytes to a default (durable) topic: summed
#      over the shards syncs >= 1, flush_cycles >= 1, flushes >= syncs and
#      bytes >= 200000 (record batches appended).
#   C. 2000 more to a topic with flush.messages=1000000: flushes and bytes grow,
#      syncs do not (write-only flushes are not fdatasyncs).
#   D. the broker survived the signals; the clean stop logs a last set that is
#      not below the one before.
. "$(dirname "$0")/lib.sh"
CTL=${RINGCTL_BIN:-$(dirname "$RB_BIN")/ringctl}

N_SHARDS=2
rb_start --override num.shards=$N_SHARDS --override num.partitions=2
bs=$(rb_bootstrap)

# stats_now: SIGUSR1, wait (bounded) for N_SHARDS more lines in the log.
stats_now() {
    local before after i
    before=$(grep -c ' stats shard=' "$RB_LOG")
    kill -USR1 "$RB_PID"
    for i in $(seq 1 50); do
        after=$(grep -c ' stats shard=' "$RB_LOG")
        [ "$after" -ge $((before + N_SHARDS)) ] && return 0
        sleep 0.1
    done
    rb_check_alive "after SIGUSR1"
    fail "SIGUSR1: $((after - before)) stats lines in 5 s, want $N_SHARDS"
}

# stat KEY: KEY summed over the shards in the last set of stats lines.
stat() {
    grep ' stats shard=' "$RB_LOG" | awk -v k="$1" '
        { for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
          t[NR] = f["t_ms"]; v[NR] = f[k]; if (f[k] == "") bad = 1 }
        END { if (bad || !NR) { print "missing"; exit 1 }
              for (i = 1; i <= NR; i++) if (t[i] == t[NR]) s += v[i]; print s }'
}

# A
stats_now
for k in flush_cycles flushes syncs bytes; do
    [ "$(stat $k)" = 0 ] || fail "A: $k=$(stat $k) before any produce"
done
[ "$(grep ' stats shard=' "$RB_LOG" | awk '{print $5}' | sort -u | wc -l)" -eq $N_SHARDS ] ||
    fail "A: want one line per shard: $(grep ' stats shard=' "$RB_LOG")"
info "A: $(grep -m1 ' stats shard=' "$RB_LOG" | sed 's/.*INFO //')"

# B
seq 1 2000 | awk '{printf "%0100d\n", $1}' |
    ct 60 "$KCAT" -P -b "$bs" -t durable -X acks=all >"$T_TMP/b.out" 2>&1 ||
    fail "B: produce: $(tail -3 "$T_TMP/b.out")"
stats_now
s_syncs=$(stat syncs) s_cycles=$(stat flush_cycles) s_flushes=$(stat flushes) s_bytes=$(stat bytes)
[ "$s_syncs" -ge 1 ] && [ "$s_cycles" -ge 1 ] && [ "$s_flushes" -ge "$s_syncs" ] &&
    [ "$s_bytes" -ge 200000 ] ||
    fail "B: syncs=$s_syncs flush_cycles=$s_cycles flushes=$s_flushes bytes=$s_bytes"
info "B: syncs=$s_syncs flush_cycles=$s_cycles flushes=$s_flushes bytes=$s_bytes"

# C
ct 30 "$CTL" topics --bootstrap-server "$bs" --create --topic relaxed --partitions 1 \
    --config flush.messages=1000000 >"$T_TMP/c.out" 2>&1 || fail "C: create: $(cat "$T_TMP/c.out")"
seq 1 2000 | awk '{printf "%0100d\n", $1}' |
    ct 60 "$KCAT" -P -b "$bs" -t relaxed -X acks=all >"$T_TMP/c2.out" 2>&1 ||
    fail "C: produce: $(tail -3 "$T_TMP/c2.out")"
stats_now
c_syncs=$(stat syncs) c_flushes=$(stat flushes) c_bytes=$(stat bytes)
[ "$c_syncs" -eq "$s_syncs" ] || fail "C: syncs grew from $s_syncs to $c_syncs with flush.messages=1000000"
[ "$c_flushes" -gt "$s_flushes" ] && [ "$c_bytes" -ge $((s_bytes + 200000)) ] ||
    fail "C: flushes $s_flushes -> $c_flushes, bytes $s_bytes -> $c_bytes"
info "C: relaxed topic: flushes $s_flushes -> $c_flushes, bytes $s_bytes -> $c_bytes, syncs stay $c_syncs"

# D
rb_check_alive "after three SIGUSR1"
rb_stop
[ "$(grep -c ' stats shard=' "$RB_LOG")" -eq $((4 * N_SHARDS)) ] ||
    fail "D: want $((4 * N_SHARDS)) stats lines after the stop, got $(grep -c ' stats shard=' "$RB_LOG")"
[ "$(stat bytes)" -ge "$c_bytes" ] || fail "D: shutdown bytes $(stat bytes) < $c_bytes"
info "D: shutdown: $(stat flushes) flushes, $(stat syncs) syncs, $(stat bytes) bytes"
exit 0
