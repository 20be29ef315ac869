#!/usr/bin/env bash
# t_metrics_cluster.sh - the cluster figures of the metrics endpoint
# (cmd/broker.c derives them from each metadata snapshot, cmd/metrics_render.c
# renders them), scraped from 3 brokers by a real Prometheus server.
#   A. every broker's endpoint is up in Prometheus; ActiveControllerCount is 1 on
#      the broker /controller names and 0 on the two others (sum 1).
#   B. a 6-partition RF=1 topic: each broker's PartitionCount and LeaderCount
#      equal the partitions its Metadata says it hosts / leads;
#      UnderReplicatedPartitions is 0 everywhere (RF=1: ISR == replicas);
#      OfflinePartitionsCount is 0 everywhere; GlobalPartitionCount on the
#      controller is the cluster's partition total, 0 elsewhere.
#   C. kill -9 of a broker that is not the controller: the controller reports its
#      partitions offline (no live leader, RF=1), the other live broker 0.
#   D. the broker restarted: OfflinePartitionsCount is 0 again.
# CL_ETCD=1 runs the same on etcd (passes too; not a separate t_etcd_ script).
. "$(dirname "$0")/lib.sh"
command -v prometheus >/dev/null || fail "prometheus missing (tools/install-deps.sh)"

cl_up --override metrics.listener=http://127.0.0.1:0
mport() { sed -n 's/.*metrics on .*(port \([0-9]*\)).*/\1/p' "$CL_DIR/broker-$1/broker.log" | tail -1; }
for i in 1 2 3; do
    [ -n "$(mport "$i")" ] || fail "broker $i: no 'metrics on' line in its log"
done

PPORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# prom_config: scrape every broker's current metrics port (each start picks a free one)
prom_config() {
    local i
    {
        echo "global: {scrape_interval: 1s, scrape_timeout: 1s}"
        echo "scrape_configs:"
        echo "  - job_name: ringbroker"
        echo "    static_configs:"
        for i in 1 2 3; do
            echo "      - {targets: ['127.0.0.1:$(mport "$i")'], labels: {broker: '$i'}}"
        done
    } >"$T_TMP/prom.yml"
}
prom_config
bg "$T_TMP/prometheus.log" prometheus --web.enable-lifecycle --config.file="$T_TMP/prom.yml" \
    --web.listen-address="127.0.0.1:$PPORT" --storage.tsdb.path="$T_TMP/tsdb"

# q METRIC: "broker=value ..." sorted by broker, from Prometheus' latest scrape
q() {
    ct 10 curl -sf --data-urlencode "query=$1" "http://127.0.0.1:$PPORT/api/v1/query" 2>/dev/null |
        "$PY" -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(" ".join("%s=%s" % (x["metric"]["broker"], x["value"][1]) for x in sorted(r, key=lambda x: x["metric"]["broker"])))'  2>/dev/null
}
# is METRIC WANT: Prometheus' values are WANT ("1=v 2=v 3=v")
is() { [ "$(q "$1")" = "$2" ]; }
expect() { # secs what metric want
    local secs=$1 what=$2 m=$3 want=$4
    wait_for "$secs" "$what: $m = '$want' (last: '$(q "$m")')" is "$m" "$want" ||
        fail "$what: $m is '$(q "$m")', want '$want'"
}

# A
expect 30 "A: all targets up" up "1=1 2=1 3=1"
c=$(cl_controller)
[[ "$c" =~ ^[123]$ ]] || fail "A: no controller ('$c')"
want=""
for i in 1 2 3; do want="$want $i=$([ "$i" = "$c" ] && echo 1 || echo 0)"; done
want=${want# }
expect 20 "A" kafka_controller_kafkacontroller_activecontrollercount "$want"
info "A: ActiveControllerCount $want (controller $c)"

# B
cl_create_topic mc 6
m=$(cl_meta 1)
hosted=$(cl_json "$m" "' '.join('%d=%d' % (b, sum(b in p['replicas'] for t in d['topics'].values() for p in t['partitions'].values())) for b in (1, 2, 3))")
led=$(cl_json "$m" "' '.join('%d=%d' % (b, sum(p['leader'] == b for t in d['topics'].values() for p in t['partitions'].values())) for b in (1, 2, 3))")
total=$(cl_json "$m" "sum(len(t['partitions']) for t in d['topics'].values())")
gwant=""
for i in 1 2 3; do gwant="$gwant $i=$([ "$i" = "$c" ] && echo "$total" || echo 0)"; done
gwant=${gwant# }
expect 20 "B" kafka_server_replicamanager_partitioncount "$hosted"
expect 20 "B" kafka_server_replicamanager_leadercount "$led"
expect 10 "B" kafka_server_replicamanager_underreplicatedpartitions "1=0 2=0 3=0"
expect 10 "B" kafka_controller_kafkacontroller_offlinepartitionscount "1=0 2=0 3=0"
expect 10 "B" kafka_controller_kafkacontroller_globalpartitioncount "$gwant"
info "B: PartitionCount $hosted, LeaderCount $led, GlobalPartitionCount $gwant, no under-replicated or offline partition"

# C
v=$(cl_ids | grep -vx "$c" | head -1)
o=$(cl_ids | grep -vx "$c" | grep -vx "$v")
dead=$(cl_json "$m" "sum(p['replicas'] == [$v] for t in d['topics'].values() for p in t['partitions'].values())")
[ "$dead" -gt 0 ] || fail "C: broker $v hosts no partition"
cl_kill9 "$v"
expect 60 "C: broker $v down" "kafka_controller_kafkacontroller_offlinepartitionscount{broker!=\"$v\"}" \
    "$(for i in "$c" "$o"; do echo "$i=$([ "$i" = "$c" ] && echo "$dead" || echo 0)"; done | sort | tr '\n' ' ' | sed 's/ $//')"
info "C: broker $v killed: the controller ($c) reports its $dead partitions offline, broker $o 0"

# D
nm=$(grep -c 'metrics on' "$CL_DIR/broker-$v/broker.log")
cl_start "$v"
# the Kafka port accepts before the metrics endpoint is up: wait for its new port
new_mport() { [ "$(grep -c 'metrics on' "$CL_DIR/broker-$v/broker.log")" -gt "$nm" ]; }
wait_for 30 "broker $v's metrics endpoint after the restart" new_mport
prom_config
ct 10 curl -sf -X POST "http://127.0.0.1:$PPORT/-/reload" || fail "D: Prometheus reload"
if ! (wait_for 60 "no offline partition" is kafka_controller_kafkacontroller_offlinepartitionscount "1=0 2=0 3=0") 2>/dev/null; then
    echo "diagnostics: Prometheus: $(q kafka_controller_kafkacontroller_offlinepartitionscount) up: $(q up)"
    for i in 1 2 3; do
        echo "diagnostics: broker $i: $(curl -s "127.0.0.1:$(mport "$i")/metrics" | grep "^kafka_controller")"
        echo "diagnostics: Metadata from $i: $(cl_meta "$i")"
    done
    fail "D: broker $v back: the controller still reports offline partitions"
fi
expect 20 "D" kafka_controller_kafkacontroller_activecontrollercount "$want"
info "D: broker $v restarted: no offline partition, controller still $c"
