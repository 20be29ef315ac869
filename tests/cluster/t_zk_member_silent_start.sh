#!/usr/bin/env bash
# t_zk_member_silent_start.sh - brokers start while one ZooKeeper member is
# silent: SIGSTOPped, it still accepts TCP connections (the kernel's backlog) but
# answers nothing, so the client only notices after its receive timeout (2/3 of
# the session timeout) and moves to another member; the session lives on.
#   A. a follower paused BEFORE the three brokers start (libzookeeper shuffles
#      the hosts and the broker does not ask it not to: each broker tries it
#      first with odds 1/3, at least one of the three with odds 19/27; those seen
#      connected to it (ss) are printed): every broker registers, a controller
#      is elected, every Metadata lists 1 2 3, the topic made before has leaders
#      and reads back whole. This passes on e8fc134 too: before the session the
#      client just moves on after its receive timeout (the start takes 4 s more).
#   B. the member a starting broker's session is on goes silent in the middle of
#      the broker's startup read of the cluster's metadata (the controller is
#      restarted and frozen when its log says "live brokers", the member it is
#      connected to (ss) is paused, the broker resumed): its call in flight times
#      out (-ETIMEDOUT) 4 s later. It must carry on through another member and
#      start (CI: all three brokers exited 4.5 s into their start, "cannot read
#      the cluster's metadata"), then the same checks. Padding (ZS_PAD broker
#      config nodes of brokers that do not exist, read one by one at startup,
#      invisible in Metadata) makes the read long enough to be hit; a start that
#      ended its read before being frozen is done again (3 attempts). The member
#      is the leader or a follower, as the client picked (printed). Fails on
#      e8fc134 ("cannot read the cluster's metadata: timed out" 4 s after the
#      pause); passes with zkstart's commit.
#   C. the same right after the session is made ("zookeeper session" in the
#      log): the base nodes, /cluster/id and the registration meet the silent
#      member. Fails on e8fc134 + zkstart ("cannot create /config/topics: timed
#      out"); passes once every step of the start retries.
. "$(dirname "$0")/lib.sh"

PAD=${ZS_PAD:-3000}

zk_pid() { cat "$CL_DIR/zk/n$1/pid"; }
zk_port() { cat "$CL_DIR/zk/n$1/client_port"; }
zk_mode() { cl_q_status | awk -v i="$1" '$2 == i {print $NF}'; }
zk_pause() { kill -STOP "$(zk_pid "$1")" || fail "SIGSTOP ZooKeeper node $1"; }
zk_cont() { kill -CONT "$(zk_pid "$1")" 2>/dev/null; }
ZK_PAUSED=
# A paused node is resumed before lib.sh's teardown (which keeps the exit status).
_zs_exit() {
    local rc=$?
    [ -n "$ZK_PAUSED" ] && zk_cont "$ZK_PAUSED"
    (exit "$rc")
    _cl_cleanup
}
trap _zs_exit EXIT

# The ZooKeeper node (1..3) broker I's process is connected to, or nothing.
zk_member_of() { # i
    local pid port n
    pid=$(cl_pid "$1") || return 0
    for n in 1 2 3; do
        port=$(zk_port "$n")
        if ss -Htnp state established "( dport = :$port )" 2>/dev/null | grep -q "pid=$pid,"; then
            echo "$n"
            return 0
        fi
    done
}

# Start the listed brokers at once; 0 when each accepts connections (a broker
# that exits during its start fails it: tools/cluster.sh says which).
start_brokers() { # ids...
    local i pids=() rc=0
    for i in "$@"; do
        ct $((CLUSTER_WAIT + 30)) "$ROOT/tools/cluster.sh" start-broker "$i" --dir "$CL_DIR" \
            >"$T_TMP/start-$i.out" 2>&1 &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || rc=1; done
    return $rc
}

# Every broker registered, a controller, every Metadata lists all, the topic
# made before has leaders everywhere and reads back whole.
check_cluster() { # what
    wait_for 30 "brokers 1 2 3 registered ($1)" eval '[ "$(cl_q_ls /brokers/ids | tr "\n" " ")" = "1 2 3 " ]'
    wait_for 30 "a controller ($1)" eval '[ -n "$(cl_controller)" ]'
    wait_for 30 "every Metadata lists 1 2 3 ($1)" cl_all_list 1 2 3
    wait_for 30 "leaders for every partition of $T ($1)" cl_topic_led $T 3
    ct 120 $CLC consume "$CL_BS" $T 0,1,2 "$T_TMP/acks" >"$T_TMP/consume.out" 2>&1 ||
        fail "consume $T ($1): $(cat "$T_TMP/consume.out")"
    info "$1: registered 1 2 3, controller $(cl_controller), Metadata full; $(cat "$T_TMP/consume.out")"
}

stop_all() {
    local i
    for i in 1 2 3; do cl_term "$i"; done
    wait_for 30 "registrations gone after the stop" eval '[ -z "$(cl_q_ls /brokers/ids)" ]'
}

# ---- a cluster, a topic with data, padding for the startup read ----
cl_up
T=before
cl_create_topic $T 3
ct 120 $CLC produce "$CL_BS" $T 0 300 0,1,2 "$T_TMP/acks" >"$T_TMP/produce.out" 2>&1 ||
    fail "produce: $(cat "$T_TMP/produce.out")"
