#!/bin/bash
# The cgroup figures in one throw-away VM with a pure cgroup v2 hierarchy (tests/vm):
# `run` of /bin/true with a memory limit on the three configs engines send and on the
# smoke-test bundle, run-container against crun and runc, and a container under
# memory.max = 512 KiB. See bench_vm_guest.py.
#
# Usage: tests/bench/bench_vm.sh [-n PAIRS] [-b RUN_CONTAINER] [-a BASELINE] [-c CONFIGS|none] [-x] [-j JSON]
#                                  (as root)
#   -a: one more candidate on the configs, another run-container binary (a build before a
#       change): the A B of a change, paired in one guest
#   -c: the configs (comma-separated; default runc-spec,podman-default,ctr-oci-spec)
#   -x: only the configs (not the smoke-test bundle, 512 KiB and sandbox sections)
#   -j: the figures as JSON into file JSON (for figures.py)
#
# Everything in the guest is emulated (TCG): absolute times are ~50x the host's; only the
# ratios mean something. A benchmark, not a test.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
pairs=20
rc_bin=${RUNTIME:-${BUILD_DIR:-$repo/build}/run-container}
configs=runc-spec,podman-default,ctr-oci-spec
extra=()
json=
baseline=
while getopts "n:b:a:c:xj:h" opt; do
        case "$opt" in
        n) pairs=$OPTARG ;;
        b) rc_bin=$OPTARG ;;
        a) baseline=$OPTARG ;;
        c) configs=$OPTARG ;;
        x) extra+=(--no-example) ;;
        j) json=$OPTARG ;;
        *) sed -n '7,13p' "$0" | sed 's/^# //' >&2; exit 2 ;;
        esac
done
[ "$(id -u)" = 0 ] || { echo "$0: needs root" >&2; exit 1; }
[ -x "$rc_bin" ] || { echo "$0: no run-container at $rc_bin (build first)" >&2; exit 1; }
rc_bin=$(realpath "$rc_bin")
if [ -n "$baseline" ]; then
        [ -x "$baseline" ] || { echo "$0: -a: no run-container at $baseline" >&2; exit 1; }
        baseline=$(realpath "$baseline")
        extra+=(--against "$baseline")
fi

# Not under /tmp: the guest's /tmp is a fresh tmpfs; shared with the guest by --rw.
work=$(mktemp -d /var/tmp/rc-bench-vm-XXXXXX)
trap 'rm -rf "$work"' EXIT
bash "$repo/rootfs-examples/busybox.sh" "$work/rootfs" >/dev/null
rw=(--rw "$work")
# the guest's /tmp and /run are its own: a binary there is shared with it
for bin in "$rc_bin" ${baseline:+"$baseline"}; do
        case "$bin" in /tmp/* | /run/*) rw+=(--rw "$(dirname "$bin")") ;; esac
done

[ -n "$json" ] && extra+=(--json "$work/figures.json")

cd "$repo"
# Debian's python3 (the configs' rewrite comes from tests/integration, which imports pytest)
"$repo/tests/vm/run-in-vm.sh" --timeout 2400 "${rw[@]}" -- \
        /usr/bin/python3 "$repo/tests/bench/bench_vm_guest.py" "$work" "$rc_bin" "$pairs" \
        --configs "$configs" "${extra[@]}"
if [ -n "$json" ]; then
        cp "$work/figures.json" "$json"
fi
