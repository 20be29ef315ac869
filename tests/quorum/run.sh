#!/usr/bin/env bash
# tests/quorum/run.sh - the quorum interface against a real ZooKeeper: starts a
# 3-node ensemble on loopback (random free ports, a temp dir, removed on exit),
# runs tests/quorum/conformance against it, then the failover check: the server
# the client is connected to is stopped and the client must keep reading and
# writing on the same session; with a second server stopped (no quorum) a call
# must fail with -ECONNABORTED. Closing line: "quorum(zookeeper): N passed, M failed".
#   tests/quorum/run.sh BUILD/tests/quorum_conformance [CASE...]
# Bounded: each phase runs under a timeout. Exits non-zero on any failure.
set -u
BIN=${1:?usage: run.sh CONFORMANCE_BIN [CASE...]}
shift
ZKJAR=/usr/share/java/zookeeper.jar
CP_EXTRA=/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar
[ -x "$BIN" ] || { echo "quorum: no test binary $BIN"; exit 1; }
[ -f "$ZKJAR" ] || { echo "quorum: ZooKeeper is not installed ($ZKJAR; tools/install-deps.sh)"; exit 1; }

DIR=$(mktemp -d /tmp/rb-quorum.XXXXXX)
declare -a ZPID CPORT
fo_pid=
cleanup() {
    [ -n "$fo_pid" ] && kill "$fo_pid" 2>/dev/null
    for p in "${ZPID[@]}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$DIR"
}
trap cleanup EXIT

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The launcher (tools/zk.sh does the same for the cluster tests).
zk_up() {
    local n=3 i servers=""
    declare -a pp ep
    for i in 1 2 3; do CPORT[$i]=$(free_port); pp[$i]=$(free_port); ep[$i]=$(free_port); done
    for i in 1 2 3; do servers+="server.$i=127.0.0.1:${pp[$i]}:${ep[$i]}"$'\n'; done
    for i in 1 2 3; do
        local d=$DIR/zk$i
        mkdir -p "$d/data"
        echo "$i" >"$d/data/myid"
        cat >"$d/zoo.cfg" <<CFG
tickTime=500
initLimit=20
syncLimit=10
dataDir=$d/data
clientPort=${CPORT[$i]}
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=*
$servers
CFG
        cat >"$d/log4j.properties" <<CFG
log4j.rootLogger=INFO, F
log4j.appender.F=org.apache.log4j.FileAppender
log4j.appender.F.File=$d/zk.log
log4j.appender.F.layout=org.apache.log4j.PatternLayout
log4j.appender.F.layout.ConversionPattern=%d [%t] %-5p %c{1} - %m%n
CFG
        java -Xmx128m -XX:+UseSerialGC -cp "$d:$ZKJAR:$CP_EXTRA" \
            -Dlog4j.configuration="file:$d/log4j.properties" \
            org.apache.zookeeper.server.quorum.QuorumPeerMain "$d/zoo.cfg" >"$d/stdout" 2>&1 &
        ZPID[$i]=$!
    done
    CONNECT="127.0.0.1:${CPORT[1]},127.0.0.1:${CPORT[2]},127.0.0.1:${CPORT[3]}"
}

zk_mode() { # the node's "Mode:" (leader, follower, standalone) or nothing
    local out
    out=$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && echo srvr >&3 && cat <&3" 2>/dev/null)
    sed -n 's/^Mode: //p' <<<"$out"
}

zk_wait_ready() {
    local end=$((SECONDS + 60)) i ok
    while [ $SECONDS -lt $end ]; do
        ok=0
        for i in 1 2 3; do
            case $(zk_mode "${CPORT[$i]}") in leader | follower) ok=$((ok + 1)) ;; esac
        done
        [ $ok -eq 3 ] && return 0
        sleep 0.3
    done
    echo "quorum: the ensemble did not form in 60 s"
    for i in 1 2 3; do tail -5 "$DIR/zk$i/zk.log" "$DIR/zk$i/stdout" 2>/dev/null; done
    return 1
}

zk_stop() { # stop node $1 (SIGTERM, then wait for it)
    kill "${ZPID[$1]}" 2>/dev/null
    wait "${ZPID[$1]}" 2>/dev/null
    ZPID[$1]=
}

passed=0 failed=0
count() { # add the counts of the "...: N passed, M failed" line in $1; $2: exit status
    local l p f
    l=$(grep -E '^[a-z]+\([a-z]+\): [0-9]+ passed, [0-9]+ failed$' <<<"$1" | tail -1)
    p=$(sed -n 's/.*: \([0-9]*\) passed.*/\1/p' <<<"$l")
    f=$(sed -n 's/.*passed, \([0-9]*\) failed/\1/p' <<<"$l")
    p=${p:-0} f=${f:-0}
    # no summary, or a non-zero exit that no failed case explains (a crash, a leak)
    [ "$2" -ne 0 ] && [ "$f" -eq 0 ] && f=1
    [ -z "$l" ] && [ "$f" -eq 0 ] && f=1
    passed=$((passed + p))
    failed=$((failed + f))
}

finish() {
    echo "quorum(zookeeper): $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

zk_up
if ! zk_wait_ready; then
    failed=1
    finish
fi
echo "quorum: ensemble up at $CONNECT"

# 1. conformance, under a chroot that does not exist yet
out=$(timeout 300 "$BIN" zookeeper "$CONNECT/ringbroker/conformance" "$@" 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/  /'
count "$out" $rc
[ $# -gt 0 ] && finish # a subset of the cases was asked for

# 2. failover: stop the server the client is on, then a second one
coproc FO { exec "$BIN" zookeeper "$CONNECT/ringbroker" --failover 2>&1; }
fo_pid=$FO_PID
exec {fo_r}<&"${FO[0]}" {fo_w}>&"${FO[1]}" # bash unsets FO when the process ends
fo_out=""
fo_read_until_ready() {
    local line
    while IFS= read -r -t 60 line <&"$fo_r"; do
        fo_out+="$line"$'\n'
        echo "  $line"
        [ "$line" = ready ] && return 0
    done
    return 1
}
fo_server() { # the index of the node the client's connection goes to
    local port i
    for port in $(ss -Htnp state established 2>/dev/null | grep "pid=$fo_pid," | awk '{print $4}' | sed 's/.*://'); do
        for i in 1 2 3; do [ "$port" = "${CPORT[$i]}" ] && echo "$i" && return; done
    done
}
if fo_read_until_ready; then
    s=$(fo_server)
    if [ -z "$s" ]; then
        echo "  FAIL failover: no connection from the client to a server found"
        failed=$((failed + 1))
        s=1
    fi
    echo "  (stopping node $s, the client's server)"
    zk_stop "$s"
    echo go >&"$fo_w"
    if fo_read_until_ready; then
        for i in 1 2 3; do [ -n "${ZPID[$i]}" ] && break; done
        echo "  (stopping node $i: no quorum left)"
        zk_stop "$i"
        echo go >&"$fo_w"
    fi
    while IFS= read -r -t 60 line <&"$fo_r"; do
        fo_out+="$line"$'\n'
        echo "  $line"
    done
fi
for _ in $(seq 100); do kill -0 "$fo_pid" 2>/dev/null || break; sleep 0.3; done
kill -0 "$fo_pid" 2>/dev/null && { echo "  FAIL failover: the client hangs"; kill "$fo_pid"; }
wait "$fo_pid" 2>/dev/null
rc=$?
fo_pid=
count "$fo_out" $rc
finish
