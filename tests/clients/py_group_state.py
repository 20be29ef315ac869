#!/usr/bin/python3
# tests/clients/py_group_state.py - small kafka-python 2.0.2 steps for the group
# expiry and restart tests (t_groups_expiry.sh, t_groups_restart.sh).
#
# /usr/bin/python3 py_group_state.py CMD HOST:PORT ARGS...
#   commit-simple BS TOPIC GROUP OFFSET   standalone commit (assign(), generation -1)
#                                          of OFFSET to every partition of TOPIC
#   offsets BS GROUP                       committed offsets, one "topic partition
#                                          offset" line each (OffsetFetch, all)
#   describe BS GROUP                      "state members" (members comma-separated,
#                                          "-" when none) from DescribeGroups
#   groups BS                              one listed group id per line (ListGroups)
#   member BS TOPIC GROUP STOPFILE SECS [MAX]
#                                          a group member: subscribes, then until
#                                          STOPFILE exists (or SECS pass) polls and
#                                          commits synchronously every 300 ms (at
#                                          most MAX commits when given),
#                                          printing "gen G M" when its generation or
#                                          member id changes and "commit ok G T" /
#                                          "commit fail G T ERR" (T: wall seconds)
#                                          per commit; then leaves (close).
# Exit status 0 unless the step itself failed.
import sys
import time


def admin(bs):
    from kafka.admin import KafkaAdminClient
    return KafkaAdminClient(bootstrap_servers=bs, request_timeout_ms=10000)


def commit_simple(bs, topic, group, offset):
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata
    c = KafkaConsumer(bootstrap_servers=bs, group_id=group, enable_auto_commit=False)
    parts = c.partitions_for_topic(topic)
    deadline = time.time() + 20
    while not parts and time.time() < deadline:
        time.sleep(0.2)
        parts = c.partitions_for_topic(topic)
    tps = [TopicPartition(topic, p) for p in sorted(parts or [])]
    if not tps:
        sys.exit("no partitions for %s" % topic)
    c.assign(tps)
    c.commit({tp: OffsetAndMetadata(offset, "") for tp in tps})
    c.close(autocommit=False)


def offsets(bs, group):
    a = admin(bs)
    res = a.list_consumer_group_offsets(group)
    for tp, om in sorted(res.items()):
        if om.offset >= 0:
            print("%s %d %d" % (tp.topic, tp.partition, om.offset))
    a.close()


def describe(bs, group):
    a = admin(bs)
    d = a.describe_consumer_groups([group])[0]
    ids = sorted(m.member_id for m in d.members)
    print("%s %s" % (d.state, ",".join(ids) if ids else "-"))
    a.close()


def groups(bs):
    a = admin(bs)
    for g in a.list_consumer_groups():
        print(g[0])
    a.close()


def member(bs, topic, group, stopfile, secs, max_commits):
    import os
    from kafka import KafkaConsumer
    c = KafkaConsumer(topic, bootstrap_servers=bs, group_id=group, auto_offset_reset="earliest",
                      enable_auto_commit=False, session_timeout_ms=10000,
                      heartbeat_interval_ms=500, request_timeout_ms=15000,
                      reconnect_backoff_max_ms=500)
    end = time.time() + secs
    last = None
    next_commit = 0
    commits = 0
    while time.time() < end and not os.path.exists(stopfile):
        try:
            c.poll(timeout_ms=100)
        except Exception as e:  # the broker restarts under us
            print("poll error %s" % type(e).__name__, flush=True)
            time.sleep(0.2)
        gen = c._coordinator._generation
        cur = (gen.generation_id, gen.member_id)
        if cur != last and gen.generation_id > 0:
            print("gen %d %s" % cur, flush=True)
            last = cur
        if time.time() >= next_commit and c.assignment() and commits != max_commits:
            next_commit = time.time() + 0.3
            commits += 1
            try:
                from kafka.structs import OffsetAndMetadata
                c.commit({tp: OffsetAndMetadata(c.position(tp), "") for tp in c.assignment()})
                print("commit ok %d %.3f" % (cur[0], time.time()), flush=True)
            except Exception as e:
                print("commit fail %d %.3f %s" % (cur[0], time.time(), type(e).__name__),
                      flush=True)
    c.close(autocommit=False)
    print("closed", flush=True)


def main():
    cmd, bs = sys.argv[1], sys.argv[2]
    a = sys.argv[3:]
    if cmd == "commit-simple":
        commit_simple(bs, a[0], a[1], int(a[2]))
    elif cmd == "offsets":
        offsets(bs, a[0])
    elif cmd == "describe":
        describe(bs, a[0])
    elif cmd == "groups":
        groups(bs)
    elif cmd == "member":
        member(bs, a[0], a[1], a[2], float(a[3]), int(a[4]) if len(a) > 4 else -1)
    else:
        sys.exit("unknown command %s" % cmd)


if __name__ == "__main__":
    main()
