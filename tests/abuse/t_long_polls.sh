#!/usr/bin/env bash
# t_long_polls.sh - one produce wakes every parked fetch (issue 13 items 6, 8).
#
# Under the abuse limits (`ulimit -n 1024`, a 64 MiB budget per shard): 1,000 Fetch
# requests (max_wait 30 s, min_bytes 1) pipelined over 4 connections park on one
# partition at its log end; one kcat produce must answer all of them, with the
# record, within 5 s (part/read.c rb_part_wake_readers re-runs every parked set of
# the partition, not a fixed number per flush; before: the last after 27.98 s).
# Meanwhile another client is served, RSS stays under the budget plus a margin,
# and every acknowledged record is back after kill -9 and a restart.
. "$(dirname "$0")/lib_abuse.sh"

ab_start
ab_fill lp 1 100 100
ab_served >/dev/null || fail "the probe before the attack"
ab_attack 1 env KCAT="$KCAT" "$PY" "$ROOT/tests/clients/py_long_polls.py" "$(rb_bootstrap)" lp 100 1000 4 5
ab_assert_figures
grep -q "^answered=1000 of 1000 " "$T_TMP/attack.out" || fail "long polls: $(cat "$T_TMP/attack.out")"
ab_check_restart lp 101
rb_stop
exit 0
