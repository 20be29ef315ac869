#!/usr/bin/env bash
# tests/container/test_compose.sh - container/compose.yaml without containers:
# docker-compose (Debian's 1.29) parses and resolves it (`config`), then the
# resolved file is checked: 3 ZooKeeper nodes with distinct ids and the full
# server list, 3 brokers with distinct broker ids, the whole ensemble in
# zookeeper.connect, their own advertised listener, restart: unless-stopped, the
# seccomp profile, started after every ZooKeeper node is healthy, a named volume
# each (ZooKeeper restarts too); etcd members only under the etcd profile. A broken copy (a duplicated
# broker id, a missing restart policy) must be rejected, so the checks can fail.
# The cluster runs end to end in test_compose_cluster.sh (make test-container).
# Prints "compose: N passed, N failed".
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rb-compose.XXXXXX")
broken=$root/container/.compose-broken-test.$$.yaml # beside compose.yaml: same relative paths
trap 'rm -rf "$tmp" "$broken"' EXIT
passed=0 failed=0
result() {
    if [ "$2" -eq 0 ]; then
        passed=$((passed + 1))
        echo "ok   $1"
    else
        failed=$((failed + 1))
        echo "FAIL $1"
        sed 's/^/     /' "$tmp/out" | tail -15
    fi
}
"$root/container/seccomp-profile.sh" >"$tmp/seccomp-io_uring.json"
export RINGBROKER_SECCOMP=$tmp/seccomp-io_uring.json

# resolved FILE OUT: docker-compose config of FILE (all profiles) into OUT
resolved() {
    docker-compose -f "$1" --profile etcd config >"$2" 2>"$tmp/out"
}
checks() {
    /usr/bin/python3 - "$1" <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
s = c["services"]
errs = []
zks = sorted(n for n in s if n.startswith("zk"))
brokers = sorted(n for n in s if n.startswith("broker"))
etcds = sorted(n for n in s if n.startswith("etcd"))
if len(zks) != 3 or len(brokers) != 3 or len(etcds) != 3:
    errs.append("want 3 zk, 3 brokers, 3 etcd: %s" % sorted(s))
ids = [s[z]["environment"].get("ZOO_MY_ID") for z in zks]
if sorted(ids) != ["1", "2", "3"]:
    errs.append("ZOO_MY_ID: %s" % ids)
for z in zks:
    if s[z].get("restart") != "unless-stopped":
        errs.append("%s: restart %s" % (z, s[z].get("restart")))
    if len(s[z]["environment"].get("ZOO_SERVERS", "").split()) != 3:
        errs.append("%s: ZOO_SERVERS does not list 3 servers" % z)
bids, vols = [], set()
for b in brokers:
    d, e = s[b], s[b]["environment"]
    bids.append(e.get("KAFKA_BROKER_ID"))
    if d.get("restart") != "unless-stopped":
        errs.append("%s: restart %s" % (b, d.get("restart")))
    if not any(o.startswith(("seccomp=", "seccomp:")) for o in d.get("security_opt", [])):
        errs.append("%s: no seccomp profile" % b)
    if d.get("privileged"):
        errs.append("%s: privileged" % b)
    dep = d.get("depends_on", {})
    for z in zks:
        if dep.get(z, {}).get("condition") != "service_healthy":
            errs.append("%s: does not wait for %s healthy" % (b, z))
    zc = e.get("KAFKA_ZOOKEEPER_CONNECT", "")
    if not all(z + ":2181" in zc for z in zks):
        errs.append("%s: zookeeper.connect %s" % (b, zc))
    if "//%s:" % b not in e.get("KAFKA_ADVERTISED_LISTENERS", ""):
        errs.append("%s: advertised listener %s" % (b, e.get("KAFKA_ADVERTISED_LISTENERS")))
    for v in d.get("volumes", []):
        if isinstance(v, str):  # short syntax: SOURCE:TARGET[:MODE]
            src, tgt = v.split(":")[0], v.split(":")[1]
            named = not src.startswith((".", "/"))
        else:
            src, tgt, named = v.get("source"), v.get("target"), v.get("type") == "volume"
        if named and tgt == "/var/lib/ringbroker":
            vols.add(src)
if sorted(bids) != ["1", "2", "3"]:
    errs.append("broker ids: %s" % bids)
if len(vols) != 3:
    errs.append("brokers do not each have a named data volume: %s" % vols)
for e in etcds:
    if s[e].get("profiles") != ["etcd"]:
        errs.append("%s: not under the etcd profile" % e)
for x in errs:
    print(x)
sys.exit(1 if errs else 0)
PY
}

resolved "$root/container/compose.yaml" "$tmp/resolved.yaml"
result "compose_config_parses" $?
checks "$tmp/resolved.yaml" >"$tmp/out" 2>&1
result "compose_cluster_shape" $?

# the checks can fail: a duplicated broker id and a missing restart policy
sed -e 's/KAFKA_BROKER_ID: "2"/KAFKA_BROKER_ID: "1"/' -e '0,/^  restart: unless-stopped/s/^  restart: unless-stopped/  restart: "no"/' \
    "$root/container/compose.yaml" >"$tmp/broken.yaml"
cp "$tmp/broken.yaml" "$broken"
resolved "$broken" "$tmp/broken-resolved.yaml"
rm -f "$broken"
checks "$tmp/broken-resolved.yaml" >"$tmp/out" 2>&1
rc=$?
grep -q 'broker ids' "$tmp/out" && grep -q 'restart' "$tmp/out" && [ $rc -ne 0 ]
result "compose_checks_reject_a_broken_copy" $?

echo "compose: $passed passed, $failed failed"
[ $failed -eq 0 ]
