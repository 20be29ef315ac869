# perf/lib/brokers.sh - start/stop the brokers under test, sourced by perf/run
# and perf/kafka.sh (bash). Every broker listens on 127.0.0.1 on a random free
# port with its data in a fresh directory; stop kills only the pid it started.
#
#   broker_start KIND DIR [PARTITIONS]
#       KIND: ringbroker | ringbroker3 | kafka | kafka-durable | kafka3 | kafka3-durable
#       sets BROKER_PID (the first process), BROKER_PIDS (all of them),
#       BROKER_BOOTSTRAP, BROKER_DATA, BROKER_LOG, BROKER_NODES and
#       BROKER_READY_MS (milliseconds from launching the broker process(es) to
#       the first Metadata answer listing every node; Kafka's storage format
#       step is not counted); returns 0 when it answers, 1 otherwise (and
#       stops it).
#   broker_stop                          SIGTERM, wait up to BROKER_STOP_TIMEOUT
#                                        seconds (30), then SIGKILL; sets
#                                        BROKER_STOP_MS and BROKER_STOP_KILLED (0/1)
#
# kafka          : KRaft single node, Kafka's defaults (no fsync per message:
#                  the page cache, flushed by the OS and on roll/shutdown)
# kafka-durable  : the same with log.flush.interval.messages=1 (fsync after
#                  every append), the closest Kafka has to ringbroker's default
# kafka3         : 3 KRaft nodes on 127.0.0.1 (each broker+controller),
#                  default.replication.factor=3, min.insync.replicas=2, Kafka's
#                  flush defaults; kafka3-durable adds flush.messages=1
# ringbroker     : build/bin/ringbroker standalone, its defaults (durable)
# ringbroker3    : 3 ringbroker brokers on 127.0.0.1 (config/server.properties,
#                  the single node's settings, plus broker.id, zookeeper.connect,
#                  default.replication.factor=3,
#                  min.insync.replicas=2, offsets.topic.replication.factor=3,
#                  offsets.topic.num.partitions=1 as kafka3; before 39fe58d the
#                  default 50 crashed the controller) on
#                  a ONE-node ZooKeeper (tools/zk.sh up DIR 1) that broker_stop
#                  stops after the brokers; the ZooKeeper JVM is not in
#                  BROKER_PIDS (not counted in CPU/RSS)
# Environment: KAFKA_LIB (default: from tools/fetch-kafka.sh), KAFKA_HEAP
# (-Xmx1g), RINGBROKER_BIN (build/bin/ringbroker), BROKER_EXTRA (extra
# key=value lines appended to Kafka's properties / passed as --override).

