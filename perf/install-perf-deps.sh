#!/usr/bin/env bash
# perf/install-perf-deps.sh - Debian packages only the perf harness needs
# (physical ceilings and plots). Kept out of tools/install-deps.sh so that
# `make test` does not need them. Idempotent; uses sudo when not root.
#   perf/install-perf-deps.sh          install what is missing
#   perf/install-perf-deps.sh --check  exit 0 when all present
set -euo pipefail
PKGS=(fio iperf3 gnuplot-nox python3-matplotlib jq maven default-jdk-headless librdkafka-dev procps)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
        missing+=("$p")
done
if [ "${1:-}" = "--check" ]; then
    [ ${#missing[@]} -eq 0 ] && exit 0
    echo "missing perf packages: ${missing[*]}" >&2
    exit 1
fi
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "install-perf-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
