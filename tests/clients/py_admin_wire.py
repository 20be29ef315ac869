#!/usr/bin/python3
"""tests/clients/py_admin_wire.py - DescribeCluster, OffsetForLeaderEpoch and
DescribeLogDirs on the wire, hand-encoded at their lowest and highest
advertised versions (non-flexible and flexible), answers decoded and checked;
KIP-320 on a standalone broker (leader epoch 0): ListOffsets v4 and Fetch v12
with current_leader_epoch 1 are UNKNOWN_LEADER_EPOCH, Fetch v12 with a
last_fetched_epoch 0 beyond the log end gets diverging_epoch (0, log end).

  py_admin_wire.py HOST:PORT TOPIC N_PARTITIONS RECORDS_IN_P0

Expects TOPIC to exist with N_PARTITIONS partitions and RECORDS_IN_P0 records
in partition 0. Prints "ok: ..." lines; exits 1 on the first mismatch.
"""
import struct
import socket
import sys

HOST, PORT = sys.argv[1].split(":")
TOPIC, NP, NREC = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
cid = 0


def die(msg):
    print("FAIL:", msg)
    sys.exit(1)


def expect(what, got, want):
    if got != want:
        die("%s: got %r want %r" % (what, got, want))
    print("ok: %s = %r" % (what, got))


def uvarint(n):
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7
    return out + bytes([n])


def s16(x):
    b = x.encode()
    return struct.pack(">h", len(b)) + b


def cstr(x):
    if x is None:
        return uvarint(0)
    b = x.encode()
    return uvarint(len(b) + 1) + b


class R:
    def __init__(self, b):
        self.b, self.o = b, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.b, self.o)
        self.o += struct.calcsize(fmt)
        return v[0]

    def uv(self):
        n = shift = 0
        while True:
            c = self.b[self.o]
            self.o += 1
            n |= (c & 0x7F) << shift
            shift += 7
            if c < 0x80:
                return n

    def str16(self):
        n = self.take(">h")
        if n < 0:
            return None
        v = self.b[self.o:self.o + n].decode()
        self.o += n
        return v

    def cstr(self):
        n = self.uv() - 1
        if n < 0:
            return None
        v = self.b[self.o:self.o + n].decode()
        self.o += n
        return v

    def tags(self):
        for _ in range(self.uv()):
            self.uv()
            n = self.uv()  # not "self.o += self.uv()": self.o would be read first
            self.o += n

    def arr(self, flex):
        return self.uv() - 1 if flex else self.take(">i")


