# tests/cluster/lib.sh - shared helpers for the cluster tests (t_*.sh here).
#
# Owns: one cluster per test script (a 3-node ZooKeeper ensemble or 3-member etcd
# cluster plus N ringbroker brokers, started by tools/cluster.sh on 127.0.0.1 with
# random ports under the test's temp dir), the quorum readers, the Kafka 2.8.2
# TopicCommand/ConfigCommand and Kafka 4.4 wrappers, and the fault helpers.
# Invariants: whatever the outcome, the EXIT trap tears the cluster down
# (tools/cluster.sh down) and removes the temp dir; every wait and every client
# call is bounded; on failure the tails of the broker logs are printed. Processes
# share the test's process group, so run-all.sh's `timeout` reaches them too.
# Fault model: brokers may crash, hang, never register or answer garbage; the
# helpers turn each into a failing test with a readable symptom.
#
# Use: source it first thing in a t_*.sh, then
#   cl_up [--etcd] [--brokers N] [--create-chroot] [--override k=v ...]
#        start it and wait until every broker's Metadata lists all brokers;
#        CL_ETCD=1 in the environment means --etcd (the etcd twins of the tests)
#   CL_BS (bootstrap list), cl_addr I (127.0.0.1:port of broker I), cl_pid I
#   cl_meta I            Metadata v1 from broker I, JSON (cl_client.py meta)
#   cl_q_get PATH        a node's value (ZooKeeper znode or etcd key), exit 1 if absent
#   cl_q_ls PATH         a node's children, one per line
#   cl_q_del PATH        delete a node (an ephemeral of another session too)
#   cl_controller        the broker id in /controller (empty when none)
#   cl_kill9 I / cl_term I / cl_pause I / cl_cont I / cl_start I   broker faults
#   cl_q_kill I / cl_q_start I                                    quorum node faults
#   k28_topics ARGS...   Kafka 2.8.2 TopicCommand --zookeeper $CL_ZK (output in
#                        $T_TMP/k28.out, ZooKeeper requests in $T_TMP/k28.ops)
#   k28_configs ARGS...  Kafka 2.8.2 ConfigCommand --zookeeper $CL_ZK (same files)
#   k44_setup, jrun SECS CLASS ARGS...   Kafka 4.4 Java tools (tests/interop/)
#   wait_for SECS what cmd...; fail msg; info msg; ct SECS cmd...
# Settings: CL_SESSION_MS (zookeeper.session.timeout.ms given to the brokers,
# default 6000: the fault tests wait a few of these), CL_WAIT (s, default 60).

set -u
set -o pipefail

CL_TESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$CL_TESTS/../.." && pwd)
export RINGBROKER_BIN=${RINGBROKER_BIN:-$ROOT/build/bin/ringbroker}
PY=/usr/bin/python3
CLC="$PY -W ignore $CL_TESTS/cl_client.py"
CL_SESSION_MS=${CL_SESSION_MS:-6000}
export CLUSTER_WAIT=${CL_WAIT:-60}
CACHE=${RINGBROKER_CACHE:-$HOME/.cache/ringbroker}

T_NAME=$(basename "$0" .sh)
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/rb-cl-$T_NAME.XXXXXX")
CL_DIR=$T_TMP/cluster
CL_MODE=zk
CL_BS=
CL_ZK=
CL_QUORUM=
CL_ETCD_PREFIX=/ringbroker
CL_BG=()

info() { echo "info: $*"; }

_cl_tails() {
    local f
    for f in "$CL_DIR"/broker-*/broker.log; do
        [ -f "$f" ] || continue
        echo "---- tail of ${f#"$CL_DIR"/} ----"
        tail -n 30 "$f"
    done
}

_cl_cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    for p in "${CL_BG[@]}"; do kill -KILL "$p" 2>/dev/null; done
    if [ "$rc" -ne 0 ] && [ -z "${_CL_TAILED:-}" ]; then _cl_tails >&2; fi
    [ -d "$CL_DIR" ] && CLUSTER_GRACE=5 "$ROOT/tools/cluster.sh" down --dir "$CL_DIR" >/dev/null 2>&1
    if [ -n "${RB_KEEP_TMP:-}" ]; then
        echo "kept $T_TMP" >&2
    else
        rm -rf "$T_TMP"
    fi
    exit "$rc"
}
trap _cl_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# fail "msg": the symptom, the cluster's state and the broker log tails; exit 1.
fail() {
    echo "FAIL: $T_NAME: $*" >&2
    "$ROOT/tools/cluster.sh" status --dir "$CL_DIR" >&2 2>/dev/null
    _cl_tails >&2
    _CL_TAILED=1
    exit 1
}

