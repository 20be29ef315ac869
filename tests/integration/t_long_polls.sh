#!/usr/bin/env bash
# t_long_polls.sh - one produce wakes every parked fetch (issue 13 item 6).
#
# 1,000 Fetch requests (max_wait 30 s, min_bytes 1) pipelined over 4 connections
# park on one partition at its log end; one kcat produce must answer all of them,
# with the record, within 5 s (part/read.c rb_part_wake_readers re-runs every
# parked set of the partition, not a fixed number per flush).
. "$(dirname "$0")/lib.sh"

rb_start --override num.partitions=1
bs=$(rb_bootstrap)
echo "first" | ct 20 "$KCAT" -P -b "$bs" -t lp -p 0 -X acks=all >"$T_TMP/p0.out" 2>&1 ||
    fail "first produce: $(cat "$T_TMP/p0.out")"
KCAT=$KCAT ct 90 "$PY" "$ROOT/tests/clients/py_long_polls.py" "$bs" lp 1 1000 4 5 \
    >"$T_TMP/lp.out" 2>&1 || fail "long polls: $(cat "$T_TMP/lp.out")"
info "$(cat "$T_TMP/lp.out")"
rb_stop
exit 0
