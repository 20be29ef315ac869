#!/usr/bin/python3
# tests/clients/py_groups.py - consumer groups with the Python clients, and bad
# group input on the wire, for t_groups_python.sh.
#
# /usr/bin/python3 py_groups.py kafka-python|confluent|raw HOST:PORT TOPIC [N]
#
# kafka-python/confluent: TOPIC must exist with 4 partitions. Two group
# consumers (threads, one group per run) join; once the group is Stable with
# both (DescribeGroups), N records are produced and consumed until all N are
# seen: each record exactly once across the two, both get records (a rebalance
# split the partitions). kafka-python auto-commits; confluent-kafka commits
# synchronously by hand. After close, the committed offsets must equal the
# partition ends, and a fresh member of the group gets nothing old.
# raw: hand-built requests check Kafka's error codes for bad group input:
# MEMBER_ID_REQUIRED (79) on a v5 first join, unknown member (25), illegal
# generation (22), wrong protocol type (23), unknown topic in a commit (3),
# metadata too large (12), NON_EMPTY_GROUP (68), GROUP_ID_NOT_FOUND (69), and
# that the broker still answers afterwards. Exit 0 only when every check holds.
import socket
import struct
import sys
import threading
import time

T_END = time.time() + 150


def produce(bs, topic, n, tag):
    from kafka import KafkaProducer
    p = KafkaProducer(bootstrap_servers=bs, acks="all")
    futs = [p.send(topic, key=b"k%d" % i, value=b"%s-%d" % (tag, i)) for i in range(n)]
    p.flush()
    for f in futs:
        f.get(timeout=30)
    p.close()


def consume_kp(bs, topic, group, stop, out, name):
    from kafka import KafkaConsumer
    c = KafkaConsumer(topic, bootstrap_servers=bs, group_id=group, auto_offset_reset="earliest",
                      enable_auto_commit=True, auto_commit_interval_ms=200,
                      session_timeout_ms=10000, heartbeat_interval_ms=500)
    while not stop.is_set() and time.time() < T_END:
        for tp, msgs in c.poll(timeout_ms=200).items():
            for m in msgs:
                out.append((name, m.partition, m.offset, m.value))
    c.close(autocommit=True)


def consume_ck(bs, topic, group, stop, out, name):
    from confluent_kafka import Consumer
    c = Consumer({"bootstrap.servers": bs, "group.id": group, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False, "session.timeout.ms": 10000})
    c.subscribe([topic])
    while not stop.is_set() and time.time() < T_END:
        m = c.poll(0.2)
        if m is None or m.error():
            continue
        out.append((name, m.partition(), m.offset(), m.value()))
        c.commit(message=m, asynchronous=False)
    c.close()


def committed(bs, topic, group):
    from kafka import KafkaAdminClient
    a = KafkaAdminClient(bootstrap_servers=bs)
    offs = a.list_consumer_group_offsets(group)
    a.close()
    return {tp.partition: om.offset for tp, om in offs.items() if tp.topic == topic}


def ends(bs, topic):
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(bootstrap_servers=bs)
    tps = [TopicPartition(topic, p) for p in range(4)]
    e = c.end_offsets(tps)
    c.close()
    return {tp.partition: o for tp, o in e.items()}


def group_run(client, bs, topic, n):
    tag = client.encode()
    group = "py-%s-%d" % (client, int(time.time()))
    fn = consume_kp if client == "kafka-python" else consume_ck
    stop, out = threading.Event(), []
    ths = [threading.Thread(target=fn, args=(bs, topic, group, stop, out, nm)) for nm in "ab"]
    ths[0].start()
    time.sleep(2)
    ths[1].start()
    # produce once both members share the partitions (Stable with 2 members)
    from kafka import KafkaAdminClient
    a = KafkaAdminClient(bootstrap_servers=bs)
    while time.time() < T_END:
        d = a.describe_consumer_groups([group])[0]
        if d.state == "Stable" and len(d.members) == 2:
            break
        time.sleep(0.3)
    a.close()
    print("%s: group %s %s with %d members" % (client, group, d.state, len(d.members)))
    produce(bs, topic, n, tag)
    want = {b"%s-%d" % (tag, i) for i in range(n)}
    while time.time() < T_END and len({v for _, _, _, v in out} & want) < n:
        time.sleep(0.2)
    time.sleep(1.5)  # duplicates, commits
    stop.set()
    for t in ths:
        t.join()
    mine = [r for r in out if r[3] in want]
    per = {nm: sum(1 for r in mine if r[0] == nm) for nm in "ab"}
    dups = len(mine) - len({r[3] for r in mine})
    missing = len(want - {r[3] for r in mine})
    got_c, got_e = committed(bs, topic, group), ends(bs, topic)
    print("%s: per member %s, dups %d, missing %d, committed %s, ends %s" %
          (client, per, dups, missing, got_c, got_e))
    ok = dups == 0 and missing == 0 and min(per.values()) > 0 and got_c == got_e
    # a fresh member resumes from the commits: nothing old
    out2, stop2 = [], threading.Event()
    t = threading.Thread(target=fn, args=(bs, topic, group, stop2, out2, "c"))
    t.start()
    time.sleep(6)
    stop2.set()
    t.join()
    print("%s: fresh member re-read %d records" % (client, len(out2)))
    return ok and not out2


