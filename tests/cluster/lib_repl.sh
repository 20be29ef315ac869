# tests/cluster/lib_repl.sh - the replication fault scenarios' shared steps (issue 11
# item 7), on top of lib.sh.
#
# Owns: one topic RP_T of RP_PARTS partitions, replication factor 3,
# min.insync.replicas=2, on a 3-broker cluster; a load that runs throughout (an
# idempotent acks=all librdkafka producer, cl_client.py produce-until, RP_RATE
# records a second, every acknowledgement appended to $T_TMP/acks as it arrives);
# and the checker (cl_client.py consume with CL_CHECK_ORDER=1): every acknowledged
# record read back at its offset, 0 lost, 0 duplicates, per-partition order kept.
#   rp_up [--override k=v ...]    cluster + topic, every partition with a full ISR
#   rp_load_start [UID] / rp_load_stop  the producer running throughout
#   rp_pick_led_off_controller    P, L (and c): a partition led by a non-controller
#   rp_hold_registered B T0       fail if B loses its registration before 2 sessions after T0
#   rp_isr_full [TOPIC PARTS]     every live broker shows 3 in the ISR of each partition
#   rp_leader P                   partition P's leader in broker 1..3's Metadata (first live)
#   rp_wait_progress P SECS       until a new acknowledgement of partition P arrives;
#                                 prints the seconds waited (the client's failover time)
#   rp_check                      the checker; prints its counts
#   rp_coordinator G              group G's coordinator (broker id), asked of broker 1
#   rp_committed_is BS G OFF WHEN every partition of RP_T committed at OFF for G
#                                 (asked through BS), else fail naming WHEN
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RP_T=rt
RP_PARTS=${RP_PARTS:-3}
RP_RATE=${RP_RATE:-200}
RP_LOAD=

rp_up() {
    cl_up --override min.insync.replicas=2 "$@"
    local out
    out=$(ct 30 $CLC create-topic "$(cl_addr 1)" $RP_T $RP_PARTS 3) || fail "create-topic: $out"
    [[ "$out" == error=0* ]] || fail "CreateTopics $RP_T RF=3: $out"
    wait_for 60 "a full ISR (3) for every partition of $RP_T" rp_isr_full
    info "topic $RP_T: $RP_PARTS partitions, RF 3, min.insync.replicas 2, ISR full"
}

rp_coordinator() {
    local co c
    co=$(ct 30 $CLC coordinator "$(cl_addr 1)" "$1") || fail "FindCoordinator of $1: $co"
    c=$(sed -n 's/.* id=\([0-9]*\).*/\1/p' <<<"$co")
    [[ "$c" =~ ^[123]$ ]] || fail "coordinator of $1: '$co'"
    echo "$c"
}

rp_committed_is() {
    local got
    got=$(ct 90 $CLC committed "$1" "$2" $RP_T 0,1,2) || fail "committed $4: $got"
    [ "$got" = "0:$3,1:$3,2:$3" ] || fail "committed offsets $4: '$got', want $3 each"
}

rp_isr_full() {
    local i m t=${1:-$RP_T} n=${2:-$RP_PARTS}
    for i in $(cl_ids); do
        [ -n "$(cl_pid "$i")" ] || continue
        m=$(cl_meta "$i" 2>/dev/null) || return 1
        [ "$(cl_json "$m" "sum(1 for p in d['topics'].get('$t',{}).get('partitions',{}).values() if p['leader'] >= 0 and len(p['isr']) == 3)")" = "$n" ] || return 1
    done
}

rp_leader() {
    local i m
    for i in $(cl_ids); do
        [ -n "$(cl_pid "$i")" ] || continue
        m=$(cl_meta "$i" 2>/dev/null) || continue
        cl_json "$m" "d['topics']['$RP_T']['partitions']['$1']['leader']"
        return 0
    done
    return 1
}

rp_load_start() { # [UID]: the producer as that uid (netns tests: their cuts spare it)
    local run=()
    rm -f "$T_TMP/stop"
    : >>"$T_TMP/acks"
    if [ -n "${1:-}" ]; then
        chmod 755 "$T_TMP"
        chown "$1:$1" "$T_TMP/acks"
        run=(setpriv --reuid="$1" --regid="$1" --clear-groups)
    fi
    "${run[@]}" $CLC produce-until "$CL_BS" $RP_T "$(seq -s, 0 $((RP_PARTS - 1)))" "$T_TMP/acks" "$T_TMP/stop" \
        "$RP_RATE" >"$T_TMP/load.out" 2>&1 &
    RP_LOAD=$!
    CL_BG+=("$RP_LOAD")
    wait_for 30 "the load's first acknowledgements" test -s "$T_TMP/acks"
}

rp_load_stop() {
    touch "$T_TMP/stop"
    local deadline=$((SECONDS + 170))
    while kill -0 "$RP_LOAD" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || fail "the producer did not finish within 170 s of its stop"
        sleep 0.5
    done
    wait "$RP_LOAD" || fail "producer: $(cat "$T_TMP/load.out")"
    info "$(grep "^produce-until" "$T_TMP/load.out")"
}

rp_acks_of() { grep -c "^$1 " "$T_TMP/acks"; }

# rp_hold_registered B T0: B keeps its registration until two session timeouts
# (+2 s) after T0 (a cut that leaves B its quorum session must not unregister it).
rp_hold_registered() {
    while [ $((SECONDS - $2)) -lt $((2 * CL_SESSION_MS / 1000 + 2)) ]; do
        cl_q_get "/brokers/ids/$1" >/dev/null 2>&1 || fail "broker $1 lost its registration during the cut"
        sleep 1
    done
}

# Sets P and L: the first partition whose leader L is not the controller (c).
rp_pick_led_off_controller() {
    local p l
    c=$(cl_controller)
    P=
    for p in $(seq 0 $((RP_PARTS - 1))); do
        l=$(rp_leader "$p")
        if [[ "$l" =~ ^[123]$ ]] && [ "$l" != "$c" ]; then P=$p L=$l && return 0; fi
    done
    fail "no partition led by a broker other than the controller $c"
}

rp_wait_progress() { # P SECS
    local p=$1 n0 t0 deadline
    n0=$(rp_acks_of "$p")
    t0=$(date +%s.%N)
    deadline=$((SECONDS + $2))
    while [ "$(rp_acks_of "$p")" -le "$n0" ]; do
        [ $SECONDS -lt $deadline ] || { echo none; return 1; }
        sleep 0.05
    done
    awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f\n", b - a }'
}

rp_check() {
    CL_CHECK_ORDER=1 ct 180 $CLC consume "$CL_BS" $RP_T "$(seq -s, 0 $((RP_PARTS - 1)))" "$T_TMP/acks" \
        >"$T_TMP/check.out" 2>&1 || fail "checker: $(cat "$T_TMP/check.out")"
    info "$(cat "$T_TMP/check.out")"
}
