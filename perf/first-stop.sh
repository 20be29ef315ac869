#!/usr/bin/env bash
# perf/first-stop.sh [BIN...] - the clean stop right after creating N partitions
# (never written), and the stop after the next start, per broker binary.
#
# For each BIN (default: build/bin/ringbroker), back to back: a fresh broker
# (2 shards, random port, temp dir under $PERF_TMP or /tmp) gets N partitions
# (default 10000, $N; topics of up to 1,000 partitions made with ringctl) and is
# stopped with SIGTERM ("first stop"); then it is started on the same data,
# serves a Metadata request and is stopped again ("second stop"). Prints the
# creation's time (all ringctl calls), the times from SIGTERM to exit (ms) and
# the files in the log dir after each stop.
# Numbers only: nothing here asserts on speed. Run it nice'd and under
# `flock /work/perf.lock` on the shared machine (MACHINE.md).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CTL=${RB_CTL:-$ROOT/build/bin/ringctl}
WAIT=$ROOT/perf/lib/metadata_wait.py
N=${N:-10000}
TMPD=$(mktemp -d "${PERF_TMP:-/tmp}/rb-first-stop.XXXXXX")
PID=
trap '[ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null; rm -rf "$TMPD"' EXIT
ulimit -n 1024
: >"$TMPD/server.properties"

. "$ROOT/perf/lib/partitions.sh"
launch() { # BIN
    T0=$(now_ns)
    "$1" "$TMPD/server.properties" --override "listeners=PLAINTEXT://127.0.0.1:$PORT" \
        --override "log.dirs=$TMPD/data" --override num.shards=2 \
        --override auto.create.topics.enable=false 2>>"$TMPD/broker.log" &
    PID=$!
    python3 "$WAIT" "127.0.0.1:$PORT" "$PID" 120 1 "$T0" >/dev/null || {
        echo "broker not serving; log tail:" >&2
        tail -5 "$TMPD/broker.log" >&2
        exit 1
    }
}
stop() { # SP = ms from SIGTERM to exit
    local t=$(now_ns) rc
    kill -TERM "$PID"
    wait "$PID"
    rc=$?
    PID=
    SP=$((($(now_ns) - t) / 1000000))
    [ $rc = 0 ] || echo "broker exited with $rc" >&2
}

for BIN in "${@:-$ROOT/build/bin/ringbroker}"; do
    PORT=$(port)
    rm -rf "$TMPD/data"
    launch "$BIN"
    tc=$(now_ns)
    create_partitions "$PORT" "$N" 300
    cr=$((($(now_ns) - tc) / 1000000))
    stop
    s1=$SP f1=$(find "$TMPD/data" -type f | wc -l)
    launch "$BIN"
    stop
    s2=$SP f2=$(find "$TMPD/data" -type f | wc -l)
    echo "$BIN N=$N: create ${cr} ms, first stop ${s1} ms ($f1 files), second stop ${s2} ms ($f2 files)"
done
