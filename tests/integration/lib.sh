# tests/integration/lib.sh - shared helpers for the single-node integration tests.
#
# Owns: starting/stopping ringbroker processes on loopback for one test script,
# the test's temp dir, bounded waits and client wrappers.
# Invariants: every broker started here is killed and every temp dir removed when
# the script exits (EXIT/INT/TERM trap), whatever the outcome; every wait and
# every client call is bounded in time; on failure the tail of each broker log
# is printed. Brokers share the test's process group so run-all.sh's `timeout`
# reaches them too.
# Fault model: the broker may crash, hang, refuse to start or answer garbage;
# the helpers turn all of these into a failing test with a readable symptom.
#
# Use: source it first thing in a t_*.sh script, then
#   rb_start [--override k=v ...]   start on a fresh port + dir (RB_PORT, RB_DIR, RB_PID)
#   rb_stop                         SIGTERM, bounded wait, must exit 0
#   rb_kill9                        SIGKILL
#   rb_restart [--override ...]     start again on the same dir and port
#   fail "msg"                      print symptom + broker log tail, exit 1
#   ct SECS cmd...                  run a client command under timeout

set -u
set -o pipefail

IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$IT_DIR/../.." && pwd)
RB_BIN=${RINGBROKER_BIN:-$ROOT/build/bin/ringbroker}
RB_CONFIG=${RINGBROKER_CONFIG:-$ROOT/config/server.properties}
CLIENTS=${RB_CLIENTS_DIR:-$ROOT/build/clients}
PY=/usr/bin/python3
KCAT=${KCAT:-kcat}
START_WAIT=${RB_START_WAIT:-20}
STOP_WAIT=${RB_STOP_WAIT:-20}
# Exit statuses accepted after SIGTERM. ringbroker must exit 0; the knob exists
# only to validate the tests against another broker (e.g. a JVM exits 143).
CLEAN_RCS=${RB_CLEAN_EXIT_CODES:-0}

T_NAME=$(basename "$0" .sh)
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/rb-it-$T_NAME.XXXXXX")
RB_PIDS=()
RB_PID=
RB_PORT=
RB_DIR=
RB_LOG=
RB_NSTART=0
RB_OVERRIDES=()

info() { echo "info: $*"; }

_rb_logtails() {
    local f
    for f in "$T_TMP"/broker.*.log; do
        [ -f "$f" ] || continue
        echo "---- tail of $(basename "$f") ----"
        tail -n 40 "$f"
    done
}

_rb_cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    for p in "${RB_PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    if [ "$rc" -ne 0 ] && [ -z "${_RB_TAILED:-}" ]; then
        _rb_logtails >&2
    fi
    if [ -n "${RB_KEEP_TMP:-}" ]; then
        echo "kept $T_TMP" >&2
    else
        rm -rf "$T_TMP"
    fi
    exit "$rc"
}
trap _rb_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# fail "msg": print the symptom and the broker log tails (once), exit 1.
fail() {
    echo "FAIL: $T_NAME: $*" >&2
    _rb_logtails >&2
    _RB_TAILED=1
    exit 1
}

# ct SECS cmd... : a client call, bounded; SIGKILL 5 s after SIGTERM.
ct() {
    local secs=$1
    shift
    timeout -k 5 "$secs" "$@"
}

# A free TCP port on 127.0.0.1 below the ephemeral range (so outgoing client
# connections cannot take it between the check and the broker's bind).
rb_free_port() {
    "$PY" - <<'PY'
import random, socket
for _ in range(200):
    p = random.randint(12000, 31000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
else:
    raise SystemExit("no free port")
PY
}

# 0 when something accepts on 127.0.0.1:$1.
rb_port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

_rb_alive() {
    local st
    [ -n "$1" ] || return 1
    st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    case "$st" in Z*) return 1 ;; esac
    return 0
}

