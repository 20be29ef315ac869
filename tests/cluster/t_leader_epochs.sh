#!/usr/bin/env bash
# t_leader_epochs.sh - leader epochs across a leader change (issue 11, KIP-320).
#   A 1-partition RF=1 topic gets 100 records (librdkafka, idempotent, acks=all)
#   under leader epoch E0; its leader is paused past its session and resumed, so
#   the controller elects it again with a newer epoch E1 (read from the partition
#   state node); 100 more records. Then, on the wire (tests/cluster/epoch_wire.py):
#   OffsetForLeaderEpoch for E0 ends at 100 (where E1 starts), E1 at the log end,
#   current_leader_epoch E0 is FENCED_LEADER_EPOCH (74), E1+1 UNKNOWN_LEADER_EPOCH
#   (75), a broker that holds no replica answers NOT_LEADER_OR_FOLLOWER (6);
#   ListOffsets v4 the same, latest answering epoch E1. librdkafka and Kafka 4.4's
#   Java console consumer read all 200 back after the change (both send
#   current_leader_epoch in their fetches). After a clean stop, Kafka 4.4's
#   DumpLogSegments shows partitionLeaderEpoch E0 on the first 100 offsets' batches
#   and E1 on the rest, and Kafka's LeaderEpochCheckpointFile reads the partition's
#   leader-epoch-checkpoint as "E0 0", "E1 100" (written already while running, by
#   the checkpoint report).
# CL_ETCD=1 runs the same on etcd.
. "$(dirname "$0")/lib.sh"

k44_setup
cl_up --override log.flush.offset.checkpoint.interval.ms=200
T=le
cl_create_topic $T 1
ct 120 $CLC produce "$CL_BS" $T 0 100 0 "$T_TMP/acks" || fail "produce before the change"
L=$(cl_leader 1 $T 0)
[ "$L" -ge 1 ] || fail "no leader for $T/0"
state() { cl_q_get "/brokers/topics/$T/partitions/0/state"; }
E0=$(cl_json "$(state)" "d['leader_epoch']")
info "leader of $T/0 is broker $L at epoch $E0"

cl_pause "$L"
gone() { ! cl_q_get "/brokers/ids/$L" >/dev/null 2>&1; }
wait_for $((CL_SESSION_MS / 1000 + 30)) "/brokers/ids/$L to go" gone
cl_cont "$L"
back() { cl_leaders_are $T 0 "$L" 1 2 3; }
wait_for 60 "broker $L to lead $T/0 again" back
E1=$(cl_json "$(state)" "d['leader_epoch']")
[ "$E1" -gt "$E0" ] || fail "epoch $E1 after the re-election, was $E0"
W() { ct 20 "$PY" "$ROOT/tests/cluster/epoch_wire.py" "$(cl_addr "$1")" $T "${@:2}"; }
applied() { [[ "$(W "$L" lo "$E1")" == error=0* ]]; }
wait_for 30 "broker $L to apply epoch $E1" applied
info "broker $L leads $T/0 again at epoch $E1"
ct 120 $CLC produce "$CL_BS" $T 1000 100 0 "$T_TMP/acks" || fail "produce after the change"

