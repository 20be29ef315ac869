#!/usr/bin/env bash
# t_etcd_repl_controller_kill.sh - t_repl_controller_kill.sh on an etcd cluster (tools/cluster.sh --etcd).
CL_ETCD=1 exec bash "$(dirname "$0")/t_repl_controller_kill.sh"
