#!/usr/bin/env bash
# The sandbox suite under a real cgroup v2 kernel: compiles on the host, builds the
# busybox rootfs, then boots ONE tests/vm VM that runs tests/vm/sandbox_tests.py
# (limits applied, OOM kill and usage in the --report, pids, timeout through the cgroup,
# kill -9 + gc leaving no cgroup). Ends with 'N passed, N failed'; exits non-zero if
# anything failed (or with run-in-vm.sh's 124/125/126).
#
# usage: tests/vm/sandbox-tests.sh [run-in-vm.sh options] [-- TEST_NAME...]
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

work=$(mktemp -d "${TMPDIR:-/tmp}/rc-vm-sandbox.XXXXXX")
trap 'rm -rf "$work"' EXIT
bash "$repo/rootfs-examples/busybox.sh" "$work/rootfs" >/dev/null
install -m 0755 "$build/tests/integration/probe" "$work/rootfs/probe"

# The guest's /tmp and /run are fresh tmpfs: share what the suite needs from there (the
# repository itself when it lives there, as a CI clone may; the build dir unless inside it).
shares=()
case "$repo/" in /tmp/* | /run/*) shares+=(--rw "$repo") ;; esac
case "$build/" in "$repo"/*) [ ${#shares[@]} -gt 0 ] || shares+=(--rw "$build") ;; *) shares+=(--rw "$build") ;; esac
shares+=(--rw "$work")
cd "$repo"
st=0
"$here/run-in-vm.sh" --timeout 900 "${shares[@]}" "${vm_opts[@]}" -- \
	/usr/bin/python3 "$here/sandbox_tests.py" "$build/run-container" "$work" "$@" || st=$?
exit "$st"
