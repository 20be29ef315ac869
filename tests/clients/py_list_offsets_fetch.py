#!/usr/bin/python3
# py_list_offsets_fetch.py - ListOffsets v5-8 and Fetch v12-16 on the wire, with
# hand-built flexible requests (compact strings/arrays, tagged fields).
#   ListOffsets: MAX_TIMESTAMP (-3, v7+) is the first record carrying the largest
#     timestamp (uncompressed, gzip, snappy, lz4 and zstd batches: record precision),
#     -1/-1 on an empty log; EARLIEST_LOCAL (-4, v8+) is the log start; a special
#     timestamp below its version (-3 at v6, -4 at v7, -5 at v8) is
#     UNSUPPORTED_VERSION (35); a timestamp lookup is the first record at or after it.
#   Fetch: v13-16 name topics by id (ids from Metadata v12); the response carries
#     the id and exactly the records; an unknown id is UNKNOWN_TOPIC_ID (100);
#     v15's replica_state tagged field is accepted; v12 by name still works.
#   ApiVersions advertises ListOffsets 1-8 and Fetch 4-16.
# Usage: /usr/bin/python3 py_list_offsets_fetch.py HOST:PORT
# Prints one "ok"/"FAIL" line per check and exits non-zero on any failure.
import os
import socket
import struct
import sys
import time

from confluent_kafka import Producer
from kafka.admin import KafkaAdminClient, NewTopic

BS = sys.argv[1]
FAILS = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + str(detail)))
    if not cond:
        FAILS.append(name)


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


def ca(items):  # compact array
    return uvar(len(items) + 1) + b"".join(items)


def s16(x):  # classic string
    x = x.encode()
    return struct.pack(">h", len(x)) + x


def arr(items):  # classic array
    return struct.pack(">i", len(items)) + b"".join(items)


TAGS = b"\x00"
i8 = lambda v: struct.pack(">b", v)
i16 = lambda v: struct.pack(">h", v)
i32 = lambda v: struct.pack(">i", v)
i64 = lambda v: struct.pack(">q", v)


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

    def raw(self, n):
        v = self.b[self.o:self.o + n]
        if len(v) != n:
            raise EOFError("short body")
        self.o += n
        return v

    def uvar(self):
        n, shift = 0, 0
        while True:
            b = self.b[self.o]
            self.o += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    def cbytes(self):
        n = self.uvar() - 1
        return None if n < 0 else self.raw(n)

    def cs(self):
        v = self.cbytes()
        return None if v is None else v.decode()

    def s16(self):
        n = self.i16()
        return None if n < 0 else self.raw(n).decode()

    def alen(self, flex):
        return self.uvar() - 1 if flex else self.i32()

    def tags(self):
        got = {}
        for _ in range(self.uvar()):
            t = self.uvar()
            got[t] = self.raw(self.uvar())
        return got

    def done(self):
        return self.o == len(self.b)


class Conn:
    def __init__(self, bs):
        h, p = bs.rsplit(":", 1)
        self.s = socket.create_connection((h, int(p)), timeout=30)
        self.corr = 0

    def call(self, key, ver, body, flex):
        self.corr += 1
        hdr = struct.pack(">hhih", key, ver, self.corr, 5) + b"rb-lo" + (TAGS if flex else b"")
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


c = Conn(BS)

# ---- ApiVersions v3: advertised ranges ----
r = c.call(18, 3, cs("rb-lo") + cs("1") + TAGS, True)
err = r.i16()
ranges = {}
for _ in range(r.uvar() - 1):
    k, lo, hi = r.i16(), r.i16(), r.i16()
    r.tags()
    ranges[k] = (lo, hi)
check("ApiVersions: ListOffsets 1-8", ranges.get(2) == (1, 8), ranges.get(2))
check("ApiVersions: Fetch 4-16", ranges.get(1) == (4, 16), ranges.get(1))

# ---- data: one partition per codec, two batches with known timestamps ----
# batch 1 (offsets 0-4): 1000 3000 5000 2000 5000; batch 2 (5-6): 4000 5000.
# The first record with the largest timestamp is offset 2.
TS1 = [1000, 3000, 5000, 2000, 5000]
TS2 = [4000, 5000]
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
run = "%d" % os.getpid()
topics = {cd: "lo-%s-%s" % (cd, run) for cd in CODECS}
empty = "lo-empty-" + run
lat = "lo-lat-" + run
admin = KafkaAdminClient(bootstrap_servers=BS)
admin.create_topics([NewTopic(t, 1, 1) for t in list(topics.values()) + [empty]] +
                    [NewTopic(lat, 1, 1, topic_configs={"message.timestamp.type": "LogAppendTime"})])
admin.close()