PERF_ROOT=${PERF_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

# A port below the kernel's ephemeral range (so no client connection can be
# holding it) that no TCP socket uses.
free_port() { # [ports to avoid...]
    local p lo
    lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
    [ "${lo:-0}" -gt 11000 ] || lo=32768
    for _ in $(seq 1 200); do
        p=$((10000 + RANDOM % (lo - 10000)))
        case " $* " in *" $p "*) continue ;; esac
        if ! ss -Htan "sport = :$p" 2>/dev/null | grep -q .; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# Waits until the broker at $1 answers a Metadata request listing at least
# $4 brokers (polls every 10 ms); sets BROKER_READY_MS (from $5, `date +%s%N`).
wait_metadata() { # bootstrap pid timeout_s [min_brokers [t0_ns]]
    BROKER_READY_MS=$(python3 "$PERF_ROOT/perf/lib/metadata_wait.py" "$1" "$2" "$3" \
        "${4:-1}" "${5:-$(date +%s%N)}") || return 1
}

kafka_lib() {
    if [ -z "${KAFKA_LIB:-}" ]; then
        KAFKA_LIB=$("$PERF_ROOT/tools/fetch-kafka.sh") || return 1
    fi
    echo "$KAFKA_LIB"
}

kafka_write_config() { # dir port cport flush partitions [node voters replicas]
    local d="$1" node=${6:-1} voters=${7:-1@127.0.0.1:$3} rf=${8:-1} isr=1
    [ "$rf" -gt 1 ] && isr=2
    cat >"$d/server.properties" <<EOF
process.roles=broker,controller
node.id=$node
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$2,CONTROLLER://127.0.0.1:$3
advertised.listeners=PLAINTEXT://127.0.0.1:$2
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$d/data
num.partitions=$5
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
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
    cid=$(kafka_cluster_id)
    # A restart on the same dir (perf/run's driver=startup) keeps the formatted data.
    if [ ! -f "$d/data/meta.properties" ] &&
        ! java -Xmx256m -Dlog4j2.configurationFile="$d/log4j2.properties" -cp "$lib/*" \
        kafka.tools.StorageTool format -t "$cid" -c "$d/server.properties" \
        >"$d/format.log" 2>&1; then
        echo "kafka: storage format failed, see $d/format.log" >&2
        return 1
    fi
    BROKER_T0_NS=$(date +%s%N)
    java "${jopts[@]}" -cp "$lib/*" kafka.Kafka "$d/server.properties" \
        >"$d/kafka.out" 2>&1 &
    BROKER_PID=$!
    BROKER_PIDS=$BROKER_PID
    BROKER_BOOTSTRAP=127.0.0.1:$port
    BROKER_DATA=$d/data
    BROKER_LOG=$d/kafka.log
}

kafka_cluster_id() { # a random UUID in Kafka's base64url form, not starting with '-'
    local cid=-
    while [ "${cid#-}" != "$cid" ]; do
        cid=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    done
    echo "$cid"
}

# Three KRaft nodes (broker+controller each) in DIR/n1..n3, replication 3,
# min.insync.replicas 2. BROKER_DATA is DIR (all three logs).
kafka3_start() { # dir flush partitions
    local d="$1" lib cid voters="" ports=() cports=() used="" i p jopts bs=""
    lib=$(kafka_lib) || return 1
    for i in 1 2 3; do
        p=$(free_port $used) || return 1
        used="$used $p"
        ports[i]=$p
        p=$(free_port $used) || return 1
        used="$used $p"
        cports[i]=$p
        voters="${voters:+$voters,}$i@127.0.0.1:$p"
    done
    cid=$(kafka_cluster_id)
    for i in 1 2 3; do
        mkdir -p "$d/n$i/data"
        kafka_write_config "$d/n$i" "${ports[i]}" "${cports[i]}" "$2" "$3" "$i" "$voters" 3
        if ! java -Xmx256m -Dlog4j2.configurationFile="$d/n$i/log4j2.properties" -cp "$lib/*" \
            kafka.tools.StorageTool format -t "$cid" -c "$d/n$i/server.properties" \
            >"$d/n$i/format.log" 2>&1; then
            echo "kafka3: storage format failed, see $d/n$i/format.log" >&2
            return 1
        fi
        bs="${bs:+$bs,}127.0.0.1:${ports[i]}"
    done
    BROKER_PIDS=
    BROKER_T0_NS=$(date +%s%N)
    for i in 1 2 3; do
        jopts=(-Xms${KAFKA_HEAP:-1g} -Xmx${KAFKA_HEAP:-1g} -XX:+UseG1GC -XX:MaxGCPauseMillis=20
            -Djava.awt.headless=true -Dlog4j2.configurationFile="$d/n$i/log4j2.properties")
        java "${jopts[@]}" -cp "$lib/*" kafka.Kafka "$d/n$i/server.properties" \
            >"$d/n$i/kafka.out" 2>&1 &
        BROKER_PIDS="${BROKER_PIDS:+$BROKER_PIDS }$!"
    done
    BROKER_PID=${BROKER_PIDS%% *}
    BROKER_BOOTSTRAP=$bs
    BROKER_DATA=$d
    BROKER_LOG=$d/n1/kafka.log
    BROKER_NODES=3
}

# Three brokers on a one-node ZooKeeper in DIR/zk; DIR/b1..b3 hold each
# broker's data and log. BROKER_DATA is DIR.
ringbroker3_start() { # dir
    local d="$1" bin=${RINGBROKER_BIN:-$PERF_ROOT/build/bin/ringbroker} zk i p used="" ov=() bs=""
    [ -x "$bin" ] || { echo "ringbroker3: $bin not built" >&2; return 1; }
    zk=$("$PERF_ROOT/tools/zk.sh" up "$d/zk" 1) || { echo "ringbroker3: ZooKeeper did not start" >&2; return 1; }
    BROKER_ZK_DIR=$d/zk
    for kv in ${BROKER_EXTRA:-}; do ov+=(--override "$kv"); done
    BROKER_PIDS=
    BROKER_T0_NS=$(date +%s%N)
    for i in 1 2 3; do
        p=$(free_port $used) || return 1
        used="$used $p"
        mkdir -p "$d/b$i/data"
        "$bin" "$PERF_ROOT/config/server.properties" \
            --override "broker.id=$i" --override "listeners=PLAINTEXT://127.0.0.1:$p" \
            --override "log.dirs=$d/b$i/data" --override "zookeeper.connect=$zk/kafka" \
            --override default.replication.factor=3 \
            --override min.insync.replicas=2 --override offsets.topic.replication.factor=3 \
            --override offsets.topic.num.partitions=1 "${ov[@]}" >"$d/b$i/ringbroker.log" 2>&1 &
        BROKER_PIDS="${BROKER_PIDS:+$BROKER_PIDS }$!"
        bs="${bs:+$bs,}127.0.0.1:$p"
    done
    BROKER_PID=${BROKER_PIDS%% *}
    BROKER_BOOTSTRAP=$bs
    BROKER_DATA=$d
    BROKER_LOG=$d/b1/ringbroker.log
    BROKER_NODES=3
}

ringbroker_start() { # dir
    local d="$1" port bin=${RINGBROKER_BIN:-$PERF_ROOT/build/bin/ringbroker} ov=()
    [ -x "$bin" ] || { echo "ringbroker: $bin not built" >&2; return 1; }
    port=$(free_port) || return 1
    mkdir -p "$d/data"
    for kv in ${BROKER_EXTRA:-}; do ov+=(--override "$kv"); done
    BROKER_T0_NS=$(date +%s%N)
    "$bin" "$PERF_ROOT/config/server.properties" \
        --override "listeners=PLAINTEXT://127.0.0.1:$port" \
        --override "log.dirs=$d/data" "${ov[@]}" >"$d/ringbroker.log" 2>&1 &
    BROKER_PID=$!
    BROKER_PIDS=$BROKER_PID
    BROKER_BOOTSTRAP=127.0.0.1:$port
    BROKER_DATA=$d/data
    BROKER_LOG=$d/ringbroker.log
}

# Starts once more (fresh dir, new ports) when the first attempt fails:
# a rare start-up failure should not cost a scenario's column.
# Both brokers keep files open per partition (10,000 partitions need more
# than the usual 20k): raise the open-files limit of this shell (inherited by
# the brokers) as far as allowed: BROKER_NOFILE (262144), else the hard limit.
ulimit -n "${BROKER_NOFILE:-262144}" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null

broker_start() { # kind dir [partitions]
    broker_start_once "$@" && return 0
    echo "$1: start failed, retrying once" >&2
    rm -rf "$2"
    broker_start_once "$@"
}

broker_start_once() { # kind dir [partitions]
    local kind="$1" d="$2" parts="${3:-1}" rc=0
    BROKER_PID= BROKER_PIDS= BROKER_BOOTSTRAP= BROKER_DATA= BROKER_LOG= BROKER_READY_MS=
    BROKER_NODES=1 BROKER_T0_NS= BROKER_ZK_DIR=
    mkdir -p "$d"
    case "$kind" in
    kafka) kafka_start "$d" default "$parts" || rc=1 ;;
    kafka-durable) kafka_start "$d" durable "$parts" || rc=1 ;;
    kafka3) kafka3_start "$d" default "$parts" || rc=1 ;;
    kafka3-durable) kafka3_start "$d" durable "$parts" || rc=1 ;;
    ringbroker) ringbroker_start "$d" || rc=1 ;;
    ringbroker3) ringbroker3_start "$d" || rc=1 ;;
    *) echo "unknown broker kind $kind" >&2; return 1 ;;
    esac
    [ $rc -eq 0 ] || return 1
    if ! wait_metadata "$BROKER_BOOTSTRAP" "$BROKER_PID" "${BROKER_START_TIMEOUT:-90}" \
        "$BROKER_NODES" "$BROKER_T0_NS"; then
        echo "$kind did not become ready; last log lines:" >&2
        tail -20 "$BROKER_LOG" "$d"/*.out "$d"/n*/kafka.out "$d"/n*/kafka.log \
            "$d"/b*/ringbroker.log >&2 2>/dev/null
        broker_stop
        return 1
    fi
}

