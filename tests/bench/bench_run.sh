#!/bin/bash
# Times `run` of busybox's /bin/true for run-container and crun on the same bundle.
#
# Usage: tests/bench/bench_run.sh [-n COUNT] [-r ROUNDS] [-b RUNTIME_BINARY]
#   -n COUNT   containers per runtime (default 100)
#   -r ROUNDS  the runtimes take turns A B A B... in this many rounds (default 10)
#   -b PATH    run-container binary (default $BUILD_DIR/run-container, BUILD_DIR=build)
#
# A benchmark, not a test: it prints per-runtime medians and the ratio, and fails only if a
# container fails. Needs root, busybox-static and crun.
#
# crun 1.8.1 refuses this host's hybrid cgroup layout unless the cgroup2 controllers file
# looks empty, so the whole loop runs inside one private mount namespace (unshare -m) where
# an empty file is bind-mounted read-only over it once, for both runtimes alike; crun runs
# with --cgroup-manager=disabled. Nothing outside that namespace is touched.
set -euo pipefail

usage() {
        sed -n '4,7p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
count=100
rounds=10
rc_bin=${RUNTIME:-${BUILD_DIR:-$repo/build}/run-container}
while getopts "n:r:b:h" opt; do
        case "$opt" in
        n) count=$OPTARG ;;
        r) rounds=$OPTARG ;;
        b) rc_bin=$OPTARG ;;
        *) usage ;;
        esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
if ! [ "$count" -ge 1 ] 2>/dev/null || ! [ "$rounds" -ge 1 ] 2>/dev/null; then
        usage
fi
crun_bin=$(command -v crun || true)
controllers=/sys/fs/cgroup/unified/cgroup.controllers

if [ "$(id -u)" -ne 0 ]; then
        echo "$0: needs root" >&2
        exit 1
fi
for b in "$rc_bin" "$crun_bin"; do
        if [ -z "$b" ] || [ ! -x "$b" ]; then
                echo "$0: runtime binary '${b:-crun}' not found" >&2
                exit 1
        fi
done

# Re-enter in a private mount namespace; everything below runs there.
if [ -z "${BENCH_IN_MOUNT_NS:-}" ]; then
        exec env BENCH_IN_MOUNT_NS=1 unshare -m --propagation private bash "$0" -n "$count" -r "$rounds" -b "$rc_bin"
fi

work=$(mktemp -d /tmp/rc-bench-XXXXXX)

# rt_cmd RUNTIME ARGS...: one runtime's command line, with its own --root.
rt_cmd() {
        local rt=$1
        shift
        case "$rt" in
        run-container) "$rc_bin" --root "$work/root-$rt" "$@" ;;
        crun) "$crun_bin" --cgroup-manager=disabled --root "$work/root-$rt" "$@" ;;
        esac
}

cleanup() {
        for rt in run-container crun; do
                for id in $(rt_cmd "$rt" list -q 2>/dev/null); do
                        rt_cmd "$rt" delete --force "$id" || true
                done
        done
        rm -rf "$work"
}
trap cleanup EXIT

if [ -e "$controllers" ]; then
        : >"$work/empty"
        mount --bind -o ro "$work/empty" "$controllers"
fi

bash "$repo/rootfs-examples/busybox.sh" "$work/rootfs" >/dev/null
bash "$repo/rootfs-examples/make-bundle.sh" "$work/rootfs" "$work/bundle" /bin/true
mkdir -p "$work/root-run-container" "$work/root-crun"

# Runs N containers with RUNTIME and appends each one's wall time (microseconds) to its file.
run_batch() {
        local rt=$1 n=$2 start end i
        for ((i = 0; i < n; i++)); do
                seq_no=$((seq_no + 1))
                start=$EPOCHREALTIME
                if ! rt_cmd "$rt" run --bundle "$work/bundle" "bench-$seq_no" </dev/null >/dev/null \
                        2>"$work/err"; then
                        echo "$0: $rt run failed:" >&2
                        cat "$work/err" >&2
                        exit 1
                fi
                end=$EPOCHREALTIME
                echo $((${end/./} - ${start/./})) >>"$work/times-$rt"
        done
}

median_ms() {
        sort -n "$1" | awk '{ v[NR] = $1 } END {
                m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                printf "%.2f", m / 1000 }'
}

seq_no=0
per_round=$(((count + rounds - 1) / rounds))
# One warm-up each, not timed: page cache, first exec of each binary.
run_batch run-container 1
run_batch crun 1
rm -f "$work/times-run-container" "$work/times-crun"
done_n=0
while [ "$done_n" -lt "$count" ]; do
        n=$per_round
        [ $((done_n + n)) -le "$count" ] || n=$((count - done_n))
        run_batch run-container "$n"
        run_batch crun "$n"
        done_n=$((done_n + n))
done

rc_ms=$(median_ms "$work/times-run-container")
crun_ms=$(median_ms "$work/times-crun")
echo "run of /bin/true, $count containers each, $rounds rounds alternating run-container/crun"
printf 'run-container: median %s ms\n' "$rc_ms"
printf 'crun:          median %s ms  (%s)\n' "$crun_ms" "$("$crun_bin" --version | head -1)"
awk -v a="$rc_ms" -v b="$crun_ms" 'BEGIN { printf "ratio run-container/crun: %.2f\n", a / b }'
echo "runc: skipped on the host (creates cgroups beside the supervisor's; see tests/vm)"
