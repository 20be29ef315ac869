#!/usr/bin/env bash
# tests/container/test_compose_cluster.sh - container/compose.yaml's cluster run
# for real (called by test-container.sh; runs alone too): 3 ZooKeeper + 3 broker
# containers, topics with replication factor 1 (replication is not built yet).
#
# How: the topology is read from compose.yaml (services, hostnames, environment,
# restart policy, seccomp, ulimits, named volumes) and started with plain
# `podman run`, one network namespace per service, all on a bridge that lives in a
# namespace of its own (--add-host gives every container the compose names).
# Why not a compose tool: podman-compose (bookworm 1.0.3) and docker-compose both
# put the services on an engine-made bridge in the host's network namespace with
# a DNS plugin Debian's podman lacks, and dockerd here refuses --privileged and
# custom runtimes the way podman takes them; our own namespaces keep every packet
# off the host's network (../shared/MACHINE.md) and need nothing but podman.
#   1. images: broker, ZooKeeper, kcat (podman build, cached layers are reused).
#   2. the ZooKeeper ensemble forms (1 leader, 2 followers).
#   3. the brokers start (each healthy), every broker's Metadata lists all three
#      with its compose name as advertised listener (broker1:9092, ...).
#   4. topic "test" (3 partitions, RF 1) created with the ZooKeeper-era command
#      (Kafka 2.8.2's TopicCommand --zookeeper zk1:2181/kafka, in a container);
#      every partition gets a leader, the leaders are spread over the brokers.
#      The same form with ringctl from the broker image (`ringctl topics --create
#      --topic test2 --partitions 3 --replication-factor 1 --if-not-exists
#      --zookeeper zk1:2181/kafka`) creates test2 (300 records through it) and
#      leaves the existing test alone; ringctl --describe --zookeeper sees test.
#   5. 1000 acks=all records per partition with kcat from another container,
#      read back intact.
#   6. kill -9 of the ringbroker process in broker2's container: the restart
#      policy brings it back (RestartCount grows, healthy), every record is
#      still there and 200 more per partition go in.
#   7. Prometheus (in the client namespace) scrapes all three brokers: all up,
#      ActiveControllerCount is 1 on exactly one broker, the partition counts add
#      up to 6, MessagesIn{topic="test"} adds up to what the live processes took.
#   8. podman stop broker3: RF=1, so broker3's partitions are unavailable until it
#      returns (said in the output); producing 500 acks=all records to each
#      partition of broker1 and broker2 goes on with nothing lost.
# Everything made here is removed on exit; images are kept. Bounded by
# RB_CC_TIMEOUT seconds (default 900). Prints "compose-cluster: passed|FAILED".
# shellcheck disable=SC2317 # the check functions run through wait_for
set -u
set -o pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export CONTAINERS_CONF=$root/container/containers.conf
if [ -z "${RB_CC_INNER:-}" ]; then
    RB_CC_INNER=1 exec timeout -k 20 "${RB_CC_TIMEOUT:-900}" "$0" "$@"
fi
broker_img=${RB_CT_TAG:-localhost/ringbroker:test}
zk_img=localhost/ringbroker-zookeeper:test
kcat_img=localhost/ringbroker-kcat:test
base=localhost/bookworm-min
id=rbcc$$
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rb-cc.XXXXXX")
prom_pid=
t0=$(date +%s)
net=10.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))
services=()
declare -A ip
veths=0

