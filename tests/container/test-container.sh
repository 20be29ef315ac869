#!/usr/bin/env bash
# tests/container/test-container.sh - `make test-container`: the broker image built
# for real and run under podman (../shared/MACHINE.md's recipe: runc, explicit
# ulimits, a debootstrap base since no registry is reachable).
#   A. build localhost/bookworm-min (container/base-image.sh, once), the broker
#      image (container/Dockerfile) and a kcat client image.
#   B. under the engine's default seccomp profile the entry point refuses to
#      start (exit 78) and says how to fix it.
#   C. start the broker with the narrow profile (container/seccomp-profile.sh),
#      a named data volume and --restart=always, in a network namespace made here
#      (only loopback inside: no host network); the HEALTHCHECK passes.
#   D. 1000 acks=all records produced and read back with kcat from another
#      container.
#   E. kill -9 of the broker process inside its container: the restart policy
#      brings it back (RestartCount grows), the 1000 records are still there and
#      500 more go in.
#   F. Prometheus (the host's, run inside the namespace) scrapes the metrics port:
#      MessagesIn for the topic counts the 500 produced since the restart.
#   G. podman stop (SIGTERM through tini): the broker shuts down cleanly, exit 0.
#   H. the ZooKeeper and etcd images (container/zookeeper/, container/etcd/): a
#      3-node ZooKeeper ensemble from ZOO_MY_ID/ZOO_SERVERS forms (every node
#      healthy, exactly one leader) and an etcd member reports healthy.
# Everything it makes (containers, volume, namespace, Prometheus) is removed on
# exit; the images are kept for the next run. The whole run is bounded by
# RB_CT_TIMEOUT seconds (default 1200).
set -u
set -o pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export CONTAINERS_CONF=$root/container/containers.conf
tag=${RB_CT_TAG:-localhost/ringbroker:test}
kcat_img=localhost/ringbroker-kcat:test
base=localhost/bookworm-min
id=rbct$$
ns=$id
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rb-ct.XXXXXX")
prom_pid=
t0=$(date +%s)

if [ -z "${RB_CT_INNER:-}" ]; then
    RB_CT_INNER=1 exec timeout -k 20 "${RB_CT_TIMEOUT:-1200}" "$0" "$@"
fi

info() { echo "info: $*"; }
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null
    # one at a time: a name that was never created fails the whole podman rm
    for c in broker kcat probe zk1 zk2 zk3 etcd; do podman rm -f -t 5 "$id-$c" >/dev/null 2>&1; done
    podman volume rm -f "$id-data" >/dev/null 2>&1
    ip netns delete "$ns" 2>/dev/null
    rm -rf "$tmp"
    echo "test-container: $([ "$rc" -eq 0 ] && echo passed || echo FAILED) in $(($(date +%s) - t0)) s"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fail() {
    echo "FAIL: test-container: $*" >&2
    if podman container exists "$id-broker" 2>/dev/null; then
        echo "---- broker container log ----" >&2
        podman logs --tail 40 "$id-broker" >&2 2>&1
    fi
    exit 1
}
ct() {
    local s=$1
    shift
    timeout -k 5 "$s" "$@"
}

# what the host needs (Debian packages), installed once
need=()
for p in podman buildah runc debootstrap prometheus curl iproute2; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    info "installing ${need[*]}"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${need[@]}"; } >"$tmp/apt.log" 2>&1; then
        fail "apt: $(tail -5 "$tmp/apt.log")"
    fi
fi

# A
"$root/container/base-image.sh" "$base" >"$tmp/base.log" 2>&1 || fail "A: base image: $(tail -5 "$tmp/base.log")"
tb=$(date +%s)
ct 900 podman build --network=host --format docker -f "$root/container/Dockerfile" \
    --build-arg BASE="$base" --build-arg VERSION=test \
    --build-arg REVISION="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    -t "$tag" "$root" >"$tmp/build.log" 2>&1 || fail "A: broker image: $(tail -15 "$tmp/build.log")"
ct 600 podman build --network=host -f "$root/tests/container/kcat.Dockerfile" \
    --build-arg BASE="$base" -t "$kcat_img" "$root/tests/container" >"$tmp/kcat.log" 2>&1 ||
    fail "A: kcat image: $(tail -15 "$tmp/kcat.log")"
[ "$(podman image inspect -f '{{ index .Labels "org.opencontainers.image.version" }}' "$tag")" = test ] ||
    fail "A: image has no version label"
