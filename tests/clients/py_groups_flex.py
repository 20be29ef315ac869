#!/usr/bin/python3
# py_groups_flex.py - the consumer group APIs at the versions raised to COMPAT.md's
# "later target", on the wire with hand-built flexible requests (compact strings
# and arrays, tagged fields, request header v2 / response header v1):
#   FindCoordinator v3-4, JoinGroup v6-9, SyncGroup v4-5, Heartbeat v4,
#   LeaveGroup v4-5, DescribeGroups v5, ListGroups v3-4, DeleteGroups v2,
#   OffsetCommit v8-9, OffsetFetch v6-9.
# Usage: /usr/bin/python3 py_groups_flex.py HOST:PORT TOPIC   (TOPIC has >= 1 partition)
# Prints one "ok"/"FAIL" line per check and exits non-zero on any failure.
import socket
import struct
import sys
import time

TARGET = {8: (2, 9), 9: (1, 9), 10: (0, 4), 11: (0, 9), 12: (0, 4), 13: (0, 5), 14: (0, 5),
          15: (0, 5), 16: (0, 4), 42: (0, 2)}


def uvar(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def cs(x):  # compact (nullable) string
    if x is None:
        return b"\x00"
    x = x.encode() if isinstance(x, str) else x
    return uvar(len(x) + 1) + x


cb = cs  # compact bytes


def ca(items):  # compact array
    if items is None:
        return b"\x00"
    return uvar(len(items) + 1) + b"".join(items)


TAGS = b"\x00"  # an empty tagged-field section
i8 = lambda v: struct.pack(">b", v)
i16 = lambda v: struct.pack(">h", v)
i32 = lambda v: struct.pack(">i", v)
i64 = lambda v: struct.pack(">q", v)


class Conn:
    def __init__(self, bs):
        h, p = bs.rsplit(":", 1)
        self.s = socket.create_connection((h, int(p)), timeout=30)
        self.corr = 0

    def call(self, key, ver, body, flex=True):
        self.corr += 1
        hdr = struct.pack(">hhih", key, ver, self.corr, 7) + b"rb-flex" + (TAGS if flex else b"")
        self.s.sendall(struct.pack(">i", len(hdr) + len(body)) + hdr + body)
        size = struct.unpack(">i", self._recv(4))[0]
        r = R(self._recv(size))
        assert r.i32() == self.corr
        if flex and key != 18:
            r.tags()
        return r

    def _recv(self, n):
        b = b""
        while len(b) < n:
            chunk = self.s.recv(n - len(b))
            if not chunk:
                raise EOFError("connection closed")
            b += chunk
        return b


class R:
    def __init__(self, b):
        self.b, self.o = b, 0

    def _u(self, fmt, n):
        v = struct.unpack_from(fmt, self.b, self.o)[0]
        self.o += n
        return v

    def i8(self):
        return self._u(">b", 1)

    def i16(self):
        return self._u(">h", 2)

    def i32(self):
        return self._u(">i", 4)

    def i64(self):
        return self._u(">q", 8)

    def uvar(self):
        n, shift = 0, 0
        while True:
            b = self.b[self.o]
            self.o += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    def cs(self):
        n = self.uvar() - 1
        if n < 0:
            return None
        v = self.b[self.o:self.o + n]
        self.o += n
        return v.decode()

    def cb(self):
        n = self.uvar() - 1
        v = self.b[self.o:self.o + max(n, 0)]
        self.o += max(n, 0)
        return v

    def carr(self, fn):
        n = self.uvar() - 1
        return None if n < 0 else [fn() for _ in range(n)]

    def tags(self):
        for _ in range(self.uvar()):
            self.uvar()
            self.o += self.uvar()

    def done(self):
        return self.o == len(self.b)


F = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        F.append(what)


SUB = i16(0) + i32(1) + struct.pack(">h", 5) + b"topic" + i32(-1)  # consumer protocol v0


def join(c, v, group, member, instance=None, proto="range", ptype="consumer", reason=None):
    body = cs(group) + i32(10000) + i32(10000) + cs(member) + cs(instance) + cs(ptype) + \
        ca([cs(proto) + cb(SUB) + TAGS])
    if v >= 8:
        body += cs(reason)
    r = c.call(11, v, body + TAGS)
    o = {"throttle": r.i32(), "err": r.i16(), "gen": r.i32()}
    if v >= 7:
        o["ptype"] = r.cs()
    o["pname"], o["leader"] = r.cs(), r.cs()
    if v >= 9:
        o["skip"] = r.i8()
    o["member"] = r.cs()

    def mem():
        m = (r.cs(), r.cs(), r.cb())
        r.tags()
        return m
    o["members"] = r.carr(mem)
    r.tags()
    o["whole"] = r.done()
    return o


def sync(c, v, group, gen, member, assigns, ptype=None, pname=None, instance=None):
    body = cs(group) + i32(gen) + cs(member) + cs(instance)
    if v >= 5:
        body += cs(ptype) + cs(pname)
    body += ca([cs(m) + cb(a) + TAGS for m, a in assigns]) + TAGS
    r = c.call(14, v, body)
    o = {"throttle": r.i32(), "err": r.i16()}
    if v >= 5:
        o["ptype"], o["pname"] = r.cs(), r.cs()
    o["assignment"] = r.cb()
    r.tags()
    o["whole"] = r.done()
    return o


def heartbeat(c, group, gen, member, instance=None):
    r = c.call(12, 4, cs(group) + i32(gen) + cs(member) + cs(instance) + TAGS)
    r.i32()
    return r.i16()


def api_versions(c):
    r = c.call(18, 0, b"", flex=False)
    check(r.i16() == 0, "ApiVersions v0")
    got = {}
    for _ in range(r.i32()):
        k, lo, hi = r.i16(), r.i16(), r.i16()
        got[k] = (lo, hi)
    for k, rng in sorted(TARGET.items()):
        check(got.get(k) == rng, "api %d advertised %s (want %s)" % (k, got.get(k), rng))


def find_coordinator(c, port):
    r = c.call(10, 4, i8(0) + ca([cs("ga"), cs("gb"), cs("")]) + TAGS)
    r.i32()

    def coord():
        x = (r.cs(), r.i32(), r.cs(), r.i32(), r.i16(), r.cs())
        r.tags()
        return x
    cs_ = r.carr(coord)
    r.tags()
    check(r.done() and [x[0] for x in cs_] == ["ga", "gb", ""],
          "FindCoordinator v4: one answer per key, in order (%s)" % [x[0] for x in cs_ or []])
    check(all(x[4] == 0 and x[3] == port and x[1] >= 0 for x in cs_),
          "FindCoordinator v4: this broker for every group key")
    r = c.call(10, 4, i8(1) + ca([cs("txn-a"), cs("txn-b")]) + TAGS)
    r.i32()
    cs_ = r.carr(coord)
    check(len(cs_) == 2 and all(x[4] == 15 and x[1] == -1 for x in cs_),
          "FindCoordinator v4 key_type 1: 15 per key")
    r = c.call(10, 3, cs("ga") + i8(0) + TAGS)
    r.i32()
    err, msg, node, host, p = r.i16(), r.cs(), r.i32(), r.cs(), r.i32()
    r.tags()
    check(r.done() and err == 0 and p == port, "FindCoordinator v3 (flexible, one key)")


def membership(c, topic, g):
    o = join(c, 9, g, "", reason="first join")
    check(o["whole"] and o["err"] == 79 and o["member"],
          "JoinGroup v9 without member id -> 79 (%d)" % o["err"])
    mid = o["member"]
    o = join(c, 9, g, mid, reason="rejoin with member id")
    check(o["whole"] and o["err"] == 0 and o["gen"] >= 1 and o["leader"] == mid,
          "JoinGroup v9 -> leader, gen %d" % o["gen"])
    check(o.get("ptype") == "consumer" and o["pname"] == "range" and o["skip"] == 0,
          "JoinGroup v9: protocol_type/name, skip_assignment false (%s %s %s)"
          % (o.get("ptype"), o["pname"], o.get("skip")))
    check(len(o["members"]) == 1 and o["members"][0][0] == mid and o["members"][0][2] == SUB,
          "JoinGroup v9: the leader gets the member list with metadata")
    gen = o["gen"]
    for v in (6, 7, 8):  # a known member rejoining a stable-to-be group: current generation
        x = join(c, v, g, mid)
        check(x["whole"] and x["err"] == 0 and x["member"] == mid,
              "JoinGroup v%d known member (err %d, gen %d)" % (v, x["err"], x["gen"]))
        if v >= 7:
            check(x["ptype"] == "consumer", "JoinGroup v%d protocol_type" % v)
        gen = x["gen"]
    s = sync(c, 5, g, gen, mid, [(mid, b"A1")], ptype="consumer", pname="range")
    check(s["whole"] and s["err"] == 0 and s["assignment"] == b"A1",
          "SyncGroup v5 as leader gets its assignment (err %d)" % s["err"])
    check(s["ptype"] == "consumer" and s["pname"] == "range", "SyncGroup v5 protocol_type/name")
    s = sync(c, 5, g, gen, mid, [], ptype="consumer", pname="roundrobin")
    check(s["err"] == 23, "SyncGroup v5 other protocol_name -> 23 (%d)" % s["err"])
    s = sync(c, 5, g, gen, mid, [], ptype="connect", pname="range")
    check(s["err"] == 23, "SyncGroup v5 other protocol_type -> 23 (%d)" % s["err"])
    s = sync(c, 5, g, gen, mid, [])  # both null: not checked
    check(s["err"] == 0 and s["assignment"] == b"A1", "SyncGroup v5 null protocol fields")
    s = sync(c, 4, g, gen, mid, [])
    check(s["whole"] and s["err"] == 0 and s["assignment"] == b"A1", "SyncGroup v4")
    check(heartbeat(c, g, gen, mid) == 0, "Heartbeat v4 ok")
    check(heartbeat(c, g, gen, "nobody") == 25, "Heartbeat v4 unknown member -> 25")
    check(heartbeat(c, g, gen + 5, mid) == 22, "Heartbeat v4 wrong generation -> 22")
    return mid, gen


def commit(c, v, g, gen, mid, topic, off, part=0):
    body = cs(g) + i32(gen) + cs(mid) + cs(None) + \
        ca([cs(topic) + ca([i32(part) + i64(off) + i32(-1) + cs("m") + TAGS]) + TAGS]) + TAGS
    r = c.call(8, v, body)
    r.i32()
    errs = []
    for _ in range(r.uvar() - 1):
        r.cs()
        for _ in range(r.uvar() - 1):
            r.i32()
            errs.append(r.i16())
            r.tags()
        r.tags()
    r.tags()
    return errs[0] if r.done() and len(errs) == 1 else -999


def fetch_groups(c, v, groups, require_stable=False):
    """groups: [(group, member, epoch, topics or None)] -> {group: (err, {(t, p): (off, meta, err)})}"""
    body = b""
    for g, m, e, ts in groups:
        body += cs(g)
        if v >= 9:
            body += cs(m) + i32(e)
        body += (ca(None) if ts is None else
                 ca([cs(t) + ca([i32(p) for p in ps]) + TAGS for t, ps in ts])) + TAGS
    r = c.call(9, v, uvar(len(groups) + 1) + body +
               struct.pack(">?", require_stable) + TAGS)
    r.i32()
    out = {}
    for _ in range(r.uvar() - 1):
        gid = r.cs()
        offs = {}
        for _ in range(r.uvar() - 1):
            t = r.cs()
            for _ in range(r.uvar() - 1):
                p, off, ep, meta, e = r.i32(), r.i64(), r.i32(), r.cs(), r.i16()
                r.tags()
                offs[(t, p)] = (off, meta, e)
            r.tags()
        out[gid] = (r.i16(), offs)
        r.tags()
    r.tags()
    return out if r.done() else None


def offsets(c, topic, g, gen, mid):
    e = commit(c, 9, g, gen, mid, topic, 42)
    check(e == 0, "OffsetCommit v9 with the generation -> 0 (%d)" % e)
    e = commit(c, 8, g, gen, mid, topic, 41, part=0)
    check(e == 0, "OffsetCommit v8 -> 0 (%d)" % e)
    e = commit(c, 9, g, gen, mid, topic, 42)
    check(e == 0, "OffsetCommit v9 again -> 0 (%d)" % e)
    e = commit(c, 9, g, gen + 3, mid, topic, 1)
    check(e == 22, "OffsetCommit v9 wrong generation -> 22 (%d)" % e)
    e = commit(c, 9, g, gen, "nobody", topic, 1)
    check(e == 25, "OffsetCommit v9 unknown member -> 25 (%d)" % e)
    e = commit(c, 9, "no-such-group-9", 3, "m", topic, 1)
    check(e == 69, "OffsetCommit v9 generation for an unknown group -> 69 (%d)" % e)
    e = commit(c, 8, "no-such-group-8", 3, "m", topic, 1)
    check(e == 22, "OffsetCommit v8 generation for an unknown group -> 22 (%d)" % e)
    simple = g + "-simple"
    e = commit(c, 9, simple, -1, "", topic, 7)
    check(e == 0, "OffsetCommit v9 simple group (generation -1) -> 0 (%d)" % e)
    e = commit(c, 9, g, gen, mid, "no-such-topic", 1)
    check(e == 3, "OffsetCommit v9 unknown topic -> 3 (%d)" % e)
    res = fetch_groups(c, 9, [(g, mid, gen, [(topic, [0])]), (simple, None, -1, None),
                              ("no-such-group-f", None, -1, [(topic, [0])])])
    check(res is not None and len(res) == 3, "OffsetFetch v9: one answer per group")
    res = res or {}
    check(res.get(g, (1, {}))[1].get((topic, 0), (0,))[:2] == (42, "m"),
          "OffsetFetch v9 group with member id/epoch -> 42 (%s)" % (res.get(g),))
    check(res.get(simple, (1, {}))[1] == {(topic, 0): (7, "m", 0)},
          "OffsetFetch v9 all topics of the simple group -> 7 (%s)" % (res.get(simple),))
    check(res.get("no-such-group-f", (1, {}))[1].get((topic, 0), (0,))[0] == -1,
          "OffsetFetch v9 unknown group -> -1")
    res = fetch_groups(c, 8, [(g, None, -1, [(topic, [0])]), (simple, None, -1, [(topic, [0])])],
                       True) or {}
    check([res.get(x, (1, {}))[1].get((topic, 0), (0,))[0] for x in (g, simple)] == [42, 7],
          "OffsetFetch v8 two groups, require_stable -> 42, 7")
    for v in (6, 7):
        body = cs(g) + ca([cs(topic) + ca([i32(0)]) + TAGS]) + (b"\x00" if v >= 7 else b"") + TAGS
        r = c.call(9, v, body)
        r.i32()
        r.uvar()
        r.cs()
        r.uvar()
        p, off = r.i32(), r.i64()
        check(off == 42, "OffsetFetch v%d -> 42 (%d)" % (v, off))
    return simple


def describe(c, g, mid):
    r = c.call(15, 5, ca([cs(g), cs("no-such-group-d")]) + b"\x01" + TAGS)
    r.i32()
    out = []
    for _ in range(r.uvar() - 1):
        e, gid, st, pt, pd = r.i16(), r.cs(), r.cs(), r.cs(), r.cs()
        ms = []
        for _ in range(r.uvar() - 1):
            ms.append((r.cs(), r.cs(), r.cs(), r.cs(), r.cb(), r.cb()))
            r.tags()
        ops = r.i32()
        r.tags()
        out.append((e, gid, st, pt, pd, ms, ops))
    r.tags()
    check(r.done() and len(out) == 2, "DescribeGroups v5 two groups")
    a = out[0] if out else (1,) * 7
    check(a[0] == 0 and a[2] == "Stable" and a[3] == "consumer" and a[4] == "range",
          "DescribeGroups v5 -> Stable consumer range (%s)" % (a[:5],))
    check(len(a[5]) == 1 and a[5][0][0] == mid and a[5][0][2] == "rb-flex" and a[5][0][5] == b"A1",
          "DescribeGroups v5 member, client id and assignment")
    check(a[6] == (1 << 3) | (1 << 6) | (1 << 8), "DescribeGroups v5 authorized ops %d" % a[6])
    check(len(out) == 2 and out[1][2] == "Dead", "DescribeGroups v5 unknown group -> Dead")


def list_groups(c, v, states):
    body = (ca([cs(s) for s in states]) if v >= 4 else b"") + TAGS
    r = c.call(16, v, body)
    r.i32()
    e = r.i16()
    gs = {}
    for _ in range(r.uvar() - 1):
        gid, pt = r.cs(), r.cs()
        st = r.cs() if v >= 4 else None
        r.tags()
        gs[gid] = (pt, st)
    r.tags()
    return e, gs if r.done() else None


def listing(c, g, simple):
    e, gs = list_groups(c, 4, [])
    check(e == 0 and gs.get(g) == ("consumer", "Stable") and simple in gs,
          "ListGroups v4 no filter: both groups with states (%s)" % (gs.get(g),))
    e, gs = list_groups(c, 4, ["stable"])
    check(e == 0 and g in gs and simple not in gs, "ListGroups v4 filter 'stable' (any case)")
    e, gs = list_groups(c, 4, ["Empty", "Dead"])
    check(e == 0 and simple in gs and g not in gs, "ListGroups v4 filter Empty")
    e, gs = list_groups(c, 3, [])
    check(e == 0 and g in gs and simple in gs, "ListGroups v3")


def leave(c, v, g, members):
    body = cs(g) + ca([cs(m) + cs(i) + (cs("bye from test") if v >= 5 else b"") + TAGS
                       for m, i in members]) + TAGS
    r = c.call(13, v, body)
    r.i32()
    top = r.i16()
    errs = []
    for _ in range(r.uvar() - 1):
        r.cs()
        r.cs()
        errs.append(r.i16())
        r.tags()
    r.tags()
    return top, errs if r.done() else None


def static_member(c, topic, g):
    a = join(c, 9, g, "", instance="inst-1")
    check(a["err"] == 0 and a["leader"] == a["member"], "static JoinGroup v9 -> leader (%d)" % a["err"])
    s = sync(c, 5, g, a["gen"], a["member"], [(a["member"], b"S1")], "consumer", "range", "inst-1")
    check(s["err"] == 0 and s["assignment"] == b"S1", "static SyncGroup v5")
    b = join(c, 9, g, "", instance="inst-1", reason="restarted")
    check(b["err"] == 0 and b["gen"] == a["gen"] and b["skip"] == 1 and b["leader"] == b["member"],
          "static leader rejoins at v9: same generation, skip_assignment (err %d gen %d skip %s)"
          % (b["err"], b["gen"], b.get("skip")))
    check(b["member"] != a["member"] and len(b["members"]) == 1 and
          b["members"][0][1] == "inst-1", "static rejoin: new member id, member list for the leader")
    check(heartbeat(c, g, b["gen"], a["member"], "inst-1") == 25, "the old member id is gone")
    check(heartbeat(c, g, b["gen"], b["member"], "inst-1") == 0, "the new member id heartbeats")
    s = sync(c, 5, g, b["gen"], b["member"], [], "consumer", "range", "inst-1")
    check(s["err"] == 0 and s["assignment"] == b"S1", "the kept assignment (%s)" % s["assignment"])
    top, errs = leave(c, 5, g, [("", "inst-1"), ("nobody", None)])
    check(top == 0 and errs == [0, 25], "LeaveGroup v5 by instance + unknown member (%s)" % errs)


def deletion(c, g, mid):
    top, errs = leave(c, 4, g, [(mid, None)])
    check(top == 0 and errs == [0], "LeaveGroup v4 (%s)" % errs)
    r = c.call(42, 2, ca([cs(g), cs("no-such-group-x")]) + TAGS)
    r.i32()
    res = []
    for _ in range(r.uvar() - 1):
        res.append((r.cs(), r.i16()))
        r.tags()
    r.tags()
    check(r.done() and res == [(g, 0), ("no-such-group-x", 69)], "DeleteGroups v2 (%s)" % res)


def main():
    bs, topic = sys.argv[1], sys.argv[2]
    c = Conn(bs)
    g = "flex-g-%d" % int(time.time() * 1000)
    api_versions(c)
    find_coordinator(c, int(bs.rsplit(":", 1)[1]))
    mid, gen = membership(c, topic, g)
    simple = offsets(c, topic, g, gen, mid)
    describe(c, g, mid)
    listing(c, g, simple)
    static_member(c, topic, g + "-static")
    deletion(c, g, mid)
    check(Conn(bs).call(18, 0, b"", flex=False).i16() == 0, "broker still answers")
    print("py_groups_flex: %s (%d failed)" % ("PASS" if not F else "FAIL", len(F)))
    sys.exit(1 if F else 0)


if __name__ == "__main__":
    main()
