#!/usr/bin/env bash
# perf/produce-ab.sh - A/B of two ringbroker binaries on max-rate produce, back to
# back: for each scenario and round, each binary in turn is started fresh (empty
# data dir, random port), rb-perf-produce runs SECONDS after a 2 s warm-up, and
# the broker's CPU time (utime+stime from /proc) and the machine's busy share
# (/proc/stat) are read over the measured window. One line per run:
#   SCEN LABEL mb_s=.. broker_cpu_s=.. cpu_s_per_GiB=.. busy=..% load=..
# Alternating the binaries keeps the comparison fair on a noisy machine; compare
# pairs of one run only. Benchmarks assert nothing. Wrap it in
# `flock /work/perf.lock` when others measure on the same machine.
#
#   perf/produce-ab.sh [--seconds 10] [--rounds 2] OLD_BIN NEW_BIN [SCEN...]
#   SCEN: c (100 B, 4 partitions), e (1 KiB lz4, 4 partitions), a1 (1 KiB,
#   1 partition), a16 (1 KiB, 16 partitions, 2 producers), d (64 KiB, 4
#   partitions); acks=all, as perf/scenarios/. Default: c e a1.
#   env: BUILD_ROOT (drivers in BUILD_ROOT/perf), PERF_TMP (data dirs, /tmp),
#   BROKER_EXTRA ("k=v k=v": --override for both binaries)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECS=10 ROUNDS=2
while [ $# -gt 0 ]; do
    case "$1" in
    --seconds) SECS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    *) break ;;
    esac
done
[ $# -ge 2 ] || { echo "usage: perf/produce-ab.sh [--seconds N] [--rounds N] OLD_BIN NEW_BIN [SCEN...]" >&2; exit 2; }
OLD=$1 NEW=$2
shift 2
SCENS=("$@")
[ ${#SCENS[@]} -gt 0 ] || SCENS=(c e a1)
BUILD_DIR=${BUILD_ROOT:-build}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
DRV=$BUILD_DIR/perf
make -s -C "$ROOT/perf" OUT="$DRV" >&2 || exit 1
WORK=$(mktemp -d "${PERF_TMP:-/tmp}/rb-produce-ab.XXXXXX")
BP='' DP=''
cleanup() {
    [ -n "$DP" ] && kill -KILL "$DP" 2>/dev/null
    [ -n "$BP" ] && kill -KILL "$BP" 2>/dev/null && wait "$BP" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
extra=()
for kv in ${BROKER_EXTRA:-}; do extra+=(--override "$kv"); done
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
busy() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat; }
one() { # label bin scen
    local args port hz out c0 c1 b0 b1
    case $3 in
    c) args=(-s 100 -P 4 -z none) ;;
    e) args=(-s 1024 -P 4 -z lz4) ;;
    a1) args=(-s 1024 -P 1 -z none) ;;
    a16) args=(-s 1024 -P 16 -z none -p 2) ;;
    d) args=(-s 65536 -P 4 -z none) ;;
    *) echo "produce-ab: unknown scenario $3" >&2; return 1 ;;
    esac
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    rm -rf "$WORK/data"
    "$2" "$ROOT/config/server.properties" --override "listeners=PLAINTEXT://127.0.0.1:$port" \
        --override "log.dirs=$WORK/data" "${extra[@]}" >"$WORK/broker.log" 2>&1 &
    BP=$!
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    timeout 60 "$DRV/rb-perf-produce" -b "127.0.0.1:$port" -t perf "${args[@]}" -C >/dev/null 2>&1
    # at most 40% of the free space, as perf/run
    local cap
    cap=$(df -Pk "$WORK" | awk -v rs="${args[1]}" 'NR == 2 {printf "%d", $4 * 1024 * 0.4 / (rs + 70)}')
    timeout $((SECS + 60)) "$DRV/rb-perf-produce" -b "127.0.0.1:$port" -t perf "${args[@]}" -a all \
        -k none -w 2 -d $((SECS + 2)) -n "$cap" >"$WORK/drv.out" 2>"$WORK/drv.err" &
    DP=$!
    sleep 2
    hz=$(getconf CLK_TCK)
    c0=$(cpu_ticks "$BP") b0=$(busy)
    sleep $((SECS - 1))
    c1=$(cpu_ticks "$BP") b1=$(busy)
    wait "$DP"
    DP=
    kill -TERM "$BP"
    timeout 30 tail --pid="$BP" -f /dev/null || kill -KILL "$BP"
    wait "$BP" 2>/dev/null
    BP=
    out=$(grep SUMMARY "$WORK/drv.out" | python3 -c 'import json, sys
l = sys.stdin.read(); j = json.loads(l[l.index("{"):]); print("%.1f %d %.3f" % (j["mb_per_s"], j["bytes"], j["seconds"]))')
    echo "$3 $1 $out $c0 $c1 $hz $b0 $b1 $(awk '{print $1}' /proc/loadavg)" | awk -v secs="$SECS" '{
        cpu = ($7 - $6) / $8; win = secs - 1
        gib = $4 / $5 * win / 1073741824
        printf "%s %s mb_s=%s broker_cpu_s=%.2f cpu_s_per_GiB=%.2f busy=%.1f%% load=%s\n",
            $1, $2, $3, cpu, (gib > 0 ? cpu / gib : 0), 100 * ($11 - $9) / ($12 - $10), $13 }'
}
for sc in "${SCENS[@]}"; do
    for _ in $(seq 1 "$ROUNDS"); do
        one old "$OLD" "$sc"
        one new "$NEW" "$sc"
    done
done