info() { echo "info: $*"; }
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    local rc=$? s
    trap - EXIT INT TERM
    [ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null
    for s in "${services[@]}"; do
        podman rm -f -t 5 "$id-$s" >/dev/null 2>&1
        podman volume rm -f "$id-$s-data" >/dev/null 2>&1
        ip netns delete "$id-$s" 2>/dev/null
    done
    podman ps -a --format '{{.Names}}' 2>/dev/null | grep "^$id-" | xargs -r podman rm -f >/dev/null 2>&1
    ip netns delete "$id-client" 2>/dev/null
    ip netns delete "$id-br" 2>/dev/null
    rm -rf "$tmp"
    echo "compose-cluster: $([ "$rc" -eq 0 ] && echo passed || echo FAILED) in $(($(date +%s) - t0)) s"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fail() {
    local s
    echo "FAIL: compose-cluster: $*" >&2
    for s in "${services[@]}"; do
        echo "---- $s (last 15 log lines) ----" >&2
        podman logs --tail 15 "$id-$s" >&2 2>&1
    done
    exit 1
}
ct() {
    local s=$1
    shift
    timeout -k 5 "$s" "$@"
}
wait_for() { # SECS what cmd...
    local secs=$1 what=$2 end
    shift 2
    end=$((SECONDS + secs))
    until "$@"; do
        [ $SECONDS -lt $end ] || fail "timeout (${secs} s) waiting for $what"
        sleep 1
    done
}

# 1. images
"$root/container/base-image.sh" "$base" >"$tmp/base.log" 2>&1 || fail "base image: $(tail -5 "$tmp/base.log")"
tb=$(date +%s)
ct 900 podman build --network=host --format docker -f "$root/container/Dockerfile" --build-arg BASE="$base" \
    --build-arg VERSION=test -t "$broker_img" "$root" >"$tmp/b1.log" 2>&1 || fail "broker image: $(tail -10 "$tmp/b1.log")"
ct 900 podman build --network=host --format docker -f "$root/container/zookeeper/Dockerfile" --build-arg BASE="$base" \
    -t "$zk_img" "$root/container/zookeeper" >"$tmp/b2.log" 2>&1 || fail "ZooKeeper image: $(tail -10 "$tmp/b2.log")"
ct 600 podman build --network=host -f "$root/tests/container/kcat.Dockerfile" --build-arg BASE="$base" \
    -t "$kcat_img" "$root/tests/container" >"$tmp/b3.log" 2>&1 || fail "kcat image: $(tail -10 "$tmp/b3.log")"
info "1: images ready in $(($(date +%s) - tb)) s"
klib=$("$root/tools/fetch-kafka.sh" 2.8.2 2>"$tmp/fetch.log") || fail "Kafka 2.8.2 jars: $(tail -3 "$tmp/fetch.log")"

# The topology from compose.yaml: one line per service (zk*, broker*):
# name, hostname, restart, ulimit args, env as NAME=VALUE joined by \x1f; fields
# separated by \x1e (not a tab: read would merge empty fields)
/usr/bin/python3 - "$root/container/compose.yaml" >"$tmp/topology" <<'PY' || fail "cannot read compose.yaml"
import sys, yaml
s = yaml.safe_load(open(sys.argv[1]))["services"]
for name in sorted(s, key=lambda n: (not n.startswith("zk"), n)):
    d = s[name]
    if d.get("profiles") or not name.startswith(("zk", "broker")):
        continue
    ul = []
    for k, v in (d.get("ulimits") or {}).items():
        ul.append("--ulimit=%s=%s:%s" % (k, v["soft"], v["hard"]) if isinstance(v, dict) else "--ulimit=%s=%s" % (k, v))
    env = "\x1f".join("%s=%s" % kv for kv in sorted((d.get("environment") or {}).items()))
    print("\x1e".join([name, d.get("hostname", name), d.get("restart", "no"), " ".join(ul), env]))
PY
[ "$(cut -d$'\x1e' -f1 "$tmp/topology" | tr '\n' ' ')" = "zk1 zk2 zk3 broker1 broker2 broker3 " ] ||
    fail "compose.yaml services: $(cut -d$'\x1e' -f1 "$tmp/topology" | tr '\n' ' ')"

# The network: a bridge in $id-br; service i gets $net.(10+i), the client $net.100.
ip netns add "$id-br" || fail "cannot create network namespaces"
ip netns exec "$id-br" ip link add br0 type bridge
ip netns exec "$id-br" ip link set br0 up
hosts=()
i=0
while IFS=$'\x1e' read -r name host _; do
    i=$((i + 1))
    services+=("$name")
    hosts+=("--add-host=$host:$net.$((10 + i))")
    ip[$name]=$net.$((10 + i))
done <"$tmp/topology"
attach() { # NAME ADDR: namespace $id-NAME with eth0 = ADDR on the bridge
    local ns=$id-$1 v=$id.$((++veths))
    ip netns add "$ns" &&
        ip netns exec "$ns" ip link set lo up &&
        ip link add "$v" netns "$id-br" type veth peer name eth0 netns "$ns" &&
        ip netns exec "$id-br" ip link set "$v" master br0 up &&
        ip netns exec "$ns" ip addr add "$2/24" dev eth0 &&
        ip netns exec "$ns" ip link set eth0 up
}
for s in "${services[@]}"; do
    attach "$s" "${ip[$s]}" || fail "network for $s"
done
attach client "$net.100" || fail "network for the client"

"$root/container/seccomp-profile.sh" >"$tmp/seccomp.json" || fail "seccomp profile"
start() { # NAME: podman run of service NAME as compose.yaml describes it
    local name host restart ul env line e args=()
    line=$(grep "^$1"$'\x1e' "$tmp/topology")
    IFS=$'\x1e' read -r name host restart ul env <<<"$line"
    IFS=$'\x1f' read -r -a e <<<"$env"
    for x in "${e[@]}"; do args+=(-e "$x"); done
    # compose.yaml's ulimits, capped at this host's hard limits (a container
    # cannot raise them here: runc fails with EPERM), plus nproc: podman drops
    # containers.conf's default ulimits once any --ulimit is given
    local u k v lim have_nofile=""
    for u in $ul; do
        k=${u#--ulimit=}
        v=${k#*=}
        k=${k%%=*}
        case $k in
        nofile) lim=$(ulimit -Hn) have_nofile=1 ;;
        memlock) lim=$(($(ulimit -Hl) * 1024)) ;;
        *) lim=unlimited ;;
        esac
        if [ "$lim" != unlimited ] && { [ "${v%%:*}" = -1 ] || [ "${v%%:*}" -gt "$lim" ]; }; then
            [ -n "${capped_note:-}" ] || info "compose.yaml's ulimit $k=$v is above this host's hard limit: $lim used"
            v=$lim:$lim
        fi
        args+=("--ulimit=$k=$v")
    done
    [ -z "$ul" ] || args+=(--ulimit=nproc=16384:16384)
    [ -n "$have_nofile" ] || [ -z "$ul" ] || args+=(--ulimit=nofile=16384:16384)
    podman volume create "$id-$name-data" >/dev/null 2>&1
    if [[ $name == zk* ]]; then
        args+=(-e ZOO_HEAP=-Xmx128m -v "$id-$name-data:/data" "$zk_img")
    else
        # test-only settings on top of compose.yaml's: one shard, a small tail
        # cache, a short ZooKeeper session (a killed broker's partitions move on
        # in 6 s, not 18)
        args+=(--security-opt "seccomp=$tmp/seccomp.json" -e RINGBROKER_NUM_SHARDS=1
            -e RINGBROKER_LOG_TAIL_CACHE_BYTES=8388608 -e KAFKA_ZOOKEEPER_SESSION_TIMEOUT_MS=6000
            -v "$id-$name-data:/var/lib/ringbroker" "$broker_img")
    fi
    ct 60 podman run -d --name "$id-$name" --hostname "$host" --network "ns:/run/netns/$id-$name" \
        "${hosts[@]}" --restart="$restart" "${args[@]}" >"$tmp/run-$name.log" 2>&1
}
healthy() { ct 10 podman healthcheck run "$id-$1" >/dev/null 2>&1; }