_rb_launch() {
    [ -x "$RB_BIN" ] || fail "broker binary missing: $RB_BIN (run make)"
    local cfg=$RB_CONFIG
    if [ ! -f "$cfg" ]; then
        cfg=$T_TMP/server.properties
        [ -f "$cfg" ] || printf '# generated: %s missing\n' "$RB_CONFIG" >"$cfg"
    fi
    RB_NSTART=$((RB_NSTART + 1))
    RB_LOG=$T_TMP/broker.$RB_NSTART.log
    "$RB_BIN" "$cfg" --override "listeners=PLAINTEXT://127.0.0.1:$RB_PORT" \
        --override "log.dirs=$RB_DIR" "${RB_OVERRIDES[@]}" "$@" 2>"$RB_LOG" >&2 &
    RB_PID=$!
    RB_PIDS+=("$RB_PID")
    local deadline=$((SECONDS + START_WAIT))
    while ! rb_port_open "$RB_PORT"; do
        if ! _rb_alive "$RB_PID"; then
            wait "$RB_PID"
            fail "broker exited during startup (rc=$?)"
        fi
        [ $SECONDS -lt $deadline ] || fail "broker not accepting on port $RB_PORT after ${START_WAIT}s"
        sleep 0.1
    done
    info "broker pid $RB_PID on 127.0.0.1:$RB_PORT (start #$RB_NSTART)"
}

# rb_start [--override k=v ...]: fresh port and data dir. The overrides are
# remembered and reused by rb_restart.
rb_start() {
    RB_PORT=$(rb_free_port) || fail "no free port"
    RB_DIR=$T_TMP/data
    mkdir -p "$RB_DIR"
    RB_OVERRIDES=("$@")
    _rb_launch
}

# rb_restart [--override k=v ...]: same port, same data dir (previous process
# must be gone).
rb_restart() {
    _rb_alive "$RB_PID" && fail "rb_restart: broker $RB_PID still running"
    _rb_launch "$@"
}

# rb_stop: clean stop. SIGTERM, wait up to STOP_WAIT s, exit status must be 0.
rb_stop() {
    local pid=$RB_PID rc
    _rb_alive "$pid" || fail "rb_stop: broker $pid not running (crashed?)"
    kill -TERM "$pid"
    local deadline=$((SECONDS + STOP_WAIT))
    while _rb_alive "$pid"; do
        if [ $SECONDS -ge $deadline ]; then
            kill -KILL "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
            fail "broker did not stop within ${STOP_WAIT}s of SIGTERM (killed)"
        fi
        sleep 0.1
    done
    wait "$pid"
    rc=$?
    case " $CLEAN_RCS " in
    *" $rc "*) ;;
    *) fail "broker exited with status $rc after SIGTERM (want $CLEAN_RCS)" ;;
    esac
    info "broker $pid stopped cleanly"
}

# rb_kill9: crash the broker.
rb_kill9() {
    local pid=$RB_PID
    _rb_alive "$pid" || fail "rb_kill9: broker $pid not running (crashed?)"
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null
    # The dead broker's listening sockets go with its io_uring, torn down after the
    # exit: for some ms the port still accepts, and a restart's port check would
    # see the old listener (t_restart_probe then got "connection refused").
    local deadline=$((SECONDS + 10))
    while rb_port_open "$RB_PORT"; do
        [ $SECONDS -lt $deadline ] || fail "port $RB_PORT still accepts 10 s after the kill -9 of $pid"
        sleep 0.01
    done
    info "broker $pid killed with SIGKILL"
}

# rb_check_alive WHAT: fail when the broker process is gone.
rb_check_alive() {
    _rb_alive "$RB_PID" || {
        wait "$RB_PID" 2>/dev/null
        fail "broker died ($1), exit status $?"
    }
}

rb_bootstrap() { echo "127.0.0.1:$RB_PORT"; }

# rb_client NAME: path of a C client from tests/clients, built if missing or
# older than its source (make normally builds them: `make helpers`).
rb_client() {
    local name=$1 bin src
    src=$ROOT/tests/clients/$name.c
    bin=$CLIENTS/$name
    if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ]; then
        bin=$T_TMP/clients/$name
        mkdir -p "$T_TMP/clients"
        gcc -std=gnu11 -g -O2 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -o "$bin" "$src" \
            -lrdkafka -lm >&2 || fail "cannot build client $name"
    fi
    echo "$bin"
}

# kcat_md ARGS...: kcat -L -J against the broker, bounded.
kcat_md() {
    ct 20 "$KCAT" -b "$(rb_bootstrap)" -L -J -m 10 "$@"
}

# rb_rss_mb: resident set size of the broker in MiB.
rb_rss_mb() {
    local kb
    kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$RB_PID/status" 2>/dev/null)
    echo $(( ${kb:-0} / 1024 ))
}
