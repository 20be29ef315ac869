# tests/abuse/lib_abuse.sh - what the abuse tests share, on top of
# tests/integration/lib.sh (broker start/stop, temp dir, bounded clients).
#
# Every abuse test starts the broker under a reduced fd limit (AB_NOFILE) and
# memory budget (AB_BUDGET_MB per shard, AB_SHARDS shards), attacks it with
# tests/abuse/py_abuse.py, and asserts on figures read from /proc: RSS under the
# budget plus a margin, open fds under the limit, another client served within a
# bound during the attack, and every acknowledged record back after a restart.
# Figures go out as "info:" lines (run-all.sh prints them).
#
#   ab_start [--override k=v ...]   rb_start with the abuse limits
#   ab_fill TOPIC PARTS N SIZE      create TOPIC, produce N acks=all records of SIZE bytes
#   ab_served                       kcat metadata + produce + consume one record;
#                                   prints the seconds (or none(...): returns 1)
#   ab_fds / rb_rss_mb              open descriptors / resident MiB of the broker
#   ab_check_restart TOPIC          kill -9, restart, count TOPIC's records again
#   ab_attack WAIT_S CMD...         run an attack in the background, read the figures
#                                   after WAIT_S seconds, wait for it (AB_* variables)
#   ab_assert_figures               served, RSS peak under the bound, fds under the limit
RB_START_WAIT=${RB_START_WAIT:-120} # a restart of 1,000 partitions after kill -9 is slow
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

AB_NOFILE=${AB_NOFILE:-1024}
AB_BUDGET_MB=${AB_BUDGET_MB:-64}
AB_SHARDS=${AB_SHARDS:-2}
AB_SERVE_S=${AB_SERVE_S:-5}
AB_PY=$ROOT/tests/abuse/py_abuse.py
AB_ACKED=0

ab_start() {
    ulimit -Sn "$AB_NOFILE"
    rb_start --override "num.shards=$AB_SHARDS" \
        --override "shard.memory.budget.bytes=$((AB_BUDGET_MB << 20))" \
        --override "connection.memory.max.bytes=$((AB_BUDGET_MB << 19))" \
        --override auto.create.topics.enable=true "$@"
}

ab_fds() { ls "/proc/$RB_PID/fd" 2>/dev/null | wc -l; }

# ab_fill TOPIC PARTS N SIZE: N records of SIZE bytes spread over PARTS partitions.
ab_fill() {
    local topic=$1 parts=$2 n=$3 size=$4
    ct 60 "$ROOT/build/bin/ringctl" topics --bootstrap-server "$(rb_bootstrap)" --create \
        --topic "$topic" --partitions "$parts" --replication-factor 1 >"$T_TMP/create.out" 2>&1 ||
        fail "create $topic: $(cat "$T_TMP/create.out")"
    "$PY" -c "
import sys
line = b'x' * ($size - 1) + b'\n'
w = sys.stdout.buffer
for i in range($n):
    w.write(line)
" >"$T_TMP/fill.txt"
    ct 120 "$KCAT" -P -b "$(rb_bootstrap)" -t "$topic" -X acks=all -X linger.ms=5 \
        -X topic.partitioner=random -l "$T_TMP/fill.txt" >"$T_TMP/fill.out" 2>&1 ||
        fail "produce to $topic: $(cat "$T_TMP/fill.out")"
    AB_ACKED=$((AB_ACKED + n))
    info "filled $topic: $parts partitions, $n records of $size bytes"
}

# ab_count TOPIC: records readable from TOPIC (all partitions, from the start).
ab_count() {
    ct 120 "$KCAT" -C -b "$(rb_bootstrap)" -t "$1" -o beginning -e -q -f 'x\n' 2>"$T_TMP/count.err" |
        wc -l
}