# 2. ZooKeeper
for s in zk1 zk2 zk3; do start $s || fail "start $s: $(cat "$tmp/run-$s.log")"; done
zk_modes() {
    local s m=""
    for s in zk1 zk2 zk3; do
        healthy "$s" || return 1
        m="$m $(ip netns exec "$id-client" bash -c "exec 3<>/dev/tcp/${ip[$s]}/2181; echo srvr >&3; cat <&3" 2>/dev/null |
            sed -n 's/^Mode: //p')"
    done
    modes=$m
    [ "$(tr ' ' '\n' <<<"$m" | grep -c leader)" = 1 ] && [ "$(tr ' ' '\n' <<<"$m" | grep -c follower)" = 2 ]
}
wait_for 120 "the ZooKeeper ensemble (modes:${modes:-})" zk_modes
info "2: ZooKeeper ensemble formed (modes:$modes)"

# 3. brokers
for s in broker1 broker2 broker3; do
    start $s || fail "start $s: $(grep -v 'systemd connection' "$tmp/run-$s.log")"
    capped_note=1
done
all_healthy() { healthy broker1 && healthy broker2 && healthy broker3; }
wait_for 120 "every broker healthy" all_healthy
kcat_c() { # kcat in the client namespace, -b added
    ct 60 podman run --rm -i --network "ns:/run/netns/$id-client" "${hosts[@]}" "$kcat_img" kcat "$@"
}
lists_all() {
    local b
    for b in broker1 broker2 broker3; do
        kcat_c -b "$b:9092" -L >"$tmp/L-$b" 2>&1 || return 1
        for x in 1 2 3; do grep -q "broker $x at broker$x:9092" "$tmp/L-$b" || return 1; done
    done
}
wait_for 60 "every broker's Metadata to list broker1..3 at their compose names" lists_all
info "3: 3 brokers healthy; Metadata from each: $(grep -o 'broker [0-9] at [a-z0-9]*:[0-9]*' "$tmp/L-broker1" | tr '\n' ' ')"

