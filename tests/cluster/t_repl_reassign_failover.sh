#!/usr/bin/env bash
# t_repl_reassign_failover.sh - a reassignment that outlives its controller (issue
# 11 item 4): the next controller resumes it from the nodes alone.
#   The controller C and a broker Y host a topic of 2 partitions (RF 2, created by
#   `ringctl topics --replica-assignment`); an idempotent acks=all load runs
#   throughout. The third broker X is paused (SIGSTOP) and `ringctl reassign`
#   moves both partitions to {Y,X}: the controller adds X to the replicas
#   (adding_replicas in the topic node) but X cannot catch up. C is killed (-9)
#   while the reassignment waits; Y becomes controller (and leader); X resumes
#   (SIGCONT), re-registers, copies the partitions from offset 0 and joins the
#   ISRs, and Y completes the reassignment: replicas and ISRs {Y,X}, the request
#   deleted, no adding/removing left. C, started again, is no replica any more and
#   deletes its partition directories. The checker reads everything back: 0 lost,
#   0 duplicates, order kept. CL_ETCD=1 runs it on etcd (t_etcd_repl_reassign.sh).
. "$(dirname "$0")/lib_repl.sh"

RP_T=rf
RP_PARTS=2
RP_RATE=${RP_RATE:-150}
CTL="$ROOT/build/bin/ringctl"

cl_up
if [ "$CL_MODE" = etcd ]; then QF=(--etcd "$CL_QUORUM"); else QF=(--zookeeper "$CL_ZK"); fi
wait_for 30 "a controller" test -n "$(cl_controller)"
C=$(cl_controller)
ids=$(cl_ids | grep -vx "$C" | tr '\n' ' ')
read -r Y X <<<"$ids"
info "controller C=$C, staying Y=$Y, joining X=$X"

on_set() { # want, from broker Y's view
    local m
    m=$(cl_meta "$Y" 2>/dev/null) || return 1
    [ "$(cl_json "$m" "all(sorted(p['replicas']) == sorted([$1]) and sorted(p['isr']) == sorted([$1]) and p['leader'] in [$1] for p in d['topics']['$RP_T']['partitions'].values()) and len(d['topics']['$RP_T']['partitions']) == $RP_PARTS")" = True ]
}
topic_node() { cl_q_get /brokers/topics/$RP_T; }
adding() { # the topic node lists X being added to both partitions
    [ "$("$PY" -c 'import json,sys; a=json.loads(sys.argv[1]).get("adding_replicas") or {}; print(all(int(sys.argv[2]) in a.get(str(p), []) for p in range(int(sys.argv[3]))))' "$(topic_node)" "$X" $RP_PARTS)" = True ]
}
no_moves() {
    [ "$("$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); print(not d.get("adding_replicas") and not d.get("removing_replicas"))' "$(topic_node)")" = True ]
}
request_gone() { ! cl_q_get /admin/reassign_partitions >/dev/null 2>&1; }
dirs_gone() {
    local p
    for p in $(seq 0 $((RP_PARTS - 1))); do
        [ -e "$CL_DIR/broker-$1/data/$RP_T-$p" ] && return 1
    done
    return 0
}

out=$(ct 60 "$CTL" topics --create --topic $RP_T --replica-assignment "$C:$Y,$Y:$C" "${QF[@]}" 2>&1) ||
    fail "ringctl topics --create: $out"
wait_for 60 "$RP_T on {$C,$Y} with full ISRs" on_set "$C,$Y"
rp_load_start
sleep 2

cl_pause "$X"
printf '{"version":1,"partitions":[{"topic":"%s","partition":0,"replicas":[%s,%s]},{"topic":"%s","partition":1,"replicas":[%s,%s]}]}\n' \
    $RP_T "$Y" "$X" $RP_T "$X" "$Y" |
    ct 60 "$CTL" reassign --reassignment-json-file - "${QF[@]}" >"$T_TMP/rr.out" 2>&1 ||
    fail "ringctl reassign: $(cat "$T_TMP/rr.out")"
wait_for 30 "the controller to add broker $X to the replicas (adding_replicas)" adding
sleep 2
request_gone && fail "the reassignment completed while broker $X was paused: $(topic_node)"
cl_kill9 "$C"
ctl_is() { [ "$(cl_controller)" = "$1" ]; }
wait_for 60 "broker $Y to take over as controller (broker $X is paused)" ctl_is "$Y"
info "broker $Y is the controller; the reassignment waits: $(topic_node)"
cl_cont "$X"
t0=$SECONDS
wait_for 90 "both partitions on {$Y,$X} with full ISRs" on_set "$Y,$X"
wait_for 30 "/admin/reassign_partitions deleted by the new controller" request_gone
no_moves || fail "the topic node still lists moves: $(topic_node)"
info "the new controller completed the reassignment $((SECONDS - t0)) s after broker $X resumed"
cl_start "$C"
wait_for 60 "broker $C's partition directories deleted after its restart" dirs_gone "$C"
for p in 0 1; do
    [ -f "$CL_DIR/broker-$X/data/$RP_T-$p/00000000000000000000.log" ] ||
        fail "broker $X has no segment from offset 0 for $RP_T-$p"
done
rp_load_stop
rp_check
