#!/usr/bin/env bash
# t_partition_limits.sh - partition limits answer Kafka-style errors before any
# file is created, and a topic creation that fails midway (out of file
# descriptors) is rolled back whole and stays gone after a restart.
# A. max.partitions=60, max.partitions.per.topic=40: CreateTopics of 41 partitions
#    -> INVALID_PARTITIONS (37); 40 -> ok; then 25 more -> POLICY_VIOLATION (44);
#    CreatePartitions to 41 -> 37, to 61 total -> 44; nothing on disk for the
#    refused ones; 20 more fit exactly.
# B. the broker restarted under `ulimit -n 200`: a topic of 400 partitions cannot
#    get its logs opened: KAFKA_STORAGE_ERROR (56), no directory of it is left, the
#    metadata file does not name it, Metadata does not list it, and the broker
#    still creates a small topic and serves it (kcat round trip). After a restart
#    with the normal limit, the failed topic is still absent and the others remain.
# Raw wire (tests/clients/py_topic_limits.py); kcat for the round trip.
. "$(dirname "$0")/lib.sh"

tl=$ROOT/tests/clients/py_topic_limits.py
lim() { ct 120 "$PY" "$tl" "$@" || fail "py_topic_limits $*"; }
expect_code() { # WHAT "CODE MESSAGE" WANT
    [ "${2%% *}" = "$3" ] || fail "$1: got '$2', want code $3"
    info "$1: $2"
}

rb_start --override num.shards=2 --override max.partitions=60 --override max.partitions.per.topic=40
bs=$(rb_bootstrap)
expect_code "41 partitions" "$(lim create "$bs" t41 41)" 37
expect_code "40 partitions" "$(lim create "$bs" a 40)" 0
expect_code "25 more" "$(lim create "$bs" b 25)" 44
expect_code "grow a to 41" "$(lim grow "$bs" a 41)" 37
expect_code "a 1 partition" "$(lim create "$bs" c 1)" 0
expect_code "grow c to 21 (61 in all)" "$(lim grow "$bs" c 21)" 44
for d in t41-0 b-0 c-1; do
    [ -e "$RB_DIR/$d" ] && fail "$d exists: a refused topic left files"
done
expect_code "grow c to 20 (60 in all)" "$(lim grow "$bs" c 20)" 0
[ "$(lim partitions "$bs" c)" = 20 ] || fail "c does not have 20 partitions"
[ "$(lim partitions "$bs" b)" = "error 3" ] || fail "b exists: $(lim partitions "$bs" b)"
rb_stop

# B: creation that fails midway. The wrapper lowers the fd limit of the broker alone.
cat >"$T_TMP/rb-ulimit.sh" <<EOW
#!/usr/bin/env bash
ulimit -n 200 || exit 1
exec "$RB_BIN" "\$@"
EOW
chmod +x "$T_TMP/rb-ulimit.sh"
REAL_BIN=$RB_BIN
RB_BIN=$T_TMP/rb-ulimit.sh
rb_restart --override max.partitions=1000 --override max.partitions.per.topic=1000
expect_code "400 partitions at 200 fds" "$(lim create "$bs" big 400)" 56
left=$(find "$RB_DIR" -maxdepth 1 -name 'big-*' | wc -l)
[ "$left" = 0 ] || fail "$left directories of the failed topic left"
grep -q "^topic big " "$RB_DIR/ringbroker-metadata" && fail "the metadata file names the failed topic"
[ "$(lim partitions "$bs" big)" = "error 3" ] || fail "Metadata lists big: $(lim partitions "$bs" big)"
expect_code "a small topic after the failure" "$(lim create "$bs" small 2)" 0
echo "k:v" | ct 30 "$KCAT" -b "$bs" -P -t small -K: -X acks=all 2>"$T_TMP/p.err" ||
    fail "produce to small: $(tail -3 "$T_TMP/p.err")"
got=$(ct 30 "$KCAT" -C -b "$bs" -t small -o beginning -e -q -f '%k:%s\n')
[ "$got" = "k:v" ] || fail "read back '$got'"
grep -q "creating topic big: .*rolled back" "$RB_LOG" || fail "no ERROR about the rollback"
rb_stop
RB_BIN=$REAL_BIN
rb_restart
[ "$(lim partitions "$bs" big)" = "error 3" ] || fail "big exists after the restart"
[ "$(lim partitions "$bs" small)" = 2 ] || fail "small lost over the restart"
[ "$(lim partitions "$bs" a)" = 40 ] || fail "a lost over the restart"
rb_check_alive "at the end"
rb_stop
echo "PASS: t_partition_limits"
