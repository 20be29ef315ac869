#!/usr/bin/python3
# tests/clients/py_roundtrip.py - Python client round trips for t_python_clients.sh.
#
#   /usr/bin/python3 py_roundtrip.py kafka-python|confluent HOST:PORT TOPIC N [CODEC]
#
# Produces N records (acks=all) whose content is a function of their seq:
# key b"k<seq>" (None when seq % 10 == 3, unless the value is None), value b"v<seq>:" + binary filler
# (None, a tombstone, when seq % 97 == 5), headers [("seq", b"<seq>"),
# ("bin", b"\x00\xff<seq%256>")]. Every send's result is checked and its
# (partition, offset) remembered. Then a consumer WITHOUT a consumer group
# (kafka-python: group_id=None; confluent-kafka requires a group.id, so it gets
# one but only uses assign() with explicit offsets and never commits) reads all
# partitions from the beginning to the high watermark and checks: exactly N
# records, each acked record at its acked (partition, offset) with the exact
# key/value/headers, offsets contiguous from 0, seq increasing per partition,
# no duplicates. Prints counts; exit 0 only when every check holds.
# Only /usr/bin/python3 has the Debian kafka modules.
import functools
import sys
import time


def key_of(seq):
    # never both key and value null (kafka-python refuses that)
    return None if seq % 10 == 3 and seq % 97 != 5 else b"k%d" % seq


def value_of(seq):
    if seq % 97 == 5:
        return None
    return b"v%d:" % seq + bytes((seq * 7 + i) % 256 for i in range(seq % 120))


def headers_of(seq):
    return [("seq", b"%d" % seq), ("bin", b"\x00\xff" + bytes([seq % 256]))]


def verify(name, n, acked, got):
    """acked: {seq: (p, off)}; got: list of (p, off, key, value, headers)."""
    errors = []
    by_pos = {}
    seen = set()
    dup = order = bad = gaps = 0
    last_seq = {}
    next_off = {}
    for p, off, key, value, headers in sorted(got, key=lambda r: (r[0], r[1])):
        if off != next_off.get(p, 0):
            gaps += 1
            errors.append("p%d: offset %d, expected %d" % (p, off, next_off.get(p, 0)))
        next_off[p] = off + 1
        hd = dict(headers or [])
        try:
            seq = int(hd["seq"])
        except (KeyError, ValueError):
            bad += 1
            errors.append("p%d@%d: no seq header: %r" % (p, off, headers))
            continue
        if (key != key_of(seq) or value != value_of(seq)
                or [(k, bytes(v)) for k, v in (headers or [])] != headers_of(seq)):
            bad += 1
            errors.append("p%d@%d seq %d: content mismatch key=%r value=%r headers=%r"
                          % (p, off, seq, key, (value or b"")[:40], headers))
        if seq in seen:
            dup += 1
            errors.append("duplicate seq %d at p%d@%d" % (seq, p, off))
        seen.add(seq)
        if seq <= last_seq.get(p, -1):
            order += 1
            errors.append("order: seq %d after %d in p%d" % (seq, last_seq[p], p))
        last_seq[p] = seq
        by_pos[(p, off)] = seq
    lost = 0
    for seq, pos in acked.items():
        if by_pos.get(pos) != seq:
            lost += 1
            errors.append("acked seq %d at p%d@%d not read back (found %r)"
                          % (seq, pos[0], pos[1], by_pos.get(pos)))
    print("%s: produced=%d acked=%d consumed=%d partitions=%d bad=%d gaps=%d order=%d dup=%d lost=%d"
          % (name, n, len(acked), len(got), len(next_off), bad, gaps, order, dup, lost))
    for e in errors[:15]:
        print("  " + e, file=sys.stderr)
    ok = not errors and len(got) == n and len(acked) == n
    if len(got) != n:
        print("  expected exactly %d records, consumed %d" % (n, len(got)), file=sys.stderr)
    return ok


