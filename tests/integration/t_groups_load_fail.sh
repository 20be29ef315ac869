#!/usr/bin/env bash
# t_groups_load_fail.sh - a __consumer_offsets partition the loader cannot read
# stops loudly instead of serving older offsets. One __consumer_offsets
# partition: group ob commits 100, then 200; the broker is killed and a batch
# (CRC valid) holding an offset commit of ob with a value of an unknown version
# is written after the last batch of the partition's segment, as if the broker
# had appended it. After the restart the loader must log an ERROR naming the
# partition and offset, and OffsetFetch and JoinGroup for groups of that
# partition answer COORDINATOR_NOT_AVAILABLE (15) - never the offsets loaded
# before the bad record - while produce and fetch on other topics still work.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

rb_start --override num.shards=2 --override offsets.topic.num.partitions=1
bs=$(rb_bootstrap)
gb=$ROOT/tests/clients/py_group_big.py
TOPIC=lf-t
echo "k:v" | ct 30 "$KCAT" -b "$bs" -P -t "$TOPIC" -K: -X acks=all 2>"$T_TMP/p.err" ||
    fail "produce: $(tail -3 "$T_TMP/p.err")"
big() { ct 60 "$PY" "$gb" "$@" || fail "py_group_big $*"; }
[ "$(big commit "$bs" ob "$TOPIC" 100)" = 0 ] || fail "commit 100"
[ "$(big commit "$bs" ob "$TOPIC" 200)" = 0 ] || fail "commit 200"
[ "$(big fetch "$bs" ob "$TOPIC")" = 200 ] || fail "fetch before the restart"
rb_kill9

seg=$(ls "$RB_DIR"/__consumer_offsets-0/*.log | head -1)
[ -f "$seg" ] || fail "no segment of __consumer_offsets-0"
read -r pos size base last < <(fl_last_batch "$seg")
[ -n "$last" ] || fail "no batch in $seg"
end=$((pos + size))
bad=$((last + 1))
big forge "$seg" "$end" "$bad" ob "$TOPIC"
info "forged a batch at offset $bad (byte $end of $(basename "$seg"))"

rb_restart
got=
for _ in $(seq 1 50); do # COORDINATOR_LOAD_IN_PROGRESS (14) while loading
    got=$(big fetch "$bs" ob "$TOPIC")
    [ "$got" != "error 14" ] && break
    sleep 0.2
done
[ "$got" = "error 15" ] || fail "OffsetFetch after the restart: '$got', want 'error 15'"
[ "$(big join "$bs" og 10000)" = 15 ] || fail "JoinGroup is not refused with 15"
grep -q "ERROR.*loading __consumer_offsets-0 stopped at offset $bad" "$RB_LOG" ||
    fail "no ERROR naming __consumer_offsets-0 at offset $bad"
echo "k2:v2" | ct 30 "$KCAT" -b "$bs" -P -t "$TOPIC" -K: -X acks=all 2>"$T_TMP/p.err" ||
    fail "produce after the restart: $(tail -3 "$T_TMP/p.err")"
n=$(ct 30 "$KCAT" -C -b "$bs" -t "$TOPIC" -o beginning -e -q -f '%k\n' | wc -l)
[ "$n" = 2 ] || fail "read $n records of $TOPIC, want 2"
info "partition stopped loudly: $(grep -c 'stopped at offset' "$RB_LOG") ERROR line(s)"
rb_check_alive "at the end"
rb_stop
echo "PASS: t_groups_load_fail"
