#!/usr/bin/python3
"""tests/cluster/cl_client.py - the cluster tests' client steps (run under
/usr/bin/python3: confluent-kafka 1.7 on librdkafka, kafka-python 2.0.2 for
requests sent to one chosen broker).

  cl_client.py meta HOST:PORT
      Metadata v1 from exactly that broker, as JSON on stdout:
      {"brokers": {id: "host:port"}, "controller": id, "topics": {name:
      {"error": e, "partitions": {p: {"leader": l, "replicas": [...],
      "isr": [...], "error": e}}}}}
  cl_client.py produce BOOTSTRAP TOPIC FIRST_SEQ N PARTS ACKFILE [--tolerate]
      librdkafka producer (acks=all, idempotent unless CL_IDEMPOTENT=0): record seq goes to partition
      PARTS[seq % len] (PARTS "0,1,2"); every acknowledged record appends
      "partition offset seq" to ACKFILE. Exit 0 iff all N are acknowledged
      (--tolerate: exit 0 anyway; the counts are printed). CL_ACKS=1 with
      CL_IDEMPOTENT=0: acks=1 instead.
  cl_client.py produce-until BOOTSTRAP TOPIC PARTS ACKFILE STOPFILE RATE
      the same producer (idempotent, acks=all, message.timeout.ms 120 s so a
      record outlives a failover) sending RATE records a second, seq 0, 1, ...,
      until STOPFILE exists, then flushing; each acknowledgement is appended to
      ACKFILE as it arrives. Prints the counts and the longest time without an
      acknowledgement (the clients' view of a failover); exit 0 when nothing is
      left unanswered (failed deliveries are counted, not acknowledged).
      CL_FIRST_SEQ: the first seq (default 0).
  cl_client.py consume BOOTSTRAP TOPIC PARTS ACKFILE...
      librdkafka consumer, no group: reads each of PARTS from the beginning to its
      high watermark and checks: every record in the ACKFILEs is at its
      acknowledged (partition, offset) with its content (0 lost), no seq twice
      (no duplicates), offsets contiguous, content matches seq. Prints counts,
      with the places where a partition's seqs go down (order); CL_CHECK_ORDER=1
      makes those fail too (one producer whose seqs only grow).
  cl_client.py commit BOOTSTRAP GROUP TOPIC PARTS OFFSET
      librdkafka consumer of GROUP (no subscription) commits OFFSET for each of
      PARTS synchronously; exit 0 when the commit succeeded.
  cl_client.py committed BOOTSTRAP GROUP TOPIC PARTS
      prints GROUP's committed offsets of PARTS, "p:offset" comma-separated
      (-1001: none), retried for up to 60 s while the coordinator moves.
  cl_client.py produce-to HOST:PORT TOPIC PART SEQ [SIZE]
      one Produce v3 (acks=-1) of record SEQ (with SIZE: key "big", a value of
      SIZE bytes) sent to exactly that broker,
      whatever the metadata says; prints "error=E offset=O" (exit 0 either way;
      exit 3 when the broker does not answer within 20 s).
  cl_client.py list-offset HOST:PORT TOPIC PART
      one ListOffsets v1 (a client's, "latest": the high watermark) sent to exactly
      that broker; prints "error=E offset=O".
  cl_client.py coordinator HOST:PORT GROUP
      FindCoordinator v0 on that broker; prints "error=E id=I host:port".
  cl_client.py create-topic HOST:PORT TOPIC PARTITIONS RF
      CreateTopics v2 to that broker; prints "error=E message=M".
  cl_client.py init-pid HOST:PORT
      InitProducerId v0 (no transactional id) on that broker; prints
      "error=E pid=P epoch=E".
  cl_client.py topic-config HOST:PORT TOPIC KEY
      DescribeConfigs v1 of the topic on that broker; prints "error=E value=V".
  cl_client.py alter-reassign HOST:PORT TOPIC:PART:B1,B2|TOPIC:PART:null ...
      AlterPartitionReassignments v0 (flexible, hand-encoded: kafka-python has no
      class for it) on that broker; prints "TOPIC-PART error=E message=M" a line.

Record seq: key "k<seq>", value "v<seq>:" + "x" * (seq % 50).
Requests to one broker wait CL_CALL_TIMEOUT seconds (default 20) for the answer.
Every wait is bounded; any broker misbehaviour becomes a message and exit 1.
"""
import json
import os
import socket
import struct
import sys
import time

from kafka.protocol.admin import CreateTopicsRequest_v2, DescribeConfigsRequest_v1
from kafka.protocol.api import RequestHeader
from kafka.protocol.commit import GroupCoordinatorRequest_v0
from kafka.protocol.metadata import MetadataRequest_v1
from kafka.protocol.offset import OffsetRequest_v1
from kafka.protocol.produce import ProduceRequest_v3
from kafka.record.default_records import DefaultRecordBatchBuilder


