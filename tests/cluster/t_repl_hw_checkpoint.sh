#!/usr/bin/env bash
# t_repl_hw_checkpoint.sh - replication-offset-checkpoint (issue 11): the high
# watermark survives a restart, and a checkpoint never holds more than was
# replicated.
#   RF 3, one partition, leader L, followers F1 F2; the HW checkpointed every
#   200 ms; controlled shutdown off and sessions long (45 s) so that nothing but
#   the restart changes the partition's state.
#   1. N records acks=all: every broker's replication-offset-checkpoint holds
#      "rt 0 N" (Kafka 2.8's text).
#   2. F1 and F2 paused (SIGSTOP: still registered, still in the ISR, fetching
#      nothing); M records acks=1 to L: L's log end N+M, its HW stays N.
#   3. L stopped cleanly (SIGTERM) and started again, F1 F2 still paused: L leads
#      again with the ISR [L F1 F2] and no follower position. It must answer
#      ListOffsets(latest) = N and a consumer reading from L must get exactly the
#      N acks=all records at once (before this checkpoint it served nothing until
#      both followers fetched; never the M records no follower has).
#   4. F1 F2 resumed: the HW reaches N+M; an idempotent acks=all load runs, the
#      leader L (restarted with a 6 s session) is killed (kill -9) mid-run; its checkpoint as it died holds no HW
#      above the surviving replicas' log (every offset below it is in the final
#      log); it comes back, rejoins the ISR; the checker: 0 lost, 0 duplicates.
. "$(dirname "$0")/lib_repl.sh"

CL_SESSION_MS=45000
RP_PARTS=1
N=300
M=40
rp_up --override replica.high.watermark.checkpoint.interval.ms=200 \
    --override controlled.shutdown.enable=false --override replica.lag.time.max.ms=120000

ckpt_of() { # i -> the HW in broker i's replication-offset-checkpoint for rt-0 (none: -1)
    local f="$CL_DIR/broker-$1/data/replication-offset-checkpoint"
    [ -f "$f" ] || { echo -1; return; }
    awk -v t=$RP_T 'NR > 2 && $1 == t && $2 == 0 { print $3; found = 1 } END { if (!found) print -1 }' "$f"
}
hw_of() { # i -> "error=E offset=O" of ListOffsets(latest) on broker i
    ct 30 $CLC list-offset "$(cl_addr "$1")" $RP_T 0
}

L=$(rp_leader 0) || fail "no Metadata for partition 0"
[[ "$L" =~ ^[123]$ ]] || fail "partition 0 has no leader ('$L')"
F=$(cl_ids | grep -vx "$L" | tr '\n' ' ')
info "leader $L, followers $F"

# 1. N records acknowledged by all three
out=$(ct 90 $CLC produce "$(cl_addr "$L")" $RP_T 0 $N 0 "$T_TMP/acks") || fail "produce: $out"
info "$out"
# a consumer now, so __consumer_offsets (its FindCoordinator) is not made while
# the followers are paused below
out=$(CL_CHECK_ORDER=1 ct 90 $CLC consume "$CL_BS" $RP_T 0 "$T_TMP/acks") || fail "consumer: $out"
wait_for 60 "a full ISR for __consumer_offsets" rp_isr_full __consumer_offsets 6
ckpt_is() { [ "$(ckpt_of "$1")" = "$2" ]; }
for i in $(cl_ids); do
    wait_for 20 "broker $i's replication-offset-checkpoint to hold $RP_T 0 $N" ckpt_is "$i" $N
done
f="$CL_DIR/broker-$L/data/replication-offset-checkpoint"
[ "$(sed -n 1p "$f")" = 0 ] || fail "$f: version line '$(sed -n 1p "$f")'"
[ "$(sed -n 2p "$f")" = "$(($(wc -l <"$f") - 2))" ] || fail "$f: count line does not match: $(cat "$f")"
info "every broker checkpointed HW $N; $f: $(tr '\n' '|' <"$f")"

# 2. the followers paused; M records only the leader has
for i in $F; do cl_pause "$i"; done
out=$(CL_ACKS=1 CL_IDEMPOTENT=0 ct 90 $CLC produce "$(cl_addr "$L")" $RP_T $N $M 0 "$T_TMP/acks1") ||
    fail "acks=1 produce: $out"
