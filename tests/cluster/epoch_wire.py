#!/usr/bin/python3
"""tests/cluster/epoch_wire.py - leader epoch requests for partition 0 of TOPIC,
hand-encoded, one answer line each (t_leader_epochs.sh):

  epoch_wire.py HOST:PORT TOPIC ole CURRENT_EPOCH EPOCH
      OffsetForLeaderEpoch v4 -> "error=E epoch=X end=Y"
  epoch_wire.py HOST:PORT TOPIC lo CURRENT_EPOCH
      ListOffsets v4, latest -> "error=E offset=O epoch=X"
"""
import socket
import struct
import sys


def uvarint(n):
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7
    return out + bytes([n])


def cstr(x):
    b = x.encode()
    return uvarint(len(b) + 1) + b


def s16(x):
    b = x.encode()
    return struct.pack(">h", len(b)) + b


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

    def skip_cstr(self):
        n = self.uv() - 1
        self.o += max(n, 0)

    def skip_str16(self):
        n = self.take(">h")
        self.o += max(n, 0)

    def tags(self):
        for _ in range(self.uv()):
            self.uv()
            n = self.uv()
            self.o += n


def call(addr, key, ver, body, flex):
    host, port = addr.split(":")
    s = socket.create_connection((host, int(port)), timeout=20)
    hdr = struct.pack(">hhi", key, ver, 7) + s16("epoch-wire") + (uvarint(0) if flex else b"")
    s.sendall(struct.pack(">i", len(hdr + body)) + hdr + body)

    def recvall(n):
        b = b""
        while len(b) < n:
            c = s.recv(n - len(b))
            if not c:
                sys.exit("connection closed")
            b += c
        return b

    r = R(recvall(struct.unpack(">i", recvall(4))[0]))
    s.close()
    if r.take(">i") != 7:
        sys.exit("bad correlation id")
    if flex:
        r.tags()
    return r


def main():
    addr, topic, what = sys.argv[1], sys.argv[2], sys.argv[3]
    cur = int(sys.argv[4])
    if what == "ole":
        body = struct.pack(">i", -1) + uvarint(2) + cstr(topic) + uvarint(2)
        body += struct.pack(">iii", 0, cur, int(sys.argv[5])) + uvarint(0) + uvarint(0) + uvarint(0)
        r = call(addr, 23, 4, body, True)
        r.take(">i")
        r.uv()
        r.skip_cstr()
        r.uv()
        err, _p, ep, end = r.take(">h"), r.take(">i"), r.take(">i"), r.take(">q")
        print("error=%d epoch=%d end=%d" % (err, ep, end))
    else:
        body = struct.pack(">ib", -1, 0) + struct.pack(">i", 1) + s16(topic)
        body += struct.pack(">i", 1) + struct.pack(">iiq", 0, cur, -1)
        r = call(addr, 2, 4, body, False)
        r.take(">i")
        r.take(">i")
        r.skip_str16()
        r.take(">i")
        r.take(">i")
        err, _ts, off, ep = r.take(">h"), r.take(">q"), r.take(">q"), r.take(">i")
        print("error=%d offset=%d epoch=%d" % (err, off, ep))


if __name__ == "__main__":
    main()
