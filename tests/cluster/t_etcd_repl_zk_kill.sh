#!/usr/bin/env bash
# t_etcd_repl_zk_kill.sh - t_repl_zk_kill.sh on an etcd cluster: kill -9 of the etcd
# leader member, then of a follower member, under the replicated load.
CL_ETCD=1 exec bash "$(dirname "$0")/t_repl_zk_kill.sh"
