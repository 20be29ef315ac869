#!/usr/bin/env bash
# t_groups.sh - consumer groups and committed offsets with kcat -G (librdkafka's
# balanced consumer). Two members join group g1 on a 4-partition topic (broker
# with 2 shards, so most group requests are forwarded between shards): the first
# gets all 4 partitions, the second's arrival forces a rebalance (both report a
# new assignment). N keyed messages produced then are consumed exactly once
# across the two members, both consume some. The members stop (committing on
# close); the committed offsets (OffsetFetch through kafka-python) equal the
# partitions' ends. M more messages, a broker restart (offsets reloaded from
# __consumer_offsets), and a new member of g1 reads exactly the M new messages.
# Also: __consumer_offsets exists with 50 partitions and is internal.
. "$(dirname "$0")/lib.sh"

N=2000
M=300
TOPIC=grp-t
GROUP=g1
rb_start --override num.partitions=4 --override num.shards=2 \
    --override group.initial.rebalance.delay.ms=300
bs=$(rb_bootstrap)

"$PY" -c "for i in range(3): print('w%d:warm' % i)" |
    ct 30 "$KCAT" -b "$bs" -P -t "$TOPIC" -K: -X acks=all 2>"$T_TMP/p0.err" ||
    fail "warm-up produce: $(tail -3 "$T_TMP/p0.err")"

consumer() { # consumer NAME: kcat -G member in the background
    "$KCAT" -u -b "$bs" -G "$GROUP" "$TOPIC" -X auto.offset.reset=earliest \
        -X auto.commit.interval.ms=200 -X session.timeout.ms=10000 \
        -f '%p\t%o\t%k\t%s\n' >"$T_TMP/$1.out" 2>"$T_TMP/$1.err" &
    echo $!
}
assigned_count() { grep -c 'assigned:' "$T_TMP/$1.err" 2>/dev/null || true; }
wait_for() { # wait_for SECS description test-command...
    local secs=$1 what=$2 deadline
    shift 2
    deadline=$((SECONDS + secs))
    until "$@"; do
        [ $SECONDS -lt $deadline ] || fail "timeout waiting for $what"
        sleep 0.2
    done
}

A=$(consumer a)
assigned_ge() { [ "$(assigned_count "$1")" -ge "$2" ]; }
wait_for 30 "member a assigned" assigned_ge a 1
grep -q 'assigned:.*\[3\]' "$T_TMP/a.err" || fail "a alone should get all 4 partitions: $(cat "$T_TMP/a.err")"
B=$(consumer b)
wait_for 40 "member b assigned" assigned_ge b 1
wait_for 40 "a reassigned" assigned_ge a 2
info "rebalance: a assigned $(assigned_count a) times, b $(assigned_count b) times"

"$PY" -c "
for i in range($N): print('k%d:v%d' % (i, i))" >"$T_TMP/in"
ct 60 "$KCAT" -b "$bs" -P -t "$TOPIC" -K: -X acks=all <"$T_TMP/in" 2>"$T_TMP/p1.err" ||
    fail "produce: $(tail -3 "$T_TMP/p1.err")"
count_v() { cat "$T_TMP/a.out" "$T_TMP/b.out" | grep -c $'\t[vw]' || true; }
all_consumed() { [ "$(count_v)" -ge $((N + 3)) ]; }
wait_for 60 "$N messages consumed" all_consumed
sleep 1 # let auto-commit run and any duplicate show up
kill -TERM "$A" "$B"
wait "$A" "$B" 2>/dev/null

"$PY" - "$T_TMP" "$N" <<'PY' || fail "exactly-once check failed (above)"
import sys, collections
d, n = sys.argv[1], int(sys.argv[2])
seen = collections.Counter()
per = {}
for name in "ab":
    rows = [l.rstrip("\n").split("\t") for l in open("%s/%s.out" % (d, name)) if l.strip()]
    per[name] = len(rows)
    for p, o, k, v in rows:
        seen[v] += 1
want = {"v%d" % i for i in range(n)} | {"warm"}
dups = [v for v, c in seen.items() if c > 1 and v != "warm"]
missing = want - set(seen)
print("consumed per member:", per, "distinct:", len(seen), "dups:", len(dups), "missing:", len(missing))
if dups or missing or seen["warm"] != 3:
    print("dups", dups[:10], "missing", sorted(missing)[:10], "warm", seen["warm"])
    sys.exit(1)
if min(per.values()) == 0:
    print("one member consumed nothing: no real rebalance")
    sys.exit(1)
PY

check_committed() { # check_committed TOTAL: committed offsets sum to TOTAL
    ct 30 "$PY" - "$bs" "$GROUP" "$TOPIC" "$1" <<'PY'
import sys
from kafka import KafkaAdminClient
bs, group, topic, total = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
a = KafkaAdminClient(bootstrap_servers=bs, request_timeout_ms=20000)
offs = a.list_consumer_group_offsets(group)
got = {tp.partition: om.offset for tp, om in offs.items() if tp.topic == topic}
print("committed:", dict(sorted(got.items())))
groups = dict(a.list_consumer_groups())
assert groups.get(group) == "consumer", groups
sys.exit(0 if len(got) == 4 and sum(got.values()) == total else 1)
PY
}
check_committed $((N + 3)) || fail "committed offsets do not cover all $((N + 3)) messages"

# __consumer_offsets: internal, 50 partitions, compacted
kcat_md -t __consumer_offsets >"$T_TMP/md.json" || fail "metadata of __consumer_offsets"
"$PY" - "$T_TMP/md.json" <<'PY' || fail "__consumer_offsets metadata wrong"
import json, sys
md = json.load(open(sys.argv[1]))
t = [t for t in md["topics"] if t["topic"] == "__consumer_offsets"]
assert t and len(t[0]["partitions"]) == 50, t
PY

"$PY" -c "
for i in range($M): print('n%d:new%d' % (i, i))" |
    ct 60 "$KCAT" -b "$bs" -P -t "$TOPIC" -K: -X acks=all 2>"$T_TMP/p2.err" ||
    fail "produce 2: $(tail -3 "$T_TMP/p2.err")"
rb_stop
rb_restart
ct 60 "$KCAT" -b "$bs" -G "$GROUP" "$TOPIC" -X auto.offset.reset=earliest -e -q \
    -f '%s\n' >"$T_TMP/c.out" 2>"$T_TMP/c.err" || fail "consumer after restart: rc=$? $(tail -3 "$T_TMP/c.err")"
"$PY" - "$T_TMP/c.out" "$M" <<'PY' || fail "resume after restart failed (above)"
import sys
rows = [l.strip() for l in open(sys.argv[1]) if l.strip()]
want = {"new%d" % i for i in range(int(sys.argv[2]))}
old = [r for r in rows if not r.startswith("new")]
print("after restart: %d rows, %d old (re-delivered), %d missing" % (len(rows), len(old), len(want - set(rows))))
sys.exit(0 if set(rows) == want and len(rows) == len(want) else 1)
PY
check_committed $((N + 3 + M)) || fail "offsets after restart not committed"
rb_stop
echo "PASS: t_groups ($N msgs once across 2 members after a rebalance; $M resumed after restart)"
