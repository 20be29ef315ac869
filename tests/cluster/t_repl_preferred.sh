#!/usr/bin/env bash
# t_repl_preferred.sh - preferred leader election (issue 11 item 4), on a topic of
# replication factor 3 whose partitions prefer brokers 1, 2 and 3 in turn.
#   A. auto.leader.rebalance.enable=false: broker P, preferred leader of some
#      partitions, is stopped (SIGTERM: controlled shutdown moves its leaderships)
#      and started again; once it is back in every ISR its partitions are still led
#      by others. Kafka 2.8.2's kafka-preferred-replica-election.sh --zookeeper
#      (kafka.admin.PreferredReplicaLeaderElectionCommand) writes
#      /admin/preferred_replica_election: every partition goes back to its
#      preferred replica and the node is deleted.
#      Bounced again, ringctl leaders --preferred --topic does the same.
#   B. every broker restarted (one at a time) with auto.leader.rebalance.enable=true
#      and leader.imbalance.check.interval.seconds=3 (read-only keys in Kafka too);
#      P bounced again: once back in the ISRs, its leaderships return on their own.
#   An idempotent acks=all load runs throughout; the checker reads everything
#   back: 0 lost, 0 duplicates, order kept.
. "$(dirname "$0")/lib_repl.sh"

RP_PARTS=6
preferred_lead() { # every partition led by its first replica, in broker 1's view
    [ "$(cl_json "$(cl_meta 1)" "all(p['leader'] == p['replicas'][0] for p in d['topics']['$RP_T']['partitions'].values())")" = True ]
}
prefers() { # b: partitions whose first replica is b
    cl_json "$(cl_meta 1)" "','.join(k for k, p in sorted(d['topics']['$RP_T']['partitions'].items()) if p['replicas'][0] == $1)"
}

rp_up --override auto.leader.rebalance.enable=false
wait_for 30 "every partition led by its preferred replica at creation" preferred_lead
rp_load_start
b=2
info "broker $b prefers partitions $(prefers $b)"
cl_term $b
cl_start $b
wait_for 90 "broker $b back in every ISR" rp_isr_full
sleep 2
preferred_lead && fail "leaderships went back to broker $b without an election (auto rebalance is off)"
_k28 kafka.admin.PreferredReplicaLeaderElectionCommand || k28_fail "kafka-preferred-replica-election.sh --zookeeper"
info "Kafka 2.8.2 PreferredReplicaLeaderElectionCommand: $(grep -v '^$' "$T_TMP/k28.out" | tail -1 | cut -c1-160)"
wait_for 30 "every partition back on its preferred replica" preferred_lead
gone() { ! cl_q_get /admin/preferred_replica_election >/dev/null 2>&1; }
wait_for 30 "/admin/preferred_replica_election deleted by the controller" gone
info "A: partitions $(prefers $b) back on broker $b after the election"
cl_term $b
cl_start $b
wait_for 90 "broker $b back in every ISR" rp_isr_full
preferred_lead && fail "leaderships went back to broker $b without an election (auto rebalance is off)"
ct 60 "$ROOT/build/bin/ringctl" leaders --preferred --topic $RP_T --zookeeper "$CL_ZK" >"$T_TMP/rl.out" 2>&1 ||
    fail "ringctl leaders --preferred: $(cat "$T_TMP/rl.out")"
preferred_lead || fail "after ringctl leaders --preferred: $(cat "$T_TMP/rl.out")"
info "ringctl leaders --preferred: $(tail -1 "$T_TMP/rl.out")"

printf '%s\n' auto.leader.rebalance.enable=true leader.imbalance.check.interval.seconds=3 >>"$CL_DIR/overrides"
for i in 1 2 3; do
    cl_term "$i"
    cl_start "$i"
    wait_for 90 "broker $i back in every ISR" rp_isr_full
done
wait_for 30 "every partition on its preferred replica after the restarts" preferred_lead
cl_term $b
cl_start $b
wait_for 90 "broker $b back in every ISR" rp_isr_full
t0=$SECONDS
wait_for 60 "the automatic rebalance to give broker $b its partitions back" preferred_lead
info "B: auto rebalance returned partitions $(prefers $b) to broker $b $((SECONDS - t0)) s after it rejoined"
rp_load_stop
rp_check
