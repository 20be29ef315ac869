#!/usr/bin/env bash
# t_k28_topics.sh - Apache Kafka 2.8.2's own TopicCommand (kafka-topics.sh
# --zookeeper) against the ringbroker cluster, then data through ringbroker.
#   1. the exact classic command: --create --topic test --partitions 3
#      --replication-factor 1 --if-not-exists --zookeeper host:port,.../kafka
#      -> "Created topic test."; run again -> exit 0 and nothing written;
#   2. the controller takes it up: every broker's Metadata shows 3 partitions with
#      the replica TopicCommand assigned as leader, one partition on each broker;
#      /brokers/topics/test gains a topic_id, partitions/<p>/state name the leader;
#   3. --list prints test; --describe prints a leader for every partition;
#   4. records produced through the cluster (librdkafka) are all read back;
#   5. --alter --partitions 6 -> 6 partitions led on every broker's Metadata, and
#      records to all 6 are read back (with the earlier ones);
#   6. --delete -> the controller removes /admin/delete_topics/test and
#      /brokers/topics/test, --list no longer shows it, no broker's Metadata lists
#      it, and no broker keeps a test-<p> directory.
. "$(dirname "$0")/lib.sh"

cl_up
k28_setup

# 1. create, the classic way
k28_topics --create --topic test --partitions 3 --replication-factor 1 --if-not-exists ||
    k28_fail "TopicCommand --create"
grep -qx 'Created topic test.' "$T_TMP/k28.out" || k28_fail "TopicCommand --create output"
grep -q '^create .*/brokers/topics/test .*ok' "$T_TMP/k28.ops" || fail "no /brokers/topics/test created: $(cat "$T_TMP/k28.ops")"
k28_topics --create --topic test --partitions 3 --replication-factor 1 --if-not-exists ||
    k28_fail "TopicCommand --create --if-not-exists on an existing topic"
grep -q '^\(create\|setData\)' "$T_TMP/k28.ops" && fail "--if-not-exists wrote: $(cat "$T_TMP/k28.ops")"
info "Kafka 2.8.2 TopicCommand --create (twice, --if-not-exists) ok"

# 2. the controller takes the topic up
wait_for 30 "leaders for the 3 partitions of test on every broker" cl_topic_led test 3
assign=$(cl_q_get /brokers/topics/test) || fail "/brokers/topics/test missing"
"$PY" - "$assign" "$(cl_meta 1)" "$(cl_meta 2)" "$(cl_meta 3)" <<'PY' || fail "assignment vs Metadata (above)"
import json, sys
a = json.loads(sys.argv[1])
assert "topic_id" in a and len(a["topic_id"]) == 22, "no topic_id added: %s" % a
reps = {int(p): r for p, r in a["partitions"].items()}
assert sorted(r[0] for r in reps.values()) == [1, 2, 3], "not one partition per broker: %s" % reps
for m in map(json.loads, sys.argv[2:]):
    ps = m["topics"]["test"]["partitions"]
    for p, r in reps.items():
        got = ps[str(p)]
        assert got["replicas"] == r and got["leader"] == r[0] and got["isr"] == r, (p, got, r)
PY
for p in 0 1 2; do
    st=$(cl_q_get "/brokers/topics/test/partitions/$p/state") || fail "no state node for partition $p"
    "$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); assert {"controller_epoch","leader","leader_epoch","isr","version"} <= set(d) and d["leader"] >= 1, d' "$st" ||
        fail "partition $p state: $st"
done
info "controller took test up: $(cl_json "$assign" 'd["partitions"]')"

# 3. list and describe
k28_topics --list || k28_fail "TopicCommand --list"
grep -qx test "$T_TMP/k28.out" || k28_fail "--list does not show test"
k28_topics --describe --topic test || k28_fail "TopicCommand --describe"
[ "$(grep -c 'Partition: [0-9]' "$T_TMP/k28.out")" = 3 ] || k28_fail "--describe: not 3 partitions"
grep -q 'Leader: none' "$T_TMP/k28.out" && k28_fail "--describe shows a partition without leader"

# 4. data through ringbroker
ct 120 $CLC produce "$CL_BS" test 0 600 0,1,2 "$T_TMP/acks" || fail "produce to test"
ct 120 $CLC consume "$CL_BS" test 0,1,2 "$T_TMP/acks" | sed 's/^/info: /' || fail "consume test"

# 5. more partitions
k28_topics --alter --topic test --partitions 6 || k28_fail "TopicCommand --alter --partitions 6"
wait_for 30 "leaders for the 6 partitions of test on every broker" cl_topic_led test 6
k28_topics --describe --topic test || k28_fail "TopicCommand --describe after --alter"
[ "$(grep -c 'Partition: [0-9]' "$T_TMP/k28.out")" = 6 ] || k28_fail "--describe after --alter: not 6 partitions"
ct 120 $CLC produce "$CL_BS" test 600 600 0,1,2,3,4,5 "$T_TMP/acks" || fail "produce to 6 partitions"
ct 120 $CLC consume "$CL_BS" test 0,1,2,3,4,5 "$T_TMP/acks" | sed 's/^/info: /' || fail "consume 6 partitions"

# 6. delete
k28_topics --delete --topic test || k28_fail "TopicCommand --delete"
gone() {
    ! cl_q_get /brokers/topics/test >/dev/null 2>&1 && ! cl_q_get /admin/delete_topics/test >/dev/null 2>&1
}
wait_for 30 "the controller to delete test (/brokers/topics/test, /admin/delete_topics/test)" gone
k28_topics --list || k28_fail "TopicCommand --list after --delete"
grep -q '^test' "$T_TMP/k28.out" && k28_fail "--list still shows test"
not_listed() {
    local i
    for i in 1 2 3; do
        [ "$(cl_json "$(cl_meta "$i")" "'test' in d['topics'] and d['topics']['test']['error'] == 0")" = False ] || return 1
    done
}
wait_for 30 "every broker to forget test" not_listed
no_dirs() { [ -z "$(find "$CL_DIR"/broker-*/data -maxdepth 1 -name 'test-[0-9]*' 2>/dev/null)" ]; }
wait_for 30 "test-<p> directories to be removed on every broker ($(find "$CL_DIR"/broker-*/data -maxdepth 1 -name 'test-[0-9]*' | tr '\n' ' '))" no_dirs
info "Kafka 2.8.2 TopicCommand --list, --describe, --alter, --delete ok; data removed on every broker"
