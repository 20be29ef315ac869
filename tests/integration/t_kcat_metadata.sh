#!/usr/bin/env bash
# t_kcat_metadata.sh - kcat -L sees the broker and auto-created topics.
# Checks: the broker list is exactly this broker (127.0.0.1:PORT); a topic named
# in a metadata request is auto-created with num.partitions (1) partitions, each
# led by the broker; the all-topics listing then includes it; with
# auto.create.topics.enable=false an unknown topic is reported as unknown and
# never created.
. "$(dirname "$0")/lib.sh"

rb_start
bs=$(rb_bootstrap)

# check_md FILE TOPIC WANT_PARTS: broker list + topic shape in kcat -J output.
check_md() {
    "$PY" - "$1" "$2" "$3" "$RB_PORT" <<'PY'
import json, sys
path, topic, want, port = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
md = json.load(open(path))
brokers = md.get("brokers", [])
names = [b["name"] for b in brokers]
if names != ["127.0.0.1:%s" % port]:
    sys.exit("broker list %r, want exactly 127.0.0.1:%s" % (names, port))
bid = brokers[0]["id"]
ts = [t for t in md.get("topics", []) if t["topic"] == topic]
if len(ts) != 1:
    sys.exit("topic %s listed %d times in %r" % (topic, len(ts), [t["topic"] for t in md.get("topics", [])]))
t = ts[0]
if t.get("error"):
    sys.exit("topic %s error: %s" % (topic, t["error"]))
ps = sorted(p["partition"] for p in t["partitions"])
if ps != list(range(want)):
    sys.exit("topic %s partitions %r, want 0..%d" % (topic, ps, want - 1))
for p in t["partitions"]:
    if p.get("error") or p["leader"] != bid:
        sys.exit("partition %d: leader %r error %r (want leader %d)" % (p["partition"], p["leader"], p.get("error"), bid))
    if [r["id"] for r in p["replicas"]] != [bid] or [r["id"] for r in p["isrs"]] != [bid]:
        sys.exit("partition %d: replicas %r isrs %r" % (p["partition"], p["replicas"], p["isrs"]))
print("info: topic %s: %d partition(s), leader %d, broker %s" % (topic, want, bid, names[0]))
PY
}

# 1. plain listing: the broker, no error.
kcat_md >"$T_TMP/md0.json" 2>"$T_TMP/md0.err" || fail "kcat -L failed: $(cat "$T_TMP/md0.err")"
"$PY" -c 'import json,sys; md=json.load(open(sys.argv[1])); sys.exit(0 if md["brokers"] else "no brokers")' \
    "$T_TMP/md0.json" || fail "kcat -L: no broker in $(cat "$T_TMP/md0.json")"

# 2. auto-create through a metadata request naming the topic (Kafka may answer
#    LEADER_NOT_AVAILABLE the first time: retry, bounded).
ok=
for i in $(seq 1 20); do
    kcat_md -t auto-md-1 -X allow.auto.create.topics=true >"$T_TMP/md1.json" 2>"$T_TMP/md1.err" &&
        check_md "$T_TMP/md1.json" auto-md-1 1 >"$T_TMP/md1.chk" 2>&1 && { ok=1; break; }
    sleep 0.25
done
[ -n "$ok" ] || fail "auto-created topic not listed: $(cat "$T_TMP/md1.chk" "$T_TMP/md1.err" 2>/dev/null) json=$(head -c 600 "$T_TMP/md1.json")"
cat "$T_TMP/md1.chk"

# 3. auto-create through a produce, then the all-topics listing shows both.
printf 'hello\n' | ct 20 "$KCAT" -b "$bs" -P -t auto-md-2 -X acks=all 2>"$T_TMP/p.err" ||
    fail "kcat -P to a new topic failed: $(cat "$T_TMP/p.err")"
grep -qi 'fail\|error' "$T_TMP/p.err" && fail "kcat -P reported: $(cat "$T_TMP/p.err")"
kcat_md >"$T_TMP/md2.json" 2>"$T_TMP/md2.err" || fail "kcat -L failed: $(cat "$T_TMP/md2.err")"
check_md "$T_TMP/md2.json" auto-md-1 1 || fail "all-topics listing: auto-md-1 wrong (above)"
check_md "$T_TMP/md2.json" auto-md-2 1 || fail "all-topics listing: auto-md-2 wrong (above)"
rb_stop

# 4. auto-creation disabled: the topic is unknown and stays absent.
rb_start --override auto.create.topics.enable=false
kcat_md -t no-auto -X allow.auto.create.topics=true >"$T_TMP/md3.json" 2>"$T_TMP/md3.err"
"$PY" - "$T_TMP/md3.json" <<'PY' || fail "auto.create.topics.enable=false: $(head -c 600 "$T_TMP/md3.json")"
import json, sys
md = json.load(open(sys.argv[1]))
ts = [t for t in md.get("topics", []) if t["topic"] == "no-auto"]
if ts and not ts[0].get("error"):
    sys.exit("topic no-auto was created: %r" % ts[0])
print("info: unknown topic with auto-create off: %s" % (ts[0]["error"] if ts else "absent"))
PY
kcat_md >"$T_TMP/md4.json" 2>/dev/null || fail "kcat -L failed"
grep -q '"no-auto"' "$T_TMP/md4.json" && fail "no-auto appears in the all-topics listing"
rb_stop
exit 0
