#!/usr/bin/env bash
# t_etcd_repl_failover_fast.sh - t_repl_failover_fast.sh on an etcd cluster (tools/cluster.sh --etcd).
CL_ETCD=1 exec bash "$(dirname "$0")/t_repl_failover_fast.sh"
