#!/usr/bin/env bash
# tools/etcd.sh - a throw-away etcd cluster on 127.0.0.1 for tests, perf and
# people (Debian's `etcd-server` 3.4).
#
#   tools/etcd.sh up DIR [N]    start N members (default 3) on free random client
#                               and peer ports; wait (bounded) until every member
#                               answers /health with true; write DIR/endpoints
#                               ("http://127.0.0.1:c1,http://127.0.0.1:c2,...")
#                               and print it
#   tools/etcd.sh down DIR      stop every member it started (SIGTERM, SIGKILL
#                               after a grace); DIR itself is left for the caller
#   tools/etcd.sh stop DIR I    stop member I (1-based; SIGTERM + grace)
#   tools/etcd.sh kill DIR I    SIGKILL member I
#   tools/etcd.sh start DIR I   start member I again (same ports and data), wait
#                               until it is healthy
#   tools/etcd.sh status DIR    one line per member: id, pid, client URL, health
#                               (and which one is the raft leader)
#   tools/etcd.sh endpoints DIR print DIR/endpoints
#
# Layout: DIR/endpoints, DIR/m<I>/{data/,pid,client_port,peer_port,etcd.log}.
# Members stay in the caller's process group (a `timeout` around a test reaches
# them); `down` is what cleans up. Raft timing: heartbeat ETCD_HEARTBEAT_MS
# (default 100), election timeout ETCD_ELECTION_MS (default 1000): a leader is
# replaced within ~1-2 s. Lease TTLs are the clients' own (etcd's minimum TTL is
# about 1.5 x the election timeout).
#
# Environment: ETCD_UP_TIMEOUT (s, default 60), ETCD_GRACE (s before SIGKILL,
# default 5), ETCD_BIN (default etcd).
# Exit status: 0 ok, 1 failure (with the log tails on stderr), 2 usage.
set -euo pipefail

UP_TIMEOUT=${ETCD_UP_TIMEOUT:-60}
GRACE=${ETCD_GRACE:-5}
HB=${ETCD_HEARTBEAT_MS:-100}
ELECT=${ETCD_ELECTION_MS:-1000}
ETCD=${ETCD_BIN:-etcd}

