#!/usr/bin/env bash
# t_etcd_isr.sh - t_isr.sh on an etcd cluster (tools/cluster.sh --etcd).
CL_ETCD=1 exec bash "$(dirname "$0")/t_isr.sh"
