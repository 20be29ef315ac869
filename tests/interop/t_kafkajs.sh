#!/usr/bin/env bash
# t_kafkajs.sh - kafkajs 2.2.4 (npm, installed into ~/.cache/ringbroker/node):
# admin createTopics, a producer (acks=-1) and a consumer group of two members
# on a 4-partition topic (broker with 2 shards): every acknowledged message
# consumed exactly once, both members consume, committed offsets equal the high
# watermarks, a new member resumes from the commits; listGroups/describeGroups.
# The checks are in kafkajs_group.js (its "info:" lines are the counts).
. "$(dirname "$0")/lib.sh"

N=5000
M=500
kafkajs_setup
rb_start --override num.shards=2 --override group.initial.rebalance.delay.ms=0
ct 120 node "$IOP_DIR/kafkajs_group.js" "$(rb_bootstrap)" jsgrp jsg $N $M >"$T_TMP/js.out" 2>"$T_TMP/js.err"
rc=$?
cat "$T_TMP/js.out"
[ $rc -eq 0 ] || fail "kafkajs_group.js rc=$rc: $(grep -v '^info:' "$T_TMP/js.out" | tail -3; tail -15 "$T_TMP/js.err"; broker_unsupported)"
rb_check_alive "after kafkajs"
rb_stop
echo "PASS: t_kafkajs ($N messages once across a 2-member kafkajs group, $M resumed by a new member)"
