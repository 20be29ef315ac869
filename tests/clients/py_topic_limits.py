#!/usr/bin/python3
"""tests/clients/py_topic_limits.py - topic creation against the partition limits (raw wire).

  py_topic_limits.py create BS NAME PARTITIONS   CreateTopics v2: prints "E MESSAGE"
  py_topic_limits.py grow BS NAME COUNT          CreatePartitions v0: prints "E MESSAGE"
  py_topic_limits.py partitions BS NAME          Metadata v4 (no auto-creation): prints the
                                                 topic's partition count, or "error E"
Exit 0 unless the step itself broke (connection closed, malformed answer).
"""
import socket
import struct
import sys


class Conn:
    def __init__(self, bs):
        h, p = bs.rsplit(":", 1)
        self.s = socket.create_connection((h, int(p)), timeout=120)
        self.corr = 0

    def call(self, key, ver, body):
        self.corr += 1
        hdr = struct.pack(">hhih", key, ver, self.corr, 6) + b"rb-lim"
        self.s.sendall(struct.pack(">i", len(hdr) + len(body)) + hdr + body)
        size = struct.unpack(">i", self._recv(4))[0]
        data = self._recv(size)
        assert struct.unpack(">i", data[:4])[0] == self.corr
        return data[4:]

    def _recv(self, n):
        b = b""
        while len(b) < n:
            c = self.s.recv(n - len(b))
            if not c:
                raise EOFError("connection closed by the broker")
            b += c
        return b


def s16(x):
    if x is None:
        return struct.pack(">h", -1)
    x = x.encode()
    return struct.pack(">h", len(x)) + x


class R:
    def __init__(self, b):
        self.b, self.o = b, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.b, self.o)[0]
        self.o += struct.calcsize(fmt)
        return v

    def str(self):
        n = self.take(">h")
        if n < 0:
            return None
        v = self.b[self.o:self.o + n].decode()
        self.o += n
        return v


def create(bs, name, n):
    body = struct.pack(">i", 1) + s16(name) + struct.pack(">ihii", n, 1, 0, 0) + \
        struct.pack(">ib", 60000, 0)
    r = R(Conn(bs).call(19, 2, body))
    r.take(">i")
    r.take(">i")
    r.str()
    err, msg = r.take(">h"), r.str()
    print(err, msg or "")


def grow(bs, name, count):
    body = struct.pack(">i", 1) + s16(name) + struct.pack(">ii", count, -1) + \
        struct.pack(">ib", 60000, 0)
    r = R(Conn(bs).call(37, 0, body))
    r.take(">i")
    r.take(">i")
    r.str()
    err, msg = r.take(">h"), r.str()
    print(err, msg or "")


def partitions(bs, name):
    r = R(Conn(bs).call(3, 4, struct.pack(">i", 1) + s16(name) + b"\0"))
    r.take(">i")
    for _ in range(r.take(">i")):
        r.take(">i")
        r.str()
        r.take(">i")
        r.str()
    r.str()
    r.take(">i")
    r.take(">i")
    err = r.take(">h")
    r.str()
    r.take(">b")
    n = r.take(">i")
    print("error %d" % err if err else n)


def main():
    cmd, bs, name = sys.argv[1], sys.argv[2], sys.argv[3]
    if cmd == "create":
        create(bs, name, int(sys.argv[4]))
    elif cmd == "grow":
        grow(bs, name, int(sys.argv[4]))
    elif cmd == "partitions":
        partitions(bs, name)
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
