#!/usr/bin/env bash
# t_groups_limits_kcat.sh - group.max.size and group.min.session.timeout.ms seen by
# a real client (kcat / librdkafka balanced consumers). With group.max.size=1 a
# first kcat -G member consumes the topic's record; a second member of the same
# group is refused (librdkafka reports "Consumer group has reached maximum size", error 81) and
# consumes nothing. With group.min.session.timeout.ms=7000 a member asking for
# 6500 ms is refused ("Invalid session timeout", 26).
. "$(dirname "$0")/lib.sh"

rb_start --override group.max.size=1 --override group.initial.rebalance.delay.ms=0 \
    --override group.min.session.timeout.ms=7000
bs=$(rb_bootstrap)
echo "k:v1" | ct 30 "$KCAT" -b "$bs" -P -t gt -K: -X acks=all 2>"$T_TMP/p.err" ||
    fail "produce: $(tail -3 "$T_TMP/p.err")"

timeout 14 "$KCAT" -b "$bs" -G gx gt -X session.timeout.ms=10000 -X auto.offset.reset=earliest -u -f '%s\n' \
    >"$T_TMP/a.out" 2>"$T_TMP/a.err" &
A=$!
deadline=$((SECONDS + 12))
until grep -q v1 "$T_TMP/a.out"; do
    [ $SECONDS -lt $deadline ] || fail "the first member consumed nothing: $(tail -5 "$T_TMP/a.err")"
    sleep 0.2
done
timeout 6 "$KCAT" -b "$bs" -G gx gt -X session.timeout.ms=10000 -X auto.offset.reset=earliest -u -f '%s\n' \
    >"$T_TMP/b.out" 2>"$T_TMP/b.err"
grep -qiE "max(imum)? size" "$T_TMP/b.err" || fail "second member not refused: $(tail -5 "$T_TMP/b.err")"
[ -s "$T_TMP/b.out" ] && fail "the refused member consumed: $(cat "$T_TMP/b.out")"
info "second member: $(grep -iE -m1 "max(imum)? size" "$T_TMP/b.err" | cut -c1-160)"
timeout 6 "$KCAT" -b "$bs" -G gy gt -X session.timeout.ms=6500 -X auto.offset.reset=earliest -u -f '%s\n' \
    >"$T_TMP/c.out" 2>"$T_TMP/c.err"
grep -qi "session timeout" "$T_TMP/c.err" ||
    fail "session.timeout.ms=6500 not refused: $(tail -5 "$T_TMP/c.err")"
[ -s "$T_TMP/c.out" ] && fail "the refused member consumed: $(cat "$T_TMP/c.out")"
info "short session: $(grep -i -m1 "session timeout" "$T_TMP/c.err" | cut -c1-160)"
wait "$A" || true
rb_check_alive "at the end"
rb_stop
echo "PASS: t_groups_limits_kcat"
