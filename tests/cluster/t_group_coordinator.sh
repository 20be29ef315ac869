#!/usr/bin/env bash
# t_group_coordinator.sh - a consumer group whose coordinator is on another
# broker than the one the client bootstraps from.
#   FindCoordinator for a group id from every broker names the same broker (the
#   leader of the group's __consumer_offsets partition, as Metadata shows it); a
#   group id is chosen whose coordinator is not broker 1.
#   Kafka 4.4's console consumer, bootstrapped from broker 1 only, joins that group
#   and reads all N records of a 6-partition topic (records on all 3 brokers),
#   each once; kafka-consumer-groups (via broker 1) then shows the group's
#   committed offsets summing to N with lag 0; a second consumer in the group
#   reads nothing more (the commits are honoured).
. "$(dirname "$0")/lib.sh"

N=2000
cl_up
k44_setup
cl_create_topic grp 6

coord_of() { # group broker -> coordinator id, or nothing while not available
    local out
    out=$(ct 20 $CLC coordinator "$(cl_addr "$2")" "$1" 2>/dev/null) || return 1
    [[ "$out" == error=0* ]] || return 1
    sed -n 's/.* id=\([0-9-]*\) .*/\1/p' <<<"$out"
}
G=
for k in $(seq 0 60); do
    c=
    deadline=$((SECONDS + 30))
    until c=$(coord_of "cg-$k" 1) && [ -n "$c" ]; do
        [ $SECONDS -lt $deadline ] || fail "FindCoordinator for cg-$k on broker 1 never answered"
        sleep 0.5
    done
    if [ "$c" != 1 ]; then
        G=cg-$k
        break
    fi
done
[ -n "$G" ] || fail "every group id tried has its coordinator on broker 1"
for i in 2 3; do
    c2=$(coord_of "$G" "$i") || fail "FindCoordinator for $G on broker $i"
    [ "$c2" = "$c" ] || fail "FindCoordinator for $G: broker 1 says $c, broker $i says $c2"
done
info "group $G: coordinator broker $c (bootstrap: broker 1)"

ct 120 $CLC produce "$CL_BS" grp 0 $N 0,1,2,3,4,5 "$T_TMP/acks" || fail "produce"
jrun 120 $K_CCONS --bootstrap-server "$(cl_addr 1)" --topic grp --group "$G" --from-beginning \
    --max-messages $N --timeout-ms 30000 --formatter-property print.key=true \
    --formatter-property key.separator=: >"$T_TMP/c1.out" 2>"$T_TMP/c1.err" ||
    fail "console consumer in group $G rc=$?: $(tail -10 "$T_TMP/c1.err")"
got=$(wc -l <"$T_TMP/c1.out")
distinct=$(sort -u "$T_TMP/c1.out" | wc -l)
[ "$got" = $N ] && [ "$distinct" = $N ] || fail "group consumer read $got lines, $distinct distinct, want $N"

jrun 60 $K_GROUPS --bootstrap-server "$(cl_addr 1)" --describe --group "$G" >"$T_TMP/d.out" 2>"$T_TMP/d.err" ||
    fail "kafka-consumer-groups --describe: $(tail -5 "$T_TMP/d.err")"
"$PY" - "$T_TMP/d.out" "$G" $N <<'PY' || fail "kafka-consumer-groups --describe (above)"
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.startswith(sys.argv[2] + " ")]
rows = [r for r in rows if r[1] == "grp"]
cur = sum(int(r[3]) for r in rows); lag = sum(int(r[5]) for r in rows)
print("info: committed %d over %d partitions, lag %d" % (cur, len(rows), lag))
assert len(rows) == 6 and cur == int(sys.argv[3]) and lag == 0, rows
PY
jrun 60 $K_CCONS --bootstrap-server "$(cl_addr 1)" --topic grp --group "$G" \
    --timeout-ms 8000 >"$T_TMP/c2.out" 2>"$T_TMP/c2.err"
[ ! -s "$T_TMP/c2.out" ] || fail "a second consumer in $G read $(wc -l <"$T_TMP/c2.out") records again"
info "group $G via broker 1 with coordinator $c: $N records once, commits kept"
