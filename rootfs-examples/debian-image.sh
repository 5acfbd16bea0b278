#!/bin/bash
# An OCI image layout of a Debian minbase system built with debootstrap from Debian's
# archive, for `run-container sandbox --image OUT_LAYOUT[:TAG] -- CMD`. Root only;
# downloads about 40 MB and takes a minute or two.
#
# Usage: rootfs-examples/debian-image.sh OUT_LAYOUT [TAG]      (TAG default: latest)
#
#   SUITE   Debian release (default: bookworm)
#   MIRROR  archive (default: http://deb.debian.org/debian)
#   INCLUDE extra packages, comma-separated (e.g. gcc,make,libc6-dev for build jobs)
#
# debootstrap mounts /proc and /sys inside the target while it installs; it runs in a
# private mount namespace here, so those mounts never show on the host and die with
# it should it fail. The apt caches are emptied before packing.
set -euo pipefail

[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 OUT_LAYOUT [TAG]" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "$0: debootstrap needs root" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "$0: apt-get install debootstrap" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
suite=${SUITE:-bookworm}
mirror=${MIRROR:-http://deb.debian.org/debian}
include=()
[ -z "${INCLUDE:-}" ] || include=(--include="$INCLUDE")
tmp=$(mktemp -d /var/tmp/rc-debian-image.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

unshare --mount --propagation private \
        debootstrap --variant=minbase "${include[@]}" "$suite" "$tmp/rootfs" "$mirror" >"$tmp/debootstrap.log" 2>&1 || {
        tail -20 "$tmp/debootstrap.log" >&2
        exit 1
}
rm -rf "$tmp"/rootfs/var/cache/apt/archives/*.deb "$tmp"/rootfs/var/lib/apt/lists/* \
        "$tmp"/rootfs/var/log/bootstrap.log "$tmp"/rootfs/debootstrap
IMAGE_CMD='["/bin/bash"]' "$here/oci-layout.sh" "$tmp/rootfs" "$1" "${2:-latest}"
