#!/usr/bin/env bash
# t_etcd_produce_consume.sh - t_produce_consume.sh on an etcd cluster (tools/cluster.sh --etcd).
CL_ETCD=1 exec bash "$(dirname "$0")/t_produce_consume.sh"
