#!/usr/bin/env bash
# t_ringctl.sh - ringctl groups / configs / topics --alter and the produce /
# consume formats against ringbroker.
# N keyed records into a 3-partition topic (ringctl produce), consumed by group G
# (ringctl consume --group): exactly the records produced. Then:
#  - groups --list prints exactly G; --describe shows every partition with
#    CURRENT-OFFSET = LOG-END-OFFSET, LAG 0, no members, ends summing to N;
#  - --reset-offsets --to-earliest --dry-run prints the plan and changes nothing;
#    --execute commits 0 everywhere (describe: LAG = LOG-END) and a new run of
#    the group (no --from-beginning) re-reads exactly the N records;
#    --to-offset clamps to the log end; with a live member the reset is refused;
#  - configs --alter --add-config / --delete-config round trip through --describe,
#    unknown names and missing topics fail;
#  - topics --alter --partitions grows the topic (shrinking fails), records stay;
#  - groups --delete removes G (list empty, describe fails, second delete fails);
#  - produce --property parse.headers/parse.key/null.marker (zstd): kcat reads
#    exactly those headers, keys and values; consume's print.* columns, key.separator,
#    null.literal and --formatter json agree with kcat record for record;
#    produce --partition, consume --partition --offset N|earliest|latest;
#  - usage errors exit 2, an unreachable broker exits 1.
. "$(dirname "$0")/lib.sh"

CTL=${RINGCTL_BIN:-$(dirname "$RB_BIN")/ringctl}
[ -x "$CTL" ] || fail "ringctl missing: $CTL"
N=120
TOPIC=rc-t
G=rc-g
rb_start --override group.initial.rebalance.delay.ms=200
BS=(--bootstrap-server "$(rb_bootstrap)")
ctl() { ct 60 "$CTL" "$1" "${BS[@]}" "${@:2}"; }

# run_ok NAME cmd...: stdout to $T_TMP/NAME.out, must exit 0.
run_ok() {
    local name=$1
    shift
    "$@" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err" ||
        fail "$name: exit $?: $(tail -3 "$T_TMP/$name.err")"
}
# run_rc NAME RC WANT-STDERR cmd...: must exit RC with WANT-STDERR in stderr.
run_rc() {
    local name=$1 want_rc=$2 want=$3 rc
    shift 3
    "$@" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err"
    rc=$?
    [ $rc -eq "$want_rc" ] || fail "$name: exit $rc, want $want_rc: $(tail -3 "$T_TMP/$name.err")"
    grep -qF -- "$want" "$T_TMP/$name.err" || fail "$name: stderr lacks '$want': $(cat "$T_TMP/$name.err")"
}

seq 1 $N | sed 's/.*/k&:v&/' >"$T_TMP/want"
sort "$T_TMP/want" >"$T_TMP/want.sorted"
run_ok create ctl topics --create --topic $TOPIC --partitions 3
run_ok produce ctl produce --topic $TOPIC --key-separator : <"$T_TMP/want"

# consume_group NAME [--from-beginning]: the group reads N records, KEY:VALUE sorted.
consume_group() {
    local name=$1
    shift
    run_ok "$name" ctl consume --topic $TOPIC --group $G "$@" --max-messages $N \
        --timeout-ms 20000 --print-key
    tr '\t' : <"$T_TMP/$name.out" | sort >"$T_TMP/$name.sorted"
    cmp -s "$T_TMP/$name.sorted" "$T_TMP/want.sorted" ||
        fail "$name: consumed records differ: $(diff "$T_TMP/want.sorted" "$T_TMP/$name.sorted" | head -5)"
}
consume_group c1 --from-beginning
info "group $G consumed all $N records"

run_ok list ctl groups --list
[ "$(cat "$T_TMP/list.out")" = "$G" ] || fail "groups --list: '$(cat "$T_TMP/list.out")', want '$G'"

