#!/usr/bin/env bash
# t_java_admin.sh - Kafka 4.4's kafka-topics and kafka-configs (Java AdminClient).
# kafka-topics: --create with --config, --list, --describe (partition count,
# leader 0, the topic config shown), --alter --partitions 4 (CreatePartitions;
# the new partition takes and returns a record through kcat), --delete (gone
# from --list and from metadata). kafka-configs on the topic: --describe shows
# the create-time config, --alter --add-config changes it
# (IncrementalAlterConfigs), --alter --delete-config removes it; --describe
# --entity-type brokers --all lists broker configs (log.dirs among them).
# The steps are independent: a failing one is recorded and the others still
# run; the test fails at the end listing every failed step.
. "$(dirname "$0")/lib.sh"

TOPIC=jadm
kafka_setup
rb_start
bs=$(rb_bootstrap)

FAILED=()
soft() { # soft "msg": record a failed step, go on
    echo "STEP FAILED: $*" >&2
    FAILED+=("$1")
    return 1
}
topics() { # topics OUT args...
    local out=$1
    shift
    jrun 60 $K_TOPICS --bootstrap-server "$bs" "$@" >"$out" 2>&1 ||
        soft "kafka-topics $* rc=$?: $(tail -5 "$out"; broker_unsupported)"
}
configs() { # configs OUT args...
    local out=$1
    shift
    jrun 60 $K_CONFIGS --bootstrap-server "$bs" "$@" >"$out" 2>&1 ||
        soft "kafka-configs $* rc=$?: $(tail -5 "$out"; broker_unsupported)"
}

topics "$T_TMP/create" --create --topic $TOPIC --partitions 2 --config retention.ms=3600000
grep -q "Created topic $TOPIC" "$T_TMP/create" || fail "create: $(cat "$T_TMP/create")"
topics "$T_TMP/list" --list
grep -qx $TOPIC "$T_TMP/list" || fail "--list lacks $TOPIC: $(cat "$T_TMP/list")"
topics "$T_TMP/desc" --describe --topic $TOPIC
grep -q "PartitionCount: 2" "$T_TMP/desc" || fail "--describe partition count: $(cat "$T_TMP/desc")"
grep -q "retention.ms=3600000" "$T_TMP/desc" || fail "--describe lacks the topic config: $(cat "$T_TMP/desc")"
[ "$(grep -c 'Leader: 0' "$T_TMP/desc")" -eq 2 ] || fail "--describe leaders: $(cat "$T_TMP/desc")"
info "kafka-topics create/list/describe ok"

configs "$T_TMP/c1" --describe --entity-type topics --entity-name $TOPIC
grep -q "retention.ms=3600000" "$T_TMP/c1" || fail "kafka-configs --describe: $(cat "$T_TMP/c1")"
configs "$T_TMP/c2" --describe --entity-type brokers --entity-name 0 --all
grep -q "log.dirs=$RB_DIR" "$T_TMP/c2" || fail "kafka-configs brokers --all lacks log.dirs: $(head -20 "$T_TMP/c2")"
info "kafka-configs --describe ok"
alter_configs() {
    configs "$T_TMP/c3" --alter --entity-type topics --entity-name $TOPIC --add-config retention.ms=7200000 || return
    configs "$T_TMP/c4" --describe --entity-type topics --entity-name $TOPIC || return
    grep -q "retention.ms=7200000" "$T_TMP/c4" || soft "after --add-config: $(cat "$T_TMP/c4")" || return
    configs "$T_TMP/c5" --alter --entity-type topics --entity-name $TOPIC --delete-config retention.ms || return
    configs "$T_TMP/c6" --describe --entity-type topics --entity-name $TOPIC || return
    ! grep -q "retention.ms=" "$T_TMP/c6" || soft "after --delete-config: $(cat "$T_TMP/c6")" || return
    info "kafka-configs --alter ok"
}
alter_configs

alter_partitions() {
    topics "$T_TMP/alter" --alter --topic $TOPIC --partitions 4 || return
    topics "$T_TMP/desc2" --describe --topic $TOPIC || return
    grep -q "PartitionCount: 4" "$T_TMP/desc2" || soft "after --alter --partitions 4: $(cat "$T_TMP/desc2")" || return
    echo "p3:in-new-partition" | ct 30 "$KCAT" -b "$bs" -P -t $TOPIC -p 3 -K: -X acks=all 2>"$T_TMP/p.err" ||
        soft "produce to new partition 3: $(cat "$T_TMP/p.err")" || return
    got=$(ct 30 "$KCAT" -b "$bs" -C -t $TOPIC -p 3 -o beginning -e -q -f '%k=%s' 2>"$T_TMP/c.err")
    [ "$got" = "p3=in-new-partition" ] || soft "read from new partition 3: '$got' $(cat "$T_TMP/c.err")" || return
    info "kafka-topics --alter --partitions ok"
}
alter_partitions

topics "$T_TMP/del" --delete --topic $TOPIC
deleted() {
    jrun 60 $K_TOPICS --bootstrap-server "$bs" --list >"$T_TMP/list2" 2>&1 && ! grep -qx $TOPIC "$T_TMP/list2"
}
wait_for 30 "$TOPIC gone from --list" deleted
rb_check_alive "after the admin tools"
[ ${#FAILED[@]} -eq 0 ] || fail "${#FAILED[@]} step(s) failed: $(printf '\n  - %s' "${FAILED[@]}")"
rb_stop
echo "PASS: t_java_admin (kafka-topics create/list/describe/alter/delete, kafka-configs describe/alter)"
