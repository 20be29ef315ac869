#!/usr/bin/env bash
# tests/cluster/t_quorum_tools.sh - self-check of tools/zk.sh and tools/etcd.sh
# (no broker needed): a 3-node ZooKeeper ensemble and a 3-member etcd cluster come
# up on free ports, serve reads and writes through the printed connect string /
# endpoints, survive the loss of their leader, take the node back, and `down`
# leaves no process behind. A single ZooKeeper node comes up standalone.
# Bounded (run-all.sh's timeout; every client call under `timeout`), cleans up.
set -u
set -o pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ZK=$ROOT/tools/zk.sh
ETCD=$ROOT/tools/etcd.sh
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/rb-quorum.XXXXXX")
cleanup() {
    "$ZK" down "$T/zk" 2>/dev/null
    "$ZK" down "$T/zk1" 2>/dev/null
    "$ETCD" down "$T/etcd" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fail() {
    echo "FAIL: t_quorum_tools: $*" >&2
    exit 1
}
info() { echo "info: $*"; }
# 0 when pid runs (a zombie waiting for its reaper does not count).
running() { case "$(ps -o stat= -p "$1" 2>/dev/null)" in Z* | "") return 1 ;; esac; }

# kazoo: write PATH=VALUE then read it back through CONNECT (all nodes listed).
zk_rw() { # connect path value
    timeout 30 "$PY" -W ignore - "$@" <<'PY'
import sys
from kazoo.client import KazooClient
c, path, val = sys.argv[1:]
zk = KazooClient(hosts=c, timeout=10)
zk.start(timeout=15)
zk.ensure_path(path)
zk.set(path, val.encode())
got = zk.get(path)[0].decode()
zk.stop()
if got != val:
    raise SystemExit("read %r, wrote %r" % (got, val))
PY
}

mode_count() { # dir mode -> how many nodes report it
    "$ZK" status "$1" | grep -c " $2\$"
}

# ---- ZooKeeper, 3 nodes ----
c=$("$ZK" up "$T/zk") || fail "zk.sh up failed"
[[ "$c" =~ ^127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+$ ]] || fail "connect string '$c'"
[ "$(cat "$T/zk/connect")" = "$c" ] || fail "DIR/connect differs from the printed string"
[ "$(mode_count "$T/zk" leader)" = 1 ] || fail "not exactly one leader: $("$ZK" status "$T/zk")"
[ "$(mode_count "$T/zk" follower)" = 2 ] || fail "not two followers: $("$ZK" status "$T/zk")"
grep -q '^maxSessionTimeout=60000$' "$T/zk/n1/zoo.cfg" || fail "maxSessionTimeout not set"
zk_rw "$c/rbcheck" /a one || fail "kazoo write/read on the ensemble"
leader=$("$ZK" status "$T/zk" | awk '$NF == "leader" {print $2}')
"$ZK" kill "$T/zk" "$leader" || fail "zk.sh kill"
st=$("$ZK" status "$T/zk")
grep -q "^zk $leader down" <<<"$st" || fail "killed node $leader not shown down: $st"
# The two left elect a leader among themselves (bounded).
deadline=$((SECONDS + 30))
until [ "$(mode_count "$T/zk" leader)" = 1 ]; do
    [ $SECONDS -lt $deadline ] || fail "no new leader after killing node $leader"
    sleep 0.3
done
zk_rw "$c/rbcheck" /a two || fail "kazoo write/read with one node down"
"$ZK" start "$T/zk" "$leader" || fail "zk.sh start $leader"
[ "$(mode_count "$T/zk" follower)" = 2 ] || fail "restarted node did not rejoin: $("$ZK" status "$T/zk")"
info "zk: 3-node ensemble up, leader $leader killed, re-elected, rejoined"
pids=$(cat "$T"/zk/n*/pid)
"$ZK" down "$T/zk" || fail "zk.sh down"
for p in $pids; do
    running "$p" && fail "zk node pid $p still runs after down"
done

# ---- ZooKeeper, standalone ----
c1=$("$ZK" up "$T/zk1" 1) || fail "zk.sh up DIR 1 failed"
st=$("$ZK" status "$T/zk1")
grep -q ' standalone$' <<<"$st" || fail "single node not standalone: $st"
zk_rw "$c1" /b x || fail "kazoo on the standalone node"
"$ZK" down "$T/zk1"
info "zk: standalone node ok"

# ---- etcd, 3 members ----
e=$("$ETCD" up "$T/etcd") || fail "etcd.sh up failed"
[[ "$e" =~ ^http://127\.0\.0\.1:[0-9]+,http://127\.0\.0\.1:[0-9]+,http://127\.0\.0\.1:[0-9]+$ ]] || fail "endpoints '$e'"
ec() { ETCDCTL_API=3 timeout 20 etcdctl --dial-timeout=3s --command-timeout=10s --endpoints "$e" "$@"; }
ec put /rbcheck one >/dev/null || fail "etcdctl put"
[ "$(ec get --print-value-only /rbcheck)" = one ] || fail "etcdctl get"
lead=$("$ETCD" status "$T/etcd" | awk '$NF == "leader" {print $2}')
[ -n "$lead" ] || fail "no etcd leader shown: $("$ETCD" status "$T/etcd")"
"$ETCD" kill "$T/etcd" "$lead" || fail "etcd.sh kill"
deadline=$((SECONDS + 30))
until ec put /rbcheck two >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "etcd does not take writes after its leader died"
    sleep 0.3
done
[ "$(ec get --print-value-only /rbcheck)" = two ] || fail "etcdctl get after failover"
"$ETCD" start "$T/etcd" "$lead" || fail "etcd.sh start $lead"
[ "$("$ETCD" status "$T/etcd" | grep -c ' healthy')" = 3 ] || fail "member did not rejoin: $("$ETCD" status "$T/etcd")"
info "etcd: 3 members up, leader $lead killed, writes go on, member rejoined"
pids=$(cat "$T"/etcd/m*/pid)
"$ETCD" down "$T/etcd" || fail "etcd.sh down"
for p in $pids; do
    running "$p" && fail "etcd pid $p still runs after down"
done
info "quorum tools: ok"
exit 0
