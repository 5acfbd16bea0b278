#!/bin/bash
# Build a minimal rootfs from Debian's busybox-static: one static binary plus
# applet links, a few /etc files and empty mount points.
#
# Usage: rootfs-examples/busybox.sh OUT_DIR
#
# Idempotent: rerunning over an existing OUT_DIR refreshes the binary and
# links and leaves anything else in place. Needs package busybox-static.
set -euo pipefail

usage() {
        echo "usage: $0 OUT_DIR" >&2
        echo "  builds a busybox rootfs in OUT_DIR from \$BUSYBOX (default /bin/busybox)" >&2
        exit 2
}

[ $# -eq 1 ] || usage
case "$1" in -h | --help) usage ;; esac

out=$1
busybox=${BUSYBOX:-/bin/busybox}

if [ ! -x "$busybox" ]; then
        echo "$0: $busybox not found (apt-get install busybox-static)" >&2
        exit 1
fi
if command -v readelf >/dev/null && LC_ALL=C readelf -d "$busybox" 2>/dev/null | grep -q NEEDED; then
        echo "$0: $busybox is not statically linked (apt-get install busybox-static)" >&2
        exit 1
fi

mkdir -p "$out"
cd "$out"
mkdir -p bin sbin usr/bin usr/sbin etc proc sys dev tmp root home/user run var/tmp mnt opt
chmod 1777 tmp var/tmp

# Copy (not link) so the rootfs survives the host package being upgraded.
if ! cmp -s "$busybox" bin/busybox; then
        install -m 0755 "$busybox" bin/busybox.tmp
        mv -f bin/busybox.tmp bin/busybox
fi

# `busybox --list-full` gives paths like usr/bin/env; link each to /bin/busybox.
"$busybox" --list-full | while read -r applet; do
        case "$applet" in bin/busybox | linuxrc) continue ;; esac
        dir=${applet%/*}
        mkdir -p "$dir"
        [ -L "$applet" ] || ln -sf /bin/busybox "$applet"
done

write_if_changed() {
        local path=$1 content
        content=$(cat)
        if [ ! -f "$path" ] || [ "$(cat "$path")" != "$content" ]; then
                printf '%s\n' "$content" >"$path"
        fi
}

write_if_changed etc/passwd <<'P'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
write_if_changed etc/group <<'G'
root:x:0:
user:x:1000:
nogroup:x:65534:
G
write_if_changed etc/hostname <<<'busybox'
write_if_changed etc/hosts <<'H'
127.0.0.1	localhost
::1	localhost
H
chown 1000:1000 home/user 2>/dev/null || true
echo "$out"