def run_kafka_python(bootstrap, topic, n, codec):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    prod = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                         compression_type=codec, request_timeout_ms=20000,
                         max_block_ms=20000, client_id="rb-kafka-python")
    print("kafka-python detected api_version %s" % (prod.config["api_version"],))
    futures = [(seq, prod.send(topic, key=key_of(seq), value=value_of(seq),
                               headers=headers_of(seq))) for seq in range(n)]
    prod.flush(timeout=30)
    acked, failed = {}, 0
    for seq, f in futures:
        try:
            md = f.get(timeout=30)
            acked[seq] = (md.partition, md.offset)
        except Exception as e:  # noqa: BLE001 - report every failure kind
            failed += 1
            if failed <= 5:
                print("  send seq %d failed: %r" % (seq, e), file=sys.stderr)
    prod.close(timeout=10)

    cons = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                         auto_offset_reset="earliest", client_id="rb-kafka-python-c",
                         request_timeout_ms=30000, fetch_max_wait_ms=100)
    parts = None
    deadline = time.time() + 15
    while not parts and time.time() < deadline:
        parts = cons.partitions_for_topic(topic)
        if not parts:
            time.sleep(0.2)
    if not parts:
        print("  no partitions for %s" % topic, file=sys.stderr)
        return False
    tps = [TopicPartition(topic, p) for p in sorted(parts)]
    cons.assign(tps)
    cons.seek_to_beginning(*tps)
    end = cons.end_offsets(tps)
    got = []
    deadline = time.time() + 60
    while time.time() < deadline and any(cons.position(tp) < end[tp] for tp in tps):
        for tp, msgs in cons.poll(timeout_ms=500).items():
            for m in msgs:
                if m.offset < end[tp]:
                    got.append((tp.partition, m.offset, m.key, m.value, m.headers))
    cons.close()
    return verify("kafka-python topic=%s codec=%s" % (topic, codec), n, acked, got) and not failed


def run_confluent(bootstrap, topic, n, codec):
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
    acked, failures = {}, []

    def dr(seq, err, msg):
        # headers are not part of a delivery report: the seq is bound per message
        if err is not None:
            failures.append((seq, err))
        else:
            acked[seq] = (msg.partition(), msg.offset())

    prod = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                     "enable.idempotence": False, "compression.codec": codec or "none",
                     "message.timeout.ms": 30000})
    for seq in range(n):
        while True:
            try:
                prod.produce(topic, key=key_of(seq), value=value_of(seq),
                             headers=headers_of(seq),
                             on_delivery=functools.partial(dr, seq))
                break
            except BufferError:
                prod.poll(0.05)
        prod.poll(0)
    left = prod.flush(40)
    for seq, err in failures[:5]:
        print("  delivery seq %d failed: %s" % (seq, err), file=sys.stderr)

    cons = Consumer({"bootstrap.servers": bootstrap, "group.id": "rb-it-assign-only",
                     "enable.auto.commit": False, "enable.auto.offset.store": False,
                     "enable.partition.eof": True, "auto.offset.reset": "earliest",
                     "fetch.wait.max.ms": 100})
    md = cons.list_topics(topic, timeout=15)
    tmd = md.topics.get(topic)
    if tmd is None or tmd.error is not None or not tmd.partitions:
        print("  no metadata for %s: %r" % (topic, tmd and tmd.error), file=sys.stderr)
        return False
    parts = sorted(tmd.partitions)
    end = {p: cons.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
    cons.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
    pos = {p: 0 for p in parts}
    got, errs = [], 0
    deadline = time.time() + 60
    while time.time() < deadline and any(pos[p] < end[p] for p in parts):
        m = cons.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() != KafkaError._PARTITION_EOF:
                errs += 1
                print("  consume error: %s" % m.error(), file=sys.stderr)
            continue
        pos[m.partition()] = m.offset() + 1
        if m.offset() < end[m.partition()]:
            got.append((m.partition(), m.offset(), m.key(), m.value(), m.headers()))
    cons.close()
    ok = verify("confluent-kafka topic=%s codec=%s" % (topic, codec), n, acked, got)
    return ok and not failures and left == 0 and errs == 0


def main():
    if len(sys.argv) not in (5, 6):
        print(__doc__ or "usage", file=sys.stderr)
        return 2
    which, bootstrap, topic, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    codec = sys.argv[5] if len(sys.argv) == 6 and sys.argv[5] != "none" else None
    run = {"kafka-python": run_kafka_python, "confluent": run_confluent}[which]
    return 0 if run(bootstrap, topic, n, codec) else 1


if __name__ == "__main__":
    sys.exit(main())
