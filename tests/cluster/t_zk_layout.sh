#!/usr/bin/env bash
# t_zk_layout.sh - what an operator sees in ZooKeeper: the layout of ZooKeeper-era
# Kafka, through ZooKeeper's own CLI (zkCli.sh) and kazoo.
# The chroot /kafka is created with zkCli.sh before the brokers start, as the
# classic guides do (the brokers must work with it already there). After a topic
# is created through CreateTopics on a broker:
#   zkCli.sh ls -R /kafka lists /kafka/brokers/ids/1..3, /kafka/controller,
#   /kafka/controller_epoch, /kafka/cluster/id, /kafka/brokers/seqid,
#   /kafka/admin/delete_topics, /kafka/config/changes, /kafka/config/topics/layout,
#   /kafka/brokers/topics/layout/partitions/<p>/state for p = 0..2;
#   zkCli.sh get /kafka/controller shows {"version":1,"brokerid":N,...};
#   kazoo: /brokers/ids/* and /controller are ephemeral, /cluster/id is
#   {"version":"1","id":<22 chars>}, /controller_epoch a number >= 1,
#   /brokers/topics/layout is Kafka 2.8's JSON (partitions, topic_id,
#   adding_replicas, removing_replicas, version 3), each state node has
#   controller_epoch, leader, leader_epoch, isr, version.
# Also: nothing of ours outside the chroot (only /kafka and /zookeeper at the root).
# Then a topic of 64 partitions: every state node written, no broker dies.
. "$(dirname "$0")/lib.sh"

[ "${CL_ETCD:-0}" = 1 ] && fail "t_zk_layout is ZooKeeper's layout test (no etcd twin)"
cl_up --create-chroot
cl_create_topic layout 3
zkhosts=${CL_ZK%/kafka}
zkcli() { ct 60 /usr/share/zookeeper/bin/zkCli.sh -server "$zkhosts" "$@" 2>/dev/null; }

zkcli ls -R /kafka >"$T_TMP/ls" || fail "zkCli.sh ls -R /kafka failed"
for p in /kafka/brokers/ids/1 /kafka/brokers/ids/2 /kafka/brokers/ids/3 /kafka/controller \
    /kafka/controller_epoch /kafka/cluster/id /kafka/brokers/seqid /kafka/admin/delete_topics \
    /kafka/config/changes /kafka/config/topics/layout /kafka/brokers/topics/layout \
    /kafka/brokers/topics/layout/partitions/0/state /kafka/brokers/topics/layout/partitions/1/state \
    /kafka/brokers/topics/layout/partitions/2/state; do
    grep -qx "$p" "$T_TMP/ls" || fail "zkCli.sh ls -R /kafka does not show $p: $(grep '^/' "$T_TMP/ls" | head -40)"
done
zkcli get /kafka/controller >"$T_TMP/ctl" || fail "zkCli.sh get /kafka/controller"
grep -q '^{"version":1,"brokerid":[123],' "$T_TMP/ctl" || fail "zkCli.sh get /kafka/controller: $(grep -v '^$' "$T_TMP/ctl" | tail -3)"
info "zkCli.sh shows the layout under /kafka ($(grep -c '^/' "$T_TMP/ls") nodes)"

ct 30 "$PY" -W ignore - "$zkhosts" <<'PY' || fail "layout (above)"
import json, sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=10)
zk.start(timeout=15)
def get(p):
    v, st = zk.get("/kafka" + p)
    return v.decode() if v else "", st
root = sorted(zk.get_children("/"))
assert root == ["kafka", "zookeeper"], "nodes outside the chroot: %s" % root
for i in (1, 2, 3):
    _, st = get("/brokers/ids/%d" % i)
    assert st.ephemeralOwner != 0, "/brokers/ids/%d is not ephemeral" % i
v, st = get("/controller")
assert st.ephemeralOwner != 0, "/controller is not ephemeral"
c = json.loads(v)
assert c["version"] == 1 and c["brokerid"] in (1, 2, 3) and str(c["timestamp"]).isdigit(), c
v, _ = get("/controller_epoch")
assert int(v) >= 1, "/controller_epoch = %r" % v
cid = json.loads(get("/cluster/id")[0])
assert cid["version"] == "1" and len(cid["id"]) == 22, cid
t = json.loads(get("/brokers/topics/layout")[0])
assert t["version"] == 3 and len(t.get("topic_id", "")) == 22, t
assert "adding_replicas" in t and "removing_replicas" in t, t
assert sorted(t["partitions"]) == ["0", "1", "2"] and all(len(r) == 1 for r in t["partitions"].values()), t
for p in ("0", "1", "2"):
    s = json.loads(get("/brokers/topics/layout/partitions/%s/state" % p)[0])
    assert set(s) >= {"controller_epoch", "leader", "leader_epoch", "isr", "version"}, s
    assert s["leader"] == t["partitions"][p][0] and s["isr"] == t["partitions"][p], (p, s, t)
cfg = json.loads(get("/config/topics/layout")[0])
assert cfg["version"] == 1 and isinstance(cfg["config"], dict), cfg
zk.stop()
print("info: cluster id %s, controller %d, topic layout %s" % (cid["id"], c["brokerid"], t["partitions"]))
PY

# A topic whose partition states take several of the controller's batched
# multis (64 partitions: 3 buffers each, the batch flushes at 64 ops): every
# state node is written and no broker dies (the 22nd partition used to overrun
# the batch's buffer list and crash the controller).
cl_create_topic wide 64
for i in $(cl_ids); do
    kill -0 "$(cl_pid "$i")" 2>/dev/null || fail "broker $i died creating a 64-partition topic"
done
n=$(cl_q_ls /brokers/topics/wide/partitions | wc -l)
[ "$n" = 64 ] || fail "/brokers/topics/wide/partitions has $n children, want 64"
cl_q_get /brokers/topics/wide/partitions/63/state >/dev/null || fail "no state node for wide-63"
info "64-partition topic: 64 state nodes, all brokers alive"