HDR="GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID"
# describe_check NAME MODE: rows per partition 0..2 of G; MODE lag0 (current =
# end, lag 0) or earliest (current 0, lag = end); ends must sum to N.
describe_check() {
    local name=$1 mode=$2
    run_ok "$name" ctl groups --describe --group $G
    [ "$(head -1 "$T_TMP/$name.out" | tr -s ' ')" = "$HDR" ] ||
        fail "$name: header '$(head -1 "$T_TMP/$name.out")'"
    awk -v g=$G -v t=$TOPIC -v n=$N -v mode="$mode" '
        NR == 1 { next }
        {
            if ($1 != g || $2 != t || $3 != NR - 2 || NF != 9) { print "bad row: " $0; bad = 1 }
            if (mode == "lag0" && ($4 != $5 || $6 != 0)) { print "lag not 0: " $0; bad = 1 }
            if (mode == "earliest" && ($4 != 0 || $6 != $5)) { print "not reset: " $0; bad = 1 }
            if ($7 != "-" || $8 != "-" || $9 != "-") { print "member listed: " $0; bad = 1 }
            sum += $5; rows++
        }
        END {
            if (rows != 3) { print "rows " rows ", want 3"; bad = 1 }
            if (sum != n) { print "log ends sum to " sum ", want " n; bad = 1 }
            exit bad
        }' "$T_TMP/$name.out" >"$T_TMP/$name.chk" ||
        fail "$name: $(cat "$T_TMP/$name.chk") in: $(cat "$T_TMP/$name.out")"
    grep -qF "has no active members" "$T_TMP/$name.err" || fail "$name: no 'no active members' note"
}
describe_check d1 lag0
info "describe: 3 partitions, lag 0: $(tail -n +2 "$T_TMP/d1.out" | awk '{printf "%s=%s ", $3, $5}')"

# reset_check NAME WANT-MODE args...: the NEW-OFFSET table for partitions 0..2.
reset_table() {
    local name=$1
    shift
    run_ok "$name" ctl groups --reset-offsets --group $G --topic $TOPIC "$@"
    [ "$(head -1 "$T_TMP/$name.out" | tr -s ' ')" = "GROUP TOPIC PARTITION NEW-OFFSET" ] ||
        fail "$name: header '$(head -1 "$T_TMP/$name.out")'"
    tail -n +2 "$T_TMP/$name.out" | awk '{print $1, $2, $3, $4}'
}
ends=$(tail -n +2 "$T_TMP/d1.out" | awk '{print $5}' | tr '\n' ' ')
got=$(reset_table r0 --to-earliest --dry-run)
[ "$got" = "$(printf '%s %s %s 0\n' $G $TOPIC 0 $G $TOPIC 1 $G $TOPIC 2)" ] || fail "dry-run plan: $got"
grep -qF "nothing changed" "$T_TMP/r0.err" || fail "dry run not announced: $(cat "$T_TMP/r0.err")"
describe_check d2 lag0
reset_table r1 --to-earliest --execute >/dev/null
describe_check d3 earliest
info "reset --to-earliest --execute: lag = log end ($ends)"
consume_group c2
info "group $G re-read all $N records after the reset"
describe_check d4 lag0

got=$(reset_table r2 --to-offset 40 --execute | awk '{print $4}' | tr '\n' ' ')
want=$(for e in $ends; do [ "$e" -lt 40 ] && echo -n "$e " || echo -n "40 "; done)
[ "$got" = "$want" ] || fail "--to-offset 40 with ends '$ends': '$got', want '$want'"
case "$ends" in
*39*) grep -qF "is outside" "$T_TMP/r2.err" || fail "no clamp warning: $(cat "$T_TMP/r2.err")" ;;
esac
reset_table r3 --to-latest --execute >/dev/null
describe_check d5 lag0

# A live member: the reset is refused and describe lists the member.
ct 60 "$CTL" consume "${BS[@]}" --topic $TOPIC --group $G >"$T_TMP/live.out" 2>"$T_TMP/live.err" &
live=$!
deadline=$((SECONDS + 30))
until ctl groups --describe --group $G 2>/dev/null >"$T_TMP/dl.out" &&
    awk 'NR > 1 && $7 != "-" {f = 1} END {exit !f}' "$T_TMP/dl.out"; do
    [ $SECONDS -lt $deadline ] || fail "live member never shown by --describe"
    sleep 0.3
done
awk 'NR > 1 && ($7 == "-" || $8 == "-" || $9 != "ringctl") {print; bad = 1} END {exit bad}' \
    "$T_TMP/dl.out" || fail "live member not on every partition: $(cat "$T_TMP/dl.out")"
run_rc r4 1 "stop its consumers first" ctl groups --reset-offsets --group $G --topic $TOPIC \
    --to-earliest --execute