def recvall(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            die("connection closed by broker")
        b += c
    return b


def call(s, key, ver, body, flex):
    global cid
    cid += 1
    hdr = struct.pack(">hhi", key, ver, cid) + s16("py-admin-wire")
    if flex:
        hdr += uvarint(0)
    frame = hdr + body
    s.sendall(struct.pack(">i", len(frame)) + frame)
    size = struct.unpack(">i", recvall(s, 4))[0]
    r = R(recvall(s, size))
    expect("correlation id", r.take(">i"), cid)
    if flex:
        r.tags()
    return r


def describe_cluster(s, ver, endpoint_type=1):
    body = b"\x01" + (struct.pack(">b", endpoint_type) if ver >= 1 else b"") + uvarint(0)
    r = call(s, 60, ver, body, True)
    r.take(">i")
    err = r.take(">h")
    r.cstr()
    if ver >= 1:
        r.take(">b")
    cluster = r.cstr()
    ctrl = r.take(">i")
    brokers = []
    for _ in range(r.arr(True)):
        b = (r.take(">i"), r.cstr(), r.take(">i"), r.cstr())
        r.tags()
        brokers.append(b)
    ops = r.take(">i")
    return err, cluster, ctrl, brokers, ops


def ofle(s, ver, parts):
    """parts: [(partition, current_leader_epoch, leader_epoch)] of TOPIC."""
    flex = ver >= 4
    arr = (lambda n: uvarint(n + 1)) if flex else (lambda n: struct.pack(">i", n))
    tg = uvarint(0) if flex else b""
    body = struct.pack(">i", -1) if ver >= 3 else b""
    body += arr(1) + (cstr(TOPIC) if flex else s16(TOPIC)) + arr(len(parts))
    for p, cur, ep in parts:
        body += struct.pack(">iii", p, cur, ep) + tg
    body += tg + tg
    r = call(s, 23, ver, body, flex)
    r.take(">i")
    out = []
    for _ in range(r.arr(flex)):
        r.cstr() if flex else r.str16()
        for _ in range(r.arr(flex)):
            out.append((r.take(">h"), r.take(">i"), r.take(">i"), r.take(">q")))
            if flex:
                r.tags()
        if flex:
            r.tags()
    return out


def list_offsets4(s, cur):
    """ListOffsets v4 of TOPIC-0, latest: (error, offset, leader_epoch)."""
    body = struct.pack(">ib", -1, 0) + struct.pack(">i", 1) + s16(TOPIC)
    body += struct.pack(">i", 1) + struct.pack(">iiq", 0, cur, -1)
    r = call(s, 2, 4, body, False)
    r.take(">i")
    r.take(">i")
    r.str16()
    r.take(">i")
    r.take(">i")
    err, _ts, off, ep = r.take(">h"), r.take(">q"), r.take(">q"), r.take(">i")
    return err, off, ep


def fetch12(s, offset, cur, last):
    """Fetch v12 of TOPIC-0: (error, high watermark, diverging (epoch, end) or None, bytes)."""
    body = struct.pack(">iiiibii", -1, 0, 0, 1 << 20, 0, 0, -1)
    body += uvarint(2) + cstr(TOPIC) + uvarint(2)
    body += struct.pack(">iiqiqi", 0, cur, offset, last, -1, 1 << 20) + uvarint(0)
    body += uvarint(0) + uvarint(1) + cstr("") + uvarint(0)
    r = call(s, 1, 12, body, True)
    r.take(">i")
    expect("Fetch v12 top-level error", r.take(">h"), 0)
    r.take(">i")
    out = None
    for _ in range(r.arr(True)):
        r.cstr()
        for _ in range(r.arr(True)):
            r.take(">i")
            err, hw = r.take(">h"), r.take(">q")
            r.take(">q")
            r.take(">q")
            for _ in range(max(r.uv() - 1, 0)):
                r.take(">q")
                r.take(">q")
                r.tags()
            r.take(">i")
            n = r.uv() - 1
            r.o += max(n, 0)
            div = None
            for _ in range(r.uv()):
                tag, size = r.uv(), r.uv()
                if tag == 0:
                    div = (r.take(">i"), r.take(">q"))
                    r.tags()
                else:
                    r.o += size
            out = (err, hw, div, max(n, 0))
        r.tags()
    return out


def log_dirs(s, ver):
    flex = ver >= 2
    if flex:
        body = uvarint(2) + cstr(TOPIC) + uvarint(NP + 2)
    else:
        body = struct.pack(">i", 1) + s16(TOPIC) + struct.pack(">i", NP + 1)
    body += b"".join(struct.pack(">i", p) for p in range(NP + 1))  # one beyond: omitted
    body += uvarint(0) + uvarint(0) if flex else b""
    r = call(s, 35, ver, body, flex)
    r.take(">i")
    if ver >= 3:
        expect("DescribeLogDirs v%d error" % ver, r.take(">h"), 0)
    parts = {}
    dirs = 0
    for _ in range(r.arr(flex)):
        dirs += 1
        expect("log dir error", r.take(">h"), 0)
        r.cstr() if flex else r.str16()
        for _ in range(r.arr(flex)):
            name = r.cstr() if flex else r.str16()
            for _ in range(r.arr(flex)):
                p, size, lag, fut = r.take(">i"), r.take(">q"), r.take(">q"), r.take(">?")
                parts[(name, p)] = size
                if flex:
                    r.tags()
            if flex:
                r.tags()
        if ver >= 4:
            total, usable = r.take(">q"), r.take(">q")
            if not (total > 0 and 0 <= usable <= total):
                die("DescribeLogDirs v4 total/usable bytes %d/%d" % (total, usable))
        if flex:
            r.tags()
    return dirs, parts


def main():
    s = socket.create_connection((HOST, int(PORT)), timeout=20)
    for ver in (0, 1):
        err, cluster, ctrl, brokers, ops = describe_cluster(s, ver)
        expect("DescribeCluster v%d error" % ver, err, 0)
        expect("DescribeCluster v%d brokers" % ver, len(brokers), 1)
        expect("DescribeCluster v%d controller is the broker" % ver, ctrl, brokers[0][0])
        expect("DescribeCluster v%d port" % ver, brokers[0][2], int(PORT))
        if not cluster or len(cluster) != 22:
            die("cluster id %r" % cluster)
        expect("DescribeCluster v%d authorized ops set" % ver, ops != -(2 ** 31), True)
    expect("DescribeCluster v1 controller endpoint -> MISMATCHED_ENDPOINT_TYPE",
           describe_cluster(s, 1, 2)[0], 114)
    for ver in (2, 3, 4):
        got = ofle(s, ver, [(0, -1, 0), (0, 0, 0), (0, -1, 7), (0, 3, 0), (NP, -1, 0)])
        expect("OffsetForLeaderEpoch v%d" % ver, got,
               [(0, 0, 0, NREC), (0, 0, 0, NREC), (0, 0, -1, -1), (75, 0, -1, -1),
                (3, NP, -1, -1)])
    expect("ListOffsets v4 latest, no epoch given", list_offsets4(s, -1), (0, NREC, 0))
    expect("ListOffsets v4 current_leader_epoch 0", list_offsets4(s, 0), (0, NREC, 0))
    expect("ListOffsets v4 current_leader_epoch 1 -> UNKNOWN_LEADER_EPOCH",
           list_offsets4(s, 1)[0], 75)
    err, hw, div, n = fetch12(s, 0, 0, -1)
    expect("Fetch v12 epoch 0 from 0: error, hw, diverging", (err, hw, div), (0, NREC, None))
    expect("Fetch v12 epoch 0 from 0: records returned", n > 0, True)
    expect("Fetch v12 current_leader_epoch 1 -> UNKNOWN_LEADER_EPOCH", fetch12(s, 0, 1, -1)[0], 75)
    expect("Fetch v12 last_fetched_epoch 0 at the end: in step", fetch12(s, NREC, 0, 0)[:3],
           (0, NREC, None))
    expect("Fetch v12 last_fetched_epoch 0 beyond the end -> diverging (0, end)",
           fetch12(s, NREC + 5, 0, 0), (0, NREC, (0, NREC), 0))
    expect("Fetch v12 last_fetched_epoch 3 (never here) -> OFFSET_OUT_OF_RANGE",
           fetch12(s, 0, 0, 3)[0], 1)
    for ver in (1, 4):
        dirs, parts = log_dirs(s, ver)
        expect("DescribeLogDirs v%d dirs" % ver, dirs, 1)
        expect("DescribeLogDirs v%d partitions" % ver, sorted(parts),
               [(TOPIC, p) for p in range(NP)])
        if parts[(TOPIC, 0)] <= 0:
            die("partition 0 size %d" % parts[(TOPIC, 0)])
        print("ok: DescribeLogDirs v%d sizes %s" % (ver, sorted(parts.items())))
    print("ok: admin wire checks passed")


main()
