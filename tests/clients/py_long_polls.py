#!/usr/bin/python3
"""tests/clients/py_long_polls.py - many long polls on one partition, one produce.

Opens CONNS connections and pipelines N Fetch (v4) requests over them, all for
TOPIC-0 from offset OFFSET (the log end) with max_wait 30 s and min_bytes 1. After
2 s (every fetch parked: none may be answered yet) it produces one record with
kcat and measures, for each fetch, the time from the produce to its response.
Prints "answered=A of N max_s=X" and exits 1 unless all N are answered with data
within LIMIT seconds of the produce.

  py_long_polls.py HOST:PORT TOPIC OFFSET N CONNS LIMIT_S
"""
import os
import selectors
import socket
import struct
import subprocess
import sys
import time

from kafka.protocol.api import RequestHeader
from kafka.protocol.fetch import FetchRequest_v4, FetchResponse_v4

bs, topic = sys.argv[1], sys.argv[2]
offset, n, nconn, limit = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
host, port = bs.split(":")

sel = selectors.DefaultSelector()
conns = []
for i in range(nconn):
    s = socket.create_connection((host, int(port)), timeout=10)
    s.setblocking(False)
    conns.append({"s": s, "buf": b"", "want": 0})
    sel.register(s, selectors.EVENT_READ, conns[-1])

for k in range(n):
    c = conns[k % nconn]
    req = FetchRequest_v4(replica_id=-1, max_wait_time=30000, min_bytes=1, max_bytes=1 << 20,
                          isolation_level=0, topics=[(topic, [(0, offset, 1 << 20)])])
    hdr = RequestHeader(req, correlation_id=k, client_id="rb-long-polls")  # kept: weak encode()
    msg = hdr.encode() + req.encode()
    c["s"].setblocking(True)
    c["s"].sendall(struct.pack(">i", len(msg)) + msg)
    c["s"].setblocking(False)
    c["want"] += 1

answered, with_data, worst = 0, 0, 0.0
t0 = None


def drain(deadline):
    global answered, with_data, worst
    while time.monotonic() < deadline and answered < n:
        for key, _ in sel.select(timeout=max(0.0, min(0.5, deadline - time.monotonic()))):
            c = key.data
            try:
                chunk = c["s"].recv(1 << 20)
            except BlockingIOError:
                continue
            if not chunk:
                raise SystemExit("connection closed by the broker")
            c["buf"] += chunk
            while len(c["buf"]) >= 4:
                size = struct.unpack(">i", c["buf"][:4])[0]
                if len(c["buf"]) < 4 + size:
                    break
                body, c["buf"] = c["buf"][8:4 + size], c["buf"][4 + size:]
                resp = FetchResponse_v4.decode(body)
                answered += 1
                now = time.monotonic()
                if t0 is None:
                    print("fetch answered before the produce", file=sys.stderr)
                    continue
                worst = max(worst, now - t0)
                for _, parts in resp.topics:
                    for p in parts:
                        if p[1] == 0 and len(p[-1]) > 0:
                            with_data += 1


drain(time.monotonic() + 2.0)
early = answered
kcat = os.environ.get("KCAT", "kcat")
t0 = time.monotonic()
subprocess.run([kcat, "-P", "-b", bs, "-t", topic, "-p", "0", "-X", "acks=all"],
               input=b"woken\n", check=True, timeout=20)
drain(t0 + 35.0 if limit < 35 else t0 + limit + 5)
print("answered=%d of %d with_data=%d early=%d max_s=%.2f" % (answered, n, with_data, early, worst))
ok = early == 0 and answered == n and with_data == n and worst <= limit
sys.exit(0 if ok else 1)
