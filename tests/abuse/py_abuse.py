#!/usr/bin/python3
"""tests/abuse/py_abuse.py - hostile raw-wire clients for the abuse tests.

Each mode attacks the broker at HOST:PORT, prints one line of figures and holds
its connections open for HOLD_S seconds (so the test can read /proc and serve
another client meanwhile), then closes them.

  py_abuse.py pipelined HOST:PORT TOPIC PARTS N CONNS HOLD_S
      CONNS connections each pipeline N Fetch v4 requests listing partitions
      0..PARTS-1 of TOPIC from offset 0 (max_bytes 2^31-1 everywhere) and never
      read a byte of the responses.
  py_abuse.py dups HOST:PORT TOPIC N
      one Fetch v4 listing TOPIC-0 N times (max_bytes 2^31-1); reads the response
      and prints its size and how many partitions it lists (exit 1 if none).
  py_abuse.py dups_unread HOST:PORT TOPIC N K HOLD_S
      K such requests pipelined on one connection, never read.
  py_abuse.py partial HOST:PORT CONNS MIB HOLD_S
      CONNS connections each announce a (MIB+1) MiB frame, send MIB MiB of it and
      idle.
  py_abuse.py topics HOST:PORT PREFIX N BATCH
      Metadata v4 requests with allow_auto_topic_creation, BATCH new names
      PREFIX0..PREFIX(N-1) at a time; prints how many came back created (error 0)
      and the other error codes with their counts.
  py_abuse.py topics_count HOST:PORT PREFIX
      Metadata v4 of every topic (no creation); prints how many names start with
      PREFIX and how many of those have an error.
"""
import socket
import struct
import sys
import time

from kafka.protocol.api import RequestHeader
from kafka.protocol.fetch import FetchRequest_v4, FetchResponse_v4
from kafka.protocol.metadata import MetadataRequest_v4, MetadataResponse_v4

BIG = (1 << 31) - 1


def connect(bs, reads=False):
    host, port = bs.split(":")
    s = socket.create_connection((host, int(port)), timeout=30)
    if not reads:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # reads nothing, buffers little
    return s


def fetch_frame(topic, parts, corr):
    req = FetchRequest_v4(replica_id=-1, max_wait_time=0, min_bytes=0, max_bytes=BIG,
                          isolation_level=0, topics=[(topic, [(p, 0, BIG) for p in parts])])
    hdr = RequestHeader(req, correlation_id=corr, client_id="rb-abuse")  # kept: weak encode()
    msg = hdr.encode() + req.encode()
    return struct.pack(">i", len(msg)) + msg


def send_all_nonblocking(s, data, deadline):
    """Send what the kernel takes until deadline (the broker may stop reading)."""
    s.setblocking(False)
    sent = 0
    while sent < len(data) and time.monotonic() < deadline:
        try:
            sent += s.send(data[sent:sent + (1 << 20)])
        except BlockingIOError:
            time.sleep(0.01)
    return sent


def pipelined(bs, topic, parts, n, nconn, hold):
    conns = [connect(bs) for _ in range(nconn)]
    frame_total, sent_total = 0, 0
    for c in conns:
        data = b"".join(fetch_frame(topic, range(parts), k) for k in range(n))
        frame_total += len(data)
        sent_total += send_all_nonblocking(c, data, time.monotonic() + 10)
    print("pipelined conns=%d fetches=%d entries=%d bytes=%d sent=%d" %
          (nconn, n, parts, frame_total, sent_total), flush=True)
    time.sleep(hold)
    for c in conns:
        c.close()


def read_frame(s):
    def need(k):
        b = bytearray(k)
        view, got = memoryview(b), 0
        while got < k:
            n = s.recv_into(view[got:], k - got)
            if not n:
                raise SystemExit("connection closed by the broker")
            got += n
        return bytes(b)
    size = struct.unpack(">i", need(4))[0]
    return need(size)


def dups(bs, topic, n):
    s = connect(bs, reads=True)
    s.sendall(fetch_frame(topic, [0] * n, 1))
    t0 = time.monotonic()
    body = read_frame(s)
    resp = FetchResponse_v4.decode(body[4:])
    listed = sum(len(parts) for _, parts in resp.topics)
    records = sum(len(p[-1] or b"") for _, parts in resp.topics for p in parts)
    print("dups n=%d response_bytes=%d partitions_listed=%d record_bytes=%d secs=%.2f" %
          (n, len(body), listed, records, time.monotonic() - t0), flush=True)
    s.close()
    if listed < 1:
        raise SystemExit(1)


def dups_unread(bs, topic, n, k, hold):
    s = connect(bs)
    data = b"".join(fetch_frame(topic, [0] * n, c) for c in range(k))
    sent = send_all_nonblocking(s, data, time.monotonic() + 10)
    print("dups_unread n=%d k=%d sent=%d of %d" % (n, k, sent, len(data)), flush=True)
    time.sleep(hold)
    s.close()


def partial(bs, nconn, mib, hold):
    conns = []
    chunk = b"\0" * (1 << 20)
    sent_total = 0
    for _ in range(nconn):
        s = connect(bs)
        s.sendall(struct.pack(">i", (mib + 1) << 20))
        sent_total += send_all_nonblocking(s, chunk * mib, time.monotonic() + 5)
        conns.append(s)
    print("partial conns=%d mib=%d sent=%d" % (nconn, mib, sent_total), flush=True)
    time.sleep(hold)
    for s in conns:
        s.close()


def metadata(s, topics, auto, corr):
    req = MetadataRequest_v4(topics=topics, allow_auto_topic_creation=auto)
    hdr = RequestHeader(req, correlation_id=corr, client_id="rb-abuse")  # kept: weak encode()
    msg = hdr.encode() + req.encode()
    s.sendall(struct.pack(">i", len(msg)) + msg)
    return MetadataResponse_v4.decode(read_frame(s)[4:])


def topics(bs, prefix, n, batch):
    s = connect(bs, reads=True)
    created, codes, corr = 0, {}, 0
    for first in range(0, n, batch):
        names = [prefix + str(i) for i in range(first, min(n, first + batch))]
        corr += 1
        for t in metadata(s, names, True, corr).topics:
            if t[0] == 0:
                created += 1
            else:
                codes[t[0]] = codes.get(t[0], 0) + 1
    print("topics asked=%d created=%d refused=%d codes=%s" %
          (n, created, sum(codes.values()), sorted(codes.items())), flush=True)
    s.close()


def topics_count(bs, prefix):
    s = connect(bs, reads=True)
    mine = [t for t in metadata(s, None, False, 1).topics if t[1].startswith(prefix)]
    print("topics listed=%d errors=%d" % (len(mine), sum(1 for t in mine if t[0] != 0)),
          flush=True)
    s.close()


def main(a):
    mode = a[1]
    if mode == "pipelined":
        pipelined(a[2], a[3], int(a[4]), int(a[5]), int(a[6]), float(a[7]))
    elif mode == "dups":
        dups(a[2], a[3], int(a[4]))
    elif mode == "dups_unread":
        dups_unread(a[2], a[3], int(a[4]), int(a[5]), float(a[6]))
    elif mode == "partial":
        partial(a[2], int(a[3]), int(a[4]), float(a[5]))
    elif mode == "topics":
        topics(a[2], a[3], int(a[4]), int(a[5]))
    elif mode == "topics_count":
        topics_count(a[2], a[3])
    else:
        raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main(sys.argv)