[ "$(podman image inspect -f '{{ .Config.User }}' "$tag")" = 10001:10001 ] || fail "A: image runs as root"
info "A: images built in $(($(date +%s) - tb)) s ($(podman image inspect -f '{{.Size}}' "$tag") bytes)"

# the namespace: loopback only
ip netns add "$ns" || fail "cannot create network namespace $ns"
ip netns exec "$ns" ip link set lo up
net=(--network "ns:/run/netns/$ns")

# B
rc=0
ct 60 podman run --name "$id-probe" "${net[@]}" "$tag" >"$tmp/probe.out" 2>&1 || rc=$?
podman rm -f "$id-probe" >/dev/null 2>&1
if [ $rc -ne 78 ] || ! grep -q 'seccomp' "$tmp/probe.out"; then
    fail "B: default seccomp profile: exit $rc, want 78 and a fix: $(tail -5 "$tmp/probe.out")"
fi
info "B: default profile refused with: $(grep -m1 'io_uring' "$tmp/probe.out")"

# C
"$root/container/seccomp-profile.sh" >"$tmp/seccomp.json" || fail "C: seccomp profile"
podman volume create "$id-data" >/dev/null || fail "C: volume"
ct 60 podman run -d --name "$id-broker" "${net[@]}" --restart=always \
    --security-opt seccomp="$tmp/seccomp.json" -v "$id-data:/var/lib/ringbroker" \
    -e KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://127.0.0.1:9092 -e RINGBROKER_NUM_SHARDS=2 \
    -e RINGBROKER_LOG_TAIL_CACHE_BYTES=8388608 "$tag" >/dev/null || fail "C: run"
healthy=
for _ in $(seq 1 60); do
    if ct 10 podman healthcheck run "$id-broker" >/dev/null 2>&1; then
        healthy=1
        break
    fi
    sleep 0.5
done
[ -n "$healthy" ] || fail "C: never healthy"
podman logs "$id-broker" >"$tmp/broker-c.log" 2>&1
grep -q 'advertised.listeners=PLAINTEXT://127.0.0.1:9092' "$tmp/broker-c.log" ||
    fail "C: the entry point did not print the effective configuration"
info "C: broker healthy (uid $(podman exec "$id-broker" id -u))"

kcat_run() { ct 60 podman run --rm -i "${net[@]}" "$kcat_img" kcat -b 127.0.0.1:9092 "$@"; }

# D
seq 1 1000 | kcat_run -P -t ct -X acks=all >"$tmp/p1.out" 2>&1 || fail "D: produce: $(tail -3 "$tmp/p1.out")"
kcat_run -C -t ct -o beginning -e -q >"$tmp/c1.out" 2>"$tmp/c1.err" || fail "D: consume: $(tail -3 "$tmp/c1.err")"
seq 1 1000 | cmp -s - "$tmp/c1.out" || fail "D: read back $(wc -l <"$tmp/c1.out") records, not 1..1000"
info "D: 1000 records produced and read back from another container"

# E
pid1=$(podman inspect -f '{{.State.Pid}}' "$id-broker")
bpid=$(pgrep -P "$pid1" -x ringbroker) || fail "E: no ringbroker under the container's PID 1 ($pid1)"
restarts=$(podman inspect -f '{{.RestartCount}}' "$id-broker")
kill -9 "$bpid"
back=
for _ in $(seq 1 120); do
    sleep 0.5
    [ "$(podman inspect -f '{{.RestartCount}}' "$id-broker" 2>/dev/null)" -gt "$restarts" ] 2>/dev/null || continue
    if ct 10 podman healthcheck run "$id-broker" >/dev/null 2>&1; then
        back=1
        break
    fi
done
[ -n "$back" ] || fail "E: not restarted and healthy 60 s after kill -9 (restarts: $(podman inspect -f '{{.RestartCount}}' "$id-broker"))"
kcat_run -C -t ct -o beginning -e -q >"$tmp/c2.out" 2>"$tmp/c2.err" || fail "E: consume: $(tail -3 "$tmp/c2.err")"
seq 1 1000 | cmp -s - "$tmp/c2.out" || fail "E: after kill -9 read back $(wc -l <"$tmp/c2.out") records, not 1..1000"
seq 1001 1500 | kcat_run -P -t ct -X acks=all >"$tmp/p2.out" 2>&1 || fail "E: produce: $(tail -3 "$tmp/p2.out")"
info "E: kill -9 of pid $bpid: restarted (RestartCount $(podman inspect -f '{{.RestartCount}}' "$id-broker")), 1000 records intact, 500 more produced"

