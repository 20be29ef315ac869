#!/usr/bin/env bash
# t_rf_above_brokers.sh - replication factors without any switch (the old
# replication.test.enable is gone): on 3 brokers, CreateTopics with replication
# factor 4 is answered INVALID_REPLICATION_FACTOR (38) with Kafka's message
# ("larger than available brokers") on every broker, and nothing is created: no
# /brokers/topics/<t>, no broker lists it; Kafka 4.4's kafka-topics
# --replication-factor 4 reports the same error. RF 3 is created and served:
# every partition led with an ISR of 3, records written acks=all read back; an RF 3
# topic written by Kafka 2.8.2's TopicCommand straight to ZooKeeper gets leaders.
. "$(dirname "$0")/lib.sh"

cl_up
k44_setup
for i in 1 2 3; do
    out=$(ct 30 $CLC create-topic "$(cl_addr "$i")" "rf4-$i" 3 4) || fail "CreateTopics on broker $i: $out"
    [[ "$out" == "error=38 message="*"larger than available brokers: 3"* ]] ||
        fail "CreateTopics rf4-$i (RF 4) on broker $i: '$out', want error=38 with Kafka's message"
    info "broker $i: $out"
done
jrun 60 $K_TOPICS --bootstrap-server "$(cl_addr 2)" --create --topic rf4-java --partitions 2 \
    --replication-factor 4 >"$T_TMP/j.out" 2>&1 && fail "kafka-topics --replication-factor 4 succeeded: $(cat "$T_TMP/j.out")"
grep -q 'InvalidReplicationFactorException' "$T_TMP/j.out" ||
    fail "kafka-topics --replication-factor 4: $(tail -5 "$T_TMP/j.out")"
for t in rf4-1 rf4-2 rf4-3 rf4-java; do
    cl_q_get "/brokers/topics/$t" >/dev/null 2>&1 && fail "/brokers/topics/$t exists after the refusal"
    for i in 1 2 3; do
        [ "$(cl_json "$(cl_meta "$i")" "'$t' in d['topics'] and d['topics']['$t']['error'] == 0")" = False ] ||
            fail "broker $i lists $t after the refusal"
    done
done
full_isr() { # topic parts: every broker's Metadata: a leader and 3 in the ISR for each
    local i
    for i in 1 2 3; do
        [ "$(cl_json "$(cl_meta "$i" 2>/dev/null || echo '{"topics":{}}')" "sum(1 for p in d['topics'].get('$1',{}).get('partitions',{}).values() if p['leader'] >= 0 and len(p['isr']) == 3)")" = "$2" ] || return 1
    done
}
out=$(ct 30 $CLC create-topic "$(cl_addr 1)" rf3 3 3) || fail "create-topic rf3: $out"
[[ "$out" == error=0* ]] || fail "CreateTopics rf3 (RF 3, no switch): $out"
wait_for 60 "rf3: a leader and an ISR of 3 for every partition" full_isr rf3 3
out=$(ct 90 $CLC produce "$CL_BS" rf3 0 300 0,1,2 "$T_TMP/acks") || fail "produce rf3: $out"
info "$out"
out=$(ct 90 $CLC consume "$CL_BS" rf3 0,1,2 "$T_TMP/acks") || fail "consume rf3: $out"
info "$out"
k28_topics --create --topic rf3-zk --partitions 2 --replication-factor 3 || k28_fail "TopicCommand RF 3"
wait_for 60 "rf3-zk (TopicCommand): a leader and an ISR of 3 for every partition" full_isr rf3-zk 2
k28_topics --describe --topic rf3-zk || k28_fail "TopicCommand --describe rf3-zk"
grep -q "Leader: none" "$T_TMP/k28.out" && fail "describe rf3-zk: $(cat "$T_TMP/k28.out")"
info "RF 4 refused with 38 and Kafka's message on every broker, nothing created; RF 3 served without a switch (CreateTopics and TopicCommand)"