# ---- raw protocol ----


class Conn:
    def __init__(self, bs):
        h, p = bs.rsplit(":", 1)
        self.s = socket.create_connection((h, int(p)), timeout=20)
        self.corr = 0

    def call(self, key, ver, body):
        self.corr += 1
        hdr = struct.pack(">hhih", key, ver, self.corr, 6) + b"rb-raw"
        self.s.sendall(struct.pack(">i", len(hdr) + len(body)) + hdr + body)
        size = struct.unpack(">i", self._recv(4))[0]
        data = self._recv(size)
        assert struct.unpack(">i", data[:4])[0] == self.corr
        return data[4:]

    def _recv(self, n):
        b = b""
        while len(b) < n:
            chunk = self.s.recv(n - len(b))
            if not chunk:
                raise EOFError("connection closed")
            b += chunk
        return b


def s16(x):
    if x is None:
        return struct.pack(">h", -1)
    x = x.encode() if isinstance(x, str) else x
    return struct.pack(">h", len(x)) + x


def byt(x):
    return struct.pack(">i", len(x)) + x


def arr(items):
    return struct.pack(">i", len(items)) + b"".join(items)


class R:
    def __init__(self, b):
        self.b, self.o = b, 0

    def i16(self):
        v = struct.unpack_from(">h", self.b, self.o)[0]
        self.o += 2
        return v

    def i32(self):
        v = struct.unpack_from(">i", self.b, self.o)[0]
        self.o += 4
        return v

    def i64(self):
        v = struct.unpack_from(">q", self.b, self.o)[0]
        self.o += 8
        return v

    def str(self):
        n = self.i16()
        if n < 0:
            return None
        v = self.b[self.o:self.o + n].decode()
        self.o += n
        return v

    def bytes(self):
        n = self.i32()
        v = self.b[self.o:self.o + max(n, 0)]
        self.o += max(n, 0)
        return v


SUB = struct.pack(">h", 0) + arr([s16("raw-topic")]) + byt(b"")


def join_v0(c, group, member, ptype="consumer", proto="range"):
    body = s16(group) + struct.pack(">i", 10000) + s16(member) + s16(ptype) + \
        arr([s16(proto) + byt(SUB)])
    r = R(c.call(11, 0, body))
    err, gen, pname, leader, mid = r.i16(), r.i32(), r.str(), r.str(), r.str()
    return err, gen, leader, mid


