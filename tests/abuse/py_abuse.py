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
  py_abuse.py bomb HOST:PORT TOPIC NREQ NBATCH MIB OVER_MIB
      compression bombs: NREQ Produce v7 requests (acks=1, partition 0), pipelined
      on one connection, each carrying NBATCH batches (zstd and lz4 in turn) of one
      record whose MIB MiB of zeros compress to a few KiB (legal: under the
      decompression cap), each followed by a request of one small uncompressed
      record (the base offsets must grow in send order), then one request with one zstd and one lz4 batch of
      OVER_MIB MiB (over the cap: must be refused). Meanwhile a second connection
      does Metadata round trips in a loop. Then a Fetch from offset 0 counts the
      records stored (from the batch headers, nothing decompressed). Prints
      "bomb legal=.. acked=.. refused_errors=.. stored=.. probes=.. max_rtt_ms=..";
      exit 1 when a legal request was refused or an over-cap one accepted.
  py_abuse.py bomb_drop HOST:PORT TOPIC NREQ NBATCH MIB HOLD_S
      NREQ Produce requests of NBATCH batches as bomb's, sent on one connection that
      reads nothing and is closed HOLD_S seconds later (while the broker still
      validates them), a second connection doing Metadata round trips meanwhile and
      until 1 s after the close. Prints "bomb_drop probes=.. max_rtt_ms=..".
  py_abuse.py lotime HOST:PORT TOPIC PARTS MIB
      one Produce of a zstd batch holding one record of MIB MiB of zeros to each of
      partitions 0..PARTS-1 (a topic with compression.type lz4 makes the owner
      rebuild each), then one ListOffsets v1 asking each partition for that record's timestamp:
      every partition must answer offset 0. A second connection does Metadata round
      trips during both. Prints "lotime ... produce_max_rtt_ms=.. max_rtt_ms=..".
  py_abuse.py count HOST:PORT TOPIC
      the records stored in TOPIC-0, counted from the fetched batch headers.