run_rc del0 1 "deleting group '$G' failed" ctl groups --delete --group $G
pkill -TERM -P $live # the ringctl under ct's timeout: it must stop cleanly
wait $live || fail "live consumer exit $?: $(tail -3 "$T_TMP/live.err")"
info "live member: reset and delete refused"
describe_check d6 lag0

# configs
cfg() { ctl configs --entity-type topics --entity-name "$@"; }
cfg_dyn() { # the NAME=VALUE lines of --describe
    run_ok cd cfg $TOPIC --describe
    [ "$(head -1 "$T_TMP/cd.out")" = "Dynamic configs for topic $TOPIC are:" ] ||
        fail "configs --describe header: $(head -1 "$T_TMP/cd.out")"
    tail -n +2 "$T_TMP/cd.out" | sed 's/^  \([^ ]*\) sensitive=false synonyms={.*}$/\1/'
}
[ -z "$(cfg_dyn)" ] || fail "fresh topic has dynamic configs: $(cfg_dyn)"
run_ok ca1 cfg $TOPIC --alter --add-config retention.ms=86400000,cleanup.policy=compact
[ "$(cat "$T_TMP/ca1.out")" = "Completed updating config for topic $TOPIC." ] ||
    fail "alter output: $(cat "$T_TMP/ca1.out")"
got=$(cfg_dyn | tr '\n' ' ')
[ "$got" = "cleanup.policy=compact retention.ms=86400000 " ] || fail "after add: '$got'"
run_ok ca2 cfg $TOPIC --alter --add-config max.message.bytes=200000 --delete-config cleanup.policy
got=$(cfg_dyn | tr '\n' ' ')
[ "$got" = "max.message.bytes=200000 retention.ms=86400000 " ] || fail "after add+delete: '$got'"
run_rc ca3 1 "unknown config 'no.such.config'" cfg $TOPIC --alter --delete-config no.such.config
run_rc ca4 1 "" cfg rc-missing --alter --add-config retention.ms=1
run_rc ca5 2 "expected key=value" cfg $TOPIC --alter --add-config retention.ms
got=$(cfg_dyn | tr '\n' ' ')
[ "$got" = "max.message.bytes=200000 retention.ms=86400000 " ] || fail "failed alters changed configs: '$got'"
info "configs: add, add+delete, errors: $got"

# topics --alter --partitions
run_ok ta1 ctl topics --alter --topic $TOPIC --partitions 5
run_ok td ctl topics --describe --topic $TOPIC
head -1 "$T_TMP/td.out" | grep -q "PartitionCount: 5" || fail "after --alter: $(head -1 "$T_TMP/td.out")"
[ "$(grep -c $'^\tTopic: '"$TOPIC"$'\tPartition: ' "$T_TMP/td.out")" = 5 ] || fail "describe rows: $(cat "$T_TMP/td.out")"
run_rc ta2 1 "altering topic '$TOPIC' failed" ctl topics --alter --topic $TOPIC --partitions 2
run_rc ta3 1 "altering topic 'rc-missing' failed" ctl topics --alter --topic rc-missing --partitions 2
run_ok c3 ctl consume --topic $TOPIC --from-beginning --max-messages $N --timeout-ms 20000 --print-key
[ "$(tr '\t' : <"$T_TMP/c3.out" | sort)" = "$(cat "$T_TMP/want.sorted")" ] || fail "records changed after --alter"
info "topics --alter --partitions 5: grown, shrink refused, records intact"

# groups --delete
run_ok del1 ctl groups --delete --group $G
[ "$(cat "$T_TMP/del1.out")" = "Deletion of requested consumer groups ('$G') was successful." ] ||
    fail "delete output: $(cat "$T_TMP/del1.out")"
run_ok list2 ctl groups --list
[ -z "$(cat "$T_TMP/list2.out")" ] || fail "groups after delete: $(cat "$T_TMP/list2.out")"
run_rc dd 1 "consumer group '$G' does not exist" ctl groups --describe --group $G
run_rc del2 1 "deleting group '$G' failed" ctl groups --delete --group $G
info "groups --delete: gone"

