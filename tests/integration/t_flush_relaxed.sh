#!/usr/bin/env bash
# t_flush_relaxed.sh - flush.messages / flush.ms relax durability (issue 3 item 1).
#
# With flush.messages > 1 an acks=1/all produce is acknowledged once its batch is
# written (the O_DIRECT write completed) and the high watermark follows the write;
# the fdatasync runs every flush.messages messages or flush.ms (net/partition.c).
#   A. topic rx, flush.messages=1000000, with the testing aid failing EVERY fsync
#      of rx-0 (test.fault.fsync.fail.after=0): production is acknowledged and
#      readable and rx-0 stays online - proof that acks no longer wait for a sync.
#   B. topic fm, flush.messages=1000, flush.ms=300 on a healthy disk: every record
#      acknowledged, read back in order without duplicates, also after a restart.
#   C. the default (flush.messages=1) stays durable: a topic with default
#      settings on a partition whose fsyncs fail answers the produce with
#      KAFKA_STORAGE_ERROR (the ack waited for the failed sync).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

rt=$(rb_client rb_roundtrip)
rb_start --override num.partitions=1 --override test.fault.partition=rx-0 \
    --override test.fault.fsync.fail.after=0
bs=$(rb_bootstrap)
ct 30 "$CTL" topics --bootstrap-server "$bs" --create --topic rx --partitions 1 \
    --config flush.messages=1000000 >"$T_TMP/c.out" 2>&1 || fail "create rx: $(cat "$T_TMP/c.out")"
ct 30 "$CTL" topics --bootstrap-server "$bs" --create --topic fm --partitions 2 \
    --config flush.messages=1000 --config flush.ms=300 >"$T_TMP/c.out" 2>&1 ||
    fail "create fm: $(cat "$T_TMP/c.out")"

# A
ct 60 "$rt" produce -b "$bs" -t rx -n 5000 -a "$T_TMP/acks_rx" -T 10000 >"$T_TMP/pa.out" 2>"$T_TMP/pa.err" ||
    fail "produce rx (fsync failing, flush.messages=1000000): $(tail -3 "$T_TMP/pa.err")"
grep -q "acked=5000 failed=0" "$T_TMP/pa.out" || fail "rx: $(cat "$T_TMP/pa.out")"
fl_read rx 0 "$T_TMP/got_rx" || fail "read rx: $(tail -3 "$T_TMP/got_rx.err")"
res=$(fl_check "$T_TMP/acks_rx" "$T_TMP/got_rx") || fail "rx: $res"
grep -q "fdatasync failed" "$RB_LOG" && fail "rx-0 synced although flush.messages was not reached"
info "A: rx acked without any successful fsync: $res"

# B
ct 120 "$rt" produce -b "$bs" -t fm -n 20000 -a "$T_TMP/acks_fm" >"$T_TMP/pb.out" 2>"$T_TMP/pb.err" ||
    fail "produce fm: $(tail -3 "$T_TMP/pb.err")"
info "B: $(cat "$T_TMP/pb.out")"
ct 60 "$rt" consume -b "$bs" -t fm -n 20000 -a "$T_TMP/acks_fm" >"$T_TMP/cb.out" 2>"$T_TMP/cb.err" ||
    fail "consume fm: $(tail -3 "$T_TMP/cb.err")"
info "B: $(cat "$T_TMP/cb.out" | tail -1)"
rb_stop
rb_restart --override test.fault.fsync.fail.after=-1
ct 60 "$rt" consume -b "$bs" -t fm -n 20000 -a "$T_TMP/acks_fm" >"$T_TMP/cb2.out" 2>"$T_TMP/cb2.err" ||
    fail "consume fm after restart: $(tail -3 "$T_TMP/cb2.err")"
fl_read rx 0 "$T_TMP/got_rx2" || fail "read rx after restart"
res=$(fl_check "$T_TMP/acks_rx" "$T_TMP/got_rx2") || fail "rx after restart: $res"
info "after a clean restart: fm $(tail -1 "$T_TMP/cb2.out"); rx $res"
rb_stop

# C: the default stays durable: same fault, default flush.messages -> offline
rb_restart --override test.fault.partition=dflt-0 --override test.fault.fsync.fail.after=0
echo "v" | ct 20 "$KCAT" -P -b "$bs" -t dflt -p 0 -k k1 -X acks=all \
    -X message.send.max.retries=0 -X message.timeout.ms=5000 >"$T_TMP/kc.out" 2>&1
grep -qiE "disk error|storage" "$T_TMP/kc.out" || fail "default flush.messages did not wait for the sync: $(cat "$T_TMP/kc.out")"
info "C: default topic with failing fsync: $(grep -iE -m1 "disk error|storage" "$T_TMP/kc.out" | cut -c1-120)"
rb_stop
exit 0
