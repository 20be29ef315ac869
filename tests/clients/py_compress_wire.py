#!/usr/bin/python3
"""tests/clients/py_compress_wire.py - hand-made compressed record batches on the
wire (Produce v3, batches and CRC-32C encoded here, gzip by zlib), for the
broker's deep validation and compression.type recompression.

  py_compress_wire.py HOST:PORT KEEP_TOPIC REBUILD_TOPIC

KEEP_TOPIC has compression.type=producer (batches validated where they arrive),
REBUILD_TOPIC another codec than gzip (batches rebuilt by the owner shard). For
each topic: a good gzip batch -> 0; a zip bomb (one record of 80 MiB of zeros,
~80 KB gzipped) -> MESSAGE_TOO_LARGE (10); 3 records under a header that says 4
-> INVALID_RECORD (87); offset deltas 1,0 -> 87; a corrupt gzip stream (valid
batch CRC) -> CORRUPT_MESSAGE (2); codec 6 -> UNSUPPORTED_COMPRESSION_TYPE (76);
an uncompressed batch with a record length past its end -> 87; records 2 h in
the future (gzip, uncompressed) -> INVALID_TIMESTAMP (32: message.timestamp.
after.max.ms is 1 h); 50 min ahead -> 0. On REBUILD_TOPIC
also two batches in one partition -> 87. After each case the topic still takes
a good batch. Prints "ok: ..." lines; exits 1 on the first mismatch.
"""
import socket
import struct
import sys
import time
import zlib

HOST, PORT = sys.argv[1].split(":")
KEEP, REBUILD = sys.argv[2], sys.argv[3]
cid = 0


def die(msg):
    print("FAIL:", msg)
    sys.exit(1)


def _crc_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
        t.append(c)
    return t


CRC_T = _crc_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = CRC_T[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def varint(v):
    z = (v << 1) ^ (v >> 63)
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def record(off_delta, ts_delta, key, value):
    body = b"\x00" + varint(ts_delta) + varint(off_delta)
    body += varint(-1) if key is None else varint(len(key)) + key
    body += varint(len(value)) + value + varint(0)
    return varint(len(body)) + body


def batch(records_bytes, count, codec=1, compress=True, base_ts=1700000000000):
    """A v2 batch; records_bytes compressed with gzip when codec == 1 and compress."""
    payload = gzip(records_bytes) if codec == 1 and compress else records_bytes
    attrs = codec
    after_crc = struct.pack(">hiqqqhii", attrs, count - 1, base_ts, base_ts + count - 1,
                            -1, -1, -1, count) + payload
    crc = crc32c(after_crc)
    body = struct.pack(">ibI", 0, 2, crc) + after_crc
    return struct.pack(">qi", 0, len(body)) + body


def gzip(data):
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + 15)
    return c.compress(data) + c.flush()


def recvall(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            die("connection closed by broker")
        b += c
    return b


def produce(s, topic, records):
    """Produce v3, acks=-1, one partition (0); returns its error code."""
    global cid
    cid += 1
    t = topic.encode()
    body = struct.pack(">hhih", 0, 3, cid, 13) + b"compress-wire"
    body += struct.pack(">hhi", -1, -1, 30000)
    body += struct.pack(">ih", 1, len(t)) + t + struct.pack(">iii", 1, 0, len(records)) + records
    s.sendall(struct.pack(">i", len(body)) + body)
    size = struct.unpack(">i", recvall(s, 4))[0]
    r = recvall(s, size)
    corr, ntopics = struct.unpack(">ii", r[:8])
    if corr != cid or ntopics != 1:
        die("bad produce response header %r" % r[:16])
    tl = struct.unpack(">h", r[8:10])[0]
    pos = 10 + tl
    nparts, part, err = struct.unpack(">iih", r[pos:pos + 10])
    if nparts != 1 or part != 0:
        die("bad produce response partitions %r" % r[pos:pos + 20])
    return err


def good_records(n, tag):
    return b"".join(record(i, i, b"k%d" % i, (tag + "-%d" % i).encode() * 3) for i in range(n))


def main():
    s = socket.create_connection((HOST, int(PORT)), timeout=60)
    bomb = record(0, 0, None, bytes(80 << 20))
    bomb_batch = batch(bomb, 1)
    if len(bomb_batch) > 1000000:
        die("zip bomb batch is %d bytes, want < message.max.bytes" % len(bomb_batch))
    recs3 = good_records(3, "x")
    swapped = record(1, 0, b"a", b"1") + record(0, 1, b"b", b"2")
    bad_gz = bytearray(gzip(good_records(20, "z")))
    bad_gz[len(bad_gz) // 2] ^= 0xFF
    bad_len = bytearray(good_records(2, "u"))
    bad_len[0] = 0x7E  # first record's length varint: 63 bytes, more than there are
    cases = [
        ("good gzip batch", batch(good_records(5, "g"), 5), 0),
        ("zip bomb (80 MiB of zeros)", bomb_batch, 10),
        ("3 records, header says 4", batch(recs3, 4), 87),
        ("offset deltas 1,0", batch(swapped, 2), 87),
        ("corrupt gzip stream", batch(bytes(bad_gz), 20, compress=False), 2),
        ("codec 6", batch(good_records(2, "c"), 2, codec=6, compress=False), 76),
        ("uncompressed, record length past the end", batch(bytes(bad_len), 2, codec=0), 87),
        ("timestamps 2 h ahead", batch(recs3, 3, base_ts=int(time.time() * 1000) + 7200000), 32),
        ("timestamps 2 h ahead, uncompressed",
         batch(recs3, 3, codec=0, base_ts=int(time.time() * 1000) + 7200000), 32),
        ("timestamps 50 min ahead", batch(recs3, 3, base_ts=int(time.time() * 1000) + 3000000), 0),
    ]
    for topic in (KEEP, REBUILD):
        for label, data, want in cases:
            err = produce(s, topic, data)
            if err != want:
                die("%s on %s: error %d, want %d" % (label, topic, err, want))
            after = produce(s, topic, batch(good_records(2, "after"), 2))
            if after != 0:
                die("good batch after %s on %s: error %d" % (label, topic, after))
            print("ok: %s on %s -> %d" % (label, topic, err))
    two = batch(good_records(2, "t1"), 2) + batch(good_records(2, "t2"), 2)
    err = produce(s, REBUILD, two)
    if err != 87:
        die("two batches on %s: error %d, want 87" % (REBUILD, err))
    print("ok: two batches in one partition on %s -> 87" % REBUILD)
    print("ok: all cases")


main()