ct() { # ct SECS cmd...: a bounded client call (SIGKILL 5 s after SIGTERM)
    local secs=$1
    shift
    timeout -k 5 "$secs" "$@"
}

wait_for() { # wait_for SECS what cmd...: poll every 0.3 s
    local secs=$1 what=$2 deadline
    shift 2
    deadline=$((SECONDS + secs))
    until "$@"; do
        [ $SECONDS -lt $deadline ] || fail "timeout (${secs}s) waiting for $what"
        sleep 0.3
    done
}

# bg OUT cmd...: a background client, killed at exit; pid in CL_LAST.
bg() {
    local out=$1
    shift
    "$@" >"$out" 2>&1 &
    CL_LAST=$!
    CL_BG+=("$CL_LAST")
}

cl_up() {
    local args=() want_etcd=${CL_ETCD:-0}
    while [ $# -gt 0 ]; do
        case "$1" in
        --etcd) want_etcd=1 ;;
        *) args+=("$1") ;;
        esac
        shift
    done
    [ "$want_etcd" = 1 ] && args+=(--etcd) && CL_MODE=etcd
    [ -x "$RINGBROKER_BIN" ] || fail "broker binary missing: $RINGBROKER_BIN (run make)"
    # the test's own --override k=v come last: they win over these defaults
    ct $((CLUSTER_WAIT * 2 + 60)) "$ROOT/tools/cluster.sh" up --dir "$CL_DIR" \
        --override num.shards=1 --override group.initial.rebalance.delay.ms=0 \
        --override "zookeeper.session.timeout.ms=$CL_SESSION_MS" \
        --override zookeeper.connection.timeout.ms=10000 \
        --override offsets.topic.num.partitions=6 "${args[@]}" \
        >"$T_TMP/up.out" 2>&1 || fail "tools/cluster.sh up failed: $(tail -15 "$T_TMP/up.out")"
    CL_BS=$(cat "$CL_DIR/bootstrap")
    CL_QUORUM=$(cat "$CL_DIR/quorum")
    [ "$CL_MODE" = zk ] && CL_ZK=$CL_QUORUM
    info "cluster ($CL_MODE) up: brokers $CL_BS, quorum $CL_QUORUM"
}

cl_ids() { # the broker numbers
    local d
    for d in "$CL_DIR"/broker-*/port; do
        d=${d%/port}
        echo "${d##*/broker-}"
    done | sort -n
}
cl_port() { cat "$CL_DIR/broker-$1/port"; }
cl_addr() { echo "127.0.0.1:$(cl_port "$1")"; }
cl_pid() { cat "$CL_DIR/broker-$1/pid" 2>/dev/null; }
cl_meta() { ct 30 $CLC meta "$(cl_addr "$1")"; }

# jq-like access to cl_meta's JSON: cl_json JSON 'python expression on d'
cl_json() {
    "$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); r=eval(sys.argv[2]); print(" ".join(map(str, r)) if isinstance(r, (list, tuple, set)) else r)' "$1" "$2"
}

# ---- the quorum, backend-independent: paths are ZooKeeper paths under the chroot ----
# etcd keys follow coord/quorum_etcd.c: prefix + the path with '!' before its last
# name ("/brokers/ids/1" -> "/ringbroker/brokers/ids/!1"); a node's children are the
# keys that start with prefix + its path + "/!".
_cl_etcd_key() { # path (a trailing / names the range of its children)
    local p=$1
    if [[ $p == */ ]]; then
        printf '%s%s!' "$CL_ETCD_PREFIX" "$p"
        return
    fi
    printf '%s%s/!%s' "$CL_ETCD_PREFIX" "${p%/*}" "${p##*/}"
}
_cl_ectl() { ETCDCTL_API=3 ct 20 etcdctl --dial-timeout=3s --command-timeout=10s --endpoints "$CL_QUORUM" "$@"; }

cl_q_get() { # path -> value on stdout; exit 1 when the node does not exist
    if [ "$CL_MODE" = etcd ]; then
        local k out
        k=$(_cl_etcd_key "$1")
        out=$(_cl_ectl get "$k" -w json) || return 2
        "$PY" -c 'import json,sys,base64
kv=json.loads(sys.argv[1]).get("kvs") or []
if not kv: sys.exit(1)
print(base64.b64decode(kv[0].get("value","")).decode())' "$out"
    else
        ct 30 "$PY" -W ignore - "$CL_ZK" "$1" <<'PY'
import sys
from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError
zk = KazooClient(hosts=sys.argv[1], timeout=10)
zk.start(timeout=15)
try:
    print(zk.get(sys.argv[2])[0].decode())
except NoNodeError:
    sys.exit(1)
finally:
    zk.stop()
PY
    fi
}

