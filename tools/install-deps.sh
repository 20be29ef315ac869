#!/usr/bin/env bash
# tools/install-deps.sh - install what ringbroker needs to build, run and test,
# from Debian's packages. Idempotent: packages already present are skipped.
#   tools/install-deps.sh          install what is missing
#   tools/install-deps.sh --check  exit 0 when everything is present, 1 otherwise
# Uses sudo when not root. Java tools (Apache Kafka for interop and perf) are
# fetched separately into a cache outside git by the scripts that use them.
set -euo pipefail

PKGS=(
    gcc make pkg-config python3
    liburing-dev libmimalloc-dev liblz4-dev libzstd-dev libsnappy-dev zlib1g-dev libisal-dev
    libcriterion-dev librdkafka-dev kcat
    clang clang-format libclang-rt-14-dev
    python3-kafka python3-confluent-kafka libslf4j-java
    procps psmisc iproute2 util-linux e2fsprogs iptables
    maven default-jdk-headless
    zookeeper libzookeeper-mt-dev libjansson-dev libcurl4-openssl-dev
    etcd-server etcd-client python3-kazoo
    prometheus shellcheck curl python3-kubernetes docker-compose golang-github-containers-common
)

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ "${1:-}" = "--check" ]; then
    if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
    echo "missing packages: ${missing[*]}" >&2
    exit 1
fi

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all packages present"
    exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A stale package list finds nothing: refresh it once per run.
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
