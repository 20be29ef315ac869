#!/usr/bin/env bash
# t_etcd_broker_pause.sh - t_broker_pause.sh on an etcd cluster: a broker paused
# past its lease TTL is fenced, no split brain.
CL_ETCD=1 exec bash "$(dirname "$0")/t_broker_pause.sh"
