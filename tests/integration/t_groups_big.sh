#!/usr/bin/env bash
# t_groups_big.sh - group records of any legal size survive a restart, and the
# group limits (group.max.size, group.{min,max}.session.timeout.ms, the group
# record under __consumer_offsets' max message bytes) answer Kafka's errors.
# One __consumer_offsets partition (every group shares it), message.max.bytes
# 64 MiB: group ob commits 100, a group of one member with 17 MiB of metadata and a
# group of 2,000 members x 10 KiB (a ~21 MB record) become Stable, ob commits 200.
# After a restart ob reads back exactly 200 (the loader read the records past
# 16 MiB instead of stopping there) and both big groups are Stable with their
# members' metadata intact. Then, restarted with the default message.max.bytes,
# group.max.size=3 and session timeouts 7000..400000 ms: the big groups still load,
# a 2 MiB JoinGroup is refused with UNKNOWN_SERVER_ERROR (-1), session timeouts
# outside get INVALID_SESSION_TIMEOUT (26), and of 4 members joining at once one
# gets GROUP_MAX_SIZE_REACHED (81). kcat creates the topic; the rest is raw wire
# (tests/clients/py_group_big.py). 2 shards.
. "$(dirname "$0")/lib.sh"

rb_start --override num.shards=2 --override offsets.topic.num.partitions=1 \
    --override message.max.bytes=67108864
bs=$(rb_bootstrap)
gb=$ROOT/tests/clients/py_group_big.py
TOPIC=big-t
echo "k:v" | ct 30 "$KCAT" -b "$bs" -P -t "$TOPIC" -K: -X acks=all 2>"$T_TMP/p.err" ||
    fail "produce: $(tail -3 "$T_TMP/p.err")"

big() { ct 120 "$PY" "$gb" "$@" || fail "py_group_big $*"; }
expect() { # expect WHAT GOT WANT
    [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
    info "$1: $2"
}

expect "commit 100" "$(big commit "$bs" ob "$TOPIC" 100)" 0
expect "17 MiB member" "$(big big "$bs" g17 17825792 | tr '\n' ' ')" "join 0 sync 0 "
expect "2000 members x 10 KiB" "$(big big "$bs" g2k 10240 2000 | tr '\n' ' ')" "join 0 sync 0 "
expect "commit 200" "$(big commit "$bs" ob "$TOPIC" 200)" 0
expect "before restart" "$(big fetch "$bs" ob "$TOPIC")" 200
rb_stop
rb_restart
got=
for _ in $(seq 1 50); do # COORDINATOR_LOAD_IN_PROGRESS (14) while loading
    got=$(big fetch "$bs" ob "$TOPIC")
    [ "$got" != "error 14" ] && break
    sleep 0.2
done
expect "ob after restart" "$got" 200
expect "g17 after restart" "$(big describe "$bs" g17)" "Stable 1 17825792"
expect "g2k after restart" "$(big describe "$bs" g2k)" "Stable 2000 10240"
grep -q "loading __consumer_offsets.*stopped" "$T_TMP"/broker.*.log && fail "the loader stopped"

rb_stop
rb_restart --override message.max.bytes=1048588 --override group.max.size=3 \
    --override group.min.session.timeout.ms=7000 --override group.max.session.timeout.ms=400000
expect "g17 loads under a smaller limit" "$(big describe "$bs" g17)" "Stable 1 17825792"
expect "ob" "$(big fetch "$bs" ob "$TOPIC")" 200
expect "2 MiB JoinGroup" "$(big big "$bs" gover 2097152)" "join -1"
expect "JoinGroup session 6999 ms" "$(big join "$bs" gs 6999)" 26
expect "JoinGroup session 400001 ms" "$(big join "$bs" gs 400001)" 26
expect "JoinGroup session 20000 ms" "$(big join "$bs" gs 20000)" 0
expect "4 joins, group.max.size=3" "$(big maxsize "$bs" gmax 3)" "0 0 0 81"
rb_check_alive "at the end"
rb_stop
echo "PASS: t_groups_big"
