#!/usr/bin/env bash
# t_groups_expiry.sh - expiry of committed offsets (offsets.retention.minutes /
# offsets.retention.check.interval.ms, Kafka's rules for classic groups). The
# broker runs with offsets.retention.minutes=1 and a 1 s check interval (both must
# be accepted), and test.offsets.retention.ms=5000 so the test takes seconds:
#   - a standalone commit (assign(), generation -1) is there at once, and gone
#     (OffsetFetch answers nothing, ListGroups no longer lists the group) a few
#     seconds after the retention;
#   - a consumer group member subscribed to the topic keeps its offsets for
#     several retention periods while it is a member; after it leaves (the group
#     is Empty) they expire and the group goes;
#   - tombstones were written: after a restart the expired offsets stay gone.
# 2 shards so groups live on both.
. "$(dirname "$0")/lib.sh"

rb_start --override num.partitions=2 --override num.shards=2 \
    --override group.initial.rebalance.delay.ms=0 \
    --override offsets.retention.minutes=1 \
    --override offsets.retention.check.interval.ms=1000 \
    --override test.offsets.retention.ms=5000
bs=$(rb_bootstrap)
st=$ROOT/tests/clients/py_group_state.py
TOPIC=exp-t
"$PY" -c "
from kafka.admin import KafkaAdminClient, NewTopic
a = KafkaAdminClient(bootstrap_servers='$bs')
a.create_topics([NewTopic('$TOPIC', 2, 1)])
" || fail "create topic"
"$PY" -c "for i in range(20): print('k%d:v%d' % (i, i))" |
    ct 30 "$KCAT" -b "$bs" -P -t "$TOPIC" -K: -X acks=all 2>"$T_TMP/p.err" ||
    fail "produce: $(tail -3 "$T_TMP/p.err")"

offsets() { ct 30 "$PY" "$st" offsets "$bs" "$1"; }
listed() { ct 30 "$PY" "$st" groups "$bs" | grep -qx "$1"; }
wait_gone() { # wait_gone GROUP SECS: offsets and the group itself gone
    local deadline=$((SECONDS + $2))
    while [ -n "$(offsets "$1")" ] || listed "$1"; do
        [ $SECONDS -lt $deadline ] || fail "group $1: offsets not expired after $2 s: $(offsets "$1")"
        sleep 0.5
    done
}

# standalone commits
t0=$SECONDS
ct 30 "$PY" "$st" commit-simple "$bs" "$TOPIC" simple 7 || fail "standalone commit"
got=$(offsets simple)
[ "$(echo "$got" | grep -c " 7$")" -eq 2 ] || fail "standalone commit not visible: '$got'"
listed simple || fail "group simple not listed after its commit"
wait_gone simple 20
info "standalone offsets expired after ~$((SECONDS - t0)) s (retention 5 s, check every 1 s)"
[ $((SECONDS - t0)) -ge 5 ] || fail "standalone offsets gone before the retention"

# a consumer group: kept while a subscribed member is there, expired once Empty
stop=$T_TMP/stop
ct 90 "$PY" "$st" member "$bs" "$TOPIC" cg "$stop" 60 2 >"$T_TMP/m.out" 2>"$T_TMP/m.err" &
M=$!
deadline=$((SECONDS + 30))
until grep -q '^commit ok' "$T_TMP/m.out"; do
    [ $SECONDS -lt $deadline ] || fail "member never committed: $(cat "$T_TMP/m.out" "$T_TMP/m.err")"
    sleep 0.2
done
# two commits only (newer ones would restart the clock), then just a member
sleep 12 # > 2 retention periods + check interval, the member heartbeating
got=$(offsets cg)
[ "$(echo "$got" | grep -c "^$TOPIC ")" -eq 2 ] || fail "a live group's offsets expired: '$got'"
touch "$stop"
wait "$M" || fail "member: rc=$? $(tail -5 "$T_TMP/m.err")"
grep -q '^closed' "$T_TMP/m.out" || fail "member did not close"
got=$(offsets cg)
[ -n "$got" ] || fail "offsets gone right after the member left (retention counts from Empty)"
t1=$SECONDS
wait_gone cg 20
info "group cg: offsets expired ~$((SECONDS - t1)) s after it became Empty"

rb_check_alive "after expiry"
rb_stop
rb_restart
[ -z "$(offsets simple)" ] || fail "expired standalone offsets back after restart: $(offsets simple)"
[ -z "$(offsets cg)" ] || fail "expired group offsets back after restart: $(offsets cg)"
listed cg && fail "expired group cg listed after restart"
rb_stop
echo "PASS: t_groups_expiry"
