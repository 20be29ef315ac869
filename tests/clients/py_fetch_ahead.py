#!/usr/bin/python3
"""tests/clients/py_fetch_ahead.py - one consumer connection whose streams move
the way read-ahead (net/readahead.c) must follow or give up on: every record read
back is checked against the value its producer wrote at that offset.

The topic's partitions 0 and 1 hold N records each, written by kcat from the
lines of gen_values(): record o of partition p has value value(p, o). Over ONE
connection (Fetch v4, 1 MiB per partition, both partitions per request unless
said otherwise):
  1. both partitions from 0 to N/3 (two streams read ahead side by side);
  2. partition 0 jumps back to N/10, reads 3 MiB, jumps forward to 2N/3 and both
     read on to N (across rolled segments);
  3. partition 1 from N/2 for a few fetches (its read-ahead holds bytes of the
     segments there), then DeleteRecords moves its start to 3N/4 and the
     retention timer deletes the segments below it (DATA_DIR is polled until
     the segment holding N/2 is gone); the fetch at the old position must answer
     OFFSET_OUT_OF_RANGE, the one at 3N/4 the right records to N;
  4. partition 0 at the log end (long poll) while kcat produces M more records
     into it (segments roll meanwhile): read until N + M;
  5. partition 0 from N/10 for 2 MiB (read-ahead holds its older segments), then
     DeleteRecords moves its start to its end and the connection goes quiet
     (stays open, asks nothing): within 30 s the broker (BROKER_PID) holds no
     deleted file open - read-ahead must not pin deleted segments on the disk.
Offsets must be contiguous from where each read starts. Prints "ok ..." and
exits 0, or prints what differed and exits 1.

  py_fetch_ahead.py gen N M                          values for kcat: in.0 in.1 more.0
  py_fetch_ahead.py check HOST:PORT TOPIC N M DATA_DIR KCAT BROKER_PID
"""
import os
import socket
import struct
import subprocess
import sys
import time

from kafka.protocol.api import RequestHeader
from kafka.protocol.fetch import FetchRequest_v4, FetchResponse_v4
from kafka.record import MemoryRecords

PART_BYTES = 1 << 20


def value(p, o):
    return "p%d-o%d-%s" % (p, o, "x" * ((o * 7919 + p * 31) % 1200))


def gen(n, m):
    for p in (0, 1):
        with open("in.%d" % p, "w") as f:
            for o in range(n):
                f.write(value(p, o) + "\n")
    with open("more.0", "w") as f:
        for o in range(n, n + m):
            f.write(value(0, o) + "\n")


class Conn:
    def __init__(self, bs):
        host, port = bs.split(":")
        self.s = socket.create_connection((host, int(port)), timeout=30)
        self.corr = 0

    def rd(self, n):
        b = bytearray()
        while len(b) < n:
            c = self.s.recv(n - len(b))
            if not c:
                raise SystemExit("connection closed by the broker")
            b += c
        return bytes(b)

    def call_raw(self, api, ver, body):
        self.corr += 1
        hdr = struct.pack(">hhih", api, ver, self.corr, 2) + b"fa"
        self.s.sendall(struct.pack(">i", len(hdr) + len(body)) + hdr + body)
        resp = self.rd(struct.unpack(">i", self.rd(4))[0])
        if struct.unpack(">i", resp[:4])[0] != self.corr:
            raise SystemExit("correlation id mismatch")
        return resp[4:]

    def fetch(self, topic, offsets, wait_ms=100):
        """offsets: {partition: offset}. Returns {partition: (error, hw, raw records)}."""
        self.corr += 1
        req = FetchRequest_v4(replica_id=-1, max_wait_time=wait_ms, min_bytes=1,
                              max_bytes=8 * PART_BYTES, isolation_level=0,
                              topics=[(topic, [(p, o, PART_BYTES) for p, o in offsets.items()])])
        hdr = RequestHeader(req, correlation_id=self.corr, client_id="fa")  # kept: weak encode()
        msg = hdr.encode() + req.encode()
        self.s.sendall(struct.pack(">i", len(msg)) + msg)
        body = self.rd(struct.unpack(">i", self.rd(4))[0])
        resp = FetchResponse_v4.decode(body[4:])
        out = {}
        for _, parts in resp.topics:
            for pr in parts:
                out[pr[0]] = (pr[1], pr[2], pr[-1])
        return out

    def delete_records(self, topic, p, off):
        t = topic.encode()
        body = struct.pack(">ih", 1, len(t)) + t + struct.pack(">iiqi", 1, p, off, 10000)
        resp = self.call_raw(21, 1, body)
        off_ = 4 + 4
        (ln,) = struct.unpack_from(">h", resp, off_)
        off_ += 2 + ln + 4
        _, low, err = struct.unpack_from(">iqh", resp, off_)
        return low, err


