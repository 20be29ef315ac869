#!/usr/bin/env bash
# t_flush_long_max.sh - Kafka's flush defaults (Long.MAX_VALUE = never) work
# (issue 13 item 11).
#
# Kafka's defaults for log.flush.interval.ms and log.flush.interval.messages are
# both 9223372036854775807. Together they used to wedge the broker (the flush.ms
# timer deadline last_sync + Long.MAX overflowed to the past, so it fired every
# loop turn: both shards spun and nothing was answered). Deadlines now saturate
# (core/timer.h rb_deadline_after): Long.MAX means "never".
#   A. both broker keys at Long.MAX: kcat acks=all 300,000 x 1 KiB on 8 partitions,
#      every record read back, Metadata still answered during and after.
#   B. each key alone at Long.MAX, and log.retention.check.interval.ms at Long.MAX.
#   C. topic configs flush.ms / flush.messages at Long.MAX (CreateTopics).
# Each produce is bounded; a wedged broker fails the test by timeout.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

MAX=9223372036854775807
N=${RB_FLUSH_MAX_N:-300000}
"$PY" -c "
import sys
pad = 'x' * 1000
w = sys.stdout.write
for i in range($N):
    w('%08d:%s\n' % (i, pad))
" >"$T_TMP/in.txt"
"$PY" -c "
for i in range(50000):
    print('%08d:%s' % (i, 'y' * 1000))
" >"$T_TMP/small.txt"

# produce_read TOPIC FILE COUNT: kcat acks=all produce of FILE, read back COUNT.
produce_read() {
    local t=$1 f=$2 n=$3 got
    ct 240 "$KCAT" -P -b "$(rb_bootstrap)" -t "$t" -X acks=all -X linger.ms=5 \
        -X message.timeout.ms=120000 -X queue.buffering.max.messages=1000000 \
        -l "$f" >"$T_TMP/p.$t.out" 2>&1 || fail "$t: produce failed or timed out: $(tail -3 "$T_TMP/p.$t.out")"
    grep -qiE "fail|error" "$T_TMP/p.$t.out" && fail "$t: produce errors: $(tail -3 "$T_TMP/p.$t.out")"
    ct 20 "$KCAT" -L -b "$(rb_bootstrap)" -t "$t" >"$T_TMP/md.out" 2>&1 ||
        fail "$t: Metadata not answered after the produce"
    got=$(ct 180 "$KCAT" -C -b "$(rb_bootstrap)" -t "$t" -o beginning -e -q -f '%s\n' | sort -u | wc -l)
    [ "$got" -eq "$n" ] || fail "$t: read back $got distinct records of $n"
    info "$t: $n records produced (acks=all) and read back"
}

# A (and its read-back after a clean restart with the same settings)
rb_start --override num.partitions=8 --override log.flush.interval.ms=$MAX \
    --override log.flush.interval.messages=$MAX
produce_read both "$T_TMP/in.txt" "$N"
rb_stop
rb_restart
got=$(ct 180 "$KCAT" -C -b "$(rb_bootstrap)" -t both -o beginning -e -q -f '%s\n' | sort -u | wc -l)
[ "$got" -eq "$N" ] || fail "both after a clean restart: $got of $N"
info "after a clean restart: both $got of $N"
rb_stop

# B: each alone (rb_start: rb_restart would keep A's overrides)
rb_start --override num.partitions=8 --override log.flush.interval.ms=$MAX
produce_read msonly "$T_TMP/small.txt" 50000
rb_stop
rb_start --override num.partitions=8 --override log.flush.interval.messages=$MAX \
    --override log.retention.check.interval.ms=$MAX
produce_read msgsonly "$T_TMP/small.txt" 50000
rb_stop

# C
rb_start --override num.partitions=8
ct 30 "$CTL" topics --bootstrap-server "$(rb_bootstrap)" --create --topic tmax --partitions 8 \
    --config flush.ms=$MAX --config flush.messages=$MAX >"$T_TMP/c.out" 2>&1 ||
    fail "create tmax: $(cat "$T_TMP/c.out")"
produce_read tmax "$T_TMP/small.txt" 50000
rb_stop
exit 0
