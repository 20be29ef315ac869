#!/usr/bin/env bash
# t_rf3_refused.sh - without replication.test.enable (the default: replication is
# incomplete, t_replication.sh runs with the key), CreateTopics with replication
# factor 3 is answered INVALID_REPLICATION_FACTOR (38) with a message saying why,
# on every broker, and nothing is created: no /brokers/topics/<t>, no broker lists it.
# Kafka 4.4's kafka-topics --replication-factor 3 reports the same error.
# RF=1 next to it is created normally.
. "$(dirname "$0")/lib.sh"

cl_up
k44_setup
for i in 1 2 3; do
    out=$(ct 30 $CLC create-topic "$(cl_addr "$i")" "rf3-$i" 3 3) || fail "CreateTopics on broker $i: $out"
    [[ "$out" == "error=38 message="?* ]] || fail "CreateTopics rf3-$i (RF 3) on broker $i: '$out', want error=38 with a message"
    [ "$out" != "error=38 message=None" ] || fail "CreateTopics rf3-$i: error 38 without a message"
    info "broker $i: $out"
done
jrun 60 $K_TOPICS --bootstrap-server "$(cl_addr 2)" --create --topic rf3-java --partitions 2 \
    --replication-factor 3 >"$T_TMP/j.out" 2>&1 && fail "kafka-topics --replication-factor 3 succeeded: $(cat "$T_TMP/j.out")"
grep -q 'InvalidReplicationFactorException' "$T_TMP/j.out" ||
    fail "kafka-topics --replication-factor 3: $(tail -5 "$T_TMP/j.out")"
cl_create_topic rf1 3 2
sleep 1
for t in rf3-1 rf3-2 rf3-3 rf3-java; do
    cl_q_get "/brokers/topics/$t" >/dev/null 2>&1 && fail "/brokers/topics/$t exists after the refusal"
    for i in 1 2 3; do
        [ "$(cl_json "$(cl_meta "$i")" "'$t' in d['topics'] and d['topics']['$t']['error'] == 0")" = False ] ||
            fail "broker $i lists $t after the refusal"
    done
done
# Kafka 2.8.2's TopicCommand writes an RF 3 topic straight to ZooKeeper: it is
# assigned and shown, but without the key no partition gets a leader (never
# served as if it had copies).
k28_topics --create --topic rf3-zk --partitions 2 --replication-factor 3 || k28_fail "TopicCommand RF 3"
sleep 3
for i in 1 2 3; do
    [ "$(cl_json "$(cl_meta "$i")" "d['topics']['rf3-zk']['partitions']['0']['leader']")" = -1 ] ||
        fail "broker $i: rf3-zk-0 has a leader: $(cl_meta "$i")"
done
k28_topics --describe --topic rf3-zk || k28_fail "TopicCommand --describe rf3-zk"
grep -q "Leader: none" "$T_TMP/k28.out" || fail "describe rf3-zk: $(cat "$T_TMP/k28.out")"
info "RF 3 refused with 38 and a message on every broker; nothing created; RF 1 fine; an RF 3 topic written by TopicCommand is shown without leaders"