def check_records(p, raw, want_from):
    """Verify the records of raw from offset want_from on; returns the next offset.
    Bytes that hold no whole batch with a record at or past want_from fail (a
    partition's 1 MiB holds several batches): so do a bad CRC and a gap."""
    nxt = want_from
    recs = MemoryRecords(raw)
    while recs.has_next():
        batch = recs.next_batch()
        if batch is None:
            break
        if not batch.validate_crc():
            raise SystemExit("p%d at %d: a batch with a bad CRC" % (p, want_from))
        for r in batch:
            if r.offset < want_from:
                continue  # a batch returned whole starts before the fetch offset
            if r.offset != nxt:
                raise SystemExit("p%d: offset %d where %d was due" % (p, r.offset, nxt))
            v = r.value.decode() if r.value is not None else None
            if v != value(p, r.offset):
                raise SystemExit("p%d offset %d: value differs (%r...)" % (p, r.offset,
                                                                           (v or "")[:40]))
            nxt += 1
    if raw and nxt == want_from:
        raise SystemExit("p%d at %d: %d bytes without a whole batch (%r...)" % (p, want_from,
                                                                              len(raw), raw[:24]))
    return nxt


def read(c, topic, pos, upto, max_bytes=None, wait_ms=100, deadline_s=120):
    """Read partitions pos={p: offset} until each reaches upto[p] (or max_bytes each)."""
    got = {p: 0 for p in pos}
    end = time.monotonic() + deadline_s
    while True:
        live = {p: o for p, o in pos.items()
                if o < upto[p] and (max_bytes is None or got[p] < max_bytes)}
        if not live:
            return pos
        if time.monotonic() > end:
            raise SystemExit("reading %s: no progress to %s in %d s" % (pos, upto, deadline_s))
        for p, (err, hw, raw) in c.fetch(topic, live, wait_ms).items():
            if err != 0:
                raise SystemExit("p%d at %d: error %d" % (p, live[p], err))
            nxt = check_records(p, raw, live[p])
            got[p] += len(raw)
            pos[p] = nxt


def bases(data_dir, topic, p):
    d = os.path.join(data_dir, "%s-%d" % (topic, p))
    return [int(f[:-4]) for f in os.listdir(d) if f.endswith(".log")]


def deleted_open(pid):
    """The deleted files the broker process still has open."""
    out = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if t.endswith(" (deleted)"):
            out.append(t)
    return out


def check(bs, topic, n, m, data_dir, kcat, pid):
    c = Conn(bs)
    # 1. two streams side by side
    pos = read(c, topic, {0: 0, 1: 0}, {0: n // 3, 1: n // 3})
    # 2. partition 0 jumps back, then forward; both read on to the end
    read(c, topic, {0: n // 10}, {0: n}, max_bytes=3 * PART_BYTES)
    read(c, topic, {0: 2 * n // 3, 1: pos[1]}, {0: n, 1: n})
    # 3. partition 1's segments deleted under its read-ahead
    p1 = read(c, topic, {1: n // 2}, {1: n}, max_bytes=2 * PART_BYTES)[1]
    logs = len(bases(data_dir, topic, 1))
    low, err = c.delete_records(topic, 1, 3 * n // 4)
    if err != 0 or low != 3 * n // 4:
        raise SystemExit("DeleteRecords: low %d error %d" % (low, err))
    end = time.monotonic() + 20
    # the segment holding N/2 (where p1's read-ahead was) goes
    while min(bases(data_dir, topic, 1)) <= n // 2 and time.monotonic() < end:
        time.sleep(0.1)
    left = len(bases(data_dir, topic, 1))
    if min(bases(data_dir, topic, 1)) <= n // 2:
        raise SystemExit("retention left the segment of p1 at %d" % (n // 2))
    err = c.fetch(topic, {1: p1})[1][0]
    if err != 1:
        raise SystemExit("p1 at %d below the new start: error %d, want 1" % (p1, err))
    read(c, topic, {1: 3 * n // 4}, {1: n})
    # 4. the log end of partition 0 while more records come (segments roll)
    prod = subprocess.Popen([kcat, "-P", "-b", bs, "-t", topic, "-p", "0", "-X", "acks=all",
                             "-X", "linger.ms=2"], stdin=open("more.0", "rb"),
                            stderr=subprocess.PIPE)
    try:
        read(c, topic, {0: n}, {0: n + m}, wait_ms=500)
    finally:
        rc = prod.wait(timeout=60)
    if rc != 0:
        raise SystemExit("kcat -P more.0: rc %d %s" % (rc, prod.stderr.read()[-300:]))
    # 5. read-ahead in partition 0's older segments, then the connection goes
    # quiet: those segments, deleted by retention, leave the disk while it stays
    # open (not only at its close)
    read(c, topic, {0: n // 10}, {0: n + m}, max_bytes=2 * PART_BYTES)
    low, err = c.delete_records(topic, 0, n + m)
    if err != 0 or low != n + m:
        raise SystemExit("DeleteRecords p0: low %d error %d" % (low, err))
    end = time.monotonic() + 30
    held = deleted_open(pid)
    while held and time.monotonic() < end:
        time.sleep(0.5)
        held = deleted_open(pid)
    if held:
        raise SystemExit("30 s after the connection went quiet the broker still holds "
                         "deleted files: %s" % held[:4])
    print("ok: p0 read to %d, p1 %d..%d after its start moved (%d -> %d .log files); "
          "no deleted segment held once the connection went quiet"
          % (n + m, 3 * n // 4, n, logs, left))


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(int(sys.argv[2]), int(sys.argv[3]))
    else:
        check(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6],
              sys.argv[7], int(sys.argv[8]))
