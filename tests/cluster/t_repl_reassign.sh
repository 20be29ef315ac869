#!/usr/bin/env bash
# t_repl_reassign.sh - partition reassignment (issue 11 item 4): data copied to the
# new replicas before the old ones are dropped.
#   A topic of 2 partitions, replication factor 2, on brokers {1,2} (Kafka 2.8.2's
#   TopicCommand --replica-assignment 1:2,2:1), an idempotent acks=all load
#   running throughout.
#   1. Kafka 2.8.2's kafka-reassign-partitions.sh --zookeeper --execute
#      (kafka.admin.ReassignPartitionsCommand) moves partition 0 to {3} (replication
#      factor 1: no replica in common, everything must be copied to broker 3 before
#      it leads) and partition 1 to {3,2} (led by broker 2, which stays leader);
#      --verify reports both complete; broker 3's log of each partition starts at
#      offset 0 and covers every record acknowledged before the move completed,
#      broker 1's directories and broker 2's of partition 0 are gone,
#      /admin/reassign_partitions is deleted and
#      the topic node's adding/removing lists are empty again.
#   2. `ringctl reassign` (the JSON on stdin) moves both to {1,2}; --verify
#      exits 0 once complete; broker 3's directories are gone, broker 1 holds the
#      partitions again, from offset 0 through what was acknowledged.
#   3. ringctl's errors: unknown topic, unknown partition, unregistered broker,
#      a broker named twice, a partition named twice.
#   The checker reads everything back: 0 lost, 0 duplicates, order kept.
. "$(dirname "$0")/lib_repl.sh"

RP_T=ra
RP_PARTS=2
RP_RATE=${RP_RATE:-150}
CTL="$ROOT/build/bin/ringctl"

on_set() { # p0-set p1-set: each partition's replicas and ISR are that set (broker 2's or 1's view)
    local m i
    for i in 2 1; do
        m=$(cl_meta "$i" 2>/dev/null) && break
    done
    [ -n "$m" ] || return 1
    [ "$(cl_json "$m" "all(sorted(p['replicas']) == sorted(w) and sorted(p['isr']) == sorted(w) and p['leader'] in w for p, w in zip([d['topics']['$RP_T']['partitions']['0'], d['topics']['$RP_T']['partitions']['1']], [[$1], [$2]])) and len(d['topics']['$RP_T']['partitions']) == $RP_PARTS")" = True ]
}
dirs_gone() { # broker [partitions]
    local p
    for p in ${2:-$(seq 0 $((RP_PARTS - 1)))}; do
        [ -e "$CL_DIR/broker-$1/data/$RP_T-$p" ] && return 1
    done
    return 0
}
holds_from_zero() { # broker ackfile: per partition, its log from offset 0 through
    # every record acknowledged in the ack file's copy (read by ringctl dump-log)
    local p f n last
    for p in $(seq 0 $((RP_PARTS - 1))); do
        f=$CL_DIR/broker-$1/data/$RP_T-$p/00000000000000000000.log
        [ -f "$f" ] || { echo "broker $1: no $f"; return 1; }
        ct 30 "$CTL" dump-log --files "$f" >"$T_TMP/dump.out" 2>&1
        n=$(awk -v p="$p" '$1 == p && $2 > m { m = $2 } END { print m + 0 }' "$2")
        [ "$(grep -m1 -o 'baseOffset: [0-9]*' "$T_TMP/dump.out")" = "baseOffset: 0" ] ||
            { echo "broker $1 $RP_T-$p: no batch at offset 0: $(head -3 "$T_TMP/dump.out")"; return 1; }
        last=$(grep -o 'lastOffset: [0-9]*' "$T_TMP/dump.out" | awk '{ m = $2 > m ? $2 : m } END { print m + 0 }')
        [ "$last" -ge "$n" ] ||
            { echo "broker $1 $RP_T-$p: log ends at $last, offset $n acknowledged before"; return 1; }
        echo "broker $1 $RP_T-$p: offsets 0..$last (up to $n acknowledged before)"
    done
}
ctl_log() { # the controller's reassignment lines, from every broker's log
    grep -h "(controller)" "$CL_DIR"/broker-*/broker.log | grep -E "reassign(ing|ment complete)" |
        sort | tail -"$1" | sed 's/^\[[^]]*\] INFO //; s/ (controller)$//' | tr '\n' ';'
}
request_gone() { ! cl_q_get /admin/reassign_partitions >/dev/null 2>&1; }
no_moves() { # the topic node's adding/removing lists are empty
    local t
    t=$(cl_q_get /brokers/topics/$RP_T) || return 1
    [ "$("$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); print(not d.get("adding_replicas") and not d.get("removing_replicas"))' "$t")" = True ]
}
moves_json() { # p0-replicas p1-replicas
    printf '{"version":1,"partitions":[{"topic":"%s","partition":0,"replicas":[%s]},{"topic":"%s","partition":1,"replicas":[%s]}]}\n' \
        $RP_T "$1" $RP_T "$2"
}