info "$out"
[ "$(hw_of "$L")" = "error=0 offset=$N" ] || fail "HW on $L moved without the followers: $(hw_of "$L")"
sleep 1 # a few checkpoint intervals
[ "$(ckpt_of "$L")" = $N ] || fail "checkpoint of $L above what was replicated: $(ckpt_of "$L") (N=$N)"

# 3. the leader restarted cleanly, the followers still paused (with a short
# session from now on, for the kill -9 in 4.)
cl_term "$L"
sed -i 's/^zookeeper.session.timeout.ms=.*/zookeeper.session.timeout.ms=6000/' "$CL_DIR/overrides"
info "broker $L stopped (SIGTERM); its checkpoint: $(ckpt_of "$L")"
[ "$(ckpt_of "$L")" = $N ] || fail "clean shutdown checkpoint of $L: $(ckpt_of "$L") (N=$N)"
t0=$SECONDS
cl_start "$L"
leads() { [ "$(cl_leader "$L" $RP_T 0)" = "$L" ]; }
wait_for 30 "broker $L to lead partition 0 again" leads
isr=$(cl_json "$(cl_meta "$L")" "d['topics']['$RP_T']['partitions']['0']['isr']")
info "broker $L leads again $((SECONDS - t0)) s after its start, ISR $isr"
[ "$(cl_json "$(cl_meta "$L")" "len(d['topics']['$RP_T']['partitions']['0']['isr'])")" = 3 ] ||
    fail "the ISR changed while the followers were paused: $isr (the test proves nothing then)"
served=$(hw_of "$L")
info "ListOffsets(latest) on the restarted leader: $served"
[ "$served" = "error=0 offset=$N" ] ||
    fail "the restarted leader serves HW '$served', not the checkpointed $N (followers paused)"
t1=$(date +%s.%N)
out=$(CL_CHECK_ORDER=1 ct 90 $CLC consume "$(cl_addr "$L")" $RP_T 0 "$T_TMP/acks") ||
    fail "consumer on the restarted leader: $out"
info "consumer on the restarted leader, followers paused: $out ($(awk -v a="$t1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s)"
[[ "$out" == *": $N records read, $N acknowledged, 0 lost"* ]] || fail "expected exactly $N records: $out"

# 4. the followers back; a kill -9 of the leader under the load
for i in $F; do cl_cont "$i"; done
hw_all() { [ "$(hw_of "$L")" = "error=0 offset=$((N + M))" ]; }
wait_for 60 "the HW to reach $((N + M)) once the followers fetch" hw_all
wait_for 60 "a full ISR" rp_isr_full
export CL_FIRST_SEQ=$((N + M))
rp_load_start
sleep 3
K=$(rp_leader 0)
[ "$K" = "$L" ] || fail "partition 0's leader is '$K', not $L"
cl_kill9 "$K"
died=$(ckpt_of "$K")
info "broker $K killed under the load; its checkpointed HW: $died"
secs=$(rp_wait_progress 0 60) || fail "no acknowledgement within 60 s of the kill"
info "acknowledged again ${secs} s after the kill"
cl_start "$K"
wait_for 90 "broker $K back in the ISR" rp_isr_full
rp_wait_progress 0 30 >/dev/null || fail "no acknowledgement after $K rejoined"
rp_load_stop
CL_CHECK_ORDER=1 ct 180 $CLC consume "$CL_BS" $RP_T 0 "$T_TMP/acks" "$T_TMP/acks1" \
    >"$T_TMP/check.out" 2>&1 || fail "checker: $(cat "$T_TMP/check.out")"
info "$(cat "$T_TMP/check.out")"
end=$(hw_of "$(rp_leader 0)")
[[ "$end" == error=0* ]] || fail "ListOffsets after the run: $end"
end=${end#*offset=}
[ "$died" -le "$end" ] || fail "the killed leader had checkpointed HW $died above the final log end $end"
info "the killed leader's checkpointed HW $died <= the final HW $end (every offset below it kept)"