# ab_served: another client is served meanwhile: metadata, then a produce (acks=all)
# and a consume of the record it wrote, each within AB_SERVE_S seconds. Prints the
# seconds taken, or "none(<what failed>)" and returns 1 (the caller asserts after
# it has printed its figures).
ab_served() {
    local t0 t1 tag got
    tag="probe-$RANDOM-$RANDOM"
    t0=$(date +%s.%N)
    ct "$AB_SERVE_S" "$KCAT" -L -b "$(rb_bootstrap)" -t ab_probe >/dev/null 2>&1 ||
        { echo "none(metadata)"; return 1; }
    echo "$tag" | ct "$AB_SERVE_S" "$KCAT" -P -b "$(rb_bootstrap)" -t ab_probe -p 0 -X acks=all \
        >/dev/null 2>&1 || { echo "none(produce)"; return 1; }
    got=$(ct "$AB_SERVE_S" "$KCAT" -C -b "$(rb_bootstrap)" -t ab_probe -p 0 -o -1 -c 1 -e -q 2>/dev/null)
    t1=$(date +%s.%N)
    [ "$got" = "$tag" ] || { echo "none(consume read '$got')"; return 1; }
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }'
}

# ab_check_restart TOPIC: kill -9, restart, every acknowledged record of TOPIC is back.
ab_check_restart() {
    local topic=$1 want=$2 got
    rb_kill9
    rb_restart
    local try
    for try in 1 2 3; do # a consumer that found nothing right after the start asks again
        got=$(ab_count "$topic")
        [ "$got" -ge "$want" ] && break
        rb_check_alive "counting $topic after the restart"
        info "after restart, attempt $try read $got of $want records of $topic ($(tail -1 "$T_TMP/count.err" 2>/dev/null)); again"
        sleep 1
    done
    [ "$got" -ge "$want" ] || fail "after restart $topic has $got records, $want were acknowledged"
    info "after kill -9 and restart: $got of $want acknowledged records of $topic read back"
}

# ab_rss_bound: the RSS bound in MiB: what the broker used before the attack plus
# the shards' budgets plus a margin.
ab_rss_bound() {
    echo $(($1 + AB_SHARDS * AB_BUDGET_MB + ${AB_MARGIN_MB:-96}))
}

# ab_attack WAIT_S CMD...: run the attack CMD in the background (its output in
# $T_TMP/attack.out); after WAIT_S seconds read the figures while it runs - AB_RSS,
# AB_FDS, AB_PEAK (VmHWM), AB_SECS/AB_SERVED (ab_served) - then wait for it (a failed
# attack client fails the test) and read AB_RSS_AFTER two seconds later. Prints the
# attack's first lines and the figures as info lines.
ab_attack() {
    local wait_s=$1 apid
    shift
    AB_RSS0=$(rb_rss_mb)
    "$@" >"$T_TMP/attack.out" 2>&1 &
    apid=$!
    sleep "$wait_s"
    rb_check_alive "during the attack"
    AB_RSS=$(rb_rss_mb)
    AB_FDS=$(ab_fds)
    AB_SECS=$(ab_served) && AB_SERVED=1 || AB_SERVED=0
    AB_PEAK=$(awk '/^VmHWM:/ {print int($2 / 1024)}' "/proc/$RB_PID/status")
    wait "$apid" || fail "attack client: $(cat "$T_TMP/attack.out")"
    sleep 2
    AB_RSS_AFTER=$(rb_rss_mb)
    info "$(head -4 "$T_TMP/attack.out" | tr '\n' ';')"
    info "RSS before ${AB_RSS0} MiB, during ${AB_RSS} MiB (peak ${AB_PEAK}, bound $(ab_rss_bound "$AB_RSS0")), after ${AB_RSS_AFTER} MiB; fds ${AB_FDS} (limit $AB_NOFILE); other client served in ${AB_SECS}s"
}

# ab_assert_figures: what every attack must keep (after ab_attack).
ab_assert_figures() {
    local bound
    bound=$(ab_rss_bound "$AB_RSS0")
    [ "$AB_SERVED" = 1 ] || fail "the other client was not served during the attack: $AB_SECS"
    [ "$AB_PEAK" -le "$bound" ] || fail "RSS peak ${AB_PEAK} MiB over the bound ${bound} MiB"
    [ "$AB_FDS" -lt "$AB_NOFILE" ] || fail "$AB_FDS fds open (limit $AB_NOFILE)"
}
