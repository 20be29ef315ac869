#!/usr/bin/env bash
# t_repl_pause.sh - the leader of a partition paused with SIGSTOP past its session
# timeout under an idempotent acks=all load (issue 11 item 7f): fencing.
#   L, the leader of partition 0, is paused. A Produce (acks=all) for partition
#   0 is sent to L during the pause and sits unread in its socket. Past the
#   session timeout /brokers/ids/L disappears, every partition L led gets a new
#   leader from its ISR and is acknowledged again (times printed). After SIGCONT
#   L must not acknowledge anything for its old partitions: the queued Produce
#   and one sent right after SIGCONT are answered with an error (never error 0);
#   whatever the load's in-flight requests got from L counts as acknowledged and
#   is checked. L re-registers, truncates what diverged and rejoins every ISR
#   (time printed); the checker reads everything back: 0 lost, 0 duplicates,
#   order kept.
# CL_ETCD=1 runs the same on etcd (t_etcd_repl_pause.sh).
. "$(dirname "$0")/lib_repl.sh"

rp_up --override replica.lag.time.max.ms=3000
rp_load_start
L=$(rp_leader 0) || fail "no Metadata for partition 0"
[[ "$L" =~ ^[123]$ ]] || fail "partition 0 has no leader ('$L')"
led=$(cl_json "$(cl_meta "$L")" "' '.join(sorted((p for p, v in d['topics']['$RP_T']['partitions'].items() if v['leader'] == $L), key=int))")
others=$(cl_ids | grep -vx "$L" | tr '\n' ' ')
a=${others%% *}
info "broker $L leads partitions: $led"
sleep 2
cl_pause "$L"
t0=$(date +%s.%N)
since() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
bg "$T_TMP/queued.out" env CL_CALL_TIMEOUT=120 $CLC produce-to "$(cl_addr "$L")" $RP_T 0 900000
queued=$CL_LAST

gone() { ! cl_q_get "/brokers/ids/$L" >/dev/null 2>&1; }
wait_for $((CL_SESSION_MS / 1000 + 20)) "/brokers/ids/$L gone (session ${CL_SESSION_MS} ms)" gone
info "/brokers/ids/$L gone $(since) s into the pause"
moved() { # p: a live broker's Metadata names a leader other than L
    local l
    l=$(cl_json "$(cl_meta "$a" 2>/dev/null)" "d['topics']['$RP_T']['partitions']['$1']['leader']" 2>/dev/null)
    [[ "$l" =~ ^[123]$ ]] && [ "$l" != "$L" ]
}
for p in $led; do
    wait_for 30 "a new leader for partition $p" moved "$p"
    # librdkafka gives up on its requests in flight to the paused broker only after
    # socket.timeout.ms (10 s) and then resets the idempotent state: a liveness bound
    secs=$(rp_wait_progress "$p" 60) ||
        fail "partition $p: no acknowledgement within 60 s of its new leader"
    info "partition $p: new leader $(cl_leader "$a" $RP_T "$p") seen; acknowledged again $(since) s into the pause (${secs} s after the new leader was seen)"
done
# the new leaders keep acknowledging for a while, L still paused
sleep 3
for p in $led; do rp_wait_progress "$p" 10 >/dev/null || fail "partition $p stalled under its new leader"; done
cl_cont "$L"
tc=$SECONDS
out=$(ct 30 $CLC produce-to "$(cl_addr "$L")" $RP_T 0 900001) || out="no answer ($out)"
info "Produce to the old leader $L right after SIGCONT: $out"
[[ "$out" == error=0* ]] && fail "FENCING: the old leader $L acknowledged a write after its session expired: $out"
wait "$queued"
q=$(cat "$T_TMP/queued.out")
info "the Produce queued in $L during the pause was answered: $q"
[[ "$q" == error=0* ]] && fail "FENCING: the old leader $L acknowledged the write queued during the pause: $q"
reg() { cl_q_get "/brokers/ids/$L" >/dev/null 2>&1; }
wait_for 60 "broker $L to re-register after SIGCONT" reg
wait_for 90 "broker $L back in every ISR" rp_isr_full
info "broker $L re-registered and back in every ISR $((SECONDS - tc)) s after SIGCONT"
grep -i 'diverg\|truncat' "$CL_DIR/broker-$L/broker.log" | tail -3 | sed 's/^/info: broker log: /'
for p in $led; do
    rp_wait_progress "$p" 30 >/dev/null && continue
    kill -0 "$RP_LOAD" 2>/dev/null || fail "the producer died after $L came back (a stale leader answered?): $(grep -m1 -o 'KafkaError{.*' "$T_TMP/load.out" | cut -c1-400)"
    fail "partition $p: no acknowledgement after $L rejoined"
done
rp_load_stop
rp_check
