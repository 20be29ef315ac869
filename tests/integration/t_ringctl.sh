#!/usr/bin/env bash
# t_ringctl.sh - ringctl groups / configs / topics --alter against ringbroker.
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