ct 120 "$PY" -W ignore - "$CL_ZK" "$PAD" <<'PY' || fail "writing the padding nodes"
import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=10)
zk.start(timeout=15)
zk.ensure_path("/config/brokers")
n, k = int(sys.argv[2]), 0
while k < n:
    tx = zk.transaction()
    for b in range(k, min(n, k + 500)):
        tx.create("/config/brokers/%d" % (1000 + b), b'{"version":1,"config":{}}')
    res = tx.commit()
    if any(isinstance(r, Exception) for r in res):
        sys.exit("padding: %s" % res[:3])
    k += 500
zk.stop()
PY
info "padding: $PAD broker config nodes /config/brokers/1000.. (brokers that do not exist)"

# ---- A: a follower silent before the brokers start ----
stop_all
F=
for n in 1 2 3; do [ "$(zk_mode "$n")" = follower ] && F=$n && break; done
[ -n "$F" ] || fail "no ZooKeeper follower: $(cl_q_status | tr '\n' ';')"
zk_pause "$F"
ZK_PAUSED=$F
info "A: ZooKeeper follower $F (port $(zk_port "$F")) paused, brokers starting"
t0=$SECONDS
start_brokers 1 2 3 &
starter=$!
declare -A HIT
while kill -0 "$starter" 2>/dev/null; do # who holds a connection to the silent member
    conns=$(ss -Htnp state established "( dport = :$(zk_port "$F") )" 2>/dev/null)
    for i in 1 2 3; do
        p=$(cl_pid "$i") && [ -n "$p" ] && grep -q "pid=$p," <<<"$conns" && HIT[$i]=1
    done
    sleep 0.1
done
wait "$starter" || fail "A: a broker did not start with ZooKeeper node $F silent: $(cat "$T_TMP"/start-*.out)"
hit=$(printf "%s\n" "${!HIT[@]}" | sort -n | xargs)
info "A: brokers accepting after $((SECONDS - t0)) s; brokers seen connected to the silent member: ${hit:-none}"
check_cluster "A: follower $F silent at start"
zk_cont "$F"
ZK_PAUSED=

# ---- B and C: the member of a starting broker's session goes silent ----
# silent_in_start PHASE AT: restart the controller, freeze it when its log says
# AT, pause the ZooKeeper node it is connected to, resume it; it must start.
silent_in_start() {
    local ph=$1 at=$2 b log m="" mode attempt c0 l0 starter bp deadline retries
    b=$(cl_controller)
    [ -n "$b" ] || fail "$ph: no controller"
    log=$CL_DIR/broker-$b/broker.log
    for attempt in 1 2 3; do # until the pause lands before the end of the startup read
        cl_term "$b"
        wait_for 30 "broker $b's registration gone" eval "! cl_q_get /brokers/ids/$b >/dev/null"
        c0=$(grep -c "cluster .* via zookeeper" "$log")
        l0=$(wc -l <"$log")
        rm -f "$T_TMP/frozen"
        # The freeze comes from a watcher woken by the write itself (tail -F):
        # a poll would let the few calls after "zookeeper session" finish first.
        (grep -m1 -q -- "$at" < <(tail -n 0 -F "$log" 2>/dev/null) &&
            kill -STOP "$(cl_pid "$b")" && : >"$T_TMP/frozen") &
        CL_BG+=($!)
        sleep 0.3 # tail is reading
        start_brokers "$b" &
        starter=$!
        deadline=$((SECONDS + 60))
        until [ -f "$T_TMP/frozen" ]; do
            [ $SECONDS -lt $deadline ] || fail "$ph: broker $b never logged '$at'"
            kill -0 "$starter" 2>/dev/null || fail "$ph: broker $b did not start: $(cat "$T_TMP/start-$b.out")"
            sleep 0.01
        done
        bp=$(cl_pid "$b")
        if [ "$(grep -c "cluster .* via zookeeper" "$log")" -gt "$c0" ]; then
            kill -CONT "$bp"
            info "$ph: attempt $attempt: broker $b had finished its startup read when frozen: again"
            wait "$starter" || fail "$ph: broker $b did not start: $(cat "$T_TMP/start-$b.out")"
            continue
        fi
        m=$(zk_member_of "$b")
        [ -n "$m" ] || { kill -CONT "$bp"; fail "$ph: broker $b connected to no ZooKeeper node"; }
        mode=$(zk_mode "$m")
        zk_pause "$m"
        ZK_PAUSED=$m
        kill -CONT "$bp"
        break
    done
    [ -n "$m" ] || fail "$ph: 3 attempts missed broker $b's startup read (raise ZS_PAD)"
    info "$ph: broker $b (restarted, was the controller) frozen at '$at'; its ZooKeeper node $m ($mode) paused, broker resumed"
    wait "$starter" || fail "$ph: broker $b did not start when ZooKeeper node $m went silent after '$at': $(grep -h "exited" "$T_TMP/start-$b.out"); $(grep ERROR "$log" | tail -2)"
    sleep $((CL_SESSION_MS * 2 / 3 / 1000 + 1)) # past the client's receive timeout
    kill -0 "$bp" 2>/dev/null || fail "$ph: broker $b exited after ZooKeeper node $m went silent: $(grep "cannot" "$log" | tail -2)"
    retries=$(tail -n +$((l0 + 1)) "$log" | grep -o "WARN .*; trying again" |
        sed 's/^WARN //; s/; trying again//' | sort | uniq -c | sed 's/^ *//' | paste -sd ';')
    info "$ph: broker $b started; its retries: ${retries:-none}"
    zk_cont "$m"
    ZK_PAUSED=
    check_cluster "$ph: node $m silent after '$at' in broker $b's start"
}
# B: inside the startup read of the metadata (the CI failure)
silent_in_start B "live brokers"
# C: right after the session is made (the base nodes, /cluster/id, the registration)
silent_in_start C "zookeeper session"
