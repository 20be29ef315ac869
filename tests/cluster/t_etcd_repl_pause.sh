#!/usr/bin/env bash
# t_etcd_repl_pause.sh - t_repl_pause.sh on an etcd cluster: the leader paused past
# its lease, fenced, truncated and back in the ISR.
CL_ETCD=1 exec bash "$(dirname "$0")/t_repl_pause.sh"
