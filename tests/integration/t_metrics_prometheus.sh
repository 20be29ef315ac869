#!/usr/bin/env bash
# t_metrics_prometheus.sh - the metrics endpoint (metrics.listener, cmd/metrics.c)
# scraped by a real Prometheus server (Debian's prometheus package).
#   A. the endpoint answers GET /metrics with text promtool accepts
#      (promtool check metrics), 404 for other paths, and a broker with no
#      traffic counts no records for the topic.
#   B. Prometheus (scrape interval 1 s, its own port and tsdb in the temp dir)
#      reports the target up.
#   C. after 500 acks=all records to "mx" and a consumer reading them back, the
#      values Prometheus scraped move: MessagesIn{topic="mx"} == 500, BytesIn and
#      BytesOut > 0, Produce and Fetch request counts >= 1, fdatasync'd flushes
#      >= 1, partition count >= 1, io_uring submissions > 0.
#   E. a partition whose fdatasync fails (test.fault.partition) goes offline:
#      OfflinePartitionsCount and OfflineReplicaCount become 1, the partition
#      count stays.
#   D. every query of container/grafana-dashboard.json is accepted by Prometheus
#      and names only metrics the endpoint serves.
. "$(dirname "$0")/lib.sh"
command -v prometheus >/dev/null || fail "prometheus missing (tools/install-deps.sh)"
command -v promtool >/dev/null || fail "promtool missing (Debian package prometheus)"

MPORT=$(rb_free_port)
rb_start --override num.shards=2 --override metrics.listener=http://127.0.0.1:$MPORT \
    --override test.fault.partition=mfault-0 --override test.fault.fsync.fail.after=0
bs=$(rb_bootstrap)
grep -q "metrics on http://127.0.0.1:$MPORT" "$RB_LOG" || fail "A: no 'metrics on' line"

# A
ct 10 curl -sf "http://127.0.0.1:$MPORT/metrics" >"$T_TMP/m0.txt" || fail "A: scrape failed"
ct 10 promtool check metrics <"$T_TMP/m0.txt" >"$T_TMP/lint.txt" 2>&1 ||
    fail "A: promtool check metrics: $(head -20 "$T_TMP/lint.txt")"