broker_stop() {
    local pids=${BROKER_PIDS:-${BROKER_PID:-}} p live t0
    BROKER_STOP_MS= BROKER_STOP_KILLED=0
    [ -n "$pids" ] || { broker_stop_zk; return 0; }
    t0=$(date +%s%N)
    for p in $pids; do kill -TERM "$p" 2>/dev/null; done
    for _ in $(seq 1 $((${BROKER_STOP_TIMEOUT:-30} * 10))); do
        live=
        for p in $pids; do kill -0 "$p" 2>/dev/null && live=1; done
        [ -n "$live" ] || break
        sleep 0.1
    done
    BROKER_STOP_MS=$((($(date +%s%N) - t0) / 1000000))
    for p in $pids; do
        if kill -0 "$p" 2>/dev/null; then
            echo "broker $p still running ${BROKER_STOP_TIMEOUT:-30} s after SIGTERM: SIGKILL" >&2
            kill -KILL "$p" 2>/dev/null
            BROKER_STOP_KILLED=1
        fi
        # Safe under set -e: the broker's exit status is not ours.
        wait "$p" 2>/dev/null || true
    done
    BROKER_PID= BROKER_PIDS=
    broker_stop_zk
    return 0
}

# The ZooKeeper node of ringbroker3, after its brokers (their controlled
# shutdown needs it).
broker_stop_zk() {
    [ -n "${BROKER_ZK_DIR:-}" ] || return 0
    "$PERF_ROOT/tools/zk.sh" down "$BROKER_ZK_DIR" >/dev/null 2>&1
    BROKER_ZK_DIR=
}
