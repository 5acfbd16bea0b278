#!/bin/bash
# Downtime of `migrate` against stop-and-copy (checkpoint + restore) and runc's checkpoint +
# restore, for a container writing to a 256 MiB working set at a steady rate, in one
# throw-away VM (tests/vm: CRIU works there). See bench_migrate_guest.py.
#
# Usage: tests/bench/bench_migrate.sh [-n PAIRS] [-m MIB] [-r MIB_PER_S] [-b RUN_CONTAINER] [-k LOGDIR]   (as root)
# -k: CRIU's logs of every move are copied into LOGDIR
#
# Everything in the guest is emulated (TCG): absolute times are ~50x the host's; only the
# ratios mean something. A benchmark, not a test.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${BUILD_DIR:-$repo/build}
pairs=5 mib=256 rate=8 logdir=
rc_bin=${RUNTIME:-$build/run-container}
while getopts "n:m:r:b:k:h" opt; do
        case "$opt" in
        n) pairs=$OPTARG ;;
        m) mib=$OPTARG ;;
        r) rate=$OPTARG ;;
        b) rc_bin=$OPTARG ;;
        k) logdir=$OPTARG ;;
        *) sed -n '6p' "$0" | sed 's/^# //' >&2; exit 2 ;;
        esac
done
[ "$(id -u)" = 0 ] || { echo "$0: needs root" >&2; exit 1; }
[ -x "$rc_bin" ] || { echo "$0: no run-container at $rc_bin (build first)" >&2; exit 1; }
rc_bin=$(realpath "$rc_bin")
ninja -C "$build" tests/integration/probe >/dev/null

# Not under /tmp: the guest's /tmp is a fresh tmpfs; shared with the guest by --rw.
work=$(mktemp -d /var/tmp/rc-bench-migrate-XXXXXX)
trap '[ -z "$logdir" ] || cp -r "$work/logs/." "$logdir/" 2>/dev/null; rm -rf "$work"' EXIT
[ -z "$logdir" ] || mkdir -p "$logdir"
bash "$repo/rootfs-examples/busybox.sh" "$work/rootfs" >/dev/null
install -m 0755 "$build/tests/integration/probe" "$work/rootfs/probe"
rw=(--rw "$work")
case "$rc_bin" in /tmp/* | /run/*) rw+=(--rw "$(dirname "$rc_bin")") ;; esac

# the working set, the images of a stop-and-copy and of the pre-dumps, and the restored copy
mem=$((1024 + 4 * mib))
cd "$repo"
RC_BENCH_KEEP_LOGS=$([ -n "$logdir" ] && echo 1 || echo 0) "$repo/tests/vm/run-in-vm.sh" --timeout 3600 --mem "$mem" "${rw[@]}" -- \
        python3 "$repo/tests/bench/bench_migrate_guest.py" "$work" "$rc_bin" "$pairs" "$mib" "$rate"
