#!/usr/bin/env bash
# t_topic_flood.sh - auto-created topics past the broker's partition limit (issue 13
# rows 8 and 9, items 2, 3, 8).
#
# max.partitions=1500 under `ulimit -n 1024`: a client asks Metadata with
# auto-creation for 3,000 new one-partition topics, 100 names per request.
# Asserted: the broker creates topics up to the limit and refuses the rest with
# POLICY_VIOLATION (44, as Kafka 2.8 passes a creation's error on; never "created"
# past it), its descriptors stay under the limit (cold
# partitions hold none), the log directory stays small (no preallocation per idle
# partition: under 64 MiB for ~1,500 partitions), RSS under the budget plus a
# margin, another client is served meanwhile, and after kill -9 and a restart every
# topic reported created is still listed without error and the records are back.
. "$(dirname "$0")/lib_abuse.sh"

ab_start --override max.partitions=1500 --override num.partitions=1
ab_fill tf 2 5000 512
ab_served >/dev/null || fail "the probe before the attack" # creates ab_probe before the flood
ab_attack 3 "$PY" "$AB_PY" topics "$(rb_bootstrap)" flood- 3000 100
created=$(sed -n 's/.* created=\([0-9]*\).*/\1/p' "$T_TMP/attack.out")
refused=$(sed -n 's/.* refused=\([0-9]*\).*/\1/p' "$T_TMP/attack.out")
du_mb=$(du -sm "$RB_DIR" | awk '{print $1}')
info "topic flood: $created created, $refused refused; log dir ${du_mb} MiB"
ab_assert_figures
[ "$created" -gt 0 ] && [ "$refused" -gt 0 ] || fail "expected some created and some refused topics"
grep -q "codes=\[(44, $refused)\]" "$T_TMP/attack.out" || fail "refusals not all POLICY_VIOLATION (44)"
[ $((created + 3)) -le 1500 ] || fail "$created topics created past max.partitions=1500 (3 partitions already)"
[ "$du_mb" -lt 64 ] || fail "log dir holds ${du_mb} MiB for ~1,500 idle partitions"
ab_check_restart tf 5000
ct 60 "$PY" "$AB_PY" topics_count "$(rb_bootstrap)" flood- >"$T_TMP/count.out" 2>&1 ||
    fail "listing topics after the restart: $(cat "$T_TMP/count.out")"
info "after the restart: $(cat "$T_TMP/count.out")"
grep -q "^topics listed=$created errors=0\$" "$T_TMP/count.out" ||
    fail "after the restart: $(cat "$T_TMP/count.out"), $created were reported created"
rb_stop
exit 0