cl_q_ls() { # path -> children names, sorted, one per line (none when absent)
    if [ "$CL_MODE" = etcd ]; then
        local k
        k=$(_cl_etcd_key "$1/")
        _cl_ectl get --prefix --keys-only "$k" | sed -n "s|^${k}||p" | grep -v / | sort
    else
        ct 30 "$PY" -W ignore - "$CL_ZK" "$1" <<'PY'
import sys
from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError
zk = KazooClient(hosts=sys.argv[1], timeout=10)
zk.start(timeout=15)
try:
    for c in sorted(zk.get_children(sys.argv[2])):
        print(c)
except NoNodeError:
    pass
finally:
    zk.stop()
PY
    fi
}

cl_q_del() { # path: delete the node (another session's ephemeral too), as an operator would
    if [ "$CL_MODE" = etcd ]; then
        _cl_ectl del "$(_cl_etcd_key "$1")" >/dev/null
    else
        ct 30 "$PY" -W ignore - "$CL_ZK" "$1" <<'PY'
import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=10)
zk.start(timeout=15)
try:
    zk.delete(sys.argv[2])
finally:
    zk.stop()
PY
    fi
}

cl_controller() { # broker id in /controller, or nothing
    local v
    v=$(cl_q_get /controller 2>/dev/null) || return 0
    "$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["brokerid"])' "$v" 2>/dev/null
}

# Every broker's Metadata lists exactly the brokers given (ids, space-separated).
cl_all_list() { # ids...
    local want="$*" i got
    for i in $(cl_ids); do
        [ -n "$(cl_pid "$i")" ] || continue
        [ "$(ps -o stat= -p "$(cl_pid "$i")" 2>/dev/null | cut -c1)" = T ] && continue
        got=$(cl_json "$(cl_meta "$i" 2>/dev/null || echo '{"brokers":{}}')" 'sorted(int(k) for k in d["brokers"])')
        [ "$got" = "$want" ] || return 1
    done
}

# Leader of TOPIC/PART in broker I's Metadata (-1 when none).
cl_leader() { # i topic part
    cl_json "$(cl_meta "$1")" "d['topics']['$2']['partitions']['$3']['leader']" 2>/dev/null || echo -1
}

# ---- faults ----
cl_kill9() { "$ROOT/tools/cluster.sh" kill-broker "$1" --dir "$CL_DIR" || fail "kill-broker $1"; info "broker $1 killed (SIGKILL)"; }
cl_term() { "$ROOT/tools/cluster.sh" stop-broker "$1" --dir "$CL_DIR" || fail "stop-broker $1"; }
cl_start() { ct $((CLUSTER_WAIT + 30)) "$ROOT/tools/cluster.sh" start-broker "$1" --dir "$CL_DIR" >&2 || fail "start-broker $1"; }
cl_pause() { # returns once every thread has stopped (later than kill returns on a loaded machine)
    local p
    p=$(cl_pid "$1")
    kill -STOP "$p" || fail "SIGSTOP broker $1"
    for _ in $(seq 1 100); do
        [[ "$(ps -o stat= -p "$p" 2>/dev/null)" == T* ]] && break
        sleep 0.1
    done
    [[ "$(ps -o stat= -p "$p" 2>/dev/null)" == T* ]] || fail "broker $1 not stopped 10 s after SIGSTOP"
    info "broker $1 paused (SIGSTOP)"
}
cl_cont() { kill -CONT "$(cl_pid "$1")" || fail "SIGCONT broker $1"; info "broker $1 resumed (SIGCONT)"; }
_cl_qtool() { if [ "$CL_MODE" = etcd ]; then echo "$ROOT/tools/etcd.sh $CL_DIR/etcd"; else echo "$ROOT/tools/zk.sh $CL_DIR/zk"; fi; }
cl_q_kill() { # i
    local t
    read -r -a t <<<"$(_cl_qtool)"
    "${t[0]}" kill "${t[1]}" "$1" || fail "killing quorum node $1"
    info "quorum node $1 killed"
}
cl_q_start() { # i
    local t
    read -r -a t <<<"$(_cl_qtool)"
    ct 90 "${t[0]}" start "${t[1]}" "$1" || fail "restarting quorum node $1"
}
cl_q_status() { local t; read -r -a t <<<"$(_cl_qtool)"; "${t[0]}" status "${t[1]}"; }

