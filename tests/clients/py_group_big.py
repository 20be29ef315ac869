#!/usr/bin/python3
"""tests/clients/py_group_big.py - group records of every legal size, group limits.

  py_group_big.py commit BS GROUP TOPIC OFFSET      simple commit (generation -1) of
                                                   OFFSET to TOPIC-0 for GROUP
  py_group_big.py fetch BS GROUP TOPIC              prints the committed offset of TOPIC-0
                                                   (-1 when none), or "error E"
  py_group_big.py big BS GROUP BYTES [MEMBERS]      MEMBERS (default 1) JoinGroup v0 with
                                                   BYTES of metadata each on their own
                                                   connections, the leader's SyncGroup;
                                                   prints "join E", "sync E" (codes)
  py_group_big.py describe BS GROUP                 "STATE N SIZES" (DescribeGroups v0:
                                                   members and their metadata sizes)
  py_group_big.py join BS GROUP SESSION_MS          one JoinGroup v0; prints its error code
  py_group_big.py maxsize BS GROUP N                N+1 members join (v0, in parallel on
                                                   their own connections); prints the
                                                   sorted error codes
  py_group_big.py forge FILE POS BASE GROUP TOPIC   write at byte POS of segment FILE a
                                                   batch (offset BASE, CRC valid) holding an
                                                   offset commit of GROUP TOPIC-0 whose value
                                                   has an unknown version (9)
Raw wire (no client library): the test controls sizes exactly. Exit 0 unless a
step itself broke (a connection closed, a malformed answer).
"""
import socket
import struct
import sys
import threading


class Conn:
    def __init__(self, bs):
        h, p = bs.rsplit(":", 1)
        self.s = socket.create_connection((h, int(p)), timeout=60)
        self.corr = 0

    def send(self, key, ver, body):
        self.corr += 1
        hdr = struct.pack(">hhih", key, ver, self.corr, 6) + b"rb-big"
        self.s.sendall(struct.pack(">i", len(hdr) + len(body)) + hdr + body)

    def recv(self):
        size = struct.unpack(">i", self._recv(4))[0]
        data = self._recv(size)
        assert struct.unpack(">i", data[:4])[0] == self.corr
        return data[4:]

    def call(self, key, ver, body):
        self.send(key, ver, body)
        return self.recv()

    def _recv(self, n):
        parts, got = [], 0
        while got < n:
            chunk = self.s.recv(min(n - got, 1 << 20))
            if not chunk:
                raise EOFError("connection closed by the broker")
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)


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


def metadata(n):
    """A consumer subscription (version 0, topic "big-t") padded to n bytes of user data."""
    head = struct.pack(">h", 0) + arr([s16("big-t")])
    return head + byt(b"u" * max(n - len(head) - 4, 0))


def join_body(group, member, session_ms, meta):
    return s16(group) + struct.pack(">i", session_ms) + s16(member) + s16("consumer") + \
        arr([s16("range") + byt(meta)])


def join_parse(data):
    r = R(data)
    err, gen, _proto, leader, mid = r.i16(), r.i32(), r.str(), r.str(), r.str()
    return err, gen, leader, mid


def commit(bs, group, topic, offset):
    c = Conn(bs)
    body = s16(group) + struct.pack(">i", -1) + s16("") + struct.pack(">q", -1) + \
        arr([s16(topic) + arr([struct.pack(">iq", 0, offset) + s16("")])])
    r = R(c.call(8, 2, body))
    r.i32()
    r.str()
    r.i32()
    r.i32()
    print(r.i16())


def fetch(bs, group, topic):
    c = Conn(bs)
    r = R(c.call(9, 1, s16(group) + arr([s16(topic) + arr([struct.pack(">i", 0)])])))
    r.i32()
    r.str()
    r.i32()
    r.i32()
    off, _meta, err = r.i64(), r.str(), r.i16()
    print("error %d" % err if err else off)


