#!/usr/bin/env bash
# t_registration.sh - 3 brokers register and every broker answers for the cluster.
# Checks: /brokers/ids holds exactly 1, 2, 3, each in Kafka 2.8's version 5 JSON
# (host, port, endpoints, listener_security_protocol_map, jmx_port, timestamp)
# naming the broker's own listener; /controller names one of them; Metadata v1
# from every broker lists all three brokers at their addresses and the controller
# id of /controller; kcat -L (librdkafka) on each broker alone shows 3 brokers and
# marks that one "(controller)"; DescribeCluster v0 (hand-encoded) on each broker
# answers the same brokers and controller.
# CL_ETCD=1 runs the same on etcd (t_etcd_registration.sh).
. "$(dirname "$0")/lib.sh"

cl_up

ids=$(cl_q_ls /brokers/ids | tr '\n' ' ' | sed 's/ $//')
[ "$ids" = "1 2 3" ] || fail "/brokers/ids children: '$ids', want '1 2 3'"
for i in 1 2 3; do
    v=$(cl_q_get "/brokers/ids/$i") || fail "/brokers/ids/$i unreadable"
    "$PY" - "$v" "$(cl_port "$i")" <<'PY' || fail "/brokers/ids/$i: $v"
import json, sys
d = json.loads(sys.argv[1]); port = int(sys.argv[2])
want_keys = {"version", "host", "port", "endpoints", "listener_security_protocol_map", "jmx_port", "timestamp"}
missing = want_keys - set(d)
assert not missing, "missing keys %s" % missing
assert d["version"] >= 4, d["version"]
assert d["host"] == "127.0.0.1" and d["port"] == port, (d["host"], d["port"])
assert d["endpoints"] == ["PLAINTEXT://127.0.0.1:%d" % port], d["endpoints"]
assert d["listener_security_protocol_map"].get("PLAINTEXT") == "PLAINTEXT"
assert isinstance(d["timestamp"], str) and d["timestamp"].isdigit(), d["timestamp"]
PY
done
info "/brokers/ids: 1 2 3 registered in Kafka 2.8's JSON"

ctl=$(cl_controller)
[[ "$ctl" =~ ^[123]$ ]] || fail "/controller names '$ctl'"
for i in 1 2 3; do
    m=$(cl_meta "$i") || fail "Metadata from broker $i"
    [ "$(cl_json "$m" 'sorted(int(k) for k in d["brokers"])')" = "1 2 3" ] ||
        fail "broker $i's Metadata lists brokers $(cl_json "$m" 'sorted(d["brokers"].items())')"
    for j in 1 2 3; do
        [ "$(cl_json "$m" "d['brokers']['$j']")" = "$(cl_addr "$j")" ] ||
            fail "broker $i lists broker $j at $(cl_json "$m" "d['brokers']['$j']"), want $(cl_addr "$j")"
    done
    [ "$(cl_json "$m" 'd["controller"]')" = "$ctl" ] ||
        fail "broker $i's Metadata says controller $(cl_json "$m" 'd["controller"]'), /controller says $ctl"
done
info "Metadata from each broker: brokers 1 2 3, controller $ctl"

# kcat (librdkafka) from each broker alone: 3 brokers, the controller marked.
for i in 1 2 3; do
    ct 20 kcat -L -b "$(cl_addr "$i")" -m 10 >"$T_TMP/kcat.$i" 2>&1 || fail "kcat -L on broker $i: $(tail -3 "$T_TMP/kcat.$i")"
    grep -q '^ 3 brokers:' "$T_TMP/kcat.$i" || fail "kcat -L on broker $i: $(head -6 "$T_TMP/kcat.$i")"
    grep -q "broker $ctl at .* (controller)" "$T_TMP/kcat.$i" || fail "kcat -L on broker $i does not mark $ctl controller: $(head -6 "$T_TMP/kcat.$i")"
done

# DescribeCluster v0 on the wire (as tests/clients/py_admin_wire.py does it).
for i in 1 2 3; do
    ct 30 "$PY" - "$(cl_addr "$i")" "$ctl" <<'PY' || fail "DescribeCluster on broker $i (above)"
import socket, struct, sys
host, port = sys.argv[1].split(":"); want_ctl = int(sys.argv[2])
# DescribeCluster v0 (api 60, flexible): header v2, include_cluster_authorized_operations=false
body = struct.pack(">hhi", 60, 0, 7) + struct.pack(">h", 2) + b"cl" + b"\x00" + b"\x00" + b"\x00"
s = socket.create_connection((host, int(port)), timeout=10)
s.sendall(struct.pack(">i", len(body)) + body)
def rd(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: raise SystemExit("connection closed")
        b += c
    return b
n = struct.unpack(">i", rd(4))[0]; r = rd(n)
pos = 4 + 1                       # correlation id, response header tagged fields
def uvar():
    global pos
    v = sh = 0
    while True:
        b = r[pos]; pos += 1; v |= (b & 0x7f) << sh; sh += 7
        if not b & 0x80: return v
def cstr():
    global pos
    l = uvar() - 1
    s_ = r[pos:pos + max(l, 0)].decode() if l >= 0 else None; pos += max(l, 0); return s_
thr, err = struct.unpack_from(">ih", r, pos); pos += 6
msg = cstr(); cid = cstr(); ctl = struct.unpack_from(">i", r, pos)[0]; pos += 4
nb = uvar() - 1; ids = []
for _ in range(nb):
    bid = struct.unpack_from(">i", r, pos)[0]; pos += 4; cstr(); pos += 4; cstr(); uvar(); ids.append(bid)
print("info: DescribeCluster on %s: error %d, cluster %s, controller %d, brokers %s" % (sys.argv[1], err, cid, ctl, sorted(ids)))
assert err == 0 and ctl == want_ctl and sorted(ids) == [1, 2, 3], (err, ctl, ids)
PY
done
info "kcat -L and DescribeCluster on every broker: 3 brokers, controller $ctl"
