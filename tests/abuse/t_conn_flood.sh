#!/usr/bin/env bash
# t_conn_flood.sh - a connection flood from one address (issue 13 items 2, 3, 8).
#
# max.connections.per.ip=200 under `ulimit -n 1024`: one client address
# (127.0.0.2) opens 1,500 connections and holds them. Asserted: the broker closes
# every connection of that address beyond 200 (the flood cannot take the fds), its
# open descriptors stay under the limit, RSS under the budget plus a margin, a
# client from another address (127.0.0.1) is served meanwhile, and every
# acknowledged record is back after kill -9 and a restart.
. "$(dirname "$0")/lib_abuse.sh"

ab_start --override max.connections.per.ip=200
ab_fill flood 4 20000 512
ab_served >/dev/null || fail "the probe before the attack"
ab_attack 6 "$PY" "$ROOT/tests/clients/py_conn_flood.py" "$(rb_bootstrap)" 1500 10 127.0.0.2
opened=$(sed -n 's/^open \([0-9]*\).*/\1/p' "$T_TMP/attack.out")
closed=$(sed -n 's/^closed_by_broker \([0-9]*\).*/\1/p' "$T_TMP/attack.out")
info "flood: $opened connections opened from 127.0.0.2, $closed closed by the broker"
ab_assert_figures
[ -n "$opened" ] && [ "$opened" -gt 200 ] || fail "the flood opened only '$opened' connections"
[ "$closed" -ge $((opened - 200)) ] ||
    fail "the broker closed $closed of $opened connections of one address (limit 200 per address)"
ab_check_restart flood 20000
rb_stop
exit 0