def produce(topic, codec, batches, pause=0):
    p = Producer({"bootstrap.servers": BS, "compression.codec": codec, "linger.ms": 50,
                  "enable.idempotence": False})
    for bi, tss in enumerate(batches):
        for i, ts in enumerate(tss):
            # compressible values, so librdkafka really compresses
            p.produce(topic, value=("v%d-%d-" % (bi, i)).encode() + b"x" * 300, partition=0,
                      timestamp=ts)
        left = p.flush(20)
        assert left == 0, "unacknowledged records"
        time.sleep(pause)


for cd, t in topics.items():
    produce(t, cd, [TS1, TS2])
t0 = int(time.time() * 1000)
produce(lat, "none", [TS1, TS2], pause=0.05)


def list_offsets(ver, topic, ts, part=0):
    flex = ver >= 6
    if flex:
        p = i32(part) + i32(-1) + i64(ts) + TAGS
        body = i32(-1) + i8(0) + ca([cs(topic) + ca([p]) + TAGS]) + TAGS
    else:
        p = i32(part) + (i32(-1) if ver >= 4 else b"") + i64(ts)
        body = i32(-1) + (i8(0) if ver >= 2 else b"") + arr([s16(topic) + arr([p])])
    r = c.call(2, ver, body, flex)
    if ver >= 2:
        r.i32()
    out = None
    for _ in range(r.alen(flex)):
        name = r.cs() if flex else r.s16()
        for _ in range(r.alen(flex)):
            pi, e, t, o = r.i32(), r.i16(), r.i64(), r.i64()
            ep = r.i32() if ver >= 4 else None
            if flex:
                r.tags()
            out = (e, o, t)
        if flex:
            r.tags()
    if flex:
        r.tags()
    assert r.done(), "trailing bytes in ListOffsets v%d response" % ver
    return out


for cd, t in topics.items():
    got = list_offsets(7, t, -3)
    check("ListOffsets v7 MAX_TIMESTAMP %s: offset 2 ts 5000" % cd, got == (0, 2, 5000), got)
got = list_offsets(8, topics["none"], -3)
check("ListOffsets v8 MAX_TIMESTAMP", got == (0, 2, 5000), got)
got = list_offsets(7, empty, -3)
check("ListOffsets v7 MAX_TIMESTAMP on an empty log: -1/-1", got == (0, -1, -1), got)
got = list_offsets(6, topics["none"], -3)
check("ListOffsets v6 MAX_TIMESTAMP: UNSUPPORTED_VERSION", got is not None and got[0] == 35, got)
got = list_offsets(5, topics["none"], -3)
check("ListOffsets v5 MAX_TIMESTAMP: UNSUPPORTED_VERSION", got is not None and got[0] == 35, got)
got = list_offsets(7, topics["none"], -4)
check("ListOffsets v7 EARLIEST_LOCAL: UNSUPPORTED_VERSION", got is not None and got[0] == 35, got)
got = list_offsets(8, topics["none"], -4)
check("ListOffsets v8 EARLIEST_LOCAL: log start 0", got == (0, 0, -1), got)
got = list_offsets(8, topics["none"], -5)
check("ListOffsets v8 LATEST_TIERED (-5): UNSUPPORTED_VERSION", got is not None and got[0] == 35,
      got)
got = list_offsets(8, topics["none"], -7)
check("ListOffsets v8 timestamp -7: UNSUPPORTED_VERSION", got is not None and got[0] == 35, got)
got = list_offsets(8, topics["none"], -1)
check("ListOffsets v8 LATEST: 7", got == (0, 7, -1), got)
got = list_offsets(8, topics["none"], -2)
check("ListOffsets v8 EARLIEST: 0", got == (0, 0, -1), got)
got = list_offsets(8, "lo-missing-" + run, -3)
check("ListOffsets v8 unknown topic: UNKNOWN_TOPIC_OR_PARTITION", got is not None and got[0] == 3,
      got)
for ver in (5, 8):
    for cd in ("none", "snappy", "zstd"):
        for ts, want in ((0, (0, 0, 1000)), (1000, (0, 0, 1000)), (2500, (0, 1, 3000)),
                         (4000, (0, 2, 5000)), (5001, (0, -1, -1))):
            got = list_offsets(ver, topics[cd], ts)
            check("ListOffsets v%d %s timestamp %d: first record at or after it" % (ver, cd, ts),
                  got == want, "%s, want %s" % (got, want))

# ---- Metadata v12: topic ids ----
body = ca([b"\x00" * 16 + cs(t) + TAGS for t in topics.values()]) + i8(0) + i8(0) + TAGS
r = c.call(3, 12, body, True)
r.i32()
for _ in range(r.uvar() - 1):
    r.i32(), r.cs(), r.i32(), r.cs(), r.tags()
r.cs(), r.i32()
ids = {}
for _ in range(r.uvar() - 1):
    e, name, tid, internal = r.i16(), r.cs(), r.raw(16), r.i8()
    for _ in range(r.uvar() - 1):
        r.i16(), r.i32(), r.i32(), r.i32()
        for _ in range(3):
            for _ in range(r.uvar() - 1):
                r.i32()
        r.tags()
    r.i32(), r.tags()
    ids[name] = tid