# produce / consume formats (kafka-console-producer / -consumer properties)
TH=rc-h
run_ok hcreate ctl topics --create --topic $TH --partitions 2
: >"$T_TMP/h.in"
: >"$T_TMP/h.kcat.want"
for i in $(seq 1 40); do
    printf 'hi:%s,hx:x %s\tkey%s\tval %s\n' $i $i $i $i >>"$T_TMP/h.in"
    printf 'key%s|hi=%s,hx=x %s|val %s\n' $i $i $i $i >>"$T_TMP/h.kcat.want"
done
printf 'solo:~\t~\t~\n' >>"$T_TMP/h.in" # null.marker: null header value, key, value
printf '|solo=NULL|\n' >>"$T_TMP/h.kcat.want"
run_ok hprod ctl produce --topic $TH --property parse.headers=true --property parse.key=true \
    --property null.marker=~ --compression-codec zstd <"$T_TMP/h.in"
ct 30 "$KCAT" -b "$(rb_bootstrap)" -C -t $TH -e -q -f '%k|%h|%s\n' >"$T_TMP/h.kcat" 2>"$T_TMP/h.kcat.err" ||
    fail "kcat -C: $(tail -3 "$T_TMP/h.kcat.err")"
[ "$(sort "$T_TMP/h.kcat")" = "$(sort "$T_TMP/h.kcat.want")" ] ||
    fail "headers/keys as kcat reads them: $(diff <(sort "$T_TMP/h.kcat.want") <(sort "$T_TMP/h.kcat") | head -5)"
info "produce parse.headers/parse.key/null.marker: 41 records exactly as kcat reads them"
# the same records through consume's print.* columns, checked against kcat's %p/%o/%T
ct 30 "$KCAT" -b "$(rb_bootstrap)" -C -t $TH -e -q -f 'CreateTime:%T|Partition:%p|Offset:%o|%k|%s\n' \
    >"$T_TMP/h.kcat2" 2>/dev/null || fail "kcat -C (2)"
run_ok hcons ctl consume --topic $TH --from-beginning --max-messages 41 --timeout-ms 20000 \
    --property print.timestamp=true --property print.partition=true --property print.offset=true \
    --property print.headers=true --property print.key=true --property 'key.separator=|' \
    --property null.literal=NIL
got=$(sed 's/|[^|]*|\([^|]*|[^|]*\)$/|\1/' "$T_TMP/hcons.out" | sed 's/|NIL|NIL$/||/' | sort)
[ "$got" = "$(sort "$T_TMP/h.kcat2")" ] ||
    fail "consume columns: $(diff <(sort "$T_TMP/h.kcat2") <(echo "$got") | head -5)"
[ "$(cut -d'|' -f4 "$T_TMP/hcons.out" | sort | tr '\n' ' ')" = \
    "$( (for i in $(seq 1 40); do echo "hi:$i,hx:x $i"; done; echo 'solo:NIL') | sort | tr '\n' ' ')" ] ||
    fail "consume headers column: $(cut -d'|' -f4 "$T_TMP/hcons.out" | head -3)"
info "consume print.timestamp/partition/offset/headers/key: every column as kcat sees it"
run_ok hjson ctl consume --topic $TH --from-beginning --max-messages 41 --timeout-ms 20000 \
    --formatter json
"$PY" - "$T_TMP/hjson.out" "$T_TMP/h.kcat2" <<'PY' || fail "consume --formatter json differs"
import json, sys
want = {}
for line in open(sys.argv[2]):
    ts, p, o, k, v = line.rstrip("\n").split("|")
    want[(int(p.split(":")[1]), int(o.split(":")[1]))] = (int(ts.split(":")[1]), k, v)
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    n += 1
    key = (r["partition"], r["offset"])
    assert key in want, key
    ts, k, v = want[key]
    assert r["timestamp"] == ts and r["timestamp_type"] == "CreateTime", r
    if k == "":
        assert r["key"] is None and r["value"] is None, r
        assert r["headers"] == [{"key": "solo", "value": None}], r
    else:
        i = k[3:]
        assert r["key"] == k and r["value"] == v == "val " + i, r
        assert r["headers"] == [{"key": "hi", "value": i}, {"key": "hx", "value": "x " + i}], r
assert n == 41, n
PY
info "consume --formatter json: 41 objects matching kcat"
# --partition: produce to one partition; consume it from an offset
TP=rc-p
run_ok pcreate ctl topics --create --topic $TP --partitions 3
seq 1 10 | run_ok pprod ctl produce --topic $TP --partition 2
ct 30 "$KCAT" -b "$(rb_bootstrap)" -C -t $TP -e -q -f '%p:%o:%s\n' >"$T_TMP/p.kcat" 2>/dev/null ||
    fail "kcat -C rc-p"
