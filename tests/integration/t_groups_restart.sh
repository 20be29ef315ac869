#!/usr/bin/env bash
# t_groups_restart.sh - a consumer group survives a broker restart (Kafka's
# GroupMetadata records in __consumer_offsets). A kafka-python member joins group
# rg and commits every 300 ms; the broker is stopped and started again under it.
# After the restart the group is Stable with the same member (DescribeGroups),
# the member keeps its generation and member id (no rejoin: it heartbeats on) and
# its commits with that generation are accepted again. Then the member leaves
# (the group is Empty) and after a second restart the group is Empty with its
# committed offsets, as Kafka reports it. 2 shards.
. "$(dirname "$0")/lib.sh"

rb_start --override num.partitions=2 --override num.shards=2 \
    --override group.initial.rebalance.delay.ms=0
bs=$(rb_bootstrap)
st=$ROOT/tests/clients/py_group_state.py
TOPIC=rs-t
GROUP=rg
"$PY" -c "
from kafka.admin import KafkaAdminClient, NewTopic
a = KafkaAdminClient(bootstrap_servers='$bs')
a.create_topics([NewTopic('$TOPIC', 2, 1)])
" || fail "create topic"
"$PY" -c "for i in range(50): print('k%d:v%d' % (i, i))" |
    ct 30 "$KCAT" -b "$bs" -P -t "$TOPIC" -K: -X acks=all 2>"$T_TMP/p.err" ||
    fail "produce: $(tail -3 "$T_TMP/p.err")"

describe() { ct 30 "$PY" "$st" describe "$bs" "$GROUP"; }
wait_for() { # wait_for SECS description test-command...
    local secs=$1 what=$2 deadline
    shift 2
    deadline=$((SECONDS + secs))
    until "$@"; do
        [ $SECONDS -lt $deadline ] || fail "timeout waiting for $what: $(cat "$T_TMP/m.out")"
        sleep 0.2
    done
}
commits_ok_after() { # commits_ok_after T: a successful commit after wall time T
    awk -v t="$1" '$1 == "commit" && $2 == "ok" && $4 > t { n++ } END { exit !(n >= 3) }' "$T_TMP/m.out"
}

stop=$T_TMP/stop
ct 110 "$PY" "$st" member "$bs" "$TOPIC" "$GROUP" "$stop" 90 >"$T_TMP/m.out" 2>"$T_TMP/m.err" &
M=$!
wait_for 30 "the member's first commit" commits_ok_after 0
gen_line=$(grep '^gen ' "$T_TMP/m.out" | tail -1)
read -r _ GEN MEMBER <<<"$gen_line"
info "member $MEMBER in generation $GEN"
d=$(describe)
[ "$d" = "Stable $MEMBER" ] || fail "before restart: DescribeGroups says '$d', want 'Stable $MEMBER'"

rb_stop
rb_restart
t_restart=$(date +%s.%N)
wait_for 40 "commits accepted after the restart" commits_ok_after "$t_restart"
d=$(describe)
[ "$d" = "Stable $MEMBER" ] || fail "after restart: DescribeGroups says '$d', want 'Stable $MEMBER'"
[ "$(grep -c '^gen ' "$T_TMP/m.out")" -eq 1 ] ||
    fail "the member rejoined (generation or member id changed): $(grep '^gen ' "$T_TMP/m.out")"
awk -v g="$GEN" '$1 == "commit" && $2 == "ok" && $3 != g { bad = 1 } END { exit bad }' "$T_TMP/m.out" ||
    fail "a commit in another generation than $GEN"
info "after the restart: still generation $GEN, $(grep -c '^commit ok' "$T_TMP/m.out") commits ok, $(grep -c '^commit fail' "$T_TMP/m.out") failed while the broker was down"

touch "$stop"
wait "$M" || fail "member: rc=$? $(tail -5 "$T_TMP/m.err")"
grep -q '^closed' "$T_TMP/m.out" || fail "member did not close"
before=$(ct 30 "$PY" "$st" offsets "$bs" "$GROUP")
[ "$(echo "$before" | grep -c "^$TOPIC ")" -eq 2 ] || fail "committed offsets: '$before'"
d=$(describe)
[ "$d" = "Empty -" ] || fail "after the member left: '$d', want 'Empty -'"
rb_stop
rb_restart
d=$(describe)
[ "$d" = "Empty -" ] || fail "after the second restart: '$d', want 'Empty -'"
after=$(ct 30 "$PY" "$st" offsets "$bs" "$GROUP")
[ "$after" = "$before" ] || fail "offsets changed over the restart: '$before' -> '$after'"
ct 30 "$PY" "$st" groups "$bs" | grep -qx "$GROUP" || fail "group $GROUP not listed after restart"
rb_check_alive "at the end"
rb_stop
echo "PASS: t_groups_restart"
