#!/usr/bin/env bash
# container/base-image.sh - make the local base image localhost/bookworm-min when
# no registry is reachable: debootstrap a minbase Debian bookworm from the
# machine's apt mirror and import it into podman. Does nothing when the image is
# there already (RB_REBUILD_BASE=1 rebuilds it). With a registry, use
# debian:bookworm-slim instead (container/Dockerfile's BASE build ARG).
#   container/base-image.sh [IMAGE]      default IMAGE: localhost/bookworm-min
set -euo pipefail
image=${1:-localhost/bookworm-min}
if podman image exists "$image" && [ -z "${RB_REBUILD_BASE:-}" ]; then
    echo "base-image: $image present"
    exit 0
fi
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
if [ -z "$mirror" ]; then
    mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}
rootfs=$(mktemp -d "${TMPDIR:-/tmp}/rb-rootfs.XXXXXX")
trap 'rm -rf "$rootfs"' EXIT
echo "base-image: debootstrap bookworm from $mirror"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
    tail -20 "$rootfs.log"
    exit 1
}
rm -f "$rootfs.log"
# apt inside the image uses the same mirror; no package lists or caches are
# kept in the base (each image's apt-get update fetches fresh lists)
echo "deb $mirror bookworm main" >"$rootfs/etc/apt/sources.list"
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
tar -C "$rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$image" >/dev/null
echo "base-image: $image imported"
