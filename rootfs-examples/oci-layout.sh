#!/bin/bash
# Write a root filesystem tree as an OCI image layout with one layer, with nothing but
# tar, gzip and sha256sum (no umoci or skopeo needed).
#
# Usage: rootfs-examples/oci-layout.sh ROOTFS OUT_LAYOUT [TAG]
#
#   ROOTFS      the tree to pack (run as root so owners and xattrs are read as they are)
#   OUT_LAYOUT  the layout directory, created if missing; its blobs are kept, its
#               index.json is rewritten to hold TAG only
#   TAG         org.opencontainers.image.ref.name of the image (default: latest)
#
# The image config's command and environment come from the environment:
#   IMAGE_CMD   a JSON array (default: ["/bin/sh"])
#   IMAGE_ENV   a JSON array (default: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
#   SOURCE_DATE_EPOCH  the "created" time (default: now); with it, the same tree gives
#               the same digests
#
# The layer is a pax tar in name order with numeric owners and every xattr, gzip'ed
# without a name or time in its header; the contents of /dev are left out (a container
# gets its own /dev, and run-container refuses device nodes in layers).
set -euo pipefail

usage() {
        echo "usage: $0 ROOTFS OUT_LAYOUT [TAG]" >&2
        exit 2
}

[ $# -ge 2 ] && [ $# -le 3 ] || usage
rootfs=$1
out=$2
tag=${3:-latest}
cmd_json=${IMAGE_CMD:-'["/bin/sh"]'}
env_json=${IMAGE_ENV:-'["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]'}

[ -d "$rootfs" ] || { echo "$0: $rootfs is not a directory" >&2; exit 1; }
case "$tag" in
[A-Za-z0-9_]*) ;;
*) echo "$0: invalid tag \"$tag\"" >&2; exit 1 ;;
esac

case "$(uname -m)" in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
i?86) arch=386 ;;
armv7l) arch=arm ;;
*) arch=$(uname -m) ;;
esac
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
        created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
else
        created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
fi

mkdir -p "$out/blobs/sha256"
tmp=$(mktemp -d "$out/.tmp-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Store FILE as a blob; prints its hex digest.
put_blob() {
        local hex
        hex=$(sha256sum "$1" | cut -d' ' -f1)
        mv -f "$1" "$out/blobs/sha256/$hex"
        echo "$hex"
}

tar --create --file "$tmp/layer.tar" --directory "$rootfs" --sort=name --numeric-owner \
        --format=pax --pax-option=delete=atime,delete=ctime --xattrs --xattrs-include='*' \
        --exclude='./dev/*' .
diff_id=$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)
gzip -n -9 "$tmp/layer.tar"
layer_size=$(stat -c %s "$tmp/layer.tar.gz")
layer=$(put_blob "$tmp/layer.tar.gz")

printf '{"created":"%s","architecture":"%s","os":"linux","config":{"Env":%s,"Cmd":%s,"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"%s","created_by":"rootfs-examples/oci-layout.sh"}]}' \
        "$created" "$arch" "$env_json" "$cmd_json" "$diff_id" "$created" >"$tmp/config.json"
config_size=$(stat -c %s "$tmp/config.json")
config=$(put_blob "$tmp/config.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
        "$config" "$config_size" "$layer" "$layer_size" >"$tmp/manifest.json"
manifest_size=$(stat -c %s "$tmp/manifest.json")
manifest=$(put_blob "$tmp/manifest.json")

printf '{"imageLayoutVersion":"1.0.0"}\n' >"$tmp/oci-layout"
mv -f "$tmp/oci-layout" "$out/oci-layout"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}\n' \
        "$manifest" "$manifest_size" "$tag" >"$tmp/index.json"
mv -f "$tmp/index.json" "$out/index.json"
echo "$out:$tag sha256:$manifest (layer sha256:$layer, $layer_size bytes)"
