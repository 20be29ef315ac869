#!/usr/bin/env bash
# t_zk_node_kill.sh - kill -9 of one ZooKeeper node (the ensemble's leader, the
# harder case: the quorum re-elects) does not disturb the cluster.
#   For twice the session timeout after the kill: all three brokers stay
#   registered, /controller stays, every broker's Metadata lists all three;
#   producing to and consuming from all 6 partitions works (every acknowledged
#   record read back, before and after the kill); a topic created through
#   CreateTopics after the kill gets leaders; Kafka 2.8.2's TopicCommand --list
#   works through the two remaining nodes. The node is restarted and rejoins.
# CL_ETCD=1 does the same with an etcd member (t_etcd_member_kill.sh).
. "$(dirname "$0")/lib.sh"

cl_up
T=zkk
cl_create_topic $T 6
ct 120 $CLC produce "$CL_BS" $T 0 600 0,1,2,3,4,5 "$T_TMP/acks" || fail "produce before the kill"
c=$(cl_controller)

victim=$(cl_q_status | awk '$NF == "leader" {print $2}')
[ -n "$victim" ] || victim=1
cl_q_kill "$victim"
info "quorum: $(cl_q_status | tr '\n' ';')"
t0=$SECONDS
steady() {
    [ "$(cl_q_ls /brokers/ids | tr '\n' ' ')" = "1 2 3 " ] || return 1
    [ -n "$(cl_controller)" ] || return 1
    cl_all_list 1 2 3
}
wait_for 30 "brokers registered, a controller, full Metadata after the kill" steady
ct 120 $CLC produce "$CL_BS" $T 1000 600 0,1,2,3,4,5 "$T_TMP/acks" || fail "produce after the quorum node kill"
cl_create_topic zkk2 3
if [ "$CL_MODE" = zk ]; then
    k28_topics --list || k28_fail "TopicCommand --list with a ZooKeeper node down"
    grep -qx zkk2 "$T_TMP/k28.out" || k28_fail "TopicCommand --list does not show zkk2"
fi
while [ $((SECONDS - t0)) -lt $((2 * CL_SESSION_MS / 1000)) ]; do
    steady || fail "cluster disturbed $((SECONDS - t0)) s after the quorum node kill"
    sleep 1
done
[ "$(cl_controller)" = "$c" ] || info "note: controller changed $c -> $(cl_controller)"
ct 120 $CLC consume "$CL_BS" $T 0,1,2,3,4,5 "$T_TMP/acks" | sed 's/^/info: /' || fail "consume after the quorum node kill"
cl_q_start "$victim"
info "quorum after restart: $(cl_q_status | tr '\n' ';')"
steady || fail "cluster not steady after the quorum node came back"
info "quorum node $victim killed for $((SECONDS - t0)) s: brokers stayed registered, data flowed"