log() { echo "etcd.sh: $*" >&2; }
usage() {
    sed -n '5,19p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# N free TCP ports on 127.0.0.1, distinct, below the ephemeral range (so an
# outgoing connection cannot take one between this check and the bind).
free_ports() { # n
    /usr/bin/python3 - "$1" <<'PY'
import random, socket, sys
n, out = int(sys.argv[1]), []
for _ in range(2000):
    if len(out) == n:
        break
    p = random.randint(12000, 31000)
    if p in out:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    out.append(p)
if len(out) < n:
    raise SystemExit("no free ports")
print(" ".join(map(str, out)))
PY
}

member_health() { # client port -> "true" when healthy, else nothing
    curl -s -m 2 "http://127.0.0.1:$1/health" 2>/dev/null |
        sed -n 's/.*"health" *: *"\{0,1\}\(true\)"\{0,1\}.*/\1/p' || true
}

# The pid of member I if it is running and is ours (its command line names its
# data dir: a recycled pid is not mistaken for it).
member_pid() { # dir i
    local f=$1/m$2/pid p
    [ -f "$f" ] || return 1
    p=$(cat "$f")
    [ -n "$p" ] && [ -r "/proc/$p/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$p/cmdline" | grep -F "$1/m$2/data" >/dev/null || return 1
    case "$(ps -o stat= -p "$p" 2>/dev/null)" in Z* | "") return 1 ;; esac
    echo "$p"
}

members() { # dir -> the member numbers present
    local d
    for d in "$1"/m*/client_port; do
        [ -f "$d" ] || continue
        d=${d%/client_port}
        echo "${d##*/m}"
    done | sort -n
}

tails() { # dir
    local i
    for i in $(members "$1"); do
        echo "---- $1/m$i/etcd.log (tail) ----"
        tail -n 15 "$1/m$i/etcd.log" 2>/dev/null
    done >&2
}

launch() { # dir i
    local dir=$1 i=$2 md=$1/m$2
    local c p
    c=$(cat "$md/client_port") p=$(cat "$md/peer_port")
    # setsid: its own session, as the brokers in tools/cluster.sh (see there).
    setsid "$ETCD" --name "m$i" --data-dir "$md/data" \
        --listen-client-urls "http://127.0.0.1:$c" --advertise-client-urls "http://127.0.0.1:$c" \
        --listen-peer-urls "http://127.0.0.1:$p" --initial-advertise-peer-urls "http://127.0.0.1:$p" \
        --initial-cluster "$(cat "$dir/initial_cluster")" --initial-cluster-state new \
        --initial-cluster-token "$(cat "$dir/token")" \
        --heartbeat-interval "$HB" --election-timeout "$ELECT" \
        --logger zap --log-outputs stderr \
        </dev/null >>"$md/etcd.log" 2>&1 &
    echo $! >"$md/pid"
    # The pid names the process once the fork has exec'd (the check in
    # member_pid reads its command line): wait for that, bounded.
    local k
    for k in $(seq 50); do
        member_pid "$1" "$2" >/dev/null && return 0
        sleep 0.05
    done
    return 0
}

# Wait until the listed members are healthy. 0 when they are, 1 on timeout or
# when one died.
wait_healthy() { # dir secs i...
    local dir=$1 secs=$2 i ok
    shift 2
    local deadline=$((SECONDS + secs))
    while :; do
        ok=1
        for i in "$@"; do
            if ! member_pid "$dir" "$i" >/dev/null; then
                log "member $i exited"
                return 1
            fi
            [ "$(member_health "$(cat "$dir/m$i/client_port")")" = true ] || ok=0
        done
        [ $ok = 1 ] && return 0
        [ $SECONDS -lt $deadline ] || {
            log "not healthy after ${secs}s"
            return 1
        }
        sleep 0.2
    done
}

stop_pids() { # sig pid... : signal, wait GRACE s, SIGKILL the rest (bounded)
    local sig=$1 p left deadline=$((SECONDS + GRACE))
    shift
    [ $# -gt 0 ] || return 0
    kill "-$sig" "$@" 2>/dev/null || true
    while :; do
        left=()
        for p in "$@"; do
            case "$(ps -o stat= -p "$p" 2>/dev/null)" in Z* | "") ;; *) left+=("$p") ;; esac
        done
        [ ${#left[@]} -gt 0 ] || return 0
        if [ $SECONDS -ge $deadline ]; then
            kill -KILL "${left[@]}" 2>/dev/null || true
            sleep 0.2
            return 0
        fi
        sleep 0.1
    done
}

cmd_down() { # dir
    local dir=$1 i p pids=()
    for i in $(members "$dir"); do
        if p=$(member_pid "$dir" "$i"); then pids+=("$p"); fi
    done
    stop_pids TERM "${pids[@]}"
    for i in $(members "$dir"); do rm -f "$dir/m$i/pid"; done
    return 0
}

cmd_up() { # dir n
    local dir=$1 n=$2 attempt i ports
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || usage
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    for i in $(members "$dir"); do
        if member_pid "$dir" "$i" >/dev/null; then
            log "$dir: member $i already running (tools/etcd.sh down $dir first)"
            exit 1
        fi
    done
    for attempt in 1 2 3; do
        rm -rf "$dir"/m* "$dir/endpoints" "$dir/initial_cluster" "$dir/token"
        read -r -a ports <<<"$(free_ports $((2 * n)))"
        local ic="" ep=""
        for i in $(seq 1 "$n"); do
            mkdir -p "$dir/m$i"
            echo "${ports[$((i - 1))]}" >"$dir/m$i/client_port"
            echo "${ports[$((n + i - 1))]}" >"$dir/m$i/peer_port"
            ic="$ic${ic:+,}m$i=http://127.0.0.1:${ports[$((n + i - 1))]}"
            ep="$ep${ep:+,}http://127.0.0.1:${ports[$((i - 1))]}"
        done
        echo "$ic" >"$dir/initial_cluster"
        echo "rb-$$-$RANDOM" >"$dir/token"
        for i in $(seq 1 "$n"); do launch "$dir" "$i"; done
        if wait_healthy "$dir" "$UP_TIMEOUT" $(seq 1 "$n"); then
            echo "$ep" >"$dir/endpoints"
            echo "$ep"
            return 0
        fi
        tails "$dir"
        cmd_down "$dir"
        # A port taken between the check and the bind: try fresh ports.
        grep -qs 'address already in use' "$dir"/m*/etcd.log || break
        log "a port was taken meanwhile; retrying with new ports ($attempt/3)"
    done
    log "etcd cluster in $dir did not come up"
    exit 1
}

need_member() { # dir i
    [[ "$2" =~ ^[1-9][0-9]*$ ]] && [ -f "$1/m$2/client_port" ] || {
        log "no member $2 in $1"
        exit 1
    }
}

cmd_status() { # dir
    local dir=$1 i p port h lead
    [ -n "$(members "$dir")" ] || {
        log "no etcd cluster in $dir"
        exit 1
    }
    for i in $(members "$dir"); do
        port=$(cat "$dir/m$i/client_port")
        if p=$(member_pid "$dir" "$i"); then
            h=$(member_health "$port")
            lead=$(ETCDCTL_API=3 timeout 3 etcdctl --endpoints "http://127.0.0.1:$port" \
                endpoint status -w fields 2>/dev/null |
                awk -F' : ' '/"MemberID"/ {m=$2} /"Leader"/ {l=$2} END {if (m != "" && m == l) print " leader"}') || true
            [ "$h" = true ] && h=healthy || h=unhealthy
            echo "etcd $i pid $p http://127.0.0.1:$port $h$lead"
        else
            echo "etcd $i down http://127.0.0.1:$port"
        fi
    done
}

[ $# -ge 2 ] || usage
cmd=$1 dir=$2
case "$cmd" in
up) cmd_up "$dir" "${3:-3}" ;;
down) [ -d "$dir" ] && cmd_down "$(cd "$dir" && pwd)" ;;
status) cmd_status "$(cd "$dir" && pwd)" ;;
endpoints) cat "$dir/endpoints" ;;
stop | kill | start)
    [ $# -eq 3 ] || usage
    dir=$(cd "$dir" && pwd)
    need_member "$dir" "$3"
    case "$cmd" in
    stop | kill)
        if p=$(member_pid "$dir" "$3"); then
            if [ "$cmd" = kill ]; then stop_pids KILL "$p"; else stop_pids TERM "$p"; fi
        fi
        rm -f "$dir/m$3/pid"
        ;;
    start)
        if member_pid "$dir" "$3" >/dev/null; then
            log "member $3 already running"
            exit 0
        fi
        launch "$dir" "$3"
        wait_healthy "$dir" "$UP_TIMEOUT" "$3" || {
            tails "$dir"
            exit 1
        }
        ;;
    esac
    ;;
*) usage ;;
esac
