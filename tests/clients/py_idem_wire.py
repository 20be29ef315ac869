#!/usr/bin/python3
"""tests/clients/py_idem_wire.py - idempotent-producer rules on the wire, with
hand-made requests (kafka-python 2.0.2 builds the record batches and Produce v3;
InitProducerId is encoded here, v0 and flexible v4).

  py_idem_wire.py HOST:PORT TOPIC STATEFILE phase1|phase2|phase3

phase1: InitProducerId (unique ids, errors for a transactional id and for a
  half-given producer id), then on partition 0: append, exact retry -> same
  offset and no error, next batch, gap -> 45, new epoch not at 0 -> 45, new
  epoch at 0, old epoch -> 47, a batch without producer id; saves what it sent.
phase2 (after a broker restart): the last batch of each epoch retried -> its
  original offset (state came back from the snapshot or the log), the
  sequence continues, the old epoch is still fenced, new ids are above the old.
phase3: same checks again after another restart (e.g. kill -9 after phase2).
Prints "ok: ..." lines; exits 1 on the first mismatch.
"""
import json
import socket
import struct
import sys
import time

from kafka.protocol.api import RequestHeader
from kafka.protocol.metadata import MetadataRequest_v0
from kafka.protocol.produce import ProduceRequest_v3
from kafka.record.default_records import DefaultRecordBatchBuilder

HOST, PORT = sys.argv[1].split(":")
TOPIC, STATE, PHASE = sys.argv[2], sys.argv[3], sys.argv[4]
cid = 0


def die(msg):
    print("FAIL:", msg)
    sys.exit(1)


def recvall(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            die("connection closed by broker")
        b += c
    return b


def conn():
    s = socket.create_connection((HOST, int(PORT)), timeout=20)
    return s


def raw_call(s, frame_wo_size):
    s.sendall(struct.pack(">i", len(frame_wo_size)) + frame_wo_size)
    size = struct.unpack(">i", recvall(s, 4))[0]
    return recvall(s, size)


def call(s, req):
    global cid
    cid += 1
    hdr = RequestHeader(req, correlation_id=cid, client_id="idem-wire")  # keep it alive
    data = raw_call(s, hdr.encode() + req.encode())
    return req.RESPONSE_TYPE.decode(data[4:])


def init_pid_v0(s, txn=None):
    global cid
    cid += 1
    body = struct.pack(">hhih", 22, 0, cid, 9) + b"idem-wire"
    if txn is None:
        body += struct.pack(">h", -1)
    else:
        body += struct.pack(">h", len(txn)) + txn.encode()
    body += struct.pack(">i", 60000)
    r = raw_call(s, body)
    corr, thr, err, pid, epoch = struct.unpack(">iihqh", r)
    return err, pid, epoch


def init_pid_v4(s, pid=-1, epoch=-1):
    global cid
    cid += 1
    hdr = struct.pack(">hhih", 22, 4, cid, 9) + b"idem-wire" + b"\x00"
    body = b"\x00" + struct.pack(">iqh", 60000, pid, epoch) + b"\x00"
    r = raw_call(s, hdr + body)
    corr, tag, thr, err, rpid, repoch, tag2 = struct.unpack(">ibihqhb", r)
    return err, rpid, repoch


def batch(pid, epoch, seq, n, tag):
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=0, producer_id=pid,
                                  producer_epoch=epoch, base_sequence=seq, batch_size=1 << 20)
    for i in range(n):
        b.append(i, timestamp=None, key=("%s-%d" % (tag, i)).encode(), value=b"x" * 20, headers=[])
    return bytes(b.build())


def produce(s, data, part=0):
    r = call(s, ProduceRequest_v3(transactional_id=None, required_acks=-1, timeout=10000,
                                  topics=[(TOPIC, [(part, data)])]))
    (_, parts), = r.topics
    (_, err, off, _), = parts
    return err, off


def expect(what, got, want):
    if got != want:
        die("%s: got %r, want %r" % (what, got, want))
    print("ok:", what, "->", got)


