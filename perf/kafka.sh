#!/usr/bin/env bash
# perf/kafka.sh - run a throwaway single-node KRaft Apache Kafka on 127.0.0.1.
#
#   perf/kafka.sh run [default|durable|kafka3|kafka3-durable] [PARTITIONS]
#       starts Kafka in a temp dir on random ports, prints
#       "BOOTSTRAP=127.0.0.1:PORT PID=N DIR=D", waits for Ctrl-C / SIGTERM
#       (SIGTERM when it runs in the background: shells ignore SIGINT there),
#       then stops it and removes the temp dir.
#   perf/kafka.sh start DIR [default|durable|kafka3|kafka3-durable] [PARTITIONS]
#       starts in DIR (created), prints the same line and returns; DIR/broker.env
#       holds BROKER_PID and BROKER_BOOTSTRAP for `stop`.
#   perf/kafka.sh stop DIR      stops the broker started in DIR and removes DIR.
#
# default: Kafka's defaults (no fsync per message). durable:
# log.flush.interval.messages=1. kafka3: 3 KRaft nodes, replication factor 3,
# min.insync.replicas 2 (BOOTSTRAP lists all three). PARTITIONS sets num.partitions (auto-created
# topics). Heap: KAFKA_HEAP (1g). Kafka itself comes from tools/fetch-kafka.sh.
set -euo pipefail
PERF_ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/brokers.sh
. "$PERF_ROOT/perf/lib/brokers.sh"

kind_of() {
    case "${1:-default}" in
    durable) echo kafka-durable ;;
    kafka3 | kafka3-durable) echo "$1" ;;
    *) echo kafka ;;
    esac
}

case "${1:-}" in
run)
    D=$(mktemp -d "${TMPDIR:-/tmp}/rb-kafka.XXXXXX")
    trap 'broker_stop || true; rm -rf "$D"' EXIT
    trap 'exit 0' INT TERM
    broker_start "$(kind_of "${2:-}")" "$D" "${3:-1}"
    echo "BOOTSTRAP=$BROKER_BOOTSTRAP PID=$BROKER_PID DIR=$D"
    while kill -0 "$BROKER_PID" 2>/dev/null; do sleep 1; done
    ;;
start)
    D=${2:?DIR}
    broker_start "$(kind_of "${3:-}")" "$D" "${4:-1}"
    printf 'BROKER_PIDS="%s"\nBROKER_BOOTSTRAP=%s\n' "$BROKER_PIDS" "$BROKER_BOOTSTRAP" >"$D/broker.env"
    echo "BOOTSTRAP=$BROKER_BOOTSTRAP PID=$BROKER_PID DIR=$D"
    ;;
stop)
    D=${2:?DIR}
    # shellcheck disable=SC1091
    . "$D/broker.env"
    # Not our children here: poll for exit instead of wait.
    for p in $BROKER_PIDS; do
        if kill -0 "$p" 2>/dev/null; then
            kill -TERM "$p"
            for _ in $(seq 1 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$p" 2>/dev/null && kill -KILL "$p"
        fi
    done
    rm -rf "$D"
    ;;
*)
    sed -n '2,18p' "$0" >&2
    exit 2
    ;;
esac
