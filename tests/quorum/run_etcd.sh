#!/usr/bin/env bash
# tests/quorum/run_etcd.sh - the quorum interface against a real etcd: starts a
# 3-member cluster on loopback (random free ports, a temp dir, removed on exit),
# runs tests/quorum/conformance against it under the prefix /ringbroker/conformance,
# then the failover check: the member the client's watch stream and keepalives
# use is stopped and the client must keep reading and writing on the same
# session (same lease); with a second member stopped (no quorum) a call must
# fail with -ECONNABORTED. Closing line: "quorum(etcd): N passed, M failed".
#   tests/quorum/run_etcd.sh BUILD/tests/quorum_conformance [CASE...]
# Bounded: the cluster start, each phase and every wait run under a timeout.
# Exits non-zero on any failure.
set -u
BIN=${1:?usage: run_etcd.sh CONFORMANCE_BIN [CASE...]}
shift
[ -x "$BIN" ] || { echo "quorum: no test binary $BIN"; exit 1; }
command -v etcd >/dev/null || { echo "quorum: etcd is not installed (tools/install-deps.sh)"; exit 1; }

DIR=$(mktemp -d /tmp/rb-quorum-etcd.XXXXXX)
declare -a EPID CPORT PPORT
FOPID=
cleanup() {
    [ -n "$FOPID" ] && kill "$FOPID" 2>/dev/null
    for p in "${EPID[@]}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$DIR"
}
trap cleanup EXIT

free_ports() { # n distinct free ports below the ephemeral range
    /usr/bin/python3 - "$1" <<'PY'
import random, socket, sys
n, out = int(sys.argv[1]), []
while len(out) < n:
    p = random.randint(12000, 31000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        if p not in out:
            out.append(p)
    except OSError:
        pass
    finally:
        s.close()
print(" ".join(map(str, out)))
PY
}

etcd_up() {
    local i ports cluster=""
    read -r -a ports <<<"$(free_ports 6)"
    for i in 1 2 3; do
        CPORT[$i]=${ports[$((i - 1))]}
        PPORT[$i]=${ports[$((i + 2))]}
        cluster+="${cluster:+,}m$i=http://127.0.0.1:${PPORT[$i]}"
    done
    for i in 1 2 3; do
        mkdir -p "$DIR/m$i"
        etcd --name "m$i" --data-dir "$DIR/m$i/data" \
            --listen-client-urls "http://127.0.0.1:${CPORT[$i]}" \
            --advertise-client-urls "http://127.0.0.1:${CPORT[$i]}" \
            --listen-peer-urls "http://127.0.0.1:${PPORT[$i]}" \
            --initial-advertise-peer-urls "http://127.0.0.1:${PPORT[$i]}" \
            --initial-cluster "$cluster" --initial-cluster-state new \
            --initial-cluster-token "rb-quorum-$$" \
            --heartbeat-interval 100 --election-timeout 1000 \
            </dev/null >"$DIR/m$i/etcd.log" 2>&1 &
        EPID[$i]=$!
    done
    ENDPOINTS="http://127.0.0.1:${CPORT[1]},http://127.0.0.1:${CPORT[2]},http://127.0.0.1:${CPORT[3]}"
}

etcd_wait_ready() {
    local end=$((SECONDS + 60)) i ok
    while [ $SECONDS -lt $end ]; do
        ok=0
        for i in 1 2 3; do
            curl -s -m 2 "http://127.0.0.1:${CPORT[$i]}/health" | grep -q '"health":"true"' &&
                ok=$((ok + 1))
        done
        [ $ok -eq 3 ] && return 0
        sleep 0.3
    done
    echo "quorum: the etcd cluster did not become healthy in 60 s"
    for i in 1 2 3; do tail -5 "$DIR/m$i/etcd.log"; done
    return 1
}

etcd_stop() { # stop member $1 (SIGTERM, then wait for it)
    kill "${EPID[$1]}" 2>/dev/null
    wait "${EPID[$1]}" 2>/dev/null
    EPID[$1]=
}

passed=0 failed=0
count() { # add the counts of a "...: N passed, M failed" line in $1
    local l
    l=$(grep -E '^[a-z]+\([a-z]+\): [0-9]+ passed, [0-9]+ failed$' <<<"$1" | tail -1)
    if [ -z "$l" ]; then
        failed=$((failed + 1))
        return
    fi
    passed=$((passed + $(sed 's/.*: \([0-9]*\) passed.*/\1/' <<<"$l")))
    failed=$((failed + $(sed 's/.*passed, \([0-9]*\) failed/\1/' <<<"$l")))
}

finish() {
    echo "quorum(etcd): $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

etcd_up
if ! etcd_wait_ready; then
    failed=1
    finish
fi
echo "quorum: etcd cluster up at $ENDPOINTS"

# 1. conformance, under a prefix that does not exist yet
out=$(timeout 300 "$BIN" etcd "$ENDPOINTS" /ringbroker/conformance "$@" 2>&1)
rc=$?
printf '%s\n' "$out" | grep -v ' INFO ' | sed 's/^/  /'
count "$out"
[ $rc -ne 0 ] && ! grep -q ' failed$' <<<"$out" && failed=$((failed + 1))
[ $# -gt 0 ] && finish # a subset of the cases was asked for

# 2. failover: stop the member the client streams from, then a second one
coproc FO { exec "$BIN" etcd "$ENDPOINTS" /ringbroker --failover 2>&1; }
FOPID=$FO_PID # bash unsets FO_PID when the process ends
exec {fo_r}<&"${FO[0]}" {fo_w}>&"${FO[1]}" # bash unsets FO when the process ends
fo_out=""
fo_read_until_ready() {
    local line
    while IFS= read -r -t 60 line <&"$fo_r"; do
        fo_out+="$line"$'\n'
        grep -q ' INFO ' <<<"$line" || echo "  $line"
        [ "$line" = ready ] && return 0
    done
    return 1
}
fo_member() { # the member the client's long-lived connection (the watch stream) goes to
    local port i
    for port in $(ss -Htnp state established 2>/dev/null | grep "pid=$FOPID," | awk '{print $4}' | sed 's/.*://'); do
        for i in 1 2 3; do [ "$port" = "${CPORT[$i]}" ] && echo "$i" && return; done
    done
}
if fo_read_until_ready; then
    s=$(fo_member)
    if [ -z "$s" ]; then
        echo "  FAIL failover: no connection from the client to a member found"
        failed=$((failed + 1))
        s=1
    fi
    echo "  (stopping member $s, the client's)"
    etcd_stop "$s"
    echo go >&"$fo_w"
    if fo_read_until_ready; then
        for i in 1 2 3; do [ -n "${EPID[$i]}" ] && break; done
        echo "  (stopping member $i: no quorum left)"
        etcd_stop "$i"
        echo go >&"$fo_w"
    fi
    while IFS= read -r -t 60 line <&"$fo_r"; do
        fo_out+="$line"$'\n'
        grep -q ' INFO ' <<<"$line" || echo "  $line"
    done
fi
kill -0 "$FOPID" 2>/dev/null && { echo "  FAIL failover: the client hangs"; kill "$FOPID"; }
wait "$FOPID" 2>/dev/null
rc=$?
FOPID=
count "$fo_out"
[ $rc -ne 0 ] && ! grep -q ' failed$' <<<"$fo_out" && failed=$((failed + 1))
finish
