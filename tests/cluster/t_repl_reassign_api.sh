#!/usr/bin/env bash
# t_repl_reassign_api.sh - KIP-455's AlterPartitionReassignments (45) and
# ListPartitionReassignments (46), through Kafka 4.4's own
# kafka-reassign-partitions.sh --bootstrap-server
# (org.apache.kafka.tools.reassign.ReassignPartitionsCommand), issue 11 item 4.
#   A topic of 2 partitions, RF 2 on the controller C and a broker Y (ringctl
#   --replica-assignment), an idempotent acks=all load throughout; the third broker
#   X is paused (SIGSTOP, still registered) while the moves to {Y,X} wait for it.
#   1. --execute; --list shows both reassignments (X adding, C removing); --verify
#      says in progress; --cancel puts them back on {C,Y}: nothing listed, replicas
#      and ISRs {C,Y}.
#   2. X resumed and paused again (registered), --execute again; X resumed:
#      --verify says both completed (--preserve-throttles:
#      none were set), replicas and ISRs {Y,X}, C's directories deleted.
#   3. AlterPartitionReassignments refusals at the wire: a cancel of nothing
#      (NO_REASSIGNMENT_IN_PROGRESS 85), a broker twice and an unregistered broker
#      (INVALID_REPLICA_ASSIGNMENT 39), an unknown partition and topic (3), an empty
#      list (39); nothing is started.
#   The checker reads everything back: 0 lost, 0 duplicates, order kept.
. "$(dirname "$0")/lib_repl.sh"

RP_T=rk
RP_PARTS=2
RP_RATE=${RP_RATE:-150}
CTL="$ROOT/build/bin/ringctl"
K_REASSIGN=org.apache.kafka.tools.reassign.ReassignPartitionsCommand

cl_up
k44_setup
wait_for 30 "a controller" test -n "$(cl_controller)"
C=$(cl_controller)
read -r Y X <<<"$(cl_ids | grep -vx "$C" | tr '\n' ' ')"
info "controller C=$C, staying Y=$Y, joining X=$X"

on_set() { # p0-set p1-set, in C's view
    local m
    m=$(cl_meta "$C" 2>/dev/null) || return 1
    [ "$(cl_json "$m" "all(sorted(p['replicas']) == sorted(w) and sorted(p['isr']) == sorted(w) and p['leader'] in w for p, w in zip([d['topics']['$RP_T']['partitions']['0'], d['topics']['$RP_T']['partitions']['1']], [[$1], [$2]]))")" = True ]
}
dirs_gone() {
    local p
    for p in 0 1; do
        [ -e "$CL_DIR/broker-$1/data/$RP_T-$p" ] && return 1
    done
    return 0
}
kr() { # out-file args...: Kafka 4.4's tool, bootstrapped from the controller
    local out=$1
    shift
    jrun 120 $K_REASSIGN --bootstrap-server "$(cl_addr "$C")" "$@" >"$T_TMP/$out" 2>&1
}
printf '{"version":1,"partitions":[{"topic":"%s","partition":0,"replicas":[%s,%s]},{"topic":"%s","partition":1,"replicas":[%s,%s]}]}\n' \
    $RP_T "$Y" "$X" $RP_T "$X" "$Y" >"$T_TMP/move.json"
listed() {
    kr list.out --list || return 1
    grep -q "$RP_T-0: replicas: $Y,$X,$C. adding: $X. removing: $C" "$T_TMP/list.out" &&
        grep -q "$RP_T-1: replicas: $X,$Y,$C. adding: $X. removing: $C" "$T_TMP/list.out"
}
none_listed() { kr list.out --list && grep -q "No partition reassignments found" "$T_TMP/list.out"; }
execute() {
    kr exec.out --reassignment-json-file "$T_TMP/move.json" --execute ||
        fail "kafka-reassign-partitions.sh --execute: $(cat "$T_TMP/exec.out")"
    grep -q "Successfully started partition reassignment" "$T_TMP/exec.out" ||
        fail "--execute: $(cat "$T_TMP/exec.out")"
}

out=$(ct 60 "$CTL" topics --create --topic $RP_T --replica-assignment "$C:$Y,$Y:$C" --zookeeper "$CL_ZK" 2>&1) ||
    fail "ringctl topics --create: $out"
wait_for 60 "$RP_T on {$C,$Y} with full ISRs" on_set "$C,$Y" "$Y,$C"
rp_load_start
sleep 2

# ---- 1. execute, list, verify in progress, cancel ----
cl_pause "$X"
execute
wait_for 60 "--list to show both reassignments in progress" listed
info "1: --list: $(grep "$RP_T-" "$T_TMP/list.out" | tr '\n' ';')"
kr verify.out --reassignment-json-file "$T_TMP/move.json" --verify --preserve-throttles
grep -q "Reassignment of partition $RP_T-0 is still in progress" "$T_TMP/verify.out" ||
    fail "--verify while broker $X is paused: $(cat "$T_TMP/verify.out")"
kr cancel.out --reassignment-json-file "$T_TMP/move.json" --cancel --preserve-throttles ||
    fail "kafka-reassign-partitions.sh --cancel: $(cat "$T_TMP/cancel.out")"
wait_for 60 "nothing in progress after --cancel" none_listed
wait_for 30 "replicas and ISRs back on {$C,$Y}" on_set "$C,$Y" "$Y,$C"
info "1: --cancel: $(grep -v '^$' "$T_TMP/cancel.out" | tail -1)"

# ---- 2. execute again, X resumes: complete ----
cl_cont "$X"
registered() { cl_q_get "/brokers/ids/$X" >/dev/null 2>&1; }
wait_for 60 "broker $X registered again" registered
cl_pause "$X"
execute
wait_for 60 "--list to show both reassignments again" listed
cl_cont "$X"
verified() {
    kr verify.out --reassignment-json-file "$T_TMP/move.json" --verify --preserve-throttles &&
        [ "$(grep -c "is completed" "$T_TMP/verify.out")" = 2 ]
}
wait_for 90 "--verify: both completed" verified
wait_for 30 "replicas and ISRs {$Y,$X}" on_set "$Y,$X" "$X,$Y"
wait_for 30 "broker $C's directories deleted" dirs_gone "$C"
none_listed || fail "--list after completion: $(cat "$T_TMP/list.out")"
info "2: --verify: $(grep "$RP_T-" "$T_TMP/verify.out" | tr '\n' ';')"

# ---- 3. refusals at the wire (AlterPartitionReassignments v0, hand-encoded) ----
# (Kafka's tool checks brokers and active moves itself first: these reach the broker
# only from other clients.)
out=$(ct 30 $CLC alter-reassign "$(cl_addr "$Y")" "$RP_T:0:null" "$RP_T:1:$X,$X" "$RP_T:9:$X" \
    "nope:0:$X" "$RP_T:0:$X,77" "$RP_T:0:") || fail "alter-reassign: $out"
for want in "$RP_T-0 error=85" "$RP_T-1 error=39" "$RP_T-9 error=3" "nope-0 error=3" \
    "$RP_T-0 error=39 message=Unknown broker id 77"; do
    grep -q "^$want" <<<"$out" || fail "AlterPartitionReassignments: no '$want' in: $out"
done
none_listed || fail "something in progress after refused requests: $(cat "$T_TMP/list.out")"
info "3: refused at the wire: $(grep -o "^[^ ]* error=[0-9]*" <<<"$out" | tr '\n' ' ')"

rp_load_stop
rp_check
