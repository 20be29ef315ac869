#!/usr/bin/env bash
# t_k28_configs.sh - Apache Kafka 2.8.2's ConfigCommand (kafka-configs.sh
# --zookeeper) changes a topic config that the brokers apply.
#   1. a 3-partition RF=1 topic created through CreateTopics (one partition per
#      broker); a 3000-byte record is accepted on every partition;
#   2. ConfigCommand --alter --add-config max.message.bytes=1024 writes
#      /config/topics/cfgt ({"version":1,"config":{"max.message.bytes":"1024"}})
#      and a /config/changes/config_change_* node naming topics/cfgt;
#   3. every leader applies it (the effect, observed): a 3000-byte record sent to
#      each partition's leader is refused with MESSAGE_TOO_LARGE (10), while a
#      small one is accepted; ConfigCommand --describe shows the override;
#   4. --delete-config max.message.bytes -> 3000-byte records accepted again on
#      every partition; then --add-config retention.ms=1000 is applied too
#      (DescribeConfigs on each broker reports retention.ms=1000).
. "$(dirname "$0")/lib.sh"

cl_up
k28_setup
TOPIC=cfgt
cl_create_topic $TOPIC 3

# A record of SIZE bytes sent to the leader of partition P (-> "error=E ...").
big_to_leader() { # part size
    local l
    l=$(cl_leader 1 $TOPIC "$1")
    [ "$l" -ge 1 ] || fail "no leader for $TOPIC/$1"
    ct 30 $CLC produce-to "$(cl_addr "$l")" $TOPIC "$1" 0 "$2"
}
all_parts() { # size want_error
    local p out
    for p in 0 1 2; do
        out=$(big_to_leader "$p" "$1") || return 1
        [[ "$out" == "error=$2 "* ]] || return 1
    done
}
all_parts 3000 0 || fail "3000-byte records not accepted before the config change"

k28_configs --alter --entity-type topics --entity-name $TOPIC --add-config max.message.bytes=1024 ||
    k28_fail "ConfigCommand --alter --add-config max.message.bytes=1024"
v=$(cl_q_get /config/topics/$TOPIC) || fail "/config/topics/$TOPIC missing"
"$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["config"].get("max.message.bytes") == "1024", d' "$v" ||
    fail "/config/topics/$TOPIC = $v"
found=0
for c in $(cl_q_ls /config/changes); do
    case "$c" in config_change_*) ;; *) fail "unexpected /config/changes/$c" ;; esac
    cl_q_get "/config/changes/$c" | grep -q "\"topics/$TOPIC\"" && found=1
done
# The controller may already have consumed the notification; then the ops trace shows it.
[ $found = 1 ] || grep -q '^create .*/config/changes/config_change_ .*ok' "$T_TMP/k28.ops" ||
    fail "no /config/changes/config_change_* for topics/$TOPIC: $(cat "$T_TMP/k28.ops")"
info "ConfigCommand wrote /config/topics/$TOPIC = $v and a config_change_ notification"

wait_for 30 "every leader to refuse 3000-byte records with MESSAGE_TOO_LARGE (10)" all_parts 3000 10
all_parts 500 0 || fail "a 500-byte record is refused under max.message.bytes=1024"
k28_configs --describe --entity-type topics --entity-name $TOPIC || k28_fail "ConfigCommand --describe"
grep -q 'max.message.bytes=1024' "$T_TMP/k28.out" || k28_fail "--describe does not show the override"
info "max.message.bytes=1024 applied by the leaders of all 3 partitions"

k28_configs --alter --entity-type topics --entity-name $TOPIC --delete-config max.message.bytes ||
    k28_fail "ConfigCommand --delete-config"
wait_for 30 "3000-byte records to be accepted again on every partition" all_parts 3000 0

k28_configs --alter --entity-type topics --entity-name $TOPIC --add-config retention.ms=1000 ||
    k28_fail "ConfigCommand --add-config retention.ms=1000"
retention_seen() {
    local i
    for i in 1 2 3; do
        [ "$(ct 30 $CLC topic-config "$(cl_addr "$i")" $TOPIC retention.ms)" = "error=0 value=1000" ] || return 1
    done
}
wait_for 30 "DescribeConfigs on every broker to report retention.ms=1000" retention_seen
info "--delete-config restored the default; retention.ms=1000 reported by every broker"
