#!/usr/bin/env bash
# t_internal_topic.sh - only the broker writes __consumer_offsets (issue 13 items 4, 8).
#
# Under the abuse limits: a kafka-python group consumer commits offsets (which
# creates __consumer_offsets); then a raw-wire client sends Produce (a forged
# record in every partition), DeleteRecords (up to the high watermark) and
# DeleteTopics for __consumer_offsets: each is answered INVALID_TOPIC_EXCEPTION
# (17) as in Kafka, the topic keeps its partitions, the group's committed offsets
# are unchanged, also after kill -9 and a restart, and groups still work (a second
# group commits after the attack). Another client is served during the attack.
. "$(dirname "$0")/lib_abuse.sh"

C=$ROOT/tests/clients/py_internal_topic.py
ab_start --override num.partitions=4 --override offsets.topic.num.partitions=4
ab_fill it 4 200 100
bs=$(rb_bootstrap)
ct 60 "$PY" "$C" commit "$bs" g1 it 200 >"$T_TMP/c1.out" 2>&1 || fail "commit g1: $(cat "$T_TMP/c1.out")"
ct 60 "$PY" "$C" check "$bs" g1 it 200 >"$T_TMP/k0.out" 2>&1 || fail "check g1: $(cat "$T_TMP/k0.out")"
ab_attack 0 "$PY" "$C" attack "$bs"
ab_assert_figures
ct 60 "$PY" "$C" check "$bs" g1 it 200 >"$T_TMP/k1.out" 2>&1 ||
    fail "g1 after the attack: $(cat "$T_TMP/k1.out")"
ct 60 "$PY" "$C" commit "$bs" g2 it 200 >"$T_TMP/c2.out" 2>&1 || fail "commit g2: $(cat "$T_TMP/c2.out")"
ab_check_restart it 200
for g in g1 g2; do
    ct 60 "$PY" "$C" check "$bs" $g it 200 >"$T_TMP/k2.out" 2>&1 ||
        fail "$g after kill -9 and a restart: $(cat "$T_TMP/k2.out")"
    info "after kill -9 and a restart: $(cat "$T_TMP/k2.out")"
done
rb_stop
exit 0
