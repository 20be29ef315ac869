#!/usr/bin/env bash
# t_groups_flex.sh - the consumer group APIs at COMPAT.md's "later target"
# (flexible versions):
#   tests/clients/py_groups_flex.py: hand-built FindCoordinator v3-4 (batched
#     keys), JoinGroup v6-9 (protocol_type, reason, skip_assignment for a static
#     leader), SyncGroup v4-5 (INCONSISTENT_GROUP_PROTOCOL), Heartbeat v4,
#     LeaveGroup v4-5, DescribeGroups v5, ListGroups v3-4 (states filter),
#     DeleteGroups v2, OffsetCommit v8-9 (GROUP_ID_NOT_FOUND at v9), OffsetFetch
#     v6-9 (several groups);
#   Apache Kafka 4.4's Java console consumer (newest versions both sides support):
#     two members of one group read 2000 records produced by kcat, every record
#     exactly once across them; the committed offsets are the log end offsets.
# 2 shards, so groups and requests cross shards.
. "$(dirname "$0")/lib.sh"

N=2000
T=gflex
rb_start --override num.partitions=4 --override num.shards=2 \
    --override group.initial.rebalance.delay.ms=3000
BS=$(rb_bootstrap)
"$PY" -c "
from kafka.admin import KafkaAdminClient, NewTopic
KafkaAdminClient(bootstrap_servers='$BS').create_topics([NewTopic('$T', 4, 1)])
" || fail "create topic"
out=$(ct 120 "$PY" "$ROOT/tests/clients/py_groups_flex.py" "$BS" $T 2>"$T_TMP/flex.err")
rc=$?
echo "$out"
[ $rc -eq 0 ] || fail "py_groups_flex: rc=$rc $(tail -20 "$T_TMP/flex.err")"

if ! command -v java >/dev/null; then
    echo "skip: Java part (no java)"
elif ! LIB=$("$ROOT/tools/fetch-kafka.sh" 2>"$T_TMP/fetch.err"); then
    echo "skip: Java part (Kafka jars unavailable: $(tail -2 "$T_TMP/fetch.err"))"
else
    JOPTS=(-Xshare:auto -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m)
    G=jgroup
    pids=()
    for i in 1 2; do
        # Both members run until 20 s pass without a record (JVM start and the
        # first rebalance can be slow on a loaded machine or an ASan broker); each prints what it got.
        ct 150 java "${JOPTS[@]}" -cp "$LIB/*" org.apache.kafka.tools.consumer.ConsoleConsumer \
            --bootstrap-server "$BS" --topic $T --group $G --from-beginning \
            --timeout-ms 20000 --consumer-property auto.commit.interval.ms=500 \
            >"$T_TMP/c$i.out" 2>"$T_TMP/c$i.err" &
        pids+=($!)
        sleep 1
    done
    # Produce only once both members hold partitions (a member that joins after
    # the other has read everything would rightly get nothing).
    "$PY" - "$BS" $G <<'PYEOF' || fail "java group: the two members did not both get partitions"
import sys, time
from kafka.admin import KafkaAdminClient
adm = KafkaAdminClient(bootstrap_servers=sys.argv[1])
deadline = time.time() + 60
while time.time() < deadline:
    d = adm.describe_consumer_groups([sys.argv[2]])[0]
    if d.state == 'Stable' and len(d.members) == 2 and all(m.member_assignment.assignment for m in d.members):
        sys.exit(0)
    time.sleep(0.5)
sys.exit(1)
PYEOF
    # Records go to every partition explicitly: with null keys librdkafka's sticky
    # partitioner may put a whole quick burst on the partitions of one member, and
    # that member's peer would then rightly get nothing.
    for p in 0 1 2 3; do
        seq 1 $N | awk -v p=$p 'NR % 4 == p' | sed 's/^/rec-/' |
            ct 60 kcat -P -b "$BS" -t $T -p $p -K: -z lz4 || fail "kcat produce"
    done
    for p in "${pids[@]}"; do wait "$p"; done
    n1=$(grep -c '^rec-' "$T_TMP/c1.out")
    n2=$(grep -c '^rec-' "$T_TMP/c2.out")
    info "member 1 read $n1, member 2 read $n2"
    tot=$(cat "$T_TMP/c1.out" "$T_TMP/c2.out" | grep '^rec-' | sort -u | wc -l)
    all=$(cat "$T_TMP/c1.out" "$T_TMP/c2.out" | grep -c '^rec-')
    [ "$tot" -eq $N ] && [ "$all" -eq $N ] ||
        fail "java group: $all records, $tot distinct, want $N each $(grep -v SLF4J "$T_TMP/c1.err" | tail -5)"
    [ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] || fail "java group: one member got nothing ($n1/$n2)"
    out=$(ct 60 java "${JOPTS[@]}" -cp "$LIB/*" org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
        --bootstrap-server "$BS" --describe --group $G 2>&1 | grep -v '^SLF4J')
    echo "$out"
    lag=$(awk -v t=$T '$2 == t { s += $6 } END { print s + 0 }' <<<"$out")
    rows=$(awk -v t=$T '$2 == t' <<<"$out" | wc -l)
    [ "$rows" -eq 4 ] && [ "$lag" -eq 0 ] || fail "committed offsets: $rows partitions, lag $lag"
    info "Java 4.4 console consumers: 2 members, $N records exactly once, lag 0"
fi
rb_check_alive "after the flexible group clients"
rb_stop
echo "PASS: t_groups_flex"
