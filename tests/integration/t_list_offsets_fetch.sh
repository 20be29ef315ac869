#!/usr/bin/env bash
# t_list_offsets_fetch.sh - ListOffsets v7-8 (MAX_TIMESTAMP -3 at record precision
# through uncompressed, gzip, snappy, lz4 and zstd batches and LogAppendTime; -4
# EARLIEST_LOCAL; UNSUPPORTED_VERSION for a special timestamp below its version;
# timestamp lookups at record precision) and Fetch v13-16 (topics by id,
# UNKNOWN_TOPIC_ID, replica_state tag) on the wire: tests/clients/py_list_offsets_fetch.py.
# 2 shards, so the partitions are spread over owners.
. "$(dirname "$0")/lib.sh"

rb_start --override num.shards=2
out=$(ct 120 "$PY" "$ROOT/tests/clients/py_list_offsets_fetch.py" "$(rb_bootstrap)" 2>"$T_TMP/py.err")
rc=$?
echo "$out"
[ $rc -eq 0 ] || fail "py_list_offsets_fetch: rc=$rc $(grep '^FAIL' <<<"$out") $(tail -20 "$T_TMP/py.err")"
n=$(grep -c '^ok ' <<<"$out")
[ "$n" -ge 75 ] || fail "only $n checks ran"
info "$n wire checks passed"
rb_check_alive "after ListOffsets/Fetch"
rb_stop
exit 0
