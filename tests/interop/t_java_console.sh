#!/usr/bin/env bash
# t_java_console.sh - Apache Kafka 4.4's console tools and kafka-consumer-groups.
# kafka-topics --create (4 partitions); kafka-console-producer sends N keyed
# lines (Java producer defaults: idempotent, acks=all); kafka-console-consumer
# --group reads them back: exactly the N lines, each once, key and value
# intact, offsets contiguous from 0 per partition, one key -> one partition.
# kafka-consumer-groups: --list shows the group, --describe shows committed ==
# log end on every partition (lag 0, sum N); --reset-offsets --to-earliest
# --execute sets 0 everywhere (describe then shows lag N), the console consumer
# in the same group then reads the same N lines again; --delete removes the group.
. "$(dirname "$0")/lib.sh"

N=3000
TOPIC=jcon
GROUP=jcg
kafka_setup
rb_start --override num.shards=2 --override group.initial.rebalance.delay.ms=0
bs=$(rb_bootstrap)

jrun 60 $K_TOPICS --bootstrap-server "$bs" --create --topic $TOPIC --partitions 4 \
    >"$T_TMP/create.out" 2>&1 || fail "kafka-topics --create: $(tail -5 "$T_TMP/create.out")"

"$PY" -c "
for i in range($N): print('k%d:v%d' % (i, i))" >"$T_TMP/in"
jrun 90 $K_CPROD --bootstrap-server "$bs" --topic $TOPIC --reader-property parse.key=true \
    --reader-property key.separator=: <"$T_TMP/in" >"$T_TMP/prod.out" 2>&1 ||
    fail "kafka-console-producer rc=$?: $(tail -10 "$T_TMP/prod.out")"
grep -q 'ERROR\|Exception' "$T_TMP/prod.out" && fail "kafka-console-producer errors: $(tail -10 "$T_TMP/prod.out")"

consume() { # consume OUT [--from-beginning]: N records through the group
    local out=$1
    shift
    jrun 90 $K_CCONS --bootstrap-server "$bs" --topic $TOPIC --group $GROUP "$@" \
        --max-messages $N --timeout-ms 30000 --formatter-property print.key=true \
        --formatter-property print.partition=true --formatter-property print.offset=true \
        >"$out" 2>"$out.err" || fail "kafka-console-consumer rc=$?: $(tail -10 "$out.err"; broker_unsupported)"
}
check_consumed() { # check_consumed FILE
    "$PY" - "$1" "$N" <<'PY' || fail "console consumer data wrong (above)"
import sys, collections
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
n = int(sys.argv[2])
# formatter: Partition:P \t Offset:O \t key \t value
seen = collections.Counter()
part_of_key = {}
offs = collections.defaultdict(list)
bad = []
for r in rows:
    if len(r) != 4:
        bad.append(r); continue
    p, o, k, v = int(r[0].split(":")[1]), int(r[1].split(":")[1]), r[2], r[3]
    if k[1:] != v[1:]:
        bad.append(r)
    seen[v] += 1
    offs[p].append(o)
    if part_of_key.setdefault(k, p) != p:
        bad.append(r)
want = {"v%d" % i for i in range(n)}
dups = [v for v, c in seen.items() if c > 1]
missing = want - set(seen)
gaps = {p: len(o) for p, o in offs.items() if sorted(o) != list(range(len(o)))}
print("info: consumed %d rows, %d distinct, %d dups, %d missing, %d bad, per partition %s"
      % (len(rows), len(seen), len(dups), len(missing), len(bad),
         {p: len(o) for p, o in sorted(offs.items())}))
if dups or missing or bad or gaps or len(rows) != n:
    print("dups", dups[:5], "missing", sorted(missing)[:5], "bad", bad[:5], "gaps", gaps)
    sys.exit(1)
PY
}
describe() { # describe OUT: kafka-consumer-groups --describe
    jrun 60 $K_GROUPS --bootstrap-server "$bs" --describe --group $GROUP >"$1" 2>"$1.err" ||
        fail "kafka-consumer-groups --describe rc=$?: $(tail -5 "$1.err"; broker_unsupported)"
}
check_describe() { # check_describe FILE WANT_COMMITTED_SUM WANT_LAG_SUM
    "$PY" - "$@" "$TOPIC" "$GROUP" <<'PY' || fail "kafka-consumer-groups --describe wrong (above)"
import sys
f, want_cur, want_lag, topic, group = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
rows = [l.split() for l in open(f) if l.startswith(group + " ")]
rows = [r for r in rows if r[1] == topic]
cur = sum(int(r[3]) for r in rows)
end = sum(int(r[4]) for r in rows)
lag = sum(int(r[5]) for r in rows)
print("info: describe: %d partitions, committed %d, log end %d, lag %d" % (len(rows), cur, end, lag))
if len(rows) != 4 or cur != want_cur or lag != want_lag or end != want_cur + want_lag:
    print(open(f).read())
    sys.exit(1)
PY
}

consume "$T_TMP/c1" --from-beginning
check_consumed "$T_TMP/c1"
jrun 60 $K_GROUPS --bootstrap-server "$bs" --list >"$T_TMP/list" 2>"$T_TMP/list.err" ||
    fail "kafka-consumer-groups --list: $(tail -5 "$T_TMP/list.err")"
grep -qx "$GROUP" "$T_TMP/list" || fail "group $GROUP not listed: $(cat "$T_TMP/list")"
describe "$T_TMP/d1"
check_describe "$T_TMP/d1" $N 0

jrun 60 $K_GROUPS --bootstrap-server "$bs" --reset-offsets --to-earliest --execute \
    --group $GROUP --topic $TOPIC >"$T_TMP/reset" 2>"$T_TMP/reset.err" ||
    fail "kafka-consumer-groups --reset-offsets rc=$?: $(tail -5 "$T_TMP/reset.err"; broker_unsupported)"
n0=$(awk -v g=$GROUP -v t=$TOPIC '$1 == g && $2 == t && $4 == 0' "$T_TMP/reset" | wc -l)
[ "$n0" -eq 4 ] || fail "--reset-offsets --to-earliest: want 4 partitions at 0: $(cat "$T_TMP/reset")"
describe "$T_TMP/d2"
check_describe "$T_TMP/d2" 0 $N

consume "$T_TMP/c2"
check_consumed "$T_TMP/c2"
cmp -s <(sort "$T_TMP/c1") <(sort "$T_TMP/c2") || fail "second read after reset differs from the first"
describe "$T_TMP/d3"
check_describe "$T_TMP/d3" $N 0

jrun 60 $K_GROUPS --bootstrap-server "$bs" --delete --group $GROUP >"$T_TMP/del" 2>&1 ||
    fail "kafka-consumer-groups --delete rc=$?: $(tail -5 "$T_TMP/del"; broker_unsupported)"
jrun 60 $K_GROUPS --bootstrap-server "$bs" --list >"$T_TMP/list2" 2>"$T_TMP/list2.err" ||
    fail "kafka-consumer-groups --list (2): $(tail -5 "$T_TMP/list2.err")"
grep -qx "$GROUP" "$T_TMP/list2" && fail "group $GROUP still listed after --delete"
rb_check_alive "after the console tools"
rb_stop
echo "PASS: t_java_console ($N keyed lines through console producer/consumer --group; describe, reset-offsets, re-read, delete)"
