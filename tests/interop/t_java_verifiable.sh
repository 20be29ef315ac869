#!/usr/bin/env bash
# t_java_verifiable.sh - Kafka 4.4's VerifiableProducer + VerifiableConsumer (the
# tools Kafka's own system tests use). Two VerifiableConsumers join one group on
# a 4-partition topic (broker with 2 shards) and settle on a split of the 4
# partitions; then VerifiableProducer (Java producer defaults: idempotent,
# acks=all) sends N keyed records. From their JSON event streams: the producer
# acknowledged all N with no send error, every acknowledged record (partition,
# offset, value) was consumed exactly once across the two members, nothing
# unacknowledged was consumed, both members consumed, and the last successful
# offset commit of each partition equals its end. kafka-consumer-groups
# --describe then shows lag 0 for the group.
. "$(dirname "$0")/lib.sh"

N=20000
TOPIC=jver
GROUP=jvg
kafka_setup
rb_start --override num.shards=2 --override group.initial.rebalance.delay.ms=0
bs=$(rb_bootstrap)

jrun 60 $K_TOPICS --bootstrap-server "$bs" --create --topic $TOPIC --partitions 4 \
    >"$T_TMP/create.out" 2>&1 || fail "kafka-topics --create: $(tail -5 "$T_TMP/create.out")"

vcons() { # vcons NAME
    iop_bg "$T_TMP/$1.json" "$T_TMP/$1.err" java -Xmx256m \
        -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$JCP" $K_VCONS \
        --bootstrap-server "$bs" --topic $TOPIC --group-id $GROUP --verbose \
        --reset-policy earliest --session-timeout 10000
    eval "PID_$1=$IOP_LAST"
}
# settled: both members' latest assignments are non-empty, disjoint, cover 0..3
settled() {
    "$PY" - "$T_TMP/a.json" "$T_TMP/b.json" <<'PY'
import json, sys
last = []
for f in sys.argv[1:]:
    cur = None
    for l in open(f):
        try:
            e = json.loads(l)
        except ValueError:
            continue
        if e.get("name") == "partitions_assigned":
            cur = [p["partition"] for p in e["partitions"]]
        elif e.get("name") == "partitions_revoked":
            cur = None
    last.append(cur)
ok = all(last) and sorted(last[0] + last[1]) == [0, 1, 2, 3]
sys.exit(0 if ok else 1)
PY
}
vcons a
vcons b
wait_for 60 "two VerifiableConsumers assigned 4 partitions between them" settled
info "group settled: a $(grep -o '"partitions_assigned".*' "$T_TMP/a.json" | tail -1 | grep -o '"partition":[0-9]' | tr -d '"partition:' | paste -sd,), b $(grep -o '"partitions_assigned".*' "$T_TMP/b.json" | tail -1 | grep -o '"partition":[0-9]' | tr -d '"partition:' | paste -sd,)"

jrun 120 $K_VPROD --bootstrap-server "$bs" --topic $TOPIC --max-messages $N \
    --repeating-keys 500 >"$T_TMP/prod.json" 2>"$T_TMP/prod.err" ||
    fail "VerifiableProducer rc=$?: $(tail -5 "$T_TMP/prod.err"; broker_unsupported)"
nacked=$(grep -c '"producer_send_success"' "$T_TMP/prod.json")
consumed() { cat "$T_TMP/a.json" "$T_TMP/b.json" | grep -c '"record_data"'; }
enough() { [ "$(consumed)" -ge "$nacked" ]; }
wait_for 90 "$nacked acknowledged records consumed (have $(consumed))" enough
sleep 2 # a duplicate or a late commit shows up now
kill -TERM "$PID_a" "$PID_b"
wait "$PID_a" "$PID_b" 2>/dev/null
for m in a b; do
    grep -q '"shutdown_complete"' "$T_TMP/$m.json" || fail "VerifiableConsumer $m did not shut down cleanly: $(tail -5 "$T_TMP/$m.err")"
done

"$PY" - "$T_TMP" "$N" <<'PY' || fail "verifiable check failed (above)"
import json, sys, collections
d, n = sys.argv[1], int(sys.argv[2])
def events(f):
    for l in open(f):
        try:
            yield json.loads(l)
        except ValueError:
            pass
acked, errors, tool = {}, [], None
for e in events(d + "/prod.json"):
    if e["name"] == "producer_send_success":
        acked[(e["partition"], e["offset"])] = e["value"]
    elif e["name"] == "producer_send_error":
        errors.append(e)
    elif e["name"] == "tool_data":
        tool = e
got = collections.Counter()
val = {}
per_member = {}
commits = {}
for m in "ab":
    c = 0
    for e in events("%s/%s.json" % (d, m)):
        if e["name"] == "record_data":
            k = (e["partition"], e["offset"])
            got[k] += 1
            val[k] = e["value"]
            c += 1
        elif e["name"] == "offsets_committed":
            if not e["success"]:
                print("info: commit failure in %s: %s" % (m, e))
                continue
            for o in e["offsets"]:
                commits[o["partition"]] = o["offset"]
    per_member[m] = c
ends = collections.defaultdict(int)
for p, o in acked:
    ends[p] = max(ends[p], o + 1)
missing = [k for k in acked if got[k] == 0]
dups = [k for k, c in got.items() if c > 1]
unacked = [k for k in got if k not in acked]
wrong = [k for k in acked if k in val and val[k] != acked[k]]
values_ok = sorted(int(v) for v in acked.values()) == list(range(n))
print("info: producer: %d acked, %d errors, tool_data %s" % (len(acked), len(errors), tool and (tool["sent"], tool["acked"])))
print("info: consumed per member %s; missing %d, dups %d, unacked %d, wrong value %d" %
      (per_member, len(missing), len(dups), len(unacked), len(wrong)))
print("info: log ends %s, last commits %s" % (dict(sorted(ends.items())), dict(sorted(commits.items()))))
bad = (len(acked) != n or errors or not values_ok or missing or dups or unacked or wrong
       or min(per_member.values()) == 0 or commits != dict(ends))
if bad:
    print("missing", missing[:5], "dups", dups[:5], "unacked", unacked[:5], "wrong", wrong[:5], "errors", errors[:3])
    sys.exit(1)
PY

jrun 60 $K_GROUPS --bootstrap-server "$bs" --describe --group $GROUP >"$T_TMP/desc" 2>"$T_TMP/desc.err" ||
    fail "kafka-consumer-groups --describe: $(tail -5 "$T_TMP/desc.err"; broker_unsupported)"
lag=$(awk -v g=$GROUP -v t=$TOPIC '$1 == g && $2 == t { n++; s += $6; c += $4 } END { print n, s, c }' "$T_TMP/desc")
[ "$lag" = "4 0 $N" ] || fail "describe after the run: want '4 partitions, lag 0, committed $N', got '$lag': $(cat "$T_TMP/desc")"
rb_check_alive "after the verifiable run"
rb_stop
echo "PASS: t_java_verifiable ($N acknowledged records consumed exactly once by 2 VerifiableConsumers; commits at the log ends)"
