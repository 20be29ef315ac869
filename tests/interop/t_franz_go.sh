#!/usr/bin/env bash
# t_franz_go.sh - franz-go (newest release from the Go module proxy, built into
# ~/.cache/ringbroker/go): kadm CreateTopics, a kgo producer with its defaults
# (idempotent, acks=all) and a kgo consumer group of two members committing what
# they poll, on a 4-partition topic (broker with 2 shards): every acknowledged
# record consumed exactly once, both members consume, committed offsets equal
# the log ends; kadm DescribeGroups. The checks are in franz_group.go.
. "$(dirname "$0")/lib.sh"

N=20000
bin=$(franz_build franz_group) || exit 1
rb_start --override num.shards=2 --override group.initial.rebalance.delay.ms=0
ct 120 "$bin" "$(rb_bootstrap)" fgotopic fgog $N >"$T_TMP/go.out" 2>"$T_TMP/go.err"
rc=$?
cat "$T_TMP/go.out"
[ $rc -eq 0 ] || fail "franz_group rc=$rc: $(grep -v '^info:' "$T_TMP/go.out" | tail -3; tail -15 "$T_TMP/go.err"; broker_unsupported)"
rb_check_alive "after franz-go"
rb_stop
echo "PASS: t_franz_go ($N records once across a 2-member franz-go group, commits at the log ends)"
