#!/usr/bin/python3
"""tests/clients/py_internal_topic.py - clients cannot write __consumer_offsets.

  py_internal_topic.py commit HOST:PORT GROUP TOPIC N   group consumer reads N, commits
  py_internal_topic.py attack HOST:PORT                 Produce, DeleteRecords, DeleteTopics
  py_internal_topic.py check HOST:PORT GROUP TOPIC N    committed offsets sum to N

attack sends, on raw connections, a Produce (v3, acks=all) of a forged record to
every partition of __consumer_offsets, a DeleteRecords (v0) of each to its high
watermark (-1) and a DeleteTopics (v1) of the topic; each must be answered with
INVALID_TOPIC_EXCEPTION (17), as Kafka answers. Prints the codes; exit 0 only
when every check holds.
"""
import socket
import struct
import sys
import time

from kafka.protocol.api import RequestHeader
from kafka.protocol.admin import DeleteTopicsRequest_v1, DeleteTopicsResponse_v1
from kafka.protocol.produce import ProduceRequest_v3, ProduceResponse_v3
from kafka.record.default_records import DefaultRecordBatchBuilder

CO = "__consumer_offsets"


def connect(bs):
    host, port = bs.split(":")
    return socket.create_connection((host, int(port)), timeout=20)


def rd(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise SystemExit("connection closed by the broker")
        b += c
    return b


def call_raw(s, api_key, version, corr, body):
    cid = b"rb-internal"
    hdr = struct.pack(">hhih", api_key, version, corr, len(cid)) + cid
    s.sendall(struct.pack(">i", len(hdr) + len(body)) + hdr + body)
    size = struct.unpack(">i", rd(s, 4))[0]
    resp = rd(s, size)
    assert struct.unpack(">i", resp[:4])[0] == corr
    return resp[4:]


def call(s, req, resp_cls, corr):
    hdr = RequestHeader(req, correlation_id=corr, client_id="rb-internal")
    msg = hdr.encode() + req.encode()
    s.sendall(struct.pack(">i", len(msg)) + msg)
    size = struct.unpack(">i", rd(s, 4))[0]
    return resp_cls.decode(rd(s, size)[4:])


def n_partitions(bs):
    from kafka import KafkaConsumer
    c = KafkaConsumer(bootstrap_servers=bs)
    ps = c.partitions_for_topic(CO)
    c.close()
    if not ps:
        raise SystemExit("%s does not exist" % CO)
    return sorted(ps)


def attack(bs):
    parts = n_partitions(bs)
    s = connect(bs)
    ok = True
    # Produce: a forged offset-commit-like record in every partition.
    topics = []
    for p in parts:
        b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False,
                                      producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                      batch_size=1 << 20)
        b.append(0, timestamp=int(time.time() * 1000), key=b"\x00\x01forged", value=b"forged",
                 headers=[])
        topics.append((p, bytes(b.build())))
    r = call(s, ProduceRequest_v3(transactional_id=None, required_acks=-1, timeout=10000,
                                  topics=[(CO, topics)]), ProduceResponse_v3, 1)
    codes = [pr[1] for _, prs in r.topics for pr in prs]
    print("produce: %d partitions, errors %s" % (len(codes), sorted(set(codes))))
    ok &= len(codes) == len(parts) and set(codes) == {17}
    # DeleteRecords v0 (api 21): every partition up to its high watermark.
    name = CO.encode()
    body = struct.pack(">ih", 1, len(name)) + name + struct.pack(">i", len(parts))
    for p in parts:
        body += struct.pack(">iq", p, -1)
    body += struct.pack(">i", 10000)
    resp = call_raw(s, 21, 0, 2, body)
    off = 4  # throttle
    (nt,) = struct.unpack_from(">i", resp, off)
    off += 4
    dcodes = []
    for _ in range(nt):
        (ln,) = struct.unpack_from(">h", resp, off)
        off += 2 + ln
        (np_,) = struct.unpack_from(">i", resp, off)
        off += 4
        for _ in range(np_):
            _, _, err = struct.unpack_from(">iqh", resp, off)
            off += 14
            dcodes.append(err)
    print("delete_records: %d partitions, errors %s" % (len(dcodes), sorted(set(dcodes))))
    ok &= len(dcodes) == len(parts) and set(dcodes) == {17}
    # DeleteTopics v1
    r = call(s, DeleteTopicsRequest_v1(topics=[CO], timeout=10000), DeleteTopicsResponse_v1, 3)
    tcodes = [e for _, e in r.topic_error_codes]
    print("delete_topics: errors %s" % tcodes)
    ok &= tcodes == [17]
    # Still there, with every partition.
    ok &= n_partitions(bs) == parts
    s.close()
    return ok


def commit(bs, group, topic, n):
    from kafka import KafkaConsumer
    c = KafkaConsumer(topic, bootstrap_servers=bs, group_id=group, auto_offset_reset="earliest",
                      enable_auto_commit=False, consumer_timeout_ms=20000)
    got = 0
    for _ in c:
        got += 1
        if got >= n:
            break
    c.commit()
    c.close()
    print("consumed %d, committed" % got)
    return got == n


def check(bs, group, n):
    from kafka import KafkaAdminClient
    a = KafkaAdminClient(bootstrap_servers=bs)
    offs = a.list_consumer_group_offsets(group)
    a.close()
    total = sum(m.offset for m in offs.values())
    print("committed offsets of %s: %d (want %d)" % (group, total, n))
    return total == n


mode, bs = sys.argv[1], sys.argv[2]
if mode == "attack":
    sys.exit(0 if attack(bs) else 1)
if mode == "commit":
    sys.exit(0 if commit(bs, sys.argv[3], sys.argv[4], int(sys.argv[5])) else 1)
if mode == "check":
    sys.exit(0 if check(bs, sys.argv[3], int(sys.argv[5])) else 1)
raise SystemExit("unknown mode " + mode)
