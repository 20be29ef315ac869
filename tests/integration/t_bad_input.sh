#!/usr/bin/env bash
# t_bad_input.sh - malformed frames never crash, hang or bloat the broker.
# tests/clients/bad_frames.py sends truncated frames, 2 GB / 200 MiB / negative
# / zero sizes, unknown api keys, unsupported ApiVersions versions (error 35 in
# a v0 body), garbage, lying array counts and string lengths; after each case
# a new connection must get a valid ApiVersions response. Then kcat -L must
# still work and the broker's RSS must stay below 500 MiB. Runs with 2 shards.
. "$(dirname "$0")/lib.sh"

rb_start --override num.shards=2
out=$(ct 180 "$PY" "$ROOT/tests/clients/bad_frames.py" "$RB_PORT" "$RB_PID" 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || fail "bad frames: $(grep -E '^FAIL|^broker|^bad_frames:' <<<"$out" | head -20)"
info "$(tail -1 <<<"$out")"
rb_check_alive "after the bad frames"
kcat_md >"$T_TMP/md.json" 2>"$T_TMP/md.err" || fail "kcat -L after bad input: $(cat "$T_TMP/md.err")"
grep -q "\"127.0.0.1:$RB_PORT\"" "$T_TMP/md.json" || fail "kcat -L after bad input: $(head -c 400 "$T_TMP/md.json")"
rss=$(rb_rss_mb)
info "broker RSS at the end: $rss MiB"
[ "$rss" -lt 500 ] || fail "broker RSS $rss MiB >= 500 MiB"
rb_stop
exit 0
