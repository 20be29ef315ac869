#!/usr/bin/env bash
# perf/startup.sh [N...] - startup and stop time of a broker holding N partitions.
#
# For each N (default: 1000 10000): a fresh broker (2 shards, random port, temp
# dir under $PERF_TMP or /tmp) gets N partitions (topics of up to 1,000
# partitions each, made with ringctl), a few of them written with kcat (acks=all),
# and is stopped with SIGTERM. Then, repeated $RUNS times (default 3):
#   start  - from exec to the first Metadata answer (perf/lib/metadata_wait.py),
#   serve  - from exec until a produce to a cold partition is acknowledged,
#   stop   - from SIGTERM to exit (clean stop, nothing written since the start),
# and once after a kill -9 (the broker written to, then killed): start and serve.
# Prints numbers only (ms); nothing here asserts on speed. STRACE=1 adds a
# `strace -c -f` syscall summary of one start (to $OUT/strace.N.txt).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${RB_BIN:-$ROOT/build/bin/ringbroker}
CTL=${RB_CTL:-$ROOT/build/bin/ringctl}
WAIT=$ROOT/perf/lib/metadata_wait.py
RUNS=${RUNS:-3}
TMPD=$(mktemp -d "${PERF_TMP:-/tmp}/rb-startup.XXXXXX")
OUT=${OUT:-$TMPD}
PID=
trap '[ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$TMPD/data"' EXIT
ulimit -n 1024
: >"$TMPD/server.properties"

. "$ROOT/perf/lib/partitions.sh"
ms_since() { echo $((($(now_ns) - $1) / 1000000)); }

launch() { # [wrapper...]: start the broker; T0 = exec time
    T0=$(now_ns)
    "$@" "$BIN" "$TMPD/server.properties" --override "listeners=PLAINTEXT://127.0.0.1:$PORT" \
        --override "log.dirs=$TMPD/data" --override num.shards=2 \
        --override auto.create.topics.enable=false 2>>"$TMPD/broker.log" &
    PID=$!
}
ready() { # -> ms from T0 to the first Metadata answer
    python3 "$WAIT" "127.0.0.1:$PORT" "$PID" 120 1 "$T0" || {
        echo "broker not serving; log tail:" >&2
        tail -5 "$TMPD/broker.log" >&2
        exit 1
    }
}
produce() { # topic partition value
    echo "$3" | timeout 60 kcat -P -b "127.0.0.1:$PORT" -t "$1" -p "$2" -X acks=all 2>>"$TMPD/kcat.log"
}
stop() { # SP = ms from SIGTERM to exit (runs in this shell: wait needs the child)
    local t=$(now_ns)
    kill -TERM "$PID"
    wait "$PID"
    PID=
    SP=$(ms_since "$t")
}

for N in ${@:-1000 10000}; do
    PORT=$(port)
    rm -rf "$TMPD/data"
    launch
    ready >/dev/null
    topics=$(((N + 999) / 1000))
    create_partitions "$PORT" "$N" 120
    for ((p = 0; p < 5; p++)); do produce s0 "$p" "warm-$p" || echo "produce failed" >&2; done
    stop
    first_stop=$SP
    echo "N=$N created; stop after creating: ${first_stop} ms; $(du -sm "$TMPD/data" | cut -f1) MiB"
    for ((r = 1; r <= RUNS; r++)); do
        launch
        st=$(ready)
        produce s$((topics - 1)) $((r + 10)) "cold-$r" || echo "produce to a cold partition failed" >&2
        sv=$(ms_since "$T0")
        fds=$(ls "/proc/$PID/fd" | wc -l)
        stop
        sp=$SP
        echo "N=$N run $r: start ${st} ms, serve ${sv} ms, ${fds} fds, stop ${sp} ms"
    done
    launch
    ready >/dev/null
    produce s0 1 "before-kill" || echo "produce failed" >&2
    kill -KILL "$PID"
    wait "$PID" 2>/dev/null
    PID=
    launch
    st=$(ready)
    produce s0 20 "after-kill" || echo "produce after kill -9 failed" >&2
    sv=$(ms_since "$T0")
    stop
    sp=$SP
    echo "N=$N after kill -9: start ${st} ms, serve ${sv} ms, stop ${sp} ms"
    if [ "${STRACE:-0}" = 1 ]; then
        launch strace -c -f -o "$OUT/strace.$N.txt"
        ready >/dev/null
        kill -TERM "$(pgrep -P "$PID")" # the broker, strace's child
        wait "$PID"
        PID=
        echo "N=$N strace: $OUT/strace.$N.txt ($(awk '/total/ {print $4}' "$OUT/strace.$N.txt") syscalls)"
    fi
done