def die(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)


def value_of(seq):
    return ("v%d:" % seq + "x" * (seq % 50)).encode()


def hostport(s):
    h, p = s.rsplit(":", 1)
    return h, int(p)


def call(addr, req, timeout=None):
    if timeout is None:
        timeout = float(os.environ.get("CL_CALL_TIMEOUT", "20"))
    s = socket.create_connection(hostport(addr), timeout=timeout)
    try:
        hdr = RequestHeader(req, correlation_id=1, client_id="cl-client")
        frame = hdr.encode() + req.encode()
        s.sendall(struct.pack(">i", len(frame)) + frame)

        def recvall(n):
            b = b""
            while len(b) < n:
                c = s.recv(n - len(b))
                if not c:
                    raise ConnectionError("connection closed by the broker")
                b += c
            return b

        size = struct.unpack(">i", recvall(4))[0]
        data = recvall(size)
        return req.RESPONSE_TYPE.decode(data[4:])
    finally:
        s.close()


def meta(addr):
    r = call(addr, MetadataRequest_v1(topics=None))
    out = {"brokers": {}, "controller": r.controller_id, "topics": {}}
    for b in r.brokers:
        out["brokers"][b[0]] = "%s:%d" % (b[1], b[2])
    for t in r.topics:
        err, name, _internal, parts = t
        ps = {}
        for p in parts:
            perr, pid, leader, replicas, isr = p
            ps[pid] = {"leader": leader, "replicas": list(replicas), "isr": list(isr), "error": perr}
        out["topics"][name] = {"error": err, "partitions": ps}
    return out


def produce(bs, topic, first, n, parts, ackfile, tolerate):
    from confluent_kafka import Producer

    idem = os.environ.get("CL_IDEMPOTENT", "1") != "0"
    acks = os.environ.get("CL_ACKS", "all")
    p = Producer({"bootstrap.servers": bs, "acks": acks, "enable.idempotence": idem,
                  "message.timeout.ms": 30000, "socket.timeout.ms": 10000,
                  "topic.metadata.refresh.interval.ms": 1000})
    acked, failed = [], []

    def dr(err, msg):
        seq = int(msg.key()[1:])
        if err is not None:
            failed.append((seq, str(err)))
        else:
            acked.append((msg.partition(), msg.offset(), seq))

    for seq in range(first, first + n):
        while True:
            try:
                p.produce(topic, key=b"k%d" % seq, value=value_of(seq),
                          partition=parts[seq % len(parts)], on_delivery=dr)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    left = p.flush(60)
    with open(ackfile, "a") as f:
        for a in acked:
            f.write("%d %d %d\n" % a)
    print("produce %s: %d sent, %d acknowledged, %d failed, %d unanswered"
          % (topic, n, len(acked), len(failed), left))
    for seq, e in failed[:5]:
        print("  seq %d: %s" % (seq, e))
    if (failed or left or len(acked) != n) and not tolerate:
        sys.exit(1)


def produce_until(bs, topic, parts, ackfile, stopfile, rate):
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bs, "acks": "all", "enable.idempotence": True,
                  "message.timeout.ms": 120000, "socket.timeout.ms": 10000,
                  "topic.metadata.refresh.interval.ms": 1000})
    out = open(ackfile, "a")
    st = {"acked": 0, "failed": [], "last": time.monotonic(), "gap": 0.0}

    def dr(err, msg):
        now = time.monotonic()
        if err is not None:
            st["failed"].append((int(msg.key()[1:]), str(err)))
            return
        st["gap"] = max(st["gap"], now - st["last"])
        st["last"] = now
        st["acked"] += 1
        out.write("%d %d %d\n" % (msg.partition(), msg.offset(), int(msg.key()[1:])))
        out.flush()

    first = int(os.environ.get("CL_FIRST_SEQ", "0"))
    seq, t0 = first, time.monotonic()
    while not os.path.exists(stopfile):
        due = t0 + (seq - first) / rate
        now = time.monotonic()
        if now < due:
            p.poll(due - now)
            continue
        try:
            p.produce(topic, key=b"k%d" % seq, value=value_of(seq),
                      partition=parts[seq % len(parts)], on_delivery=dr)
            seq += 1
        except BufferError:
            p.poll(0.1)
        p.poll(0)
    left = p.flush(150)
    out.close()
    print("produce-until %s: %d sent, %d acknowledged, %d failed, %d unanswered, longest time"
          " without an acknowledgement %.2f s" % (topic, seq, st["acked"], len(st["failed"]),
                                                   left, st["gap"]))
    for s_, e in st["failed"][:5]:
        print("  seq %d: %s" % (s_, e))
    if left:
        sys.exit(1)


