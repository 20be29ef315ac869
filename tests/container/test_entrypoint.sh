#!/usr/bin/env bash
# tests/container/test_entrypoint.sh - container/docker-entrypoint.sh without
# containers: the environment -> configuration mapping (RB_ENTRYPOINT_DRY_RUN),
# base-file keys replaced by the environment, launcher variables skipped, a
# command run instead of the broker, and the io_uring check's message when the
# probe fails (a stand-in RB_BIN that fails like a blocked probe).
# Prints "entrypoint: N passed, N failed"; exit 1 on any failure.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
ep=$root/container/docker-entrypoint.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rb-ep.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() {
    passed=$((passed + 1))
    echo "ok   $1"
}
bad() {
    failed=$((failed + 1))
    echo "FAIL $1"
    shift
    printf '     %s\n' "$@"
}

cat >"$tmp/base.properties" <<'P'
# base
broker.id=0
listeners=PLAINTEXT://0.0.0.0:9092
log.dirs=/var/lib/ringbroker
num.partitions = 1
metrics.listener=http://0.0.0.0:9404
P

# run_ep VAR=VAL...: the entry point in dry-run with only these variables; the
# written configuration (comments dropped) in $tmp/out.properties
run_ep() {
    rm -f "$tmp/out.properties"
    env -i PATH="$PATH" RB_BASE_CONFIG="$tmp/base.properties" RB_CONFIG_OUT="$tmp/out.properties" \
        RB_ENTRYPOINT_DRY_RUN=1 "$@" bash "$ep" >"$tmp/stdout" 2>"$tmp/stderr"
}
cfg() { grep -v '^#' "$tmp/out.properties"; }
# has LINE: the configuration holds exactly this line once
has() { [ "$(cfg | grep -cxF "$1")" -eq 1 ]; }

# 1. Kafka's usual variables
run_ep KAFKA_BROKER_ID=3 KAFKA_LISTENERS=PLAINTEXT://0.0.0.0:19092 \
    KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://broker-3.example:19092 \
    KAFKA_ZOOKEEPER_CONNECT=zk1:2181,zk2:2181/kafka KAFKA_LOG_DIRS=/data/a,/data/b
rc=$?
if [ $rc -eq 0 ] && has broker.id=3 && has listeners=PLAINTEXT://0.0.0.0:19092 &&
    has advertised.listeners=PLAINTEXT://broker-3.example:19092 &&
    has zookeeper.connect=zk1:2181,zk2:2181/kafka && has log.dirs=/data/a,/data/b &&
    ! cfg | grep -q '^broker.id=0$' && ! cfg | grep -q '^log.dirs=/var/lib'; then
    ok "kafka_usual_variables_replace_the_base_keys"
else
    bad "kafka_usual_variables_replace_the_base_keys" "rc=$rc" "$(cfg)"
fi

# 2. generic mapping: _ -> ., __ -> _, ___ -> -, RINGBROKER_ prefix, lower case
run_ep KAFKA_LOG_RETENTION_MS=1000 RINGBROKER_NUM_SHARDS=2 KAFKA_SOME__UNDER_KEY=x \
    KAFKA_A___DASH_KEY=y RINGBROKER_LOG_TAIL_CACHE_BYTES=0
if has log.retention.ms=1000 && has num.shards=2 && has some_under.key=x && has a-dash.key=y &&
    has log.tail.cache.bytes=0; then
    ok "generic_mapping_rules"
else
    bad "generic_mapping_rules" "$(cfg)"
fi

# 3. keys the environment does not set keep the base file's value; spaces around =
run_ep KAFKA_BROKER_ID=1
if has "num.partitions = 1" && has metrics.listener=http://0.0.0.0:9404 && has broker.id=1 &&
    [ "$(cfg | grep -c '^broker.id')" -eq 1 ]; then
    ok "base_keys_kept_once"
else
    bad "base_keys_kept_once" "$(cfg)"
fi

# 3b. a base key written with spaces is replaced too
run_ep KAFKA_NUM_PARTITIONS=6
if has num.partitions=6 && ! cfg | grep -q '^num.partitions = 1'; then
    ok "spaced_base_key_replaced"
else
    bad "spaced_base_key_replaced" "$(cfg)"
fi

# 4. launcher and image variables are not configuration
run_ep KAFKA_HEAP_OPTS=-Xmx1g KAFKA_OPTS=-Dx KAFKA_HOME=/opt/kafka KAFKA_VERSION=3 \
    RINGBROKER_BIN=/x KAFKA_JMX_PORT=9999 KAFKA_LOG4J_OPTS=x KAFKA_CLASSPATH=/c KAFKA_=z
