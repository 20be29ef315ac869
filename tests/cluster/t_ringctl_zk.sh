#!/usr/bin/env bash
# tests/cluster/t_ringctl_zk.sh - ringctl against a ZooKeeper-mode cluster
# (tools/cluster.sh: a 3-node ZooKeeper ensemble + 3 brokers on free loopback
# ports, one temp dir), checked against Kafka 2.8.2's own TopicCommand:
#  - the classic `ringctl topics --create --topic test --partitions 3
#    --replication-factor 1 --if-not-exists --zookeeper .../kafka` creates a topic
#    spread over the 3 brokers that the brokers serve: kcat produces and consumes
#    every record; --if-not-exists again is silent, without it "already exists";
#  - TopicCommand --describe prints exactly what ringctl --describe prints, for a
#    topic ringctl wrote and one TopicCommand wrote (with a config); --list;
#  - --alter --partitions grows the topic (kcat writes to the new partition),
#    shrinking is refused; --delete marks it, the controller deletes it, both
#    tools stop listing it;
#  - ringctl cluster (--zookeeper and --bootstrap-server): the 3 brokers with their
#    ports, the controller named in /controller, every partition with a leader and
#    the summary; after kill -9 of a broker its partitions are flagged (NO LEADER)
#    and counted offline, and describe says "Leader: none" as TopicCommand does;
#  - with broker.rack on only some brokers a create is refused as TopicCommand
#    refuses it, unless --disable-rack-aware;
#  - ringctl zk dumps the tree (brokers, topics, states, controller), --max-nodes
#    bounds it, a missing PATH fails;
#  - errors: a chroot that does not exist, a replication factor above the broker
#    count, an unreachable ZooKeeper (bounded), usage errors (exit 2).
# Needs build/bin/{ringbroker,ringctl}, kcat, java and Kafka 2.8.2's jars
# (tools/fetch-kafka.sh 2.8.2, cached). Every client call runs under `timeout`.
set -u
set -o pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CTL=${RINGCTL_BIN:-$ROOT/build/bin/ringctl}
CLUSTER=$ROOT/tools/cluster.sh
T=$(mktemp -d "${TMPDIR:-/tmp}/rb-ringctl-zk.XXXXXX")
D=$T/c
cleanup() {
    "$CLUSTER" down --dir "$D" >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fail() {
    echo "FAIL: t_ringctl_zk: $*" >&2
    exit 1
}
info() { echo "info: $*"; }

[ -x "$CTL" ] || fail "ringctl missing: $CTL (make)"
command -v kcat >/dev/null || fail "kcat missing (tools/install-deps.sh)"
LIB=$("$ROOT/tools/fetch-kafka.sh" 2.8.2) || fail "cannot fetch Kafka 2.8.2"

timeout 150 "$CLUSTER" up --dir "$D" --override zookeeper.session.timeout.ms=6000 --override broker.rack=r1 \
    >"$T/up.log" 2>&1 || fail "cluster.sh up: $(tail -20 "$T/up.log")"
Q=$(cat "$D/quorum")
B=$(cat "$D/bootstrap")
HOSTS=${Q%/kafka}
[ "$HOSTS" != "$Q" ] || fail "quorum '$Q' has no /kafka chroot"
info "zookeeper.connect $Q, brokers $B"

ctl() { timeout 60 "$CTL" "$@"; }
zkt() { ctl topics --zookeeper "$Q" "$@"; }
# Kafka 2.8.2's TopicCommand on the same ZooKeeper (its log4j silenced).
kt() {
    timeout 90 java -Xmx256m -XX:+UseSerialGC -cp "$LIB/*" -Dlog4j.configuration=file:/dev/null \
        kafka.admin.TopicCommand --zookeeper "$Q" "$@" 2>"$T/kt.err"
}
# Poll (at most $1 s) until the command after it succeeds.
wait_for() {
    local secs=$1
    shift
    local end=$((SECONDS + secs))
    until "$@"; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.5
    done
}
offline() { ctl cluster --zookeeper "$Q" --exclude-internal | sed -n 's/.*, \([0-9]*\) offline partitions$/\1/p'; }
all_led() { [ "$(offline)" = 0 ]; }

# ---- the classic create ----
out=$(zkt --create --topic test --partitions 3 --replication-factor 1 --if-not-exists) ||
    fail "classic create failed: $out"
[ "$out" = "Created topic test." ] || fail "create printed '$out'"
wait_for 30 all_led || fail "test's partitions got no leaders: $(ctl cluster --zookeeper "$Q")"
as=$(ctl zk --zookeeper "$Q" /brokers/topics/test | head -2 | tail -1)
leaders=$(echo "$as" | grep -o '"[0-2]":\[[0-9]*\]' | sed 's/.*\[\([0-9]*\)\]/\1/' | sort | tr '\n' ' ')
[ "$leaders" = "1 2 3 " ] || fail "3 partitions not spread over brokers 1-3: $as"
echo "$as" | grep -q '"topic_id":"[A-Za-z0-9_-]\{22\}"' || fail "no topic_id: $as"
out=$(zkt --create --topic test --partitions 3 --replication-factor 1 --if-not-exists 2>&1) ||
    fail "--if-not-exists on an existing topic failed: $out"
[ -z "$out" ] || fail "--if-not-exists printed '$out'"
out=$(zkt --create --topic test --partitions 3 --replication-factor 1 2>&1) &&
    fail "creating an existing topic succeeded"
echo "$out" | grep -q "Topic 'test' already exists." || fail "exists message: $out"

# ---- produce and consume through the brokers ----
N=300
seq 1 $N | sed 's/.*/k&:v&/' >"$T/in"
timeout 60 kcat -P -b "$B" -t test -K: -l "$T/in" || fail "kcat produce"
timeout 60 kcat -C -b "$B" -t test -o beginning -e -q -f '%k:%s\n' | sort >"$T/got" ||
    fail "kcat consume"
sort "$T/in" | cmp -s - "$T/got" || fail "consumed $(wc -l <"$T/got") records, not the $N produced"
for p in 0 1 2; do
    n=$(timeout 30 kcat -C -b "$B" -t test -p $p -o beginning -e -q | wc -l)
    [ "$n" -gt 0 ] || fail "partition $p got no record"
done
info "kcat: $N records through 3 partitions on 3 brokers"

# ---- TopicCommand and ringctl read each other's topics ----
out=$(kt --create --topic kt --partitions 2 --replication-factor 1 --config retention.ms=60000) ||
    fail "TopicCommand create: $(cat "$T/kt.err")"
wait_for 30 all_led || fail "kt's partitions got no leaders"
zkt --describe >"$T/rc.desc" || fail "ringctl --describe"
kt --describe >"$T/kt.desc" || fail "TopicCommand --describe: $(cat "$T/kt.err")"
diff "$T/kt.desc" "$T/rc.desc" >"$T/diff" || fail "describe differs from TopicCommand's: $(cat "$T/diff")"
grep -q $'^Topic: kt\tTopicId: [A-Za-z0-9_-]\{22\}\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: retention.ms=60000$' \
    "$T/rc.desc" || fail "kt's describe line: $(cat "$T/rc.desc")"
grep -q $'^\tTopic: test\tPartition: 2\tLeader: [1-3]\tReplicas: [1-3]\tIsr: [1-3]$' "$T/rc.desc" ||
    fail "test's partition lines: $(cat "$T/rc.desc")"
[ "$(zkt --list)" = $'kt\ntest' ] || fail "--list: $(zkt --list)"
# --topic is Kafka's IncludeList: a regular expression, ',' for '|'
zkt --describe --topic 'te.*,kt' >"$T/rc.re" || fail "describe --topic 'te.*,kt'"
kt --describe --topic 'te.*,kt' | diff - "$T/rc.re" >"$T/diff" || fail "regex describe: $(cat "$T/diff")"
[ "$(grep -c '^Topic: ' "$T/rc.re")" = 2 ] || fail "regex describe: $(cat "$T/rc.re")"
[ "$(zkt --list --topic 't.*')" = test ] || fail "--list --topic 't.*': $(zkt --list --topic 't.*')"
[ "$(kt --list)" = $'kt\ntest' ] || fail "TopicCommand --list"
out=$(zkt --describe --topic nope 2>&1) && fail "describe of a missing topic succeeded"
echo "$out" | grep -q "Topic 'nope' does not exist as expected" || fail "missing topic: $out"
zkt --describe --topic nope --if-exists || fail "--describe --if-exists of a missing topic failed"
info "describe and list agree with TopicCommand"

# ---- alter ----
out=$(zkt --alter --topic test --partitions 5) || fail "alter: $out"
echo "$out" | grep -q "^Adding partitions succeeded!$" || fail "alter printed '$out'"
wait_for 30 all_led || fail "the new partitions got no leaders"
kt --describe --topic test | grep -q $'PartitionCount: 5\t' || fail "TopicCommand does not see 5 partitions"
echo "p4" | timeout 30 kcat -P -b "$B" -t test -p 4 || fail "produce to the new partition 4"
[ "$(timeout 30 kcat -C -b "$B" -t test -p 4 -o beginning -e -q)" = p4 ] || fail "consume partition 4"
out=$(zkt --alter --topic test --partitions 2 2>&1) && fail "shrinking succeeded"
echo "$out" | grep -q "can only be increased. Topic test currently has 5 partitions" ||
    fail "shrink message: $out"

# ---- cluster ----
# the brokers learn the new partitions' leaders a moment after the quorum has them
bs_led() { ctl cluster --bootstrap-server "$B" --exclude-internal | grep -q ", 0 offline partitions$"; }
wait_for 30 bs_led || fail "the brokers' metadata lacks leaders: $(ctl cluster --bootstrap-server "$B")"
ctl cluster --zookeeper "$Q" --exclude-internal >"$T/cz" || fail "cluster --zookeeper"
ctl cluster --bootstrap-server "$B" --exclude-internal >"$T/cb" || fail "cluster --bootstrap-server"
ctrl=$(ctl zk --zookeeper "$Q" /controller | sed -n 's/.*"brokerid":\([0-9]*\).*/\1/p')
[ -n "$ctrl" ] || fail "no /controller"
for f in "$T/cz" "$T/cb"; do
    grep -q "^Controller: $ctrl (127.0.0.1:$(cat "$D/broker-$ctrl/port"))$" "$f" ||
        fail "controller line ($ctrl) in $(cat "$f")"
    for i in 1 2 3; do
        grep -q "^$i  *127.0.0.1:$(cat "$D/broker-$i/port") " "$f" || fail "broker $i in $(cat "$f")"
    done
    grep -q "^3 brokers, 2 topics, 7 partitions, 0 offline partitions$" "$f" ||
        fail "summary in $(cat "$f")"
    [ "$(grep -c ' ok$' "$f")" = 7 ] || fail "not 7 partitions ok in $(cat "$f")"
done
grep -q "^Cluster id: [A-Za-z0-9_-]\{22\}$" "$T/cz" || fail "cluster id: $(cat "$T/cz")"
[ "$(grep -c '^[1-3]  *127.0.0.1:[0-9]*  *r1$' "$T/cz")" = 3 ] || fail "racks (r1): $(cat "$T/cz")"
info "cluster: 3 brokers, controller $ctrl, 7 partitions led"

# ---- zk dump ----
ctl zk --zookeeper "$Q" >"$T/zk" || fail "zk dump"
for want in '^  brokers$' '^    ids$' '^      1 = {.*"port":' '^      test = {"partitions":' \
    '^            state = {"controller_epoch":' '^  controller = {"version":1,"brokerid":' \
    '^    topics$' '^      kt = {"version":1,"config":{"retention.ms":"60000"}}$'; do
    grep -q "$want" "$T/zk" || fail "zk dump lacks '$want': $(head -40 "$T/zk")"
done
out=$(ctl zk --zookeeper "$Q" --max-nodes 3) || fail "zk --max-nodes"
[ "$(echo "$out" | wc -l)" = 5 ] || fail "--max-nodes 3 printed: $out"
echo "$out" | tail -1 | grep -q "^# stopped after 3 nodes" || fail "no stop line: $out"
out=$(ctl zk --zookeeper "$Q" /nope 2>&1) && fail "zk of a missing path succeeded"
echo "$out" | grep -q "no node /kafka/nope" || fail "missing path: $out"

# ---- delete ----
out=$(zkt --delete --topic kt) || fail "delete: $out"
echo "$out" | grep -q "^Topic kt is marked for deletion.$" || fail "delete printed '$out'"
gone() { [ "$(zkt --list)" = test ]; }
wait_for 30 gone || fail "kt not deleted: $(zkt --list)"
[ "$(kt --list)" = test ] || fail "TopicCommand still lists kt"
# (all topics: a Metadata request naming kt would auto-create it again)
timeout 30 kcat -L -b "$B" 2>&1 | grep -q 'topic "kt" with' &&
    fail "the brokers still serve kt"
out=$(zkt --delete --topic kt 2>&1) && fail "deleting a missing topic succeeded"
echo "$out" | grep -q "Topic 'kt' does not exist as expected" || fail "delete missing: $out"
zkt --delete --topic kt --if-exists || fail "--delete --if-exists of a missing topic failed"

# ---- --replica-assignment ----
out=$(zkt --create --topic ra --replica-assignment 3,2) || fail "create with --replica-assignment: $out"
wait_for 30 all_led || fail "ra's partitions got no leaders"
zkt --describe --topic ra >"$T/ra.desc"
grep -q $'^\tTopic: ra\tPartition: 0\tLeader: 3\tReplicas: 3\tIsr: 3$' "$T/ra.desc" &&
    grep -q $'^\tTopic: ra\tPartition: 1\tLeader: 2\tReplicas: 2\tIsr: 2$' "$T/ra.desc" ||
    fail "ra not placed as asked: $(cat "$T/ra.desc")"
kt --describe --topic ra | diff - "$T/ra.desc" >"$T/diff" || fail "ra differs: $(cat "$T/diff")"
zkt --delete --topic ra >/dev/null || fail "delete ra"
wait_for 30 gone || fail "ra not deleted: $(zkt --list)"

# ---- errors ----
out=$(ctl topics --list --zookeeper "$HOSTS/nokafka" 2>&1) && fail "a missing chroot was accepted"
echo "$out" | grep -q "has no node /nokafka: a wrong chroot?" || fail "chroot message: $out"
ctl zk --zookeeper "$HOSTS" / >/dev/null || fail "zk without a chroot"
ctl zk --zookeeper "$HOSTS" / | grep -q '^  zookeeper' && fail "zk dump shows /zookeeper"
ctl zk --zookeeper "$HOSTS" | grep -q '^  kafka$' || fail "zk of the root lacks kafka"
out=$(zkt --create --topic x --partitions 1 --replication-factor 4 2>&1) && fail "RF 4 accepted"
echo "$out" | grep -q "Replication factor: 4 larger than available brokers: 3." || fail "RF: $out"
start=$SECONDS
out=$(ctl topics --list --zookeeper 127.0.0.1:1/kafka --connect-timeout-ms 2000 2>&1) &&
    fail "an unreachable ZooKeeper was accepted"
[ $((SECONDS - start)) -le 10 ] || fail "unreachable ZooKeeper took $((SECONDS - start)) s"
echo "$out" | grep -q "cannot reach ZooKeeper at 127.0.0.1:1 within 2000 ms" || fail "unreachable: $out"
[ "$(echo "$out" | wc -l)" = 1 ] || fail "unreachable printed more than one line: $out"
for bad in "topics --zookeeper $Q --create --topic y" "zk" "zk --zookeeper $Q brokers" \
    "cluster --zookeeper $Q --bootstrap-server $B" "topics --zookeeper h:1/k/ --list"; do
    # shellcheck disable=SC2086
    ctl $bad >/dev/null 2>&1
    [ $? = 2 ] || fail "'ringctl $bad' did not exit 2"
done

# ---- a broker lost: its partitions are flagged ----
timeout 30 "$CLUSTER" kill-broker 1 --dir "$D" >/dev/null 2>&1 || fail "kill-broker 1"
down() { [ "$(offline)" -ge 1 ]; }
wait_for 40 down || fail "no offline partition after broker 1 died: $(ctl cluster --zookeeper "$Q")"
ctl cluster --zookeeper "$Q" --exclude-internal >"$T/cz2"
grep -q "^2 brokers, 1 topics, 5 partitions, [1-9] offline partitions$" "$T/cz2" ||
    fail "summary after the loss: $(cat "$T/cz2")"
grep -Eq '^test +[0-9]+ +none +1 +1 +NO LEADER$' "$T/cz2" || fail "no NO LEADER row: $(cat "$T/cz2")"
zkt --describe --topic test >"$T/rc.desc2"
grep -q $'\tLeader: none\tReplicas: 1\t' "$T/rc.desc2" || fail "no 'Leader: none': $(cat "$T/rc.desc2")"
kt --describe --topic test >"$T/kt.desc2"
diff "$T/kt.desc2" "$T/rc.desc2" >"$T/diff" || fail "describe with a dead broker differs: $(cat "$T/diff")"
info "broker 1 lost: its partitions show NO LEADER / Leader: none"

# ---- racks on some brokers only: refused, as Kafka's Enforced rack-aware mode ----
sed -i '/^broker.rack=/d' "$D/overrides"
timeout 60 "$CLUSTER" start-broker 1 --dir "$D" >/dev/null 2>&1 || fail "start-broker 1"
three() { ctl cluster --zookeeper "$Q" --exclude-internal | grep -q "^3 brokers,"; }
wait_for 40 three || fail "broker 1 did not register again"
grep -q '^1  *127.0.0.1:[0-9]*  *-$' <(ctl cluster --zookeeper "$Q") || fail "broker 1 has a rack"
out=$(zkt --create --topic mixed --partitions 1 --replication-factor 1 2>&1) &&
    fail "a create with racks on 2 of 3 brokers succeeded"
echo "$out" | grep -q "Not all brokers have rack information. Add --disable-rack-aware" ||
    fail "mixed racks: $out"
out=$(kt --create --topic mixed --partitions 1 --replication-factor 1)
echo "$out" | grep -q "Not all brokers have rack information" ||
    fail "TopicCommand accepted mixed racks: $out $(cat "$T/kt.err")"
out=$(zkt --create --topic mixed --partitions 3 --replication-factor 1 --disable-rack-aware) ||
    fail "--disable-rack-aware: $out"
echo "PASS: t_ringctl_zk"