def group_consumer(bs, group):
    from confluent_kafka import Consumer
    return Consumer({"bootstrap.servers": bs, "group.id": group, "enable.auto.commit": False,
                     "socket.timeout.ms": 10000})


def commit(bs, group, topic, parts, offset):
    from confluent_kafka import TopicPartition
    c = group_consumer(bs, group)
    deadline, err = time.time() + 60, None
    while time.time() < deadline:
        try:
            c.commit(offsets=[TopicPartition(topic, p, offset) for p in parts],
                     asynchronous=False)
            c.close()
            return
        except Exception as e:  # the coordinator is moving: retried, bounded
            err = e
            time.sleep(0.5)
    c.close()
    die("commit of %s: %s" % (group, err))


def committed(bs, group, topic, parts):
    from confluent_kafka import TopicPartition
    c = group_consumer(bs, group)
    deadline, err = time.time() + 60, None
    while time.time() < deadline:
        try:
            got = c.committed([TopicPartition(topic, p) for p in parts], timeout=10)
            c.close()
            print(",".join("%d:%d" % (tp.partition, tp.offset) for tp in got))
            return
        except Exception as e:
            err = e
            time.sleep(0.5)
    c.close()
    die("committed offsets of %s: %s" % (group, err))


def consume(bs, topic, parts, ackfiles):
    from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING

    want = {}
    for f in ackfiles:
        for line in open(f):
            if line.strip():
                p, o, s = map(int, line.split())
                if (p, o) in want and want[(p, o)] != s:
                    die("two acknowledged records at partition %d offset %d: seq %d and %d (one of"
                        " them acknowledged but not stored, e.g. deduplicated as a retry of another"
                        " producer with the same producer id)" % (p, o, want[(p, o)], s))
                want[(p, o)] = s
    c = Consumer({"bootstrap.servers": bs, "group.id": "cl-check-unused",
                  "enable.auto.commit": False, "socket.timeout.ms": 10000,
                  "fetch.wait.max.ms": 200})
    got, bad, gaps, order = {}, [], [], []
    try:
        for p in parts:
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=15)
            if hi <= lo:
                continue
            c.assign([TopicPartition(topic, p, OFFSET_BEGINNING)])
            deadline = time.time() + 60
            last, last_seq = None, None
            while time.time() < deadline:
                m = c.poll(1.0)
                if m is None:
                    continue
                if m.error():
                    continue
                o = m.offset()
                if last is not None and o != last + 1:
                    gaps.append((p, last, o))
                last = o
                seq = int(m.key()[1:])
                if last_seq is not None and seq < last_seq:
                    order.append((p, o, last_seq, seq))
                last_seq = seq
                if m.value() != value_of(seq):
                    bad.append((p, o, seq))
                got[(p, o)] = seq
                if o >= hi - 1:
                    break
            else:
                die("partition %d: read up to %s of high watermark %d within 60 s" % (p, last, hi))
    finally:
        c.close()
    lost = [(k, v) for k, v in want.items() if got.get(k) != v]
    seqs = {}
    for k, s in got.items():
        seqs.setdefault(s, []).append(k)
    dups = {s: ks for s, ks in seqs.items() if len(ks) > 1}
    print("consume %s: %d records read, %d acknowledged, %d lost, %d duplicates, %d bad, %d gaps,"
          " %d out of order" % (topic, len(got), len(want), len(lost), len(dups), len(bad),
                                len(gaps), len(order)))
    strict = os.environ.get("CL_CHECK_ORDER") == "1"
    if lost or dups or bad or gaps or (order and strict):
        print("  lost", lost[:5], "dups", list(dups.items())[:5], "bad", bad[:5], "gaps", gaps[:5],
              "order", order[:5])
        sys.exit(1)


def produce_to(addr, topic, part, seq, size=None):
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=0, producer_id=-1,
                                  producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    if size is None:
        b.append(0, timestamp=None, key=b"k%d" % seq, value=value_of(seq), headers=[])
    else:
        b.append(0, timestamp=None, key=b"big", value=b"y" * size, headers=[])
    try:
        r = call(addr, ProduceRequest_v3(transactional_id=None, required_acks=-1, timeout=10000,
                                         topics=[(topic, [(part, bytes(b.build()))])]))
    except (socket.timeout, ConnectionError, OSError) as e:
        print("no answer: %s" % e)
        sys.exit(3)
    (_, ps), = r.topics
    (_, err, off, _), = ps
    print("error=%d offset=%d" % (err, off))


