#!/usr/bin/env bash
# t_etcd_replication.sh - t_replication.sh on an etcd cluster (tools/cluster.sh --etcd).
CL_ETCD=1 exec bash "$(dirname "$0")/t_replication.sh"