def check(cond, what, failures):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def raw_run(bs, topic):
    f = []
    c = Conn(bs)
    g = "raw-g-%d" % int(time.time())
    # v5 first join: MEMBER_ID_REQUIRED with a member id
    body = s16(g) + struct.pack(">ii", 10000, 10000) + s16("") + s16(None) + s16("consumer") + \
        arr([s16("range") + byt(SUB)])
    r = R(c.call(11, 5, body))
    r.i32()
    err, gen, _, _, mid = r.i16(), r.i32(), r.str(), r.str(), r.str()
    check(err == 79 and mid, "JoinGroup v5 without member id -> 79 MEMBER_ID_REQUIRED (%d)" % err, f)
    c.call(13, 0, s16(g) + s16(mid))  # drop the pending member
    err, gen, leader, mid = join_v0(c, g, "")
    check(err == 0 and gen >= 1 and leader == mid, "JoinGroup v0 -> leader, gen %d" % gen, f)
    r = R(c.call(14, 0, s16(g) + struct.pack(">i", gen) + s16(mid) + arr([s16(mid) + byt(b"A1")])))
    e, a = r.i16(), r.bytes()
    check(e == 0 and a == b"A1", "SyncGroup as leader gets its assignment", f)
    hb = lambda gn, m: R(c.call(12, 0, s16(g) + struct.pack(">i", gn) + s16(m))).i16()
    check(hb(gen, mid) == 0, "Heartbeat ok", f)
    check(hb(gen, "nobody") == 25, "Heartbeat unknown member -> 25", f)
    check(hb(gen + 7, mid) == 22, "Heartbeat wrong generation -> 22", f)
    check(R(c.call(12, 0, s16("no-such-group") + struct.pack(">i", 1) + s16("x"))).i16() == 25,
          "Heartbeat unknown group -> 25", f)
    check(join_v0(c, g, "", ptype="connect")[0] == 23, "JoinGroup other protocol type -> 23", f)
    check(join_v0(c, g, "", proto="weird")[0] == 23, "JoinGroup unsupported protocol -> 23", f)
    check(join_v0(c, g, "ghost")[0] == 25, "JoinGroup unknown member id -> 25", f)
    r = R(c.call(14, 0, s16(g) + struct.pack(">i", gen + 3) + s16(mid) + arr([])))
    check(r.i16() == 22, "SyncGroup wrong generation -> 22", f)

    def commit(gn, m, tname, meta=""):
        body = s16(g) + struct.pack(">i", gn) + s16(m) + struct.pack(">q", -1) + \
            arr([s16(tname) + arr([struct.pack(">iq", 0, 5) + s16(meta)])])
        r = R(c.call(8, 2, body))
        r.i32()
        r.str()
        r.i32()
        r.i32()
        return r.i16()
    check(commit(gen, mid, topic) == 0, "OffsetCommit ok", f)
    check(commit(gen, mid, "no-such-topic") == 3, "OffsetCommit unknown topic -> 3", f)
    check(commit(gen, mid, topic, "x" * 5000) == 12, "OffsetCommit 5000-byte metadata -> 12", f)
    check(commit(gen + 1, mid, topic) == 22, "OffsetCommit wrong generation -> 22", f)
    check(commit(gen, "nobody", topic) == 25, "OffsetCommit unknown member -> 25", f)
    r = R(c.call(9, 1, s16(g) + arr([s16(topic) + arr([struct.pack(">i", 0)])])))
    r.i32()
    r.str()
    r.i32()
    idx, off, meta, e = r.i32(), r.i64(), r.str(), r.i16()
    check(off == 5 and e == 0, "OffsetFetch returns the commit (%d)" % off, f)

    def delete(name):
        r = R(c.call(42, 0, arr([s16(name)])))
        r.i32()
        r.i32()
        r.str()
        return r.i16()
    check(delete(g) == 68, "DeleteGroups of a non-empty group -> 68", f)
    check(delete("no-such-group-x") == 69, "DeleteGroups unknown group -> 69", f)
    check(R(c.call(13, 0, s16(g) + s16("nobody"))).i16() == 25, "LeaveGroup unknown member -> 25", f)
    r = R(c.call(15, 0, arr([s16(g)])))
    r.i32()
    e, gid, state = r.i16(), r.str(), r.str()
    check(e == 0 and state == "Stable", "DescribeGroups -> Stable (%s)" % state, f)
    check(R(c.call(13, 0, s16(g) + s16(mid))).i16() == 0, "LeaveGroup ok", f)
    check(delete(g) == 0, "DeleteGroups of the empty group -> 0", f)
    r = R(c.call(9, 1, s16(g) + arr([s16(topic) + arr([struct.pack(">i", 0)])])))
    r.i32()
    r.str()
    r.i32()
    r.i32()
    check(r.i64() == -1, "offsets gone with the group", f)
    # still healthy: ApiVersions answers
    c2 = Conn(bs)
    check(R(c2.call(18, 0, b"")).i16() == 0, "broker still answers", f)
    return not f


def main():
    client, bs, topic = sys.argv[1], sys.argv[2], sys.argv[3]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    ok = raw_run(bs, topic) if client == "raw" else group_run(client, bs, topic, n)
    print("%s: %s" % (client, "PASS" if ok else "FAIL"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
