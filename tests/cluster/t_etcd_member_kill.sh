#!/usr/bin/env bash
# t_etcd_member_kill.sh - t_zk_node_kill.sh on an etcd cluster: kill -9 of the
# etcd leader member does not disturb the cluster.
CL_ETCD=1 exec bash "$(dirname "$0")/t_zk_node_kill.sh"
