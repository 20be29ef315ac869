#!/usr/bin/env bash
# t_broker_pause.sh - SIGSTOP of a broker past its session timeout: no split brain.
#   A 6-partition RF=1 topic led by all three brokers holds acknowledged records.
#   Broker B (not the controller) is paused with SIGSTOP; a Produce for one of
#   its partitions is already sent to it (it sits unread in B's socket). Past the
#   session timeout /brokers/ids/B disappears and the other brokers' Metadata
#   shows no leader for B's partitions. During the whole pause, Produce requests
#   for B's partitions sent directly to each other broker are refused (never
#   error 0: only B may ever accept writes for them), while the other partitions
#   keep taking writes. After SIGCONT, B re-registers and leads its partitions
#   again; the request queued during the pause is answered either with an error
#   or with success (then it counts as acknowledged). Finally every partition is
#   read: every acknowledged record at its acknowledged offset, no duplicates, no
#   gaps, no offset holding two records (no divergent history).
# CL_ETCD=1 runs the same on etcd.
. "$(dirname "$0")/lib.sh"

cl_up
T=bp
cl_create_topic $T 6
ct 120 $CLC produce "$CL_BS" $T 0 600 0,1,2,3,4,5 "$T_TMP/acks" || fail "produce before the pause"
c=$(cl_controller)
B=
for i in 3 2 1; do [ "$i" != "$c" ] && B=$i && break; done
others=$(cl_ids | grep -vx "$B" | tr '\n' ' ' | sed 's/ $//')
a=${others%% *}
bparts=$(cl_parts_on "$a" $T "$B")
oparts=$(cl_parts_off "$a" $T "$B")
[ -n "$bparts" ] && [ -n "$oparts" ] || fail "partitions on $B: '$bparts', elsewhere: '$oparts'"
p0=${bparts%%,*}
info "pausing broker $B (controller is $c); its partitions: $bparts"

cl_pause "$B"
t0=$SECONDS
# A write for B's partition sent to B itself during the pause (answered after SIGCONT).
bg "$T_TMP/queued.out" env CL_CALL_TIMEOUT=120 $CLC produce-to "$(cl_addr "$B")" $T "$p0" 500000
queued=$CL_LAST

# Direct writes for B's partitions to every other broker: must never succeed.
split=0 tries=0 seq=600000
probe_others() {
    local i p out
    for i in $others; do
        for p in ${bparts//,/ }; do
            seq=$((seq + 1))
            tries=$((tries + 1))
            out=$(ct 30 $CLC produce-to "$(cl_addr "$i")" $T "$p" $seq) || continue
            if [[ "$out" == error=0* ]]; then
                split=$((split + 1))
                echo "SPLIT BRAIN: broker $i accepted a write for $T/$p (B=$B paused): $out" >&2
                echo "$p ${out##*offset=} $seq" >>"$T_TMP/acks.other"
            fi
        done
    done
}
gone() { ! cl_q_get "/brokers/ids/$B" >/dev/null 2>&1; }
deadline=$((SECONDS + CL_SESSION_MS / 1000 + 20))
until gone; do
    probe_others
    [ $SECONDS -lt $deadline ] || fail "/brokers/ids/$B still there $((SECONDS - t0)) s into the pause (session ${CL_SESSION_MS} ms)"
    sleep 0.5
done
info "/brokers/ids/$B gone $((SECONDS - t0)) s into the pause"
deadline=$((SECONDS + 30))
# shellcheck disable=SC2086
until cl_leaders_are $T "$bparts" -1 $others; do
    probe_others
    [ $SECONDS -lt $deadline ] || fail "the live brokers still show a leader for $bparts"
    sleep 0.5
done
probe_others
# The other partitions keep working meanwhile.
ct 120 $CLC produce "$(cl_bs_without "$B")" $T 1000 300 "$oparts" "$T_TMP/acks" || fail "produce to the live partitions during the pause"
probe_others
[ $split = 0 ] || fail "$split of $tries writes for $B's partitions were accepted by other brokers"
info "during the pause: $tries direct writes for $bparts to brokers $others, all refused"

cl_cont "$B"
reg() { cl_q_get "/brokers/ids/$B" >/dev/null 2>&1; }
wait_for 60 "broker $B to re-register after SIGCONT" reg
# shellcheck disable=SC2086
wait_for 60 "broker $B to lead $bparts again" cl_leaders_are $T "$bparts" "$B" 1 2 3
wait "$queued"
q=$(cat "$T_TMP/queued.out")
info "the write queued in broker $B during the pause was answered: $q"
if [[ "$q" == error=0* ]]; then echo "$p0 ${q##*offset=} 500000" >>"$T_TMP/acks"; fi

ct 120 $CLC produce "$CL_BS" $T 2000 600 0,1,2,3,4,5 "$T_TMP/acks" || fail "produce to all partitions after SIGCONT"
ct 120 $CLC consume "$CL_BS" $T 0,1,2,3,4,5 "$T_TMP/acks" | sed 's/^/info: /' || fail "consume after the pause"
info "broker $B paused past its session, fenced, back as leader; no split brain"