[ "$(cat "$T_TMP/p.kcat")" = "$(for i in $(seq 1 10); do echo "2:$((i - 1)):$i"; done)" ] ||
    fail "produce --partition 2: $(head -3 "$T_TMP/p.kcat")"
run_ok pcons ctl consume --topic $TP --partition 2 --offset 5 --max-messages 5 --timeout-ms 20000 \
    --property print.offset=true
[ "$(cat "$T_TMP/pcons.out")" = "$(for i in $(seq 6 10); do printf 'Offset:%d\t%d\n' $((i - 1)) $i; done)" ] ||
    fail "consume --partition 2 --offset 5: $(cat "$T_TMP/pcons.out")"
run_ok pcons2 ctl consume --topic $TP --partition 2 --offset earliest --max-messages 10 --timeout-ms 20000
[ "$(cat "$T_TMP/pcons2.out")" = "$(seq 1 10)" ] || fail "consume --offset earliest: $(cat "$T_TMP/pcons2.out")"
run_ok pcons3 ctl consume --topic $TP --partition 0 --from-beginning --timeout-ms 1500
[ ! -s "$T_TMP/pcons3.out" ] || fail "partition 0 is empty, got: $(cat "$T_TMP/pcons3.out")"
run_ok pcons4 ctl consume --topic $TP --partition 2 --timeout-ms 1500
[ ! -s "$T_TMP/pcons4.out" ] || fail "--partition without --offset starts at the end: $(cat "$T_TMP/pcons4.out")"
run_rc pcons5 1 "has no partition 7" ctl consume --topic $TP --partition 7 --timeout-ms 1500
info "produce --partition, consume --partition/--offset: exact records"
printf 'ok\tline\nno-separator\n' >"$T_TMP/bad.in"
run_rc hbad 1 "line 2: no key separator" ctl produce --topic $TP --property parse.key=true <"$T_TMP/bad.in"
run_rc hu1 2 "--offset needs --partition" ctl consume --topic $TP --offset 3
run_rc hu2 2 "--group and --partition cannot be used together" ctl consume --topic $TP --group g \
    --partition 0
run_rc hu3 2 "unknown --property 'parse.key=true'" ctl consume --topic $TP --property parse.key=true
run_rc hu4 2 "headers.separator and headers.key.separator may not be equal" ctl produce --topic $TP \
    --property headers.separator=:
for c in produce consume; do
    "$CTL" $c --help >"$T_TMP/h.$c" 2>&1 || fail "$c --help exit $?"
done
grep -qF -- "parse.headers" "$T_TMP/h.produce" && grep -qF -- "--partition" "$T_TMP/h.produce" &&
    grep -qF -- "print.headers" "$T_TMP/h.consume" && grep -qF -- "--formatter" "$T_TMP/h.consume" &&
    grep -qF -- "--offset" "$T_TMP/h.consume" || fail "produce/consume help texts incomplete"
info "format usage errors exit 2, a bad line exits 1"

# usage and reachability
run_rc u1 2 "one of --list, --describe, --reset-offsets or --delete is required" ctl groups
run_rc u2 2 "--reset-offsets needs one of" ctl groups --reset-offsets --group $G --topic $TOPIC
run_rc u3 2 "missing required option --entity-type" ctl configs --describe
run_rc u4 2 "--alter needs --partitions" ctl topics --alter --topic $TOPIC
for c in groups configs topics; do
    "$CTL" $c --help >"$T_TMP/h.$c" 2>&1 || fail "$c --help exit $?"
done
grep -qF -- "--reset-offsets" "$T_TMP/h.groups" && grep -qF -- "--add-config" "$T_TMP/h.configs" &&
    grep -qF -- "--alter" "$T_TMP/h.topics" || fail "help texts incomplete"
port=$(rb_free_port)
run_rc unreach 1 "cannot reach broker" ct 30 "$CTL" groups --bootstrap-server 127.0.0.1:$port \
    --connect-timeout-ms 1000 --list
info "usage errors exit 2, unreachable broker exits 1"
rb_check_alive "after ringctl"
rb_stop
exit 0