def init_pid(addr):
    body = struct.pack(">hhih", 22, 0, 1, 9) + b"cl-client" + struct.pack(">hi", -1, 60000)
    s = socket.create_connection(hostport(addr), timeout=20)
    try:
        s.sendall(struct.pack(">i", len(body)) + body)
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
            c = s.recv(4096)
            if not c:
                raise ConnectionError("connection closed by the broker")
            data += c
    finally:
        s.close()
    _corr, _thr, err, pid, epoch = struct.unpack(">iihqh", data[4:4 + 20])
    return "error=%d pid=%d epoch=%d" % (err, pid, epoch)


def alter_reassign(addr, specs):
    from epoch_wire import call as wire_call, cstr, uvarint  # flexible framing and reader

    topics = {}
    for sp in specs:
        t, p, r = sp.rsplit(":", 2)
        topics.setdefault(t, []).append((int(p), None if r == "null" else [int(x) for x in r.split(",") if x]))
    body = struct.pack(">i", 30000) + uvarint(len(topics) + 1)
    for t, parts in topics.items():
        body += cstr(t) + uvarint(len(parts) + 1)
        for p, reps in parts:
            body += struct.pack(">i", p)
            body += b"\x00" if reps is None else uvarint(len(reps) + 1) + b"".join(struct.pack(">i", x) for x in reps)
            body += b"\x00"
        body += b"\x00"
    r = wire_call(addr, 45, 0, body + b"\x00", True)

    def rstr():
        n = r.uv()
        v = r.b[r.o:r.o + n - 1].decode() if n else None
        r.o += max(n - 1, 0)
        return v

    r.take(">i")  # throttle
    top_err = r.take(">h")
    rstr()
    out = ["error=%d" % top_err] if top_err else []
    for _ in range(r.uv() - 1):
        t = rstr()
        for _ in range(r.uv() - 1):
            p, e = r.take(">i"), r.take(">h")
            out.append("%s-%d error=%d message=%s" % (t, p, e, rstr()))
            r.tags()
        r.tags()
    return "\n".join(out)


def main():
    a = sys.argv[1:]
    if not a:
        die(__doc__)
    cmd = a[0]
    try:
        if cmd == "meta":
            print(json.dumps(meta(a[1]), sort_keys=True))
        elif cmd == "produce":
            produce(a[1], a[2], int(a[3]), int(a[4]), [int(x) for x in a[5].split(",")], a[6],
                    "--tolerate" in a[7:])
        elif cmd == "consume":
            consume(a[1], a[2], [int(x) for x in a[3].split(",")], a[4:])
        elif cmd == "produce-until":
            produce_until(a[1], a[2], [int(x) for x in a[3].split(",")], a[4], a[5], float(a[6]))
        elif cmd == "commit":
            commit(a[1], a[2], a[3], [int(x) for x in a[4].split(",")], int(a[5]))
        elif cmd == "committed":
            committed(a[1], a[2], a[3], [int(x) for x in a[4].split(",")])
        elif cmd == "produce-to":
            produce_to(a[1], a[2], int(a[3]), int(a[4]), int(a[5]) if len(a) > 5 else None)
        elif cmd == "list-offset":
            r = call(a[1], OffsetRequest_v1(replica_id=-1, topics=[(a[2], [(int(a[3]), -1)])]))
            (_, ps), = r.topics
            (_, err, _ts, off), = ps
            print("error=%d offset=%d" % (err, off))
        elif cmd == "coordinator":
            r = call(a[1], GroupCoordinatorRequest_v0(a[2]))
            print("error=%d id=%d %s:%d" % (r.error_code, r.coordinator_id, r.host, r.port))
        elif cmd == "create-topic":
            r = call(a[1], CreateTopicsRequest_v2(
                create_topic_requests=[(a[2], int(a[3]), int(a[4]), [], [])], timeout=15000,
                validate_only=False))
            (_, err, msg), = r.topic_errors
            print("error=%d message=%s" % (err, msg))
        elif cmd == "init-pid":
            print(init_pid(a[1]))
        elif cmd == "topic-config":
            r = call(a[1], DescribeConfigsRequest_v1(resources=[(2, a[2], [a[3]])], include_synonyms=False))
            (err, _msg, _typ, _name, entries), = r.resources
            val = [e[1] for e in entries if e[0] == a[3]]
            print("error=%d value=%s" % (err, val[0] if val else None))
        elif cmd == "alter-reassign":
            print(alter_reassign(a[1], a[2:]))
        else:
            die("unknown command " + cmd)
    except (socket.timeout, ConnectionError, OSError) as e:
        die("%s: %s" % (cmd, e))


main()
