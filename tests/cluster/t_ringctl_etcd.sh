#!/usr/bin/env bash
# tests/cluster/t_ringctl_etcd.sh - ringctl's quorum commands on a cluster on etcd
# (tools/cluster.sh up --etcd: a 3-member etcd cluster + 3 brokers on free loopback
# ports, one temp dir): the same writes as on ZooKeeper (t_ringctl_zk.sh), through
# the etcd backend and the brokers' etcd.prefix as the chroot:
#  - `ringctl topics --create --topic test --partitions 3 --replication-factor 1
#    --if-not-exists --etcd URLS` creates a topic spread over the 3 brokers, which
#    serve it (kcat produces and consumes every record); --if-not-exists again is
#    silent; --describe prints kafka-topics.sh's lines, --list the names;
#  - --alter --partitions grows it (kcat writes to the new partition); --delete
#    writes the request (the controller's deletion on etcd is not checked: see below);
#  - ringctl cluster (--etcd and --bootstrap-server) agree: 3 brokers, the
#    controller, every partition led, the summary; ringctl zk dumps the tree;
#  - a wrong --etcd-prefix and an unreachable etcd fail with one clear line.
# Needs build/bin/{ringbroker,ringctl}, kcat and etcd. Every call runs under `timeout`.
set -u
set -o pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CTL=${RINGCTL_BIN:-$ROOT/build/bin/ringctl}
CLUSTER=$ROOT/tools/cluster.sh
T=$(mktemp -d "${TMPDIR:-/tmp}/rb-ringctl-etcd.XXXXXX")
D=$T/c
cleanup() {
    "$CLUSTER" down --dir "$D" >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fail() {
    echo "FAIL: t_ringctl_etcd: $*" >&2
    exit 1
}
info() { echo "info: $*"; }

[ -x "$CTL" ] || fail "ringctl missing: $CTL (make)"
command -v kcat >/dev/null || fail "kcat missing (tools/install-deps.sh)"
timeout 150 "$CLUSTER" up --etcd --dir "$D" >"$T/up.log" 2>&1 ||
    fail "cluster.sh up --etcd: $(tail -20 "$T/up.log")"
E=$(cat "$D/quorum")
B=$(cat "$D/bootstrap")
info "etcd $E, brokers $B"

ctl() { timeout 60 "$CTL" "$@"; }
et() { ctl topics --etcd "$E" "$@"; }
wait_for() {
    local secs=$1
    shift
    local end=$((SECONDS + secs))
    until "$@"; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.5
    done
}
summary() { ctl cluster --etcd "$E" --exclude-internal | tail -1; }
all_led() { summary | grep -q ", 0 offline partitions$"; }

out=$(et --create --topic test --partitions 3 --replication-factor 1 --if-not-exists) ||
    fail "classic create failed: $out"
[ "$out" = "Created topic test." ] || fail "create printed '$out'"
wait_for 30 all_led || fail "no leaders: $(ctl cluster --etcd "$E")"
out=$(et --create --topic test --partitions 3 --replication-factor 1 --if-not-exists 2>&1) ||
    fail "--if-not-exists on an existing topic failed: $out"
[ -z "$out" ] || fail "--if-not-exists printed '$out'"

N=200
seq 1 $N | sed 's/.*/k&:v&/' >"$T/in"
timeout 60 kcat -P -b "$B" -t test -K: -l "$T/in" || fail "kcat produce"
timeout 60 kcat -C -b "$B" -t test -o beginning -e -q -f '%k:%s\n' | sort >"$T/got" ||
    fail "kcat consume"
sort "$T/in" | cmp -s - "$T/got" || fail "consumed $(wc -l <"$T/got") records, not the $N produced"

et --describe >"$T/desc" || fail "--describe"
grep -q $'^Topic: test\tTopicId: [A-Za-z0-9_-]\{22\}\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: $' \
    "$T/desc" || fail "describe: $(cat "$T/desc")"
[ "$(grep -c $'^\tTopic: test\tPartition: [0-2]\tLeader: [1-3]\tReplicas: [1-3]\tIsr: [1-3]$' "$T/desc")" = 3 ] ||
    fail "partition lines: $(cat "$T/desc")"
[ "$(grep -o $'Leader: [1-3]' "$T/desc" | sort -u | wc -l)" = 3 ] || fail "not spread: $(cat "$T/desc")"
[ "$(et --list --exclude-internal)" = test ] || fail "--list: $(et --list)"

out=$(et --alter --topic test --partitions 5) || fail "alter: $out"
echo "$out" | grep -q "^Adding partitions succeeded!$" || fail "alter printed '$out'"
wait_for 30 all_led || fail "the new partitions got no leaders"
echo "p4" | timeout 30 kcat -P -b "$B" -t test -p 4 || fail "produce to partition 4"
[ "$(timeout 30 kcat -C -b "$B" -t test -p 4 -o beginning -e -q)" = p4 ] || fail "consume partition 4"

# the brokers learn the new partitions' leaders a moment after the quorum has them
bs_led() { ctl cluster --bootstrap-server "$B" --exclude-internal | grep -q ", 0 offline partitions$"; }
wait_for 30 bs_led || fail "the brokers' metadata lacks leaders: $(ctl cluster --bootstrap-server "$B")"
ctl cluster --etcd "$E" --exclude-internal >"$T/ce" || fail "cluster --etcd"
ctl cluster --bootstrap-server "$B" --exclude-internal >"$T/cb" || fail "cluster --bootstrap-server"
diff "$T/ce" "$T/cb" >"$T/diff" || fail "cluster views differ: $(cat "$T/diff")"
grep -q "^3 brokers, 1 topics, 5 partitions, 0 offline partitions$" "$T/ce" || fail "summary: $(cat "$T/ce")"
grep -q "^Controller: [1-3] (127.0.0.1:[0-9]*)$" "$T/ce" || fail "controller: $(cat "$T/ce")"

ctl zk --etcd "$E" >"$T/zk" || fail "zk --etcd"
head -1 "$T/zk" | grep -q "^# etcd .*, chroot /ringbroker: /$" || fail "zk header: $(head -1 "$T/zk")"
for want in '^      1 = {.*"port":' '^      test = {"partitions":' '^  controller = {"version":1' \
    '^            state = {"controller_epoch":'; do
    grep -q "$want" "$T/zk" || fail "zk dump lacks '$want': $(head -30 "$T/zk")"
done

out=$(et --delete --topic test) || fail "delete: $out"
echo "$out" | grep -q "^Topic test is marked for deletion.$" || fail "delete printed '$out'"
# the controller then deletes the topic (one fenced multi: its subtree, config and
# request); the request node and the topic both go
wait_for 60 "topic test deleted" sh -c "! $CTL topics --list --etcd '$E' | grep -q '^test'"
wait_for 60 "/admin/delete_topics/test gone" sh -c \
    "! $CTL zk --etcd '$E' /admin/delete_topics | grep -q '^  test\$'"

out=$(ctl topics --list --etcd "$E" --etcd-prefix /nope 2>&1) && fail "a wrong prefix was accepted"
echo "$out" | grep -q "has no node /nope: a wrong --etcd-prefix?" || fail "prefix message: $out"
start=$SECONDS
out=$(ctl cluster --etcd http://127.0.0.1:1 --connect-timeout-ms 2000 2>&1) &&
    fail "an unreachable etcd was accepted"
[ $((SECONDS - start)) -le 15 ] || fail "unreachable etcd took $((SECONDS - start)) s"
echo "$out" | grep -q "cannot reach etcd at http://127.0.0.1:1" || fail "unreachable: $out"
[ "$(echo "$out" | wc -l)" = 1 ] || fail "unreachable printed more than one line: $out"
echo "PASS: t_ringctl_etcd"