def ensure_topic(s):
    for _ in range(50):
        r = call(s, MetadataRequest_v0(topics=[TOPIC]))
        for t in r.topics:
            if t[1] == TOPIC and t[0] == 0 and t[2]:
                return
        time.sleep(0.2)
    die("topic %s not available" % TOPIC)


def phase1(s):
    e1, p1, ep1 = init_pid_v0(s)
    e2, p2, ep2 = init_pid_v4(s)
    expect("InitProducerId v0 error", e1, 0)
    expect("InitProducerId v4 error", e2, 0)
    expect("InitProducerId epochs", (ep1, ep2), (0, 0))
    if p1 < 0 or p2 <= p1:
        die("producer ids not unique/increasing: %d %d" % (p1, p2))
    print("ok: producer ids", p1, p2)
    expect("InitProducerId with transactional id", init_pid_v0(s, "txn-1")[0], 15)
    expect("InitProducerId v4 pid without epoch", init_pid_v4(s, p2, -1)[0], 42)
    e3, p3, ep3 = init_pid_v4(s, p2, 0)  # epoch bump request: a fresh id, epoch 0
    expect("InitProducerId v4 bump", (e3, ep3, p3 > p2), (0, 0, True))
    pid = p1
    b0 = batch(pid, 0, 0, 3, "a")
    err, off0 = produce(s, b0)
    expect("first batch", err, 0)
    expect("exact retry", produce(s, b0), (0, off0))
    b1 = batch(pid, 0, 3, 2, "b")
    expect("next in sequence", produce(s, b1), (0, off0 + 3))
    expect("retry of an older batch", produce(s, b0), (0, off0))
    expect("gap", produce(s, batch(pid, 0, 9, 1, "c"))[0], 45)
    expect("new epoch not at 0", produce(s, batch(pid, 1, 5, 1, "d"))[0], 45)
    b2 = batch(pid, 1, 0, 4, "e")
    expect("new epoch at 0", produce(s, b2), (0, off0 + 5))
    expect("old epoch fenced", produce(s, batch(pid, 0, 5, 1, "f"))[0], 47)
    expect("old epoch retry fenced", produce(s, b1)[0], 47)
    expect("no producer id", produce(s, batch(-1, -1, -1, 2, "g")), (0, off0 + 9))
    json.dump({"pid": pid, "max_pid": p3, "off0": off0, "b2_off": off0 + 5,
               "b0": b0.hex(), "b1": b1.hex(), "b2": b2.hex()}, open(STATE, "w"))


def phase_after_restart(s, st, label):
    pid = st["pid"]
    expect(label + ": retry of the last batch", produce(s, bytes.fromhex(st["b2"])),
           (0, st["b2_off"]))
    expect(label + ": old epoch still fenced", produce(s, bytes.fromhex(st["b1"]))[0], 47)
    expect(label + ": gap still detected", produce(s, batch(pid, 1, 7, 1, "h"))[0], 45)
    err, off = produce(s, batch(pid, 1, 4 + st.get("extra", 0), 1, "i"))
    expect(label + ": sequence continues", err, 0)
    st["extra"] = st.get("extra", 0) + 1
    st["b2"] = batch(pid, 1, 4 + st["extra"] - 1, 1, "i").hex()
    st["b2_off"] = off
    e, p, _ = init_pid_v0(s)
    expect(label + ": InitProducerId error", e, 0)
    if p <= st["max_pid"]:
        die("%s: producer id %d reused (<= %d)" % (label, p, st["max_pid"]))
    print("ok: %s: new producer id %d above %d" % (label, p, st["max_pid"]))
    st["max_pid"] = p
    json.dump(st, open(STATE, "w"))


s = conn()
ensure_topic(s)
if PHASE == "phase1":
    phase1(s)
else:
    phase_after_restart(s, json.load(open(STATE)), PHASE)
print("wire checks passed:", PHASE)
