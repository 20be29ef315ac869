#!/usr/bin/env bash
# t_topics_admin.sh - librdkafka Admin API (tests/clients/rb_admin.c):
# CreateTopics with partitions and configs, duplicate create (36
# TOPIC_ALREADY_EXISTS), invalid config, DescribeConfigs, DeleteTopics (and 3
# UNKNOWN_TOPIC_OR_PARTITION for a missing topic), re-create with fresh data and
# configs. Then a restart: the re-created topic and adm-b keep their partition
# counts and the deleted state sticks.
. "$(dirname "$0")/lib.sh"

adm=$(rb_client rb_admin)
rb_start
bs=$(rb_bootstrap)
out=$(ct 150 "$adm" "$bs" 2>"$T_TMP/adm.err")
rc=$?
echo "$out"
[ $rc -eq 0 ] || fail "rb_admin rc=$rc: $(grep -E '^FAIL|^admin:' <<<"$out") $(tail -8 "$T_TMP/adm.err")"
info "$(tail -1 <<<"$out")"

rb_stop
rb_restart
kcat_md >"$T_TMP/md.json" 2>"$T_TMP/md.err" || fail "kcat -L after restart: $(cat "$T_TMP/md.err")"
"$PY" - "$T_TMP/md.json" <<'PY' || fail "topics after restart wrong (above)"
import json, sys
md = json.load(open(sys.argv[1]))
got = {t["topic"]: len(t["partitions"]) for t in md["topics"] if t["topic"].startswith("adm-")}
want = {"adm-a": 2, "adm-b": 2}
print("info: admin topics after restart: %s" % got)
sys.exit(0 if got == want else "want %s" % want)
PY
rb_stop
exit 0
