#!/usr/bin/env bash
# perf/fetch-ab.sh - A/B of ringbroker's file fetch settings on the same data,
# for data NOT in the tail cache (by default the two paths:
# fetch.file.transfer=splice vs =read).
#
# Produces SIZE (default 2g) of RECORD-byte records (default 1 KiB) into P
# partitions (default 4) once, with the tail cache cut to 1 MiB
# (log.tail.cache.bytes), then ROUNDS times (default 3) for each setting in turn:
# restart the broker on that data with that setting, drop the page cache (root:
# echo 3 > /proc/sys/vm/drop_caches; otherwise "warm" only), read everything from
# the beginning (cold: as right after a produce, whose O_DIRECT writes leave
# nothing in the page cache), read it again (warm). Alternating the settings on
# one data set keeps the comparison fair on a noisy 2-core machine; compare the
# pairs of a round, then the medians. Prints one line per read (with the
# broker's CPU ticks over the reads) and the medians. Benchmarks assert nothing.
#
#   perf/fetch-ab.sh [--size 2g] [--rounds 3] [--partitions 4] [--record 1024]
#                    [--set 'LABEL:key=value ...' ...]
# Each --set is one setting: a label, then --override key=values for it; a
# token bin=PATH runs that broker binary instead (old binary vs new). Without
# --set: 'splice:fetch.file.transfer=splice' 'read:fetch.file.transfer=read'.
# Example (O_DIRECT + read-ahead against buffered reads, 1 partition):
#   flock /work/perf.lock perf/fetch-ab.sh --size 1g --partitions 1 \
#     --set 'buffered:' --set 'ra:fetch.file.direct=true fetch.file.readahead=true'
#   env: BUILD_ROOT (as for make; broker BUILD_ROOT/bin/ringbroker, drivers
#   BUILD_ROOT/perf), RINGBROKER_BIN, PERF_TMP (data dir parent, default /tmp)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZE=2g ROUNDS=3 PARTS=4 RECORD=1024
SETS=()
while [ $# -gt 0 ]; do
    case "$1" in
    --size) SIZE=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --partitions) PARTS=$2; shift 2 ;;
    --record) RECORD=$2; shift 2 ;;
    --set) SETS+=("$2"); shift 2 ;;
    *) echo "usage: perf/fetch-ab.sh [--size 2g] [--rounds 3] [--partitions 4] [--record 1024] [--set 'LABEL:k=v ...']..." >&2; exit 2 ;;
    esac
done
[ ${#SETS[@]} -gt 0 ] || SETS=("splice:fetch.file.transfer=splice" "read:fetch.file.transfer=read")
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
    printf "%.0f", n }')
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start() { # setting ("LABEL:k=v ... [bin=PATH]")
    local bin=$BIN ov=() kv
    for kv in ${1#*:}; do
        case "$kv" in
        bin=*) bin=${kv#bin=} ;;
        *) ov+=(--override "$kv") ;;
        esac
    done
    "$bin" "$ROOT/config/server.properties" --override "listeners=PLAINTEXT://127.0.0.1:$PORT" \
        --override "log.dirs=$WORK/data" --override log.tail.cache.bytes=1048576 \
        "${ov[@]}" >>"$WORK/broker.log" 2>&1 &
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
echo "fetch-ab: producing $SIZE ($RECORD-byte records, $PARTS partitions) on 127.0.0.1:$PORT"
start "produce:"
timeout 600 "$DRV/rb-perf-produce" -b "127.0.0.1:$PORT" -t perf -P "$PARTS" -s "$RECORD" -r 0 \
    -d 600 -a all -z none -k none -w 0 -n $((bytes / RECORD)) >"$WORK/produce.log" 2>&1 ||
    { echo "fetch-ab: produce failed" >&2; tail -5 "$WORK/produce.log" >&2; exit 1; }
stop
ticks() { awk '{ print $14 + $15 }' "/proc/$BP/stat"; }
declare -A res
for r in $(seq 1 "$ROUNDS"); do
    for set in "${SETS[@]}"; do
        label=${set%%:*}
        [ $cold = 1 ] && sync && echo 3 >/proc/sys/vm/drop_caches
        start "$set"
        t0=$(ticks)
        c=-
        [ $cold = 1 ] && c=$(read_mb_s)
        t1=$(ticks)
        w=$(read_mb_s)
        t2=$(ticks)
        stop
        echo "round=$r set=$label cold_mb_s=$c cold_ticks=$((t1 - t0)) warm_mb_s=$w warm_ticks=$((t2 - t1)) load=$(cut -d' ' -f1 /proc/loadavg)"
        res[$label.cold]+="$c " res[$label.warm]+="$w "
    done
done
med() { tr ' ' '\n' | grep -v '^-\?$' | sort -n | awk '{a[NR] = $1} END {print NR ? a[int((NR + 1) / 2)] : "-"}'; }
for set in "${SETS[@]}"; do
    label=${set%%:*}
    echo "median set=$label cold_mb_s=$(echo "${res[$label.cold]}" | med) warm_mb_s=$(echo "${res[$label.warm]}" | med)"
done