# ---- Kafka 2.8.2 (--zookeeper tools) ----
k28_setup() {
    command -v java >/dev/null || fail "java missing"
    K28LIB=$(ct 900 "$ROOT/tools/fetch-kafka.sh" 2.8.2 2>"$T_TMP/fetch28.err") ||
        fail "cannot fetch Kafka 2.8.2: $(tail -5 "$T_TMP/fetch28.err")"
    [ -d "$K28LIB" ] || fail "fetch-kafka.sh printed no lib dir: $K28LIB"
}
_k28() { # class args...: output in $T_TMP/k28.out, ZooKeeper requests in $T_TMP/k28.ops
    local cls=$1 rc
    shift
    [ -n "${K28LIB:-}" ] || k28_setup
    ct 90 java -Xmx256m -XX:TieredStopAtLevel=1 \
        -Dlog4j.configuration="file:$CL_TESTS/log4j-zktrace.properties" \
        -cp "$K28LIB/*" "$cls" "$@" --zookeeper "$CL_ZK" >"$T_TMP/k28.out" 2>"$T_TMP/k28.err"
    rc=$?
    "$PY" "$CL_TESTS/zk_ops.py" <"$T_TMP/k28.err" >"$T_TMP/k28.ops"
    return $rc
}
k28_topics() { _k28 kafka.admin.TopicCommand "$@"; }
k28_configs() { _k28 kafka.admin.ConfigCommand "$@"; }
k28_fail() { # what: fail with the tool's output
    fail "$1: $(cat "$T_TMP/k28.out"; grep -v 'DEBUG\|INFO' "$T_TMP/k28.err" | tail -5)"
}

# ---- Kafka 4.4 Java client and tools (as tests/interop/) ----
k44_setup() {
    command -v java >/dev/null || fail "java missing"
    KLIB=$(ct 900 "$ROOT/tools/fetch-kafka.sh" 2>"$T_TMP/fetch44.err") ||
        fail "cannot fetch Kafka: $(tail -5 "$T_TMP/fetch44.err")"
    JCP="$KLIB/*"
    [ -f /usr/share/java/slf4j-simple.jar ] && JCP="$JCP:/usr/share/java/slf4j-simple.jar"
}
jrun() { # SECS CLASS args...
    local secs=$1
    shift
    ct "$secs" java -Xmx256m -XX:TieredStopAtLevel=1 -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
        -Dorg.slf4j.simpleLogger.logFile=System.err -cp "$JCP" "$@"
}
K_TOPICS=org.apache.kafka.tools.TopicCommand
K_CPROD=org.apache.kafka.tools.ConsoleProducer
K_CCONS=org.apache.kafka.tools.consumer.ConsoleConsumer
K_GROUPS=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand

# Create TOPIC with PARTS partitions (RF 1) through broker I's CreateTopics and
# wait until every live broker's Metadata shows a leader for each partition.
cl_create_topic() { # topic parts [i]
    local out
    out=$(ct 30 $CLC create-topic "$(cl_addr "${3:-1}")" "$1" "$2" 1) || fail "create-topic $1: $out"
    [[ "$out" == error=0* ]] || fail "CreateTopics $1: $out"
    wait_for 30 "leaders for every partition of $1" cl_topic_led "$1" "$2"
}
cl_topic_led() { # topic parts: every running broker's Metadata has a leader for each
    local i m
    for i in $(cl_ids); do
        [ -n "$(cl_pid "$i")" ] || continue
        m=$(cl_meta "$i" 2>/dev/null) || return 1
        [ "$(cl_json "$m" "len([p for p in d['topics'].get('$1',{}).get('partitions',{}).values() if p['leader'] >= 0])")" = "$2" ] || return 1
    done
}

# Partitions of TOPIC whose (single) replica is / is not broker B, comma-separated,
# from broker I's Metadata (replicas, not leaders: stable while B is down).
cl_parts_on() { # i topic b
    cl_json "$(cl_meta "$1")" "','.join(sorted((p for p, v in d['topics']['$2']['partitions'].items() if v['replicas'] == [$3]), key=int))"
}
cl_parts_off() { # i topic b
    cl_json "$(cl_meta "$1")" "','.join(sorted((p for p, v in d['topics']['$2']['partitions'].items() if v['replicas'] != [$3]), key=int))"
}
# Every listed broker's Metadata shows leader L (-1: none) for each of PARTS.
cl_leaders_are() { # topic parts(comma) leader brokers...
    local t=$1 ps=$2 l=$3 i
    shift 3
    for i in "$@"; do
        [ "$(cl_json "$(cl_meta "$i" 2>/dev/null || echo '{"topics":{}}')" "all(d['topics'].get('$t',{}).get('partitions',{}).get(p,{}).get('leader') == $l for p in '$ps'.split(','))")" = True ] || return 1
    done
}
# The bootstrap list without broker B.
cl_bs_without() { # b
    local i s=""
    for i in $(cl_ids); do [ "$i" = "$1" ] || s="$s${s:+,}$(cl_addr "$i")"; done
    echo "$s"
}