code=$(ct 10 curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/nothing")
[ "$code" = 404 ] || fail "A: /nothing answered $code"
! grep -q 'messagesin_total{topic="mx"}' "$T_TMP/m0.txt" || fail "A: mx counted before any produce"
for m in kafka_server_replicamanager_underreplicatedpartitions \
    kafka_controller_kafkacontroller_activecontrollercount \
    kafka_controller_kafkacontroller_offlinepartitionscount \
    kafka_network_requestchannel_requestqueuesize process_resident_memory_bytes; do
    grep -q "^$m " "$T_TMP/m0.txt" || fail "A: no $m"
done
# the validator thread's memory charged to each shard's budget: none while idle
grep -q '^ringbroker_validator_memory_bytes{shard="0"} 0$' "$T_TMP/m0.txt" ||
    fail "A: no ringbroker_validator_memory_bytes{shard=\"0\"} 0"
info "A: $(grep -vc '^#' "$T_TMP/m0.txt") series, promtool clean"

# B
PPORT=$(rb_free_port)
cat >"$T_TMP/prom.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: ringbroker
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
YML
prometheus --config.file="$T_TMP/prom.yml" --web.listen-address="127.0.0.1:$PPORT" \
    --storage.tsdb.path="$T_TMP/tsdb" >"$T_TMP/prometheus.log" 2>&1 &
RB_PIDS+=($!)
API="http://127.0.0.1:$PPORT/api/v1/query"

# q EXPR: the first value of an instant query ("" when none).
q() {
    ct 5 curl -sf --data-urlencode "query=$1" "$API" 2>/dev/null |
        /usr/bin/python3 -c 'import json,sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")'
}
# wait_for EXPR CMP WANT SECS: until the value of EXPR compares (-eq/-ge/-gt) to WANT.
wait_for() {
    local v i
    for i in $(seq 1 $(($4 * 2))); do
        v=$(q "$1")
        v=${v%%.*}
        [ -n "$v" ] && [ "$v" "$2" "$3" ] && return 0
        sleep 0.5
    done
    echo "last value of $1: '${v:-}'" >&2
    return 1
}
wait_for 'up{job="ringbroker"}' -eq 1 30 ||
    fail "B: Prometheus never saw the target up: $(tail -5 "$T_TMP/prometheus.log")"
info "B: Prometheus on :$PPORT scrapes :$MPORT"

# C
seq 1 500 | ct 60 "$KCAT" -P -b "$bs" -t mx -X acks=all >"$T_TMP/p.out" 2>&1 ||
    fail "C: produce: $(tail -3 "$T_TMP/p.out")"
n=$(ct 60 "$KCAT" -C -b "$bs" -t mx -o beginning -e -q 2>"$T_TMP/c.err" | wc -l)
[ "$n" -eq 500 ] || fail "C: consumed $n of 500: $(tail -3 "$T_TMP/c.err")"
wait_for 'kafka_server_brokertopicmetrics_messagesin_total{topic="mx"}' -eq 500 20 ||
    fail "C: MessagesIn for mx never reached 500"
for check in \
    'kafka_server_brokertopicmetrics_bytesin_total{topic="mx"}|-gt|1000' \
    'kafka_server_brokertopicmetrics_bytesout_total{topic="mx"}|-gt|1000' \
    'kafka_network_requestmetrics_requests_total{request="Produce"}|-ge|1' \
    'kafka_network_requestmetrics_requests_total{request="Fetch"}|-ge|1' \
    'kafka_network_requestmetrics_totaltimems_count{request="Produce"}|-ge|1' \
    'ringbroker_log_sync_flush_seconds_count|-ge|1' \
    'kafka_log_logflushstats_logflushrateandtimems_count|-ge|1' \
    'kafka_server_replicamanager_partitioncount|-ge|1' \
    'sum(ringbroker_io_uring_sqes_total)|-gt|0'; do
    IFS='|' read -r expr cmp want <<<"$check"
    wait_for "$expr" "$cmp" "$want" 10 || fail "C: $expr not $cmp $want"
done
info "C: MessagesIn{mx}=$(q 'kafka_server_brokertopicmetrics_messagesin_total{topic="mx"}')" \
    "BytesIn=$(q 'kafka_server_brokertopicmetrics_bytesin_total{topic="mx"}')" \
    "BytesOut=$(q 'kafka_server_brokertopicmetrics_bytesout_total{topic="mx"}')" \
    "Produce=$(q 'kafka_network_requestmetrics_requests_total{request="Produce"}')" \
    "syncs=$(q 'ringbroker_log_sync_flush_seconds_count')"
# D
ct 10 curl -sf "http://127.0.0.1:$MPORT/metrics" >"$T_TMP/m1.txt" || fail "D: scrape failed"
/usr/bin/python3 - "$ROOT/container/grafana-dashboard.json" "$T_TMP/m1.txt" "$API" \
    >"$T_TMP/dash.out" 2>&1 <<'PY' || fail "D: dashboard: $(tail -5 "$T_TMP/dash.out")"
import json, re, sys, urllib.parse, urllib.request
dash, scrape, api = sys.argv[1:4]
served = {l.split("{")[0].split(" ")[0] for l in open(scrape) if l[0] != "#"}
served |= {re.sub("_(bucket|sum|count)$", "", m) for m in served}
bad, n = [], 0
for p in json.load(open(dash))["panels"]:
    for t in p["targets"]:
        n += 1
        url = api + "?" + urllib.parse.urlencode({"query": t["expr"]})
        r = json.load(urllib.request.urlopen(url, timeout=5))
        if r["status"] != "success":
            bad.append("%s: %s" % (t["expr"], r))
        for m in re.findall(r"\b((?:kafka|ringbroker|process)_[a-z_]+)", t["expr"]):
            if m not in served:
                bad.append("%s: %s not served" % (p["title"], m))
if bad:
    sys.exit("\n".join(bad))
print("%d queries" % n)
PY
info "D: grafana-dashboard.json: $(cat "$T_TMP/dash.out") accepted, every metric served"
# E
# scrape VALUE-OF NAME: the value of the unlabelled series NAME, scraped now
scraped() { ct 10 curl -sf "http://127.0.0.1:$MPORT/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }
parts=$(scraped kafka_server_replicamanager_partitioncount)
[ "$(scraped kafka_controller_kafkacontroller_offlinepartitionscount)" = 0 ] || fail "E: offline before the fault"
echo x | ct 30 "$KCAT" -P -b "$bs" -t mfault -X acks=all -X message.timeout.ms=5000 >/dev/null 2>&1
for _ in $(seq 1 40); do
    [ "$(scraped kafka_controller_kafkacontroller_offlinepartitionscount)" = 1 ] && break
    sleep 0.25
done
off=$(scraped kafka_controller_kafkacontroller_offlinepartitionscount)
rep=$(scraped kafka_server_replicamanager_offlinereplicacount)
now=$(scraped kafka_server_replicamanager_partitioncount)
[ "$off" = 1 ] && [ "$rep" = 1 ] && [ "$now" = $((parts + 1)) ] ||
    fail "E: after the fsync fault offline=$off offline replicas=$rep partitions $parts -> $now"
info "E: fsync fault on mfault-0: OfflinePartitionsCount=1, partitions $parts -> $now"
rb_check_alive "after the scrapes"
rb_stop
exit 0
