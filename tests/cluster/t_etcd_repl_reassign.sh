#!/usr/bin/env bash
# t_etcd_repl_reassign.sh - t_repl_reassign_failover.sh on an etcd cluster (tools/cluster.sh --etcd).
CL_ETCD=1 exec bash "$(dirname "$0")/t_repl_reassign_failover.sh"
