#!/bin/bash
# Make an OCI bundle: BUNDLE_DIR/rootfs (a copy of ROOTFS) and BUNDLE_DIR/config.json.
#
# Usage: rootfs-examples/make-bundle.sh [-r RUNTIME] [-f] ROOTFS BUNDLE_DIR [ARGS...]
#   -r RUNTIME  write config.json with `RUNTIME spec` (default: a small built-in
#               config for smoke tests: no terminal, no /sys/fs/cgroup mount, no
#               cgroup namespace, no seccomp; NOT what `runc spec` writes, see
#               tests/integration/configs/runc-spec.json for that)
#   -f          replace an existing BUNDLE_DIR/config.json
#   ARGS        process.args for the default config (default: sh); ignored with -r
#
# Example:
#   rootfs-examples/busybox.sh /tmp/bb
#   rootfs-examples/make-bundle.sh /tmp/bb /tmp/bundle echo hello
#   build/run-container run -b /tmp/bundle test1
set -euo pipefail

usage() {
        sed -n '4,11p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
}

runtime=
force=0
while getopts "r:fh" opt; do
        case "$opt" in
        r) runtime=$OPTARG ;;
        f) force=1 ;;
        *) usage ;;
        esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || usage

rootfs=$1
bundle=$2
shift 2
[ $# -gt 0 ] || set -- sh

if [ ! -d "$rootfs" ]; then
        echo "$0: rootfs '$rootfs' is not a directory" >&2
        exit 1
fi

mkdir -p "$bundle"
if [ -e "$bundle/config.json" ] && [ "$force" = 0 ]; then
        echo "$0: '$bundle/config.json' exists (use -f to replace it)" >&2
        exit 1
fi

# A copy, not a bind mount: a bundle is then a plain directory anyone can delete.
rm -rf "$bundle/rootfs"
cp -a "$rootfs" "$bundle/rootfs"

if [ -n "$runtime" ]; then
        rm -f "$bundle/config.json"
        (cd "$bundle" && "$runtime" spec)
        exit 0
fi

# JSON-quote each argument (busybox-free: bash only).
json_args=
for a in "$@"; do
        a=${a//\\/\\\\}
        a=${a//\"/\\\"}
        json_args+="${json_args:+, }\"$a\""
done

cat >"$bundle/config.json" <<JSON
{
	"ociVersion": "1.0.2",
	"process": {
		"terminal": false,
		"user": { "uid": 0, "gid": 0 },
		"args": [ $json_args ],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ],
			"effective": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ],
			"permitted": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ]
		},
		"rlimits": [ { "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 } ],
		"noNewPrivileges": true
	},
	"root": { "path": "rootfs", "readonly": true },
	"hostname": "runc",
	"mounts": [
		{ "destination": "/proc", "type": "proc", "source": "proc" },
		{ "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
		  "options": [ "nosuid", "strictatime", "mode=755", "size=65536k" ] },
		{ "destination": "/dev/pts", "type": "devpts", "source": "devpts",
		  "options": [ "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" ] },
		{ "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
		  "options": [ "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" ] },
		{ "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
		  "options": [ "nosuid", "noexec", "nodev" ] },
		{ "destination": "/sys", "type": "sysfs", "source": "sysfs",
		  "options": [ "nosuid", "noexec", "nodev", "ro" ] }
	],
	"linux": {
		"namespaces": [
			{ "type": "pid" }, { "type": "network" }, { "type": "ipc" },
			{ "type": "uts" }, { "type": "mount" }
		],
		"maskedPaths": [
			"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
			"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
			"/sys/firmware"
		],
		"readonlyPaths": [
			"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
		]
	}
}
JSON
