#!/usr/bin/env bash
# The suites that need a real cgroup v2 kernel, in ONE tests/vm boot: compiles on the host,
# builds the busybox rootfs with the probe, then runs tests/vm/<suite>_tests.py for each
# suite (cgroup: limits, devices, update, pause/resume, kill --all, delete, events;
# sandbox: limits, OOM and usage in --report, timeout, kill -9 + gc; engines: podman and
# containerd with cgroups and limits, exec into a cgroup) against real
# containers. Each suite prints 'N passed, N failed'; the last line is their sum. Exits
# non-zero if anything failed (or with run-in-vm.sh's 124/125/126).
#
# usage: tests/vm/vm-tests.sh [run-in-vm.sh options] [-- SUITE [TEST_NAME...]]
#        SUITE is cgroup, sandbox or engines; default: all, every test
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
suites=(cgroup sandbox engines)
if [ $# -gt 0 ]; then
	suites=("$1")
	shift
fi
for s in "${suites[@]}"; do
	[ -f "$here/${s}_tests.py" ] || { echo "vm-tests: no suite \"$s\" (tests/vm/${s}_tests.py)" >&2; exit 2; }
done

[ -f "$build/build.ninja" ] || meson setup "$build" "$repo" >/dev/null
ninja -C "$build" run-container tests/integration/probe >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/rc-vm-tests.XXXXXX")
trap 'rm -rf "$work"' EXIT
bash "$repo/rootfs-examples/busybox.sh" "$work/rootfs" >/dev/null
install -m 0755 "$build/tests/integration/probe" "$work/rootfs/probe"
for s in "${suites[@]}"; do
	mkdir -p "$work/$s"
	cp -a "$work/rootfs" "$work/$s/rootfs"
done

# One guest command runs the suites in turn; each gets its own work dir.
guest="$work/guest.sh"
{
	echo 'st=0'
	for s in "${suites[@]}"; do
		printf '/usr/bin/python3 %q %q %q' "$here/${s}_tests.py" "$build/run-container" "$work/$s"
		[ $# -eq 0 ] || printf ' %q' "$@"
		printf ' || st=1\n'
	done
	echo 'exit $st'
} >"$guest"

# The guest's /tmp and /run are fresh tmpfs: share what the suites need from there (the
# repository itself when it lives there, as a CI clone may; the build dir unless inside it).
shares=()
case "$repo/" in /tmp/* | /run/*) shares+=(--rw "$repo") ;; esac
case "$build/" in "$repo"/*) [ ${#shares[@]} -gt 0 ] || shares+=(--rw "$build") ;; *) shares+=(--rw "$build") ;; esac
shares+=(--rw "$work")
cd "$repo"
st=0
"$here/run-in-vm.sh" --timeout 1200 "${shares[@]}" "${vm_opts[@]}" -- sh "$guest" | tee "$work/out.log" ||
	st=${PIPESTATUS[0]}
awk '/^[0-9]+ passed, [0-9]+ failed/ { p += $1; f += $3 } END { printf "%d passed, %d failed\n", p, f }' \
	"$work/out.log"
exit "$st"
