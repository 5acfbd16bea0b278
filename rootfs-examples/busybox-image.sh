#!/bin/bash
# An OCI image layout of the busybox rootfs (rootfs-examples/busybox.sh), for
# `run-container sandbox --image OUT_LAYOUT[:TAG] -- CMD`. Needs busybox-static; run as
# root so the files are owned by root in the image.
#
# Usage: rootfs-examples/busybox-image.sh OUT_LAYOUT [TAG]     (TAG default: latest)
set -euo pipefail

[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 OUT_LAYOUT [TAG]" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$here/busybox.sh" "$tmp/rootfs" >/dev/null
IMAGE_CMD='["/bin/sh"]' "$here/oci-layout.sh" "$tmp/rootfs" "$1" "${2:-latest}"