check() { # what got want
    [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
    info "$1: $2"
}
check "OffsetForLeaderEpoch $E0" "$(W "$L" ole "$E1" "$E0")" "error=0 epoch=$E0 end=100"
check "OffsetForLeaderEpoch $E1" "$(W "$L" ole "$E1" "$E1")" "error=0 epoch=$E1 end=200"
check "OffsetForLeaderEpoch newer than ours" "$(W "$L" ole "$E1" $((E1 + 1)))" "error=0 epoch=-1 end=-1"
check "OffsetForLeaderEpoch current $E0 (fenced)" "$(W "$L" ole "$E0" "$E0")" "error=74 epoch=-1 end=-1"
check "OffsetForLeaderEpoch current $((E1 + 1))" "$(W "$L" ole $((E1 + 1)) "$E0")" "error=75 epoch=-1 end=-1"
check "ListOffsets current $E1" "$(W "$L" lo "$E1")" "error=0 offset=200 epoch=$E1"
check "ListOffsets no current epoch" "$(W "$L" lo -1)" "error=0 offset=200 epoch=$E1"
check "ListOffsets current $E0 (fenced)" "$(W "$L" lo "$E0")" "error=74 offset=-1 epoch=-1"
check "ListOffsets current $((E1 + 1))" "$(W "$L" lo $((E1 + 1)))" "error=75 offset=-1 epoch=-1"
O=
for i in 1 2 3; do [ "$i" != "$L" ] && O=$i && break; done
check "OffsetForLeaderEpoch on broker $O (no replica)" "$(W "$O" ole "$E1" "$E1")" "error=6 epoch=-1 end=-1"

ct 120 $CLC consume "$CL_BS" $T 0 "$T_TMP/acks" | sed 's/^/info: /' || fail "consume after the change"
# Kafka 4.4's Java consumer: current_leader_epoch E1 in its ListOffsets and Fetch
jrun 120 $K_CCONS --bootstrap-server "$CL_BS" --topic $T --from-beginning --max-messages 200 \
    --timeout-ms 30000 >"$T_TMP/java.out" 2>"$T_TMP/java.err" || fail "Java consumer: $(tail -5 "$T_TMP/java.err")"
[ "$(wc -l <"$T_TMP/java.out")" = 200 ] ||
    fail "Java consumer read $(wc -l <"$T_TMP/java.out") of 200: $(tail -5 "$T_TMP/java.err")"
info "Java console consumer (Kafka 4.4): 200 of 200 records after the leader change"

d="$CL_DIR/broker-$L/data/$T-0"
# written while running by the checkpoint report (before its recovery point)
ckpt_current() { grep -qx "$E1 100" "$d/leader-epoch-checkpoint" 2>/dev/null; }
wait_for 20 "leader-epoch-checkpoint of broker $L to hold epoch $E1 while running" ckpt_current
cl_term "$L"
segs=$(ls "$d"/*.log | paste -sd, -)
jrun 120 org.apache.kafka.tools.DumpLogSegments --files "$segs" >"$T_TMP/dump" 2>"$T_TMP/dump.err" ||
    fail "DumpLogSegments: $(tail -5 "$T_TMP/dump.err")"
awk -v e0="$E0" -v e1="$E1" '/^baseOffset:/ {
        for (i = 1; i < NF; i++) if ($i == "partitionLeaderEpoch:") ep = $(i + 1)
        want = $2 < 100 ? e0 : e1
        if (ep != want) { print "batch at " $2 ": partitionLeaderEpoch " ep ", want " want; bad = 1 }
        n++
    } END { if (n == 0) { print "no batches"; bad = 1 }; exit bad }' "$T_TMP/dump" >"$T_TMP/dump.chk" ||
    fail "Kafka's dump: $(head -3 "$T_TMP/dump.chk")"
info "DumpLogSegments: $(grep -c '^baseOffset:' "$T_TMP/dump") batches, epochs $E0 below offset 100 and $E1 from it"
jrun 60 "$ROOT/tests/clients/EpochCheckpoint.java" read "$d/leader-epoch-checkpoint" >"$T_TMP/ep" \
    2>"$T_TMP/ep.err" || fail "Kafka cannot read the checkpoint: $(tail -3 "$T_TMP/ep.err")"
[ "$(cat "$T_TMP/ep")" = "$(printf '%s 0\n%s 100' "$E0" "$E1")" ] ||
    fail "Kafka read epochs '$(cat "$T_TMP/ep")' from $(cat "$d/leader-epoch-checkpoint")"
info "leader-epoch-checkpoint read by Kafka: $(tr '\n' ',' <"$T_TMP/ep")"
