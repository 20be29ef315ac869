# perf/lib/brokers.sh - start/stop the brokers under test, sourced by perf/run
# and perf/kafka.sh (bash). Every broker listens on 127.0.0.1 on a random free
# port with its data in a fresh directory; stop kills only the pid it started.
#
#   broker_start KIND DIR [PARTITIONS]   KIND: ringbroker | kafka | kafka-durable
#       sets BROKER_PID, BROKER_BOOTSTRAP, BROKER_DATA, BROKER_LOG; returns 0
#       when the broker answers Metadata, 1 otherwise (and stops it).
#   broker_stop                          SIGTERM, wait up to 30 s, then SIGKILL
#
# kafka          : KRaft single node, Kafka's defaults (no fsync per message:
#                  the page cache, flushed by the OS and on roll/shutdown)
# kafka-durable  : the same with log.flush.interval.messages=1 (fsync after
#                  every append), the closest Kafka has to ringbroker's default
# ringbroker     : build/bin/ringbroker standalone, its defaults (durable)
# Environment: KAFKA_LIB (default: from tools/fetch-kafka.sh), KAFKA_HEAP
# (-Xmx1g), RINGBROKER_BIN (build/bin/ringbroker), BROKER_EXTRA (extra
# key=value lines appended to Kafka's properties / passed as --override).

PERF_ROOT=${PERF_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 40000))
        if ! ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# Waits until a broker on $1 answers Metadata with at least one broker.
wait_metadata() { # bootstrap pid timeout_s
    local deadline=$((SECONDS + $3))
    while [ $SECONDS -lt $deadline ]; do
        kill -0 "$2" 2>/dev/null || return 1
        if timeout 5 kcat -L -b "$1" -m 3 2>/dev/null | grep -q ' brokers:'; then
            return 0
        fi
        sleep 0.5
    done
    return 1
}

kafka_lib() {
    if [ -z "${KAFKA_LIB:-}" ]; then
        KAFKA_LIB=$("$PERF_ROOT/tools/fetch-kafka.sh") || return 1
    fi
    echo "$KAFKA_LIB"
}

kafka_write_config() { # dir port cport flush partitions
    local d="$1"
    cat >"$d/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$3
listeners=PLAINTEXT://127.0.0.1:$2,CONTROLLER://127.0.0.1:$3
advertised.listeners=PLAINTEXT://127.0.0.1:$2
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$d/data
num.partitions=$5
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.segment.bytes=268435456
EOF
    if [ "$4" = durable ]; then
        echo "log.flush.interval.messages=1" >>"$d/server.properties"
    fi
    if [ -n "${BROKER_EXTRA:-}" ]; then
        tr ' ' '\n' <<<"$BROKER_EXTRA" >>"$d/server.properties"
    fi
    cat >"$d/log4j2.properties" <<EOF
rootLogger.level=WARN
rootLogger.appenderRef.f.ref=F
appender.f.type=File
appender.f.name=F
appender.f.fileName=$d/kafka.log
appender.f.layout.type=PatternLayout
appender.f.layout.pattern=[%d] %p %m (%c)%n
EOF
}

kafka_start() { # dir flush partitions
    local d="$1" lib port cport cid jopts
    lib=$(kafka_lib) || return 1
    port=$(free_port) && cport=$(free_port) || return 1
    mkdir -p "$d/data"
    kafka_write_config "$d" "$port" "$cport" "$2" "$3"
    jopts=(-Xms${KAFKA_HEAP:-1g} -Xmx${KAFKA_HEAP:-1g} -XX:+UseG1GC -XX:MaxGCPauseMillis=20
        -Djava.awt.headless=true -Dlog4j2.configurationFile="$d/log4j2.properties")
    # A random UUID in Kafka's base64url form; one starting with '-' would be
    # taken for an option by the tool's argument parser.
    cid=-
    while [ "${cid#-}" != "$cid" ]; do
        cid=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    done
    if ! java -Xmx256m -Dlog4j2.configurationFile="$d/log4j2.properties" -cp "$lib/*" \
        kafka.tools.StorageTool format -t "$cid" -c "$d/server.properties" \
        >"$d/format.log" 2>&1; then
        echo "kafka: storage format failed, see $d/format.log" >&2
        return 1
    fi
    java "${jopts[@]}" -cp "$lib/*" kafka.Kafka "$d/server.properties" \
        >"$d/kafka.out" 2>&1 &
    BROKER_PID=$!
    BROKER_BOOTSTRAP=127.0.0.1:$port
    BROKER_DATA=$d/data
    BROKER_LOG=$d/kafka.log
}

ringbroker_start() { # dir
    local d="$1" port bin=${RINGBROKER_BIN:-$PERF_ROOT/build/bin/ringbroker} ov=()
    [ -x "$bin" ] || { echo "ringbroker: $bin not built" >&2; return 1; }
    port=$(free_port) || return 1
    mkdir -p "$d/data"
    for kv in ${BROKER_EXTRA:-}; do ov+=(--override "$kv"); done
    "$bin" "$PERF_ROOT/config/server.properties" \
        --override "listeners=PLAINTEXT://127.0.0.1:$port" \
        --override "log.dirs=$d/data" "${ov[@]}" >"$d/ringbroker.log" 2>&1 &
    BROKER_PID=$!
    BROKER_BOOTSTRAP=127.0.0.1:$port
    BROKER_DATA=$d/data
    BROKER_LOG=$d/ringbroker.log
}

broker_start() { # kind dir [partitions]
    local kind="$1" d="$2" parts="${3:-1}" rc=0
    BROKER_PID= BROKER_BOOTSTRAP= BROKER_DATA= BROKER_LOG=
    mkdir -p "$d"
    case "$kind" in
    kafka) kafka_start "$d" default "$parts" || rc=1 ;;
    kafka-durable) kafka_start "$d" durable "$parts" || rc=1 ;;
    ringbroker) ringbroker_start "$d" || rc=1 ;;
    *) echo "unknown broker kind $kind" >&2; return 1 ;;
    esac
    [ $rc -eq 0 ] || return 1
    if ! wait_metadata "$BROKER_BOOTSTRAP" "$BROKER_PID" "${BROKER_START_TIMEOUT:-90}"; then
        echo "$kind did not become ready; last log lines:" >&2
        tail -20 "$BROKER_LOG" "$d"/*.out 2>/dev/null >&2
        broker_stop
        return 1
    fi
}

broker_stop() {
    [ -n "${BROKER_PID:-}" ] || return 0
    if kill -0 "$BROKER_PID" 2>/dev/null; then
        kill -TERM "$BROKER_PID" 2>/dev/null
        for _ in $(seq 1 300); do
            kill -0 "$BROKER_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$BROKER_PID" 2>/dev/null; then
            echo "broker $BROKER_PID ignored SIGTERM for 30 s: SIGKILL" >&2
            kill -KILL "$BROKER_PID" 2>/dev/null
        fi
    fi
    # Safe under set -e: the broker's exit status is not ours.
    wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=
    return 0
}