check("Metadata v12: a non-zero id for every topic",
      all(ids.get(t, b"\x00" * 16) != b"\x00" * 16 for t in topics.values()), ids)


def batches(recs, with_ts=False):
    """(base offset, record count, codec[, max timestamp]) of every batch in a record set."""
    out, o = [], 0
    while o + 61 <= len(recs):
        base, blen = struct.unpack_from(">qi", recs, o)
        attrs = struct.unpack_from(">h", recs, o + 21)[0]
        max_ts = struct.unpack_from(">q", recs, o + 35)[0]
        count = struct.unpack_from(">i", recs, o + 57)[0]
        out.append((base, count, attrs & 7) + ((max_ts,) if with_ts else ()))
        o += 12 + blen
    return out


def covers_0_to_7(bs):
    """The batches hold offsets 0..6 in order (librdkafka may split a flush in two)."""
    nxt = 0
    for b in bs:
        if b[0] != nxt:
            return False
        nxt += b[1]
    return nxt == 7


def fetch(ver, tid=None, name=None, replica_state=False, offset=0):
    """Fetch one partition; returns (topic key, [(partition, error, hw, records)], tags)."""
    part = i32(0) + i32(-1) + i64(offset) + i32(-1) + i64(-1) + i32(1 << 20) + TAGS
    topic = (tid if ver >= 13 else cs(name)) + ca([part]) + TAGS
    body = (i32(-1) if ver <= 14 else b"") + i32(100) + i32(1) + i32(1 << 20) + i8(0) + i32(0) + \
        i32(-1) + ca([topic]) + ca([]) + cs("")
    if replica_state:  # tag 1: ReplicaState {replica_id -1, replica_epoch -1}
        rs = i32(-1) + i64(-1) + TAGS
        body += uvar(1) + uvar(1) + uvar(len(rs)) + rs
    else:
        body += TAGS
    r = c.call(1, ver, body, True)
    r.i32()
    top_err, session = r.i16(), r.i32()
    out, key = [], None
    for _ in range(r.uvar() - 1):
        key = r.raw(16) if ver >= 13 else r.cs()
        for _ in range(r.uvar() - 1):
            pi, e, hw, lso, lstart = r.i32(), r.i16(), r.i64(), r.i64(), r.i64()
            for _ in range(r.uvar() - 1):
                r.i64(), r.i64(), r.tags()
            r.i32()
            recs = r.cbytes()
            r.tags()
            out.append((pi, e, hw, recs or b""))
        r.tags()
    tags = r.tags()
    assert r.done(), "trailing bytes in Fetch v%d response" % ver
    return key, out, tags, top_err


for ver in (13, 14, 15, 16):
    for cd, t in topics.items():
        key, parts, tags, top = fetch(ver, tid=ids[t])
        ok = key == ids[t] and top == 0 and len(parts) == 1 and parts[0][1] == 0 and \
            parts[0][2] == 7
        bs = batches(parts[0][3]) if parts else []
        want_codec = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}[cd]
        check("Fetch v%d by topic id (%s): the id back, hw 7, records 0-6" % (ver, cd),
              ok and covers_0_to_7(bs) and all(b[2] == want_codec for b in bs) and tags == {},
              (key, parts and parts[0][:3], bs, tags, top))
    bogus = os.urandom(16)
    key, parts, tags, top = fetch(ver, tid=bogus)
    check("Fetch v%d unknown topic id: UNKNOWN_TOPIC_ID (100)" % ver,
          key == bogus and len(parts) == 1 and parts[0][1] == 100, (key, parts))
for ver in (15, 16):
    key, parts, tags, top = fetch(ver, tid=ids[topics["none"]], replica_state=True, offset=5)
    check("Fetch v%d with replica_state (tag 1), from offset 5" % ver,
          parts and parts[0][1] == 0 and batches(parts[0][3]) and
          batches(parts[0][3])[0][0] <= 5 < sum(batches(parts[0][3])[0][:2]), parts)
key, parts, tags, top = fetch(12, name=topics["none"])
check("Fetch v12 by name", key == topics["none"] and parts and parts[0][1] == 0 and
      covers_0_to_7(batches(parts[0][3])), (key, parts and parts[0][:3]))
# LogAppendTime: every record carries its batch's append time, so MAX_TIMESTAMP is
# the base offset of the first batch with the largest append time.
key, parts, tags, top = fetch(12, name=lat)
bs = batches(parts[0][3], with_ts=True) if parts else []
best = max(b[3] for b in bs) if bs else None
want = next(((0, b[0], b[3]) for b in bs if b[3] == best), None)
got = list_offsets(7, lat, -3)
check("ListOffsets v7 MAX_TIMESTAMP with LogAppendTime: base of the latest batch",
      covers_0_to_7(bs) and best >= t0 and got == want and got[1] > 0, (got, want, bs))

print("%d checks failed" % len(FAILS) if FAILS else "all checks passed")
sys.exit(1 if FAILS else 0)