if ! cfg | grep -qiE 'heap|^opts|home|version|^bin=|classpath|log4j' && has jmx.port=9999; then
    ok "launcher_variables_skipped"
else
    bad "launcher_variables_skipped" "$(cfg)"
fi

# 5. values keep '=' and spaces verbatim; the configuration is printed
run_ep KAFKA_LISTENER_SECURITY_PROTOCOL_MAP='PLAINTEXT:PLAINTEXT,X:PLAINTEXT' \
    RINGBROKER_TEST_VALUE='a=b c'
if has listener.security.protocol.map=PLAINTEXT:PLAINTEXT,X:PLAINTEXT && has "test.value=a=b c" &&
    grep -q 'effective configuration' "$tmp/stdout" &&
    grep -qF '  test.value=a=b c' "$tmp/stdout"; then
    ok "values_verbatim_and_printed"
else
    bad "values_verbatim_and_printed" "$(cat "$tmp/stdout")"
fi

# 6. a value with a newline is refused (it would inject a second key)
run_ep KAFKA_BROKER_ID=$'1\nlog.dirs=/etc'
rc=$?
if [ $rc -eq 64 ] && grep -q newline "$tmp/stderr"; then
    ok "newline_value_refused"
else
    bad "newline_value_refused" "rc=$rc" "$(cat "$tmp/stderr")"
fi

# 6b. broker id from the StatefulSet ordinal (+ offset); an explicit id wins
run_ep HOSTNAME=ringbroker-2 RB_BROKER_ID_FROM_ORDINAL=1
a=$(cfg | grep '^broker.id=')
run_ep HOSTNAME=ringbroker-10 RB_BROKER_ID_FROM_ORDINAL=1 RB_BROKER_ID_OFFSET=100
b=$(cfg | grep '^broker.id=')
run_ep HOSTNAME=ringbroker-3 RB_BROKER_ID_FROM_ORDINAL=1 KAFKA_BROKER_ID=9
c=$(cfg | grep '^broker.id=')
run_ep HOSTNAME=ringbroker RB_BROKER_ID_FROM_ORDINAL=1
rc=$?
if [ "$a" = broker.id=2 ] && [ "$b" = broker.id=110 ] && [ "$c" = broker.id=9 ] && [ $rc -eq 64 ]; then
    ok "broker_id_from_ordinal"
else
    bad "broker_id_from_ordinal" "$a / $b / $c / rc=$rc"
fi

# 7. a command instead of broker options runs that command
out=$(env -i PATH="$PATH" bash "$ep" echo hello 2>&1)
if [ "$out" = hello ]; then
    ok "command_runs_instead"
else
    bad "command_runs_instead" "$out"
fi

# 8. a blocked io_uring: exit 78 and a message saying how to fix it; the broker
#    is not started
cat >"$tmp/fake-broker" <<'B'
#!/bin/sh
if [ "$1" = --check-io-uring ]; then
    echo "io_uring_setup failed: Operation not permitted (io_uring disabled?)"
    exit 1
fi
echo STARTED
B
chmod +x "$tmp/fake-broker"
env -i PATH="$PATH" RB_BIN="$tmp/fake-broker" RB_BASE_CONFIG="$tmp/base.properties" \
    RB_CONFIG_OUT="$tmp/out.properties" bash "$ep" >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
if [ $rc -eq 78 ] && grep -q 'seccomp' "$tmp/stderr" && grep -q 'Operation not permitted' "$tmp/stderr" &&
    ! grep -q STARTED "$tmp/stdout"; then
    ok "blocked_io_uring_explained"
else
    bad "blocked_io_uring_explained" "rc=$rc" "$(cat "$tmp/stderr")"
fi

# 9. a working probe: the broker is exec'd with the written file and the options
cat >"$tmp/fake-broker" <<'B'
#!/bin/sh
[ "$1" = --check-io-uring ] && exit 0
echo "STARTED $*"
B
out=$(env -i PATH="$PATH" RB_BIN="$tmp/fake-broker" RB_BASE_CONFIG="$tmp/base.properties" \
    RB_CONFIG_OUT="$tmp/out.properties" bash "$ep" --override a=b 2>&1 | tail -1)
if [ "$out" = "STARTED $tmp/out.properties --override a=b" ]; then
    ok "broker_started_with_config_and_options"
else
    bad "broker_started_with_config_and_options" "$out"
fi

echo "entrypoint: $passed passed, $failed failed"
[ $failed -eq 0 ]
