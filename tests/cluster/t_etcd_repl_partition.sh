#!/usr/bin/env bash
# t_etcd_repl_partition.sh - t_repl_partition.sh on an etcd cluster: the leader cut
# off from the other brokers but not from etcd nor from the clients.
CL_ETCD=1 exec bash "$(dirname "$0")/t_repl_partition.sh"
