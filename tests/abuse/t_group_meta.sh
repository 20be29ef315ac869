#!/usr/bin/env bash
# t_group_meta.sh - oversized group metadata (issue 13 rows 4, items 5, 8).
#
# Under the abuse limits (64 MiB budget per shard), default message.max.bytes:
# 4 members each send a 17 MiB JoinGroup at once (refused up front with
# UNKNOWN_SERVER_ERROR (-1): the group record could not be written) while a
# legitimate group of 80 members x 8 KiB (a ~650 KB group record, under the
# default limit) joins and syncs.
# Asserted: the refusal, the big group Stable with all members, RSS under the
# budget plus a margin, another client served meanwhile, and after kill -9 and a
# restart a committed offset of another group, the big group and every
# acknowledged record are back.
. "$(dirname "$0")/lib_abuse.sh"

gb=$ROOT/tests/clients/py_group_big.py
ab_start --override offsets.topic.num.partitions=1
ab_fill gm 1 1000 100
bs=$(rb_bootstrap)
big() { ct 120 "$PY" "$gb" "$@" || fail "py_group_big $*"; }
[ "$(big commit "$bs" ob gm 100)" = 0 ] || fail "commit of group ob"
ab_attack 2 bash -c "'$PY' '$gb' big '$bs' gover 17825792 4 & '$PY' '$gb' big '$bs' g80 8192 80 & wait"
ab_assert_figures
grep -qx "join -1" "$T_TMP/attack.out" || fail "17 MiB JoinGroups not refused: $(cat "$T_TMP/attack.out")"
grep -qx "sync 0" "$T_TMP/attack.out" || fail "the 80-member group did not sync: $(cat "$T_TMP/attack.out")"
[ "$(big describe "$bs" g80)" = "Stable 80 8192" ] || fail "g80: $(big describe "$bs" g80)"
ab_check_restart gm 1000
got=
for _ in $(seq 1 50); do # COORDINATOR_LOAD_IN_PROGRESS (14) while loading
    got=$(big fetch "$bs" ob gm)
    [ "$got" != "error 14" ] && break
    sleep 0.2
done
[ "$got" = 100 ] || fail "group ob after the restart: '$got', committed 100"
[ "$(big describe "$bs" g80)" = "Stable 80 8192" ] || fail "g80 after the restart: $(big describe "$bs" g80)"
info "after kill -9 and a restart: ob at 100, g80 Stable with 80 members"
rb_stop
exit 0
