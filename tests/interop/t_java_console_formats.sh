#!/usr/bin/env bash
# t_java_console_formats.sh - ringctl produce / consume speak the same line formats
# as Apache Kafka 4.4's kafka-console-producer / kafka-console-consumer.
# One input file (headers, keys, values, null.marker, UTF-8, custom separators)
# goes to topic J through the Java ConsoleProducer and to topic R through
# `ringctl produce` with the same --property settings. Each topic is then read by
# the Java ConsoleConsumer and by `ringctl consume` with the same print.*
# properties: all four outputs must be identical byte for byte (timestamps
# masked, they differ between the topics), for two property sets; and the
# records must be what the input says (checked against the JSON formatter).
. "$(dirname "$0")/lib.sh"

CTL=${RINGCTL_BIN:-$(dirname "$RB_BIN")/ringctl}
[ -x "$CTL" ] || fail "ringctl missing: $CTL"
kafka_setup
rb_start
bs=$(rb_bootstrap)
for t in J R; do
    "$CTL" topics --bootstrap-server "$bs" --create --topic fmt$t --partitions 1 >/dev/null ||
        fail "create fmt$t"
done

# headers TAB key TAB value; ~ is the null marker
cat >"$T_TMP/in" <<'IN'
h1:v1,h2:v2	k1	value one
h1:	k2	value two with spaces
hx:~	~	~
a:1,b:2,c:3	ключ	значение ü
h1:v1	k5	a,b:c	tab-in-value
IN
PROPS=(--property parse.headers=true --property parse.key=true --property null.marker=~)
jrun 90 $K_CPROD --bootstrap-server "$bs" --topic fmtJ "${PROPS[@]/--property/--reader-property}" \
    <"$T_TMP/in" >"$T_TMP/jprod.out" 2>&1 || fail "java producer: $(tail -5 "$T_TMP/jprod.out")"
ct 60 "$CTL" produce --bootstrap-server "$bs" --topic fmtR "${PROPS[@]}" <"$T_TMP/in" \
    >"$T_TMP/rprod.out" 2>&1 || fail "ringctl produce: $(tail -5 "$T_TMP/rprod.out")"

N=$(wc -l <"$T_TMP/in")
# view NAME props...: both consumers on both topics; all four outputs equal.
view() {
    local name=$1 t
    shift
    for t in J R; do
        jrun 90 $K_CCONS --bootstrap-server "$bs" --topic fmt$t --from-beginning --max-messages $N \
            --timeout-ms 30000 "${@/--property/--formatter-property}" >"$T_TMP/$name.java.$t" \
            2>"$T_TMP/$name.java.$t.err" || fail "java consumer $name $t: $(tail -5 "$T_TMP/$name.java.$t.err")"
        ct 60 "$CTL" consume --bootstrap-server "$bs" --topic fmt$t --from-beginning --max-messages $N \
            --timeout-ms 30000 "$@" >"$T_TMP/$name.rctl.$t" 2>"$T_TMP/$name.rctl.$t.err" ||
            fail "ringctl consume $name $t: $(tail -5 "$T_TMP/$name.rctl.$t.err")"
        sed -i 's/\(CreateTime\|LogAppendTime\):[0-9]*/\1:TS/' "$T_TMP/$name.java.$t" "$T_TMP/$name.rctl.$t"
    done
    [ "$(wc -l <"$T_TMP/$name.java.J")" -eq "$N" ] || fail "$name: java output: $(cat "$T_TMP/$name.java.J")"
    for f in java.R rctl.J rctl.R; do
        cmp -s "$T_TMP/$name.java.J" "$T_TMP/$name.$f" ||
            fail "$name: $f differs from java.J: $(diff "$T_TMP/$name.java.J" "$T_TMP/$name.$f" | head -8)"
    done
    info "$name: java and ringctl, each topic: identical ($(head -1 "$T_TMP/$name.java.J"))"
}
view all --property print.timestamp=true --property print.partition=true \
    --property print.offset=true --property print.headers=true --property print.key=true
view seps --property print.headers=true --property print.key=true --property 'key.separator= | ' \
    --property 'headers.separator=;' --property null.literal=NIL --property print.value=false

ct 60 "$CTL" consume --bootstrap-server "$bs" --topic fmtJ --from-beginning --max-messages $N \
    --timeout-ms 30000 --formatter json >"$T_TMP/json" 2>"$T_TMP/json.err" || fail "json: $(cat "$T_TMP/json.err")"
"$PY" - "$T_TMP/json" <<'PY' || fail "records of the Java producer differ from the input"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
got = [([(h["key"], h["value"]) for h in r["headers"]], r["key"], r["value"]) for r in rows]
want = [([("h1", "v1"), ("h2", "v2")], "k1", "value one"),
        ([("h1", "")], "k2", "value two with spaces"),
        ([("hx", None)], None, None),
        ([("a", "1"), ("b", "2"), ("c", "3")], "ключ", "значение ü"),
        ([("h1", "v1")], "k5", "a,b:c\ttab-in-value")]
if got != want:
    print("got ", got)
    print("want", want)
    sys.exit(1)
PY
info "JSON view of the Java producer's records matches the input"
rb_check_alive "after console formats"
rb_stop
echo "PASS: t_java_console_formats"
