#!/usr/bin/env bash
# t_admin_java.sh - admin APIs with Apache Kafka 4.4's own tools (Java client at
# its newest versions against our advertised maxima) and hand-encoded wire checks:
#   kafka-topics: --create with --config, --alter --partitions (grow; shrink is
#     refused with INVALID_PARTITIONS), --describe, --delete
#   kafka-configs: topic --alter --add-config / --delete-config, --describe, an
#     invalid value (INVALID_CONFIG), an unknown topic, a read-only broker config
#     (refused: INVALID_REQUEST "Cannot update these configs dynamically")
#   kafka-log-dirs --describe: every partition with its size
#   kafka-console-producer / kafka-console-consumer: records produced by kcat and
#     the Java producer are read back by the Java consumer (Produce 11, Fetch 12,
#     ListOffsets 6, Metadata 12, OffsetForLeaderEpoch from the Java client)
#   tests/clients/py_admin_wire.py: DescribeCluster v0-1, KIP-320 fencing and Fetch
#     v12 diverging_epoch (ListOffsets v4, Fetch v12), OffsetForLeaderEpoch
#     v2-4, DescribeLogDirs v1 and v4
#   restart: partition count and configs persist.
. "$(dirname "$0")/lib.sh"

command -v java >/dev/null || { echo "skip: no java"; exit 77; }
LIB=$("$ROOT/tools/fetch-kafka.sh" 2>"$T_TMP/fetch.err") || {
    echo "skip: Kafka jars unavailable: $(tail -2 "$T_TMP/fetch.err")"
    exit 77
}
JOPTS=(-Xshare:auto -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m)
jrun() { # jrun CLASS args...: stdout+stderr, SLF4J noise dropped
    local cls=$1
    shift
    ct 60 java "${JOPTS[@]}" -cp "$LIB/*" "$cls" "$@" 2>&1 | grep -v '^SLF4J'
    return "${PIPESTATUS[0]}"
}
TC=org.apache.kafka.tools.TopicCommand
CC=org.apache.kafka.tools.ConfigCommand
T=adm-java

rb_start --override num.shards=2
BS=$(rb_bootstrap)

out=$(jrun $TC --bootstrap-server "$BS" --create --topic $T --partitions 2 --config retention.ms=3600000) ||
    fail "create: $out"
grep -q "Created topic $T" <<<"$out" || fail "create: $out"
out=$(jrun $TC --bootstrap-server "$BS" --alter --topic $T --partitions 4) || fail "grow: $out"
out=$(jrun $TC --bootstrap-server "$BS" --alter --topic $T --partitions 3) && fail "shrink accepted: $out"
grep -q "would not be an increase" <<<"$out" || fail "shrink error: $out"
out=$(jrun $TC --bootstrap-server "$BS" --describe --topic $T) || fail "describe: $out"
grep -q "PartitionCount: 4" <<<"$out" || fail "describe after grow: $out"
[ "$(grep -c "Partition: [0-3]" <<<"$out")" -eq 4 ] || fail "describe partitions: $out"
info "kafka-topics create/grow/describe ok; shrink refused"

out=$(jrun $CC --bootstrap-server "$BS" --entity-type topics --entity-name $T --alter \
    --add-config segment.bytes=1048576,cleanup.policy=delete) || fail "add-config: $out"
out=$(jrun $CC --bootstrap-server "$BS" --entity-type topics --entity-name $T --alter \
    --delete-config retention.ms) || fail "delete-config: $out"
out=$(jrun $CC --bootstrap-server "$BS" --entity-type topics --entity-name $T --describe) ||
    fail "describe configs: $out"
grep -q "segment.bytes=1048576" <<<"$out" && grep -q "cleanup.policy=delete" <<<"$out" ||
    fail "configs after alter: $out"
grep -q "retention.ms" <<<"$out" && fail "retention.ms not deleted: $out"
out=$(jrun $CC --bootstrap-server "$BS" --entity-type topics --entity-name $T --alter \
    --add-config retention.ms=abc) && fail "bad value accepted: $out"
grep -q "InvalidConfigurationException" <<<"$out" || fail "bad value error: $out"
out=$(jrun $CC --bootstrap-server "$BS" --entity-type topics --entity-name no-such --alter \
    --add-config retention.ms=1) && fail "unknown topic accepted: $out"
grep -q "UnknownTopicOrPartitionException" <<<"$out" || fail "unknown topic error: $out"
out=$(jrun $CC --bootstrap-server "$BS" --entity-type brokers --entity-name 0 --alter \
    --add-config num.partitions=3) && fail "read-only broker config accepted: $out"
grep -q "Cannot update these configs dynamically: \[num.partitions\]" <<<"$out" ||
    fail "read-only broker config error: $out"
info "kafka-configs alter/delete/describe ok; bad value, unknown topic, read-only broker key refused"

for i in 1 2 3 4 5; do echo "kc-$i"; done | ct 20 "$KCAT" -P -b "$BS" -t $T -p 0 ||
    fail "kcat produce"
out=$(ct 30 "$PY" "$ROOT/tests/clients/py_admin_wire.py" "$BS" $T 4 5) || fail "wire: $out"
info "$(grep -c '^ok:' <<<"$out") wire checks ok (DescribeCluster, OffsetForLeaderEpoch, DescribeLogDirs)"

out=$(printf 'jp-1\njp-2\njp-3\n' | jrun org.apache.kafka.tools.ConsoleProducer \
    --bootstrap-server "$BS" --topic $T) || fail "console producer: $out"
out=$(jrun org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$BS" --topic $T \
    --from-beginning --max-messages 8 --timeout-ms 20000) || fail "console consumer: $out"
got=$(grep -E '^(kc|jp)-[0-9]$' <<<"$out" | sort | tr '\n' ' ')
[ "$got" = "jp-1 jp-2 jp-3 kc-1 kc-2 kc-3 kc-4 kc-5 " ] || fail "consumed '$got': $out"
info "Java console producer + consumer: 8/8 records"

out=$(jrun org.apache.kafka.tools.LogDirsCommand --bootstrap-server "$BS" --describe \
    --topic-list $T) || fail "log dirs: $out"
[ "$(grep -o "\"partition\":\"$T-[0-9]\"" <<<"$out" | sort -u | wc -l)" -eq 4 ] ||
    fail "log dirs partitions: $out"
grep -q "\"partition\":\"$T-0\",\"size\":[1-9]" <<<"$out" || fail "log dirs size of p0: $out"
info "kafka-log-dirs ok"

rb_stop
rb_restart
out=$(jrun $TC --bootstrap-server "$BS" --describe --topic $T) || fail "describe after restart: $out"
grep -q "PartitionCount: 4" <<<"$out" && grep -q "segment.bytes=1048576" <<<"$out" ||
    fail "after restart: $out"
out=$(jrun $TC --bootstrap-server "$BS" --delete --topic $T) || fail "delete: $out"
out=$(jrun $TC --bootstrap-server "$BS" --list) || fail "list: $out"
grep -qx "$T" <<<"$out" && fail "still listed after delete: $out"
info "restart kept partitions and configs; delete ok"
rb_stop
echo "ok: t_admin_java"
exit 0