# 4. the topic, ZooKeeper-era form, from a container with Kafka 2.8.2's jars
ct 120 podman run --rm --network "ns:/run/netns/$id-client" "${hosts[@]}" -v "$klib:/kafka-lib:ro" \
    --entrypoint java "$zk_img" -Xmx256m -cp '/kafka-lib/*' kafka.admin.TopicCommand --create --topic test \
    --partitions 3 --replication-factor 1 --if-not-exists --zookeeper zk1:2181/kafka >"$tmp/create.log" 2>&1 ||
    fail "kafka-topics.sh --create --zookeeper: $(grep -v '^SLF4J\|log4j' "$tmp/create.log" | tail -5)"
leaders() { # "p:leader ..." of topic ${1:-test} from broker1's Metadata
    kcat_c -b broker1:9092 -L -t "${1:-test}" 2>/dev/null | sed -n 's/.*partition \([0-9]*\), leader \([-0-9]*\),.*/\1:\2/p' |
        sort | tr '\n' ' '
}
led() { L=$(leaders) && [ "$(wc -w <<<"$L")" = 3 ] && ! grep -q ':-1' <<<"$L"; }
wait_for 60 "a leader for the 3 partitions of test" led
[ "$(tr ' ' '\n' <<<"$L" | cut -d: -f2 | grep . | sort -u | wc -l)" -ge 2 ] || fail "4: partitions all on one broker: $L"
info "4: topic test created by Kafka 2.8.2's TopicCommand --zookeeper zk1:2181/kafka (RF=1: replication is not built yet); leaders $L"
# the same command form with ringctl (the broker image's): test2 is created, and
# test, which exists, is left alone (--if-not-exists succeeds)
ringctl_c() {
    ct 60 podman run --rm --network "ns:/run/netns/$id-client" "${hosts[@]}" --entrypoint ringctl "$broker_img" "$@"
}
for t in test2 test; do
    ringctl_c topics --create --topic $t --partitions 3 --replication-factor 1 --if-not-exists \
        --zookeeper zk1:2181/kafka >"$tmp/rc-$t.log" 2>&1 || fail "4: ringctl --zookeeper --create $t: $(tail -3 "$tmp/rc-$t.log")"
done
led2() { L2=$(leaders test2) && [ "$(wc -w <<<"$L2")" = 3 ] && ! grep -q ':-1' <<<"$L2"; }
wait_for 60 "a leader for the 3 partitions of test2" led2
seq 1 300 | kcat_c -b broker2:9092 -P -t test2 -X acks=all >"$tmp/p2.out" 2>&1 || fail "4: produce to test2: $(tail -3 "$tmp/p2.out")"
kcat_c -b broker3:9092 -C -t test2 -o beginning -e -q 2>"$tmp/c2.err" | sort -n >"$tmp/c2.out" || fail "4: consume test2: $(tail -3 "$tmp/c2.err")"
seq 1 300 | cmp -s - "$tmp/c2.out" || fail "4: test2 read back $(wc -l <"$tmp/c2.out") of 300 records"
ringctl_c topics --describe --topic test --zookeeper zk1:2181/kafka >"$tmp/describe.log" 2>"$tmp/describe.err" ||
    fail "4: ringctl --describe: $(tail -3 "$tmp/describe.err")"
grep -q 'PartitionCount: *3' "$tmp/describe.log" || fail "4: ringctl --describe test: $(head -3 "$tmp/describe.log")"
info "4: ringctl topics --create --topic test2 ... --if-not-exists --zookeeper zk1:2181/kafka: created (leaders $L2), 300 records through it; the same on the existing test: left alone; --describe: $(grep -m1 '^Topic' "$tmp/describe.log" | tr -s ' \t' ' ')"

# 5. produce and consume
produce() { # PART FROM TO [bootstrap]
    seq "$2" "$3" | sed "s/^/p$1-/" | kcat_c -b "${4:-broker1:9092,broker2:9092,broker3:9092}" -P -t test \
        -p "$1" -X acks=all >"$tmp/p.out" 2>&1 || fail "produce p$1 $2..$3: $(tail -3 "$tmp/p.out")"
}
check() { # PART N [bootstrap]: partition PART holds exactly pPART-1..pPART-N in order
    kcat_c -b "${3:-broker1:9092}" -C -t test -p "$1" -o beginning -e -q >"$tmp/c.out" 2>"$tmp/c.err" ||
        fail "consume p$1: $(tail -3 "$tmp/c.err")"
    seq 1 "$2" | sed "s/^/p$1-/" | cmp -s - "$tmp/c.out" ||
        fail "partition $1: read $(wc -l <"$tmp/c.out") records, not p$1-1..p$1-$2 in order"
}
for p in 0 1 2; do produce $p 1 1000; done
for p in 0 1 2; do check $p 1000; done
info "5: 3000 acks=all records (1000 per partition) produced and read back from another container"

