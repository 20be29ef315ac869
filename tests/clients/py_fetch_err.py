#!/usr/bin/python3
"""tests/clients/py_fetch_err.py - one Fetch (v4) of TOPIC PARTITION from offset 0;
prints "fetch TOPIC-P error=CODE" (used by the storage fault tests).

  py_fetch_err.py HOST:PORT TOPIC PARTITION
"""
import socket
import struct
import sys

from kafka.protocol.api import RequestHeader
from kafka.protocol.fetch import FetchRequest_v4, FetchResponse_v4

host, port = sys.argv[1].split(":")
topic, part = sys.argv[2], int(sys.argv[3])
req = FetchRequest_v4(replica_id=-1, max_wait_time=100, min_bytes=1, max_bytes=1 << 20,
                      isolation_level=0, topics=[(topic, [(part, 0, 1 << 20)])])
hdr = RequestHeader(req, correlation_id=1, client_id="rb-fetch-err")
msg = hdr.encode() + req.encode()
s = socket.create_connection((host, int(port)), timeout=10)
s.sendall(struct.pack(">i", len(msg)) + msg)
def rd(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise SystemExit("connection closed")
        b += c
    return b
size = struct.unpack(">i", rd(4))[0]
body = rd(size)[4:]
resp = FetchResponse_v4.decode(body)
for t, parts in resp.topics:
    for p in parts:
        print("fetch %s-%d error=%d" % (t, p[0], p[1]))