"""
import ctypes
import multiprocessing
import socket
import struct
import sys
import time

from kafka.protocol.api import RequestHeader
from kafka.protocol.fetch import FetchRequest_v4, FetchResponse_v4
from kafka.protocol.metadata import MetadataRequest_v4, MetadataResponse_v4
from kafka.protocol.metadata import MetadataRequest_v1
from kafka.protocol.offset import OffsetRequest_v1, OffsetResponse_v1
from kafka.protocol.produce import ProduceRequest_v7, ProduceResponse_v7
from kafka.record.util import calc_crc32c

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
def zz(v):
    """Zigzag varint (Kafka's record fields)."""
    v = (v << 1) ^ (v >> 63)
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


class LZ4FPrefs(ctypes.Structure):
    """LZ4F_preferences_t (lz4frame.h)."""
    _fields_ = [("blockSizeID", ctypes.c_int), ("blockMode", ctypes.c_int),
                ("contentChecksumFlag", ctypes.c_int), ("frameType", ctypes.c_int),
                ("contentSize", ctypes.c_ulonglong), ("dictID", ctypes.c_uint),
                ("blockChecksumFlag", ctypes.c_int), ("compressionLevel", ctypes.c_int),
                ("autoFlush", ctypes.c_uint), ("favorDecSpeed", ctypes.c_uint),
                ("reserved", ctypes.c_uint * 3)]


def compress(codec, data):
    """zstd (4) or lz4 frame (3) through the C libraries the broker links."""
    if codec == 4:
        lib = ctypes.CDLL("libzstd.so.1")
        lib.ZSTD_compressBound.restype = ctypes.c_size_t
        lib.ZSTD_compress.restype = ctypes.c_size_t
        cap = lib.ZSTD_compressBound(ctypes.c_size_t(len(data)))
        dst = ctypes.create_string_buffer(cap)
        n = lib.ZSTD_compress(dst, ctypes.c_size_t(cap), data, ctypes.c_size_t(len(data)), 3)
    else:
        lib = ctypes.CDLL("liblz4.so.1")
        lib.LZ4F_compressFrameBound.restype = ctypes.c_size_t
        lib.LZ4F_compressFrame.restype = ctypes.c_size_t
        prefs = LZ4FPrefs(blockSizeID=4, blockMode=1)  # 64 KiB independent blocks (Kafka's)
        cap = lib.LZ4F_compressFrameBound(ctypes.c_size_t(len(data)), ctypes.byref(prefs))
        dst = ctypes.create_string_buffer(cap)
        n = lib.LZ4F_compressFrame(dst, ctypes.c_size_t(cap), data, ctypes.c_size_t(len(data)),
                                   ctypes.byref(prefs))
    assert 0 < n <= cap, "compression failed"
    return dst.raw[:n]


def one_record_batch(codec, value_len):
    """A RecordBatch v2 (no producer id) of one record of value_len zero bytes."""
    body = b"\0" + zz(0) + zz(0) + zz(-1) + zz(value_len) + bytes(value_len) + zz(0)
    recs = zz(len(body)) + body
    if codec:
        recs = compress(codec, recs)
    now = int(time.time() * 1000)
    after_crc = struct.pack(">hiqqqhii", codec, 0, now, now, -1, -1, -1, 1) + recs
    crc = calc_crc32c(after_crc)
    rest = struct.pack(">ibI", -1, 2, crc) + after_crc
    return struct.pack(">qi", 0, len(rest)) + rest


def produce_frame(topic, batches, corr):
    req = ProduceRequest_v7(transactional_id=None, required_acks=1, timeout=60000,
                            topics=[(topic, [(0, b"".join(batches))])])
    hdr = RequestHeader(req, correlation_id=corr, client_id="rb-bomb")
    msg = hdr.encode() + req.encode()
    return struct.pack(">i", len(msg)) + msg


def meta_frame(corr):
    req = MetadataRequest_v1(topics=[])
    hdr = RequestHeader(req, correlation_id=corr, client_id="rb-probe")  # kept: weak encode()
    msg = hdr.encode() + req.encode()
    return struct.pack(">i", len(msg)) + msg


def probe_loop(bs, stop, pipe):
    """A process of its own (no shared interpreter lock with the bomber)."""
    out = []
    s = connect(bs, reads=True)
    corr = 0
    while not stop.is_set():
        t0 = time.monotonic()
        s.sendall(meta_frame(corr))
        read_frame(s)
        out.append((time.monotonic() - t0, t0))
        corr += 1
        time.sleep(0.005)
    s.close()
    pipe.send(out)


def stored_records(bs, topic):
    """Records in partition 0, from the fetched batch headers."""
    s = connect(bs, reads=True)
    total, off = 0, 0
    while True:
        req = FetchRequest_v4(replica_id=-1, max_wait_time=0, min_bytes=0, max_bytes=BIG,
                              isolation_level=0, topics=[(topic, [(0, off, 1 << 24)])])
        hdr = RequestHeader(req, correlation_id=9, client_id="rb-bomb")  # kept: weak encode()
        msg = hdr.encode() + req.encode()
        s.sendall(struct.pack(">i", len(msg)) + msg)
        resp = FetchResponse_v4.decode(read_frame(s)[4:])
        data = resp.topics[0][1][0][-1] or b""
        pos, got = 0, 0
        while pos + 61 <= len(data):
            base, blen = struct.unpack_from(">qi", data, pos)
            if pos + 12 + blen > len(data):
                break
            got += struct.unpack_from(">i", data, pos + 57)[0]
            off = base + struct.unpack_from(">i", data, pos + 23)[0] + 1
            pos += 12 + blen
        total += got
        if got == 0:
            s.close()
            return total


def bomb(bs, topic, nreq, nbatch, mib, over_mib):
    legal = [one_record_batch(4 if i % 2 == 0 else 3, mib << 20) for i in range(2)]
    small = one_record_batch(0, 100)
    frames = []  # each big request followed by a small one: offsets in send order
    for r in range(nreq):
        frames.append(produce_frame(topic, [legal[b % 2] for b in range(nbatch)], 2 * r))
        frames.append(produce_frame(topic, [small], 2 * r + 1))
    over = [one_record_batch(4, over_mib << 20), one_record_batch(3, over_mib << 20)]
    frames += [produce_frame(topic, [b], 2 * nreq + i) for i, b in enumerate(over)]
    stop = multiprocessing.Event()
    rx, tx = multiprocessing.Pipe(duplex=False)
    probe = multiprocessing.Process(target=probe_loop, args=(bs, stop, tx))
    probe.start()
    time.sleep(0.3)
    s = connect(bs, reads=True)
    s.settimeout(300)
    t0 = time.monotonic()
    s.sendall(b"".join(frames))
    errors, bases = [], []
    for _ in frames:
        resp = ProduceResponse_v7.decode(read_frame(s)[4:])
        errors.append(resp.topics[0][1][0][1])
        bases.append(resp.topics[0][1][0][2])
    secs = time.monotonic() - t0
    t_bomb = t0
    time.sleep(0.3)
    stop.set()
    rtts = rx.recv()
    probe.join()
    s.close()
    acked = sum((nbatch if r % 2 == 0 else 1) for r, e in enumerate(errors[:2 * nreq]) if e == 0)
    in_order = all(bases[r] < bases[r + 1] for r in range(2 * nreq - 1))
    refused = errors[2 * nreq:]
    stored = stored_records(bs, topic)
    worst = max(rtts or [(0, t_bomb)])
    rtt_ms = sorted(1000 * r for r, _ in rtts) or [0]
    print("bomb legal=%d acked=%d in_order=%d errors=%s refused_errors=%s stored=%d request_bytes=%d "
          "decompressed_mib=%d secs=%.2f probes=%d p50_rtt_ms=%.1f max_rtt_ms=%.0f max_at_s=%.2f" %
          (nreq * (nbatch + 1), acked, in_order, ",".join(map(str, errors[:2 * nreq])),
           ",".join(map(str, refused)), stored,
           sum(len(f) for f in frames), nreq * nbatch * mib, secs, len(rtts),
           rtt_ms[len(rtt_ms) // 2], 1000 * worst[0], worst[1] - t_bomb), flush=True)
    if acked != nreq * (nbatch + 1) or not in_order or 0 in refused or stored != acked:
        raise SystemExit(1)


def bomb_drop(bs, topic, nreq, nbatch, mib, hold_s):
    legal = [one_record_batch(4 if i % 2 == 0 else 3, mib << 20) for i in range(2)]
    frames = [produce_frame(topic, [legal[b % 2] for b in range(nbatch)], r) for r in range(nreq)]
    p = probe_start(bs)
    s = connect(bs, reads=True)
    s.sendall(b"".join(frames))
    time.sleep(hold_s)
    s.close()
    time.sleep(1)
    rtts = probe_stop(p)
    rtt_ms = sorted(1000 * r for r, _ in rtts) or [0]
    print("bomb_drop requests=%d probes=%d p50_rtt_ms=%.1f max_rtt_ms=%.0f"
          % (nreq, len(rtts), rtt_ms[len(rtt_ms) // 2], rtt_ms[-1]), flush=True)


def probe_start(bs):
    stop = multiprocessing.Event()
    rx, tx = multiprocessing.Pipe(duplex=False)
    probe = multiprocessing.Process(target=probe_loop, args=(bs, stop, tx))
    probe.start()
    time.sleep(0.3)
    return stop, rx, probe


def probe_stop(p):
    stop, rx, probe = p
    time.sleep(0.3)
    stop.set()
    rtts = rx.recv()
    probe.join()
    return rtts


def lotime(bs, topic, parts, mib):
    batch = one_record_batch(4, mib << 20)
    ts = struct.unpack_from(">q", batch, 27)[0]
    s = connect(bs, reads=True)
    s.settimeout(300)
    req = ProduceRequest_v7(transactional_id=None, required_acks=1, timeout=60000,
                            topics=[(topic, [(p, batch) for p in range(parts)])])
    hdr = RequestHeader(req, correlation_id=1, client_id="rb-bomb")  # kept: weak encode()
    msg = hdr.encode() + req.encode()
    p = probe_start(bs)
    s.sendall(struct.pack(">i", len(msg)) + msg)
    resp = ProduceResponse_v7.decode(read_frame(s)[4:])
    prtts = probe_stop(p)
    perr = [p[1] for p in resp.topics[0][1]]
    if any(perr):
        raise SystemExit("lotime: produce errors %s" % perr)
    p = probe_start(bs)
    req = OffsetRequest_v1(replica_id=-1, topics=[(topic, [(i, ts) for i in range(parts)])])
    hdr = RequestHeader(req, correlation_id=2, client_id="rb-bomb")  # kept: weak encode()
    msg = hdr.encode() + req.encode()
    t0 = time.monotonic()
    s.sendall(struct.pack(">i", len(msg)) + msg)
    resp = OffsetResponse_v1.decode(read_frame(s)[4:])
    secs = time.monotonic() - t0
    rtts = probe_stop(p)
    answers = [(q[1], q[3]) for q in resp.topics[0][1]]
    rtt_ms = sorted(1000 * r for r, _ in rtts) or [0]
    print("lotime parts=%d mib=%d produce_max_rtt_ms=%.0f answers_ok=%d secs=%.2f probes=%d "
          "p50_rtt_ms=%.1f max_rtt_ms=%.0f"
          % (parts, mib, 1000 * max(prtts or [(0, 0)])[0],
             sum(1 for a in answers if a == (0, 0)), secs, len(rtts),
             rtt_ms[len(rtt_ms) // 2], rtt_ms[-1]), flush=True)
    s.close()
    if len(answers) != parts or any(a != (0, 0) for a in answers):
        raise SystemExit("lotime: answers %s" % answers)


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
    elif mode == "lotime":
        lotime(a[2], a[3], int(a[4]), int(a[5]))
    elif mode == "bomb_drop":
        bomb_drop(a[2], a[3], int(a[4]), int(a[5]), int(a[6]), float(a[7]))
    elif mode == "count":
        print(stored_records(a[2], a[3]))
    elif mode == "bomb":
        bomb(a[2], a[3], int(a[4]), int(a[5]), int(a[6]), int(a[7]))
    else:
        raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main(sys.argv)