# 6. kill -9 inside broker2's container
pid1=$(podman inspect -f '{{.State.Pid}}' "$id-broker2")
bpid=$(pgrep -P "$pid1" -x ringbroker) || fail "6: no ringbroker under broker2's PID 1 ($pid1)"
r0=$(podman inspect -f '{{.RestartCount}}' "$id-broker2")
kill -9 "$bpid"
back() { [ "$(podman inspect -f '{{.RestartCount}}' "$id-broker2")" -gt "$r0" ] && healthy broker2; }
wait_for 90 "broker2 restarted by its restart policy and healthy" back
wait_for 60 "a leader for every partition after the restart" led
for p in 0 1 2; do check $p 1000; done
for p in 0 1 2; do produce $p 1001 1200; done
for p in 0 1 2; do check $p 1200; done
info "6: kill -9 of broker2's process: restarted (RestartCount $(podman inspect -f '{{.RestartCount}}' "$id-broker2")), 3000 records intact, 600 more produced; leaders $L"

# 7. Prometheus over the three brokers
cat >"$tmp/prom.yml" <<YML
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: ringbroker
    static_configs:
      - {targets: ['${ip[broker1]}:9404'], labels: {broker: broker1}}
      - {targets: ['${ip[broker2]}:9404'], labels: {broker: broker2}}
      - {targets: ['${ip[broker3]}:9404'], labels: {broker: broker3}}
YML
ip netns exec "$id-client" prometheus --config.file="$tmp/prom.yml" --web.listen-address=127.0.0.1:9090 \
    --storage.tsdb.path="$tmp/tsdb" >"$tmp/prometheus.log" 2>&1 &
prom_pid=$!
q() { # PromQL -> "label=value ..." by broker
    ip netns exec "$id-client" curl -sf --data-urlencode "query=$1" http://127.0.0.1:9090/api/v1/query 2>/dev/null |
        /usr/bin/python3 -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(" ".join("%s=%s" % (x["metric"].get("broker", ""), x["value"][1]) for x in sorted(r, key=lambda x: x["metric"].get("broker", ""))))' 2>/dev/null
}
is() { [ "$(q "$1")" = "$2" ]; }
wait_for 60 "Prometheus: every broker up ($(q up))" is up "broker1=1 broker2=1 broker3=1"
wait_for 30 "Prometheus: one active controller" is 'sum(kafka_controller_kafkacontroller_activecontrollercount)' "=1"
wait_for 30 "Prometheus: 6 partitions (test, test2) hosted over the brokers" is 'sum(kafka_server_replicamanager_partitioncount)' "=6"
# MessagesIn counts since each process started: broker2 was restarted after the
# first 1000 per partition, the others took all 1200 of each partition they lead
want_mi=""
for b in 1 2 3; do
    n=$(tr ' ' '\n' <<<"$L" | grep -c ":$b$")
    want_mi="$want_mi broker$b=$((n * (b == 2 ? 200 : 1200)))"
done
wait_for 30 "Prometheus: MessagesIn{topic=\"test\"} =$want_mi" is \
    'sum by (broker) (kafka_server_brokertopicmetrics_messagesin_total{topic="test"}) or on(broker) (0 * up)' "${want_mi# }"
ctl=$(q kafka_controller_kafkacontroller_activecontrollercount)
pc=$(q kafka_server_replicamanager_partitioncount)
mi=$(q 'kafka_server_brokertopicmetrics_messagesin_total{topic="test"}')
info "7: Prometheus scraped all 3: ActiveControllerCount $ctl; PartitionCount $pc; MessagesIn{test} $mi"

# 8. broker3 stopped
ct 90 podman stop -t 30 "$id-broker3" >/dev/null || fail "8: podman stop broker3"
down=$(tr ' ' '\n' <<<"$L" | sed -n 's/^\([0-9]\):3$/\1/p' | xargs)
live=$(tr ' ' '\n' <<<"$L" | grep -v ':3$' | cut -d: -f1 | grep . | xargs)
{ [ -n "$down" ] && [ -n "$live" ]; } || fail "8: partitions on broker3 '$down', elsewhere '$live'"
info "8: broker3 stopped: its partitions ($down) are unavailable until it returns (RF=1, no replica elsewhere)"
for p in $live; do produce "$p" 1201 1700 broker1:9092,broker2:9092; done
for p in $live; do check "$p" 1700 broker1:9092; done
wait_for 30 "Prometheus: broker3 down, the others up" is up "broker1=1 broker2=1 broker3=0"
info "8: 500 more acks=all records to each live partition ($live) with broker3 stopped: all 1700 per partition read back, none lost"
exit 0