def big(bs, group, nbytes, members):
    meta = metadata(nbytes)
    conns = [Conn(bs) for _ in range(members)]
    for c in conns:  # all join the same phase (v0: no member id round)
        c.send(11, 0, join_body(group, "", 300000, meta))
    res = [join_parse(c.recv()) for c in conns]
    errs = sorted({r[0] for r in res})
    print("join %s" % ",".join(str(e) for e in errs))
    lead = [(c, r) for c, r in zip(conns, res) if r[0] == 0 and r[2] == r[3]]
    if errs != [0] or not lead:
        return
    c, (_, gen, _, mid) = lead[0]
    followers = [(x, r) for x, r in zip(conns, res) if x is not c]
    for x, r in followers:
        x.send(14, 0, s16(group) + struct.pack(">i", gen) + s16(r[3]) + arr([]))
    assigns = [s16(x[3]) + byt(b"A") for x in res]
    r = R(c.call(14, 0, s16(group) + struct.pack(">i", gen) + s16(mid) + arr(assigns)))
    errs = {r.i16()}
    for x, _ in followers:
        errs.add(R(x.recv()).i16())
    print("sync %s" % ",".join(str(e) for e in sorted(errs)))


def describe(bs, group):
    c = Conn(bs)
    r = R(c.call(15, 0, arr([s16(group)])))
    r.i32()
    err, _gid, state, _pt, _proto = r.i16(), r.str(), r.str(), r.str(), r.str()
    if err:
        print("error %d" % err)
        return
    sizes = []
    for _ in range(r.i32()):
        r.str()
        r.str()
        r.str()
        sizes.append(len(r.bytes()))
        r.bytes()
    print("%s %d %s" % (state, len(sizes), ",".join(str(s) for s in sorted(set(sizes))) or "-"))


def join(bs, group, session_ms):
    c = Conn(bs)
    print(join_parse(c.call(11, 0, join_body(group, "", session_ms, metadata(64))))[0])


def maxsize(bs, group, n):
    conns = [Conn(bs) for _ in range(n + 1)]
    out = [None] * len(conns)

    def one(i):
        out[i] = join_parse(conns[i].call(11, 0, join_body(group, "", 30000, metadata(64))))[0]
    ths = [threading.Thread(target=one, args=(i,)) for i in range(len(conns))]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    print(" ".join(str(e) for e in sorted(out)))


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def varint(v):
    v = (v << 1) ^ (v >> 63)
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def forge(path, pos, base, group, topic):
    key = struct.pack(">h", 1) + s16(group) + s16(topic) + struct.pack(">i", 0)
    value = struct.pack(">hq", 9, 12345)
    body = b"\0" + varint(0) + varint(0) + varint(len(key)) + key + varint(len(value)) + value + \
        varint(0)
    rec = varint(len(body)) + body
    ts = 1700000000000
    tail = struct.pack(">hiqqqhii", 0, 0, ts, ts, -1, -1, -1, 1) + rec
    head = struct.pack(">qiib", base, 4 + 1 + 4 + len(tail), -1, 2)
    batch = head + struct.pack(">I", crc32c(tail)) + tail
    with open(path, "r+b") as f:
        f.seek(pos)
        f.write(batch)


def main():
    cmd, bs = sys.argv[1], sys.argv[2]
    a = sys.argv[3:]
    if cmd == "commit":
        commit(bs, a[0], a[1], int(a[2]))
    elif cmd == "fetch":
        fetch(bs, a[0], a[1])
    elif cmd == "big":
        big(bs, a[0], int(a[1]), int(a[2]) if len(a) > 2 else 1)
    elif cmd == "describe":
        describe(bs, a[0])
    elif cmd == "join":
        join(bs, a[0], int(a[1]))
    elif cmd == "maxsize":
        maxsize(bs, a[0], int(a[1]))
    elif cmd == "forge":
        forge(bs, int(a[0]), int(a[1]), a[2], a[3])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
