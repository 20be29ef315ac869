#!/usr/bin/env bash
# t_repl_rolling.sh - a rolling restart of all 3 brokers (SIGTERM, then start)
# under an idempotent acks=all load (issue 11 item 7b). Each broker is stopped
# with SIGTERM (controlled shutdown: its leaderships move first, asserted from its
# log) and started again; the next one goes only when every partition has
# a full ISR again. The checker then reads everything back: 0 lost, 0 duplicates,
# order kept; the longest time the producer went without an acknowledgement is
# printed by the load.
# CL_ETCD=1 runs the same on etcd (t_etcd_repl_rolling.sh).
. "$(dirname "$0")/lib_repl.sh"

rp_up
rp_load_start
for b in 1 2 3; do
    sleep 1
    t0=$SECONDS
    cl_term "$b"
    cl_start "$b"
    wait_for 90 "broker $b back in every ISR" rp_isr_full
    info "broker $b restarted (SIGTERM) and back in every ISR after $((SECONDS - t0)) s"
done
rp_load_stop
rp_check
for b in 1 2 3; do
    grep -q "controlled shutdown: leaderships moved" "$CL_DIR/broker-$b/broker.log" ||
        fail "broker $b did not log a completed controlled shutdown: $(grep 'controlled shutdown' "$CL_DIR/broker-$b/broker.log" | tail -2)"
done
info "each broker's SIGTERM moved its leaderships first: $(grep -h 'controlled shutdown: leaderships moved' "$CL_DIR"/broker-*/broker.log | sed 's/.*moved in/moved in/' | tr '\n' ';')"