# F
cat >"$tmp/prom.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: ringbroker
    static_configs:
      - targets: ['127.0.0.1:9404']
YML
ip netns exec "$ns" prometheus --config.file="$tmp/prom.yml" --web.listen-address=127.0.0.1:9090 \
    --storage.tsdb.path="$tmp/tsdb" >"$tmp/prometheus.log" 2>&1 &
prom_pid=$!
got=
for _ in $(seq 1 60); do
    sleep 0.5
    got=$(ip netns exec "$ns" curl -sf --data-urlencode \
        'query=kafka_server_brokertopicmetrics_messagesin_total{topic="ct"}' \
        http://127.0.0.1:9090/api/v1/query 2>/dev/null |
        /usr/bin/python3 -c 'import json,sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")' 2>/dev/null)
    [ "$got" = 500 ] && break
done
[ "$got" = 500 ] || fail "F: Prometheus says MessagesIn{ct}='$got', want 500: $(tail -3 "$tmp/prometheus.log")"
info "F: Prometheus scraped the container: MessagesIn{topic=\"ct\"}=$got since the restart"

# G
ct 60 podman stop -t 30 "$id-broker" >/dev/null || fail "G: stop"
code=$(podman inspect -f '{{.State.ExitCode}}' "$id-broker")
[ "$code" = 0 ] || fail "G: exit code $code after SIGTERM"
podman logs "$id-broker" >"$tmp/broker-g.log" 2>&1
tail -5 "$tmp/broker-g.log" | grep -q 'shut down cleanly' || fail "G: no clean shutdown line"
info "G: podman stop: clean shutdown, exit 0"

# H
th=$(date +%s)
ct 900 podman build --network=host --format docker -f "$root/container/zookeeper/Dockerfile" --build-arg BASE="$base" \
    -t localhost/ringbroker-zookeeper:test "$root/container/zookeeper" >"$tmp/zkb.log" 2>&1 ||
    fail "H: ZooKeeper image: $(tail -10 "$tmp/zkb.log")"
ct 600 podman build --network=host --format docker -f "$root/container/etcd/Dockerfile" --build-arg BASE="$base" \
    -t localhost/ringbroker-etcd:test "$root/container/etcd" >"$tmp/etcdb.log" 2>&1 ||
    fail "H: etcd image: $(tail -10 "$tmp/etcdb.log")"
# all three in the one namespace: distinct client, peer and election ports
servers="server.1=127.0.0.1:2881:3881;2181 server.2=127.0.0.1:2882:3882;2182 server.3=127.0.0.1:2883:3883;2183"
for i in 1 2 3; do
    ct 60 podman run -d --name "$id-zk$i" "${net[@]}" -e ZOO_MY_ID=$i -e ZOO_SERVERS="$servers" \
        -e ZOO_CLIENT_PORT=218$i -e ZOO_TICK_TIME=500 -e ZOO_HEAP=-Xmx128m \
        localhost/ringbroker-zookeeper:test >/dev/null 2>&1 || fail "H: zk$i run"
done
modes=
for _ in $(seq 1 90); do
    sleep 1
    modes=
    for i in 1 2 3; do
        ct 10 podman healthcheck run "$id-zk$i" >/dev/null 2>&1 || continue 2
        modes="$modes $(ip netns exec "$ns" bash -c "exec 3<>/dev/tcp/127.0.0.1/218$i; echo srvr >&3; cat <&3" |
            sed -n 's/^Mode: //p')"
    done
    break
done
if [ "$(echo "$modes" | tr ' ' '\n' | grep -c leader)" -ne 1 ] ||
    [ "$(echo "$modes" | tr ' ' '\n' | grep -c follower)" -ne 2 ]; then
    fail "H: ZooKeeper ensemble modes '$modes': $(podman logs --tail 5 "$id-zk1" 2>&1)"
fi
ct 60 podman run -d --name "$id-etcd" "${net[@]}" -e ETCD_NAME=e1 localhost/ringbroker-etcd:test \
    >/dev/null 2>&1 || fail "H: etcd run"
ok=
for _ in $(seq 1 30); do
    sleep 1
    if ct 10 podman healthcheck run "$id-etcd" >/dev/null 2>&1; then
        ok=1
        break
    fi
done
[ -n "$ok" ] || fail "H: etcd never healthy: $(podman logs --tail 5 "$id-etcd" 2>&1)"
info "H: ZooKeeper ensemble formed (modes:$modes), etcd healthy ($(($(date +%s) - th)) s with the image builds)"
exit 0
