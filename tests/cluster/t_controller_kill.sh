#!/usr/bin/env bash
# t_controller_kill.sh - kill -9 of the controller.
#   A 6-partition RF=1 topic led by all three brokers holds acknowledged records.
#   The controller is killed with SIGKILL: within the session timeout (plus a few
#   seconds for the election) another broker holds /controller, and the
#   controller epoch went up; the live brokers' Metadata shows no leader for the
#   dead broker's partitions and the same leaders as before for the others;
#   producing to the live partitions (bootstrap: the live brokers) keeps working
#   and every acknowledged record is read back. After the killed broker is
#   restarted it re-registers, leads its partitions again, and every record ever
#   acknowledged (before the kill too) is read back from all 6 partitions: 0 lost,
#   no duplicates.
# CL_ETCD=1 runs the same on etcd (t_etcd_controller_kill.sh).
. "$(dirname "$0")/lib.sh"

cl_up
T=ck
cl_create_topic $T 6
ct 120 $CLC produce "$CL_BS" $T 0 600 0,1,2,3,4,5 "$T_TMP/acks" || fail "produce before the kill"

c=$(cl_controller)
[[ "$c" =~ ^[123]$ ]] || fail "no controller before the kill ('$c')"
e0=$(cl_q_get /controller_epoch) || fail "/controller_epoch missing"
others=$(cl_ids | grep -vx "$c" | tr '\n' ' ' | sed 's/ $//')
a=${others%% *}
dead_parts=$(cl_parts_on "$a" $T "$c")
live_parts=$(cl_parts_off "$a" $T "$c")
[ -n "$dead_parts" ] && [ -n "$live_parts" ] || fail "partitions on $c: '$dead_parts', elsewhere: '$live_parts'"
info "controller $c (epoch $e0) leads partitions $dead_parts; the others $live_parts"

t0=$SECONDS
cl_kill9 "$c"
new_ctl() { local n; n=$(cl_controller); [ -n "$n" ] && [ "$n" != "$c" ]; }
bound=$((CL_SESSION_MS / 1000 + 8))
wait_for $bound "a new /controller within the session timeout (${CL_SESSION_MS} ms) + 8 s" new_ctl
n=$(cl_controller)
info "new controller $n after $((SECONDS - t0)) s (session timeout ${CL_SESSION_MS} ms)"
e1=$(cl_q_get /controller_epoch)
[ "$e1" -gt "$e0" ] || fail "/controller_epoch $e0 -> $e1 after the failover"

# shellcheck disable=SC2086
wait_for 30 "no leader for $dead_parts on the live brokers" cl_leaders_are $T "$dead_parts" -1 $others
for p in ${live_parts//,/ }; do
    l=$(cl_json "$(cl_meta "$a")" "d['topics']['$T']['partitions']['$p']['replicas'][0]")
    # shellcheck disable=SC2086
    cl_leaders_are $T "$p" "$l" $others || fail "partition $p (on live broker $l) lost its leader"
done
bs_live=$(cl_bs_without "$c")
ct 120 $CLC produce "$bs_live" $T 1000 600 "$live_parts" "$T_TMP/acks.live" || fail "produce to live partitions after the kill"
ct 120 $CLC consume "$bs_live" $T "$live_parts" "$T_TMP/acks.live" | sed 's/^/info: /' || fail "consume live partitions"
grep -E "^($(tr , '|' <<<"$live_parts")) " "$T_TMP/acks" >"$T_TMP/acks.before.live"
ct 120 $CLC consume "$bs_live" $T "$live_parts" "$T_TMP/acks.before.live" >/dev/null || fail "records acknowledged before the kill on live partitions"

cl_start "$c"
reg() { cl_q_get "/brokers/ids/$c" >/dev/null 2>&1; }
wait_for 30 "broker $c to re-register" reg
wait_for 30 "broker $c to lead $dead_parts again" cl_leaders_are $T "$dead_parts" "$c" 1 2 3
ct 120 $CLC consume "$CL_BS" $T 0,1,2,3,4,5 "$T_TMP/acks" "$T_TMP/acks.live" | sed 's/^/info: /' ||
    fail "consume everything after the restart"
info "controller failover: $c -> $n, epoch $e0 -> $e1; data on live partitions kept flowing"
