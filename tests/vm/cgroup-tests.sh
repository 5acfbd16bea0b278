#!/usr/bin/env bash
# The cgroup v2 suite under a real cgroup v2 kernel: compiles on the host, builds the
# busybox rootfs with the probe, then boots ONE tests/vm VM that runs
# tests/vm/cgroup_tests.py (limits, devices, update, pause/resume, kill --all, delete,
# events) against real containers. Ends with 'N passed, N failed'; exits non-zero if
# anything failed (or with run-in-vm.sh's 124/125/126).
#
# usage: tests/vm/cgroup-tests.sh [run-in-vm.sh options] [-- TEST_NAME...]
# env:   BUILD_DIR (default <repo>/build; set up with meson if missing)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(realpath -m "${BUILD_DIR:-$repo/build}")

vm_opts=()
while [ $# -gt 0 ]; do
	case "$1" in
	--) shift; break ;;
	*) vm_opts+=("$1"); shift ;;
	esac
done

[ -f "$build/build.ninja" ] || meson setup "$build" "$repo" >/dev/null
ninja -C "$build" run-container tests/integration/probe >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/rc-vm-cgroup.XXXXXX")
trap 'rm -rf "$work"' EXIT
bash "$repo/rootfs-examples/busybox.sh" "$work/rootfs" >/dev/null
install -m 0755 "$build/tests/integration/probe" "$work/rootfs/probe"

# the guest's /tmp and /run are fresh: share the build and work dirs explicitly
cd "$repo"
st=0
"$here/run-in-vm.sh" --timeout 900 --rw "$build" --rw "$work" "${vm_opts[@]}" -- \
	/usr/bin/python3 "$here/cgroup_tests.py" "$build/run-container" "$work" "$@" || st=$?
exit "$st"
