#!/usr/bin/env bash
# perf/fetch-ab.sh - A/B of ringbroker's two file fetch paths on the same data:
# fetch.file.transfer=splice vs =read, for data NOT in the tail cache.
#
# Produces SIZE (default 2g) of 1 KiB records into 4 partitions once, with the
# tail cache cut to 1 MiB (log.tail.cache.bytes), then ROUNDS times (default 3)
# for each path in turn: restart the broker on that data with that path, drop the
# page cache (root: echo 3 > /proc/sys/vm/drop_caches; otherwise "warm" only),
# read everything from the beginning (cold), read it again (warm). Alternating
# the paths on one data set keeps the comparison fair on a noisy 2-core machine;
# compare the pairs of a round, then the medians. Prints one line per read and
# the medians. Benchmarks assert nothing.
#
#   perf/fetch-ab.sh [--size 2g] [--rounds 3]
#   env: BUILD_ROOT (as for make; broker BUILD_ROOT/bin/ringbroker, drivers
#   BUILD_ROOT/perf), RINGBROKER_BIN, PERF_TMP (data dir parent, default /tmp)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZE=2g ROUNDS=3
while [ $# -gt 0 ]; do
    case "$1" in
    --size) SIZE=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    *) echo "usage: perf/fetch-ab.sh [--size 2g] [--rounds 3]" >&2; exit 2 ;;
    esac
done
BUILD_DIR=${BUILD_ROOT:-build}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
BIN=${RINGBROKER_BIN:-$BUILD_DIR/bin/ringbroker}
DRV=$BUILD_DIR/perf
[ -x "$BIN" ] || { echo "fetch-ab: no broker at $BIN (make)" >&2; exit 1; }
make -s -C "$ROOT/perf" OUT="$DRV" >&2 || exit 1
WORK=$(mktemp -d "${PERF_TMP:-/tmp}/rb-fetch-ab.XXXXXX")
BP=
cleanup() {
    [ -n "$BP" ] && kill -KILL "$BP" 2>/dev/null && wait "$BP" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
bytes=$(awk -v s="$SIZE" 'BEGIN { n = s + 0; u = tolower(substr(s, length(s)));
    if (u == "k") n *= 1024; else if (u == "m") n *= 1048576; else if (u == "g") n *= 1073741824;
    printf "%d", n }')
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start() { # path
    "$BIN" "$ROOT/config/server.properties" --override "listeners=PLAINTEXT://127.0.0.1:$PORT" \
        --override "log.dirs=$WORK/data" --override log.tail.cache.bytes=1048576 \
        --override "fetch.file.transfer=$1" >>"$WORK/broker.log" 2>&1 &
    BP=$!
    local i
    for i in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "fetch-ab: broker did not start" >&2
    tail -5 "$WORK/broker.log" >&2
    exit 1
}
stop() {
    kill -TERM "$BP"
    timeout 60 tail --pid="$BP" -f /dev/null || kill -KILL "$BP"
    wait "$BP" 2>/dev/null
    BP=
}
read_mb_s() {
    timeout 300 "$DRV/rb-perf-consume" -b "127.0.0.1:$PORT" -t perf -m catchup -d 240 2>&1 |
        grep SUMMARY | python3 -c 'import json, sys
l = sys.stdin.read(); print("%.0f" % json.loads(l[l.index("{"):])["mb_per_s"])'
}
cold=1
[ "$(id -u)" = 0 ] || { cold=0; echo "fetch-ab: not root: no page cache drop, warm reads only"; }
echo "fetch-ab: producing $SIZE (1 KiB records, 4 partitions) on 127.0.0.1:$PORT"
start splice
timeout 600 "$DRV/rb-perf-produce" -b "127.0.0.1:$PORT" -t perf -P 4 -s 1024 -r 0 -d 600 \
    -a all -z none -k none -w 0 -n $((bytes / 1024)) >"$WORK/produce.log" 2>&1 ||
    { echo "fetch-ab: produce failed" >&2; tail -5 "$WORK/produce.log" >&2; exit 1; }
stop
declare -A res
for r in $(seq 1 "$ROUNDS"); do
    for path in splice read; do
        [ $cold = 1 ] && sync && echo 3 >/proc/sys/vm/drop_caches
        start "$path"
        c=- 
        [ $cold = 1 ] && c=$(read_mb_s)
        w=$(read_mb_s)
        stop
        echo "round=$r path=$path cold_mb_s=$c warm_mb_s=$w"
        res[$path.cold]+="$c " res[$path.warm]+="$w "
    done
done
med() { tr ' ' '\n' | grep -v '^-\?$' | sort -n | awk '{a[NR] = $1} END {print NR ? a[int((NR + 1) / 2)] : "-"}'; }
for path in splice read; do
    echo "median path=$path cold_mb_s=$(echo "${res[$path.cold]}" | med) warm_mb_s=$(echo "${res[$path.warm]}" | med)"
done