cl_up
k28_topics --create --topic $RP_T --replica-assignment 1:2,2:1 || k28_fail "TopicCommand --create"
wait_for 60 "$RP_T on {1,2} with full ISRs" on_set 1,2 1,2
rp_load_start
sleep 3

# ---- 1. Kafka 2.8.2's tool through /admin/reassign_partitions ----
moves_json 3 3,2 >"$T_TMP/to23.json"
_k28 kafka.admin.ReassignPartitionsCommand --reassignment-json-file "$T_TMP/to23.json" --execute ||
    k28_fail "kafka-reassign-partitions.sh --zookeeper --execute"
grep -q "Successfully started" "$T_TMP/k28.out" ||
    k28_fail "kafka-reassign-partitions.sh --execute did not start the reassignment"
t0=$SECONDS
wait_for 90 "partition 0 on {3}, partition 1 on {2,3}, full ISRs" on_set 3 2,3
cp "$T_TMP/acks" "$T_TMP/acks1"
wait_for 30 "/admin/reassign_partitions deleted by the controller" request_gone
info "1: moved to {3} and {2,3} in $((SECONDS - t0)) s under load"
wait_for 30 "broker 1's partition directories deleted" dirs_gone 1
wait_for 30 "broker 2's directory of partition 0 deleted" dirs_gone 2 0
info "1: controller: $(ctl_log 4)"
out=$(holds_from_zero 3 "$T_TMP/acks1") || fail "broker 3 does not hold the data: $out"
info "1: $(tr '\n' ' ' <<<"$out")"
no_moves || fail "the topic node still lists moves: $(cl_q_get /brokers/topics/$RP_T)"
_k28 kafka.admin.ReassignPartitionsCommand --reassignment-json-file "$T_TMP/to23.json" --verify ||
    k28_fail "kafka-reassign-partitions.sh --zookeeper --verify"
[ "$(grep -c "is complete" "$T_TMP/k28.out")" = 2 ] ||
    k28_fail "kafka-reassign-partitions.sh --verify: not both complete"
info "1: Kafka 2.8.2 --verify: $(grep -c "is complete" "$T_TMP/k28.out") partitions complete"

# ---- 2. ringctl reassign back ----
moves_json 1,2 2,1 | ct 60 "$CTL" reassign --reassignment-json-file - --zookeeper "$CL_ZK" \
    >"$T_TMP/rr.out" 2>&1 || fail "ringctl reassign: $(cat "$T_TMP/rr.out")"
grep -q "Successfully started" "$T_TMP/rr.out" || fail "ringctl reassign: $(cat "$T_TMP/rr.out")"
moves_json 1,2 2,1 >"$T_TMP/to12.json"
verified() { ct 30 "$CTL" reassign --reassignment-json-file "$T_TMP/to12.json" --verify --zookeeper "$CL_ZK" >"$T_TMP/rv.out" 2>&1; }
t0=$SECONDS
wait_for 90 "ringctl reassign --verify: complete" verified
wait_for 60 "both partitions on {1,2} with full ISRs" on_set 1,2 1,2
cp "$T_TMP/acks" "$T_TMP/acks2"
info "2: moved back to {1,2} in $((SECONDS - t0)) s: $(tr '\n' ' ' <"$T_TMP/rv.out")"
wait_for 30 "broker 3's partition directories deleted" dirs_gone 3
out=$(holds_from_zero 1 "$T_TMP/acks2") || fail "broker 1 does not hold the data: $out"
info "2: $(tr '\n' ' ' <<<"$out")"
request_gone || fail "/admin/reassign_partitions left behind"

# ---- 3. ringctl's refusals (nothing written) ----
refused() { # what json expected-text
    local out
    out=$(printf '%s\n' "$2" | ct 30 "$CTL" reassign --reassignment-json-file - --zookeeper "$CL_ZK" 2>&1) &&
        fail "ringctl reassign accepted $1: $out"
    grep -q "$3" <<<"$out" || fail "ringctl reassign, $1: no '$3' in: $out"
    request_gone || fail "ringctl reassign wrote the request for $1"
}
refused "an unknown topic" '{"version":1,"partitions":[{"topic":"nope","partition":0,"replicas":[1]}]}' "unknown topic"
refused "an unknown partition" "{\"version\":1,\"partitions\":[{\"topic\":\"$RP_T\",\"partition\":7,\"replicas\":[1]}]}" "unknown partition"
refused "an unregistered broker" "{\"version\":1,\"partitions\":[{\"topic\":\"$RP_T\",\"partition\":0,\"replicas\":[1,9]}]}" "broker 9 is not registered"
refused "a broker twice" "{\"version\":1,\"partitions\":[{\"topic\":\"$RP_T\",\"partition\":0,\"replicas\":[1,1]}]}" "named twice"
refused "a partition twice" "{\"version\":1,\"partitions\":[{\"topic\":\"$RP_T\",\"partition\":0,\"replicas\":[1]},{\"topic\":\"$RP_T\",\"partition\":0,\"replicas\":[2]}]}" "named twice"
info "3: ringctl reassign refused 5 bad requests"

rp_load_stop
rp_check
