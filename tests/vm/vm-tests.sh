#!/usr/bin/env bash
# The suites that need a real cgroup v2 kernel: compiles on the host, builds the busybox
# rootfs with the probe, then runs tests/vm/<suite>_tests.py for each suite (cgroup:
# limits, devices, update, pause/resume, kill --all, delete, events; sandbox: limits, OOM
# and usage in --report, timeout, kill -9 + gc; engines: podman and containerd with
# cgroups and limits, exec into a cgroup; criu: checkpoint/restore of a counter,
# --leave-running, a new id, twice from one image, bad images, runc's side by side;
# migrate: live migration over a unix socket between two "hosts" (network namespaces);
# criu_robust: migrate killed at any moment and settled by gc, a full destination, bad images;
# postcopy: migrate --post-copy (the memory follows the restored container), its failure paths, and migrate --lazy-parent (pre-copy, then a local lazy restore);
# migrate_remote: post-copy over a unix socket (the page channel), a receiver's --timeout;
# rootless: memory and pids limits for an unprivileged user in a delegated cgroup)
# against real containers, in ONE tests/vm boot;
# the systemd suite (the systemd cgroup driver) in a second boot with systemd as PID 1
# (run-in-vm.sh --systemd). Each suite prints 'N passed, N failed'; the last line is
# their sum. Exits non-zero if anything failed (or with run-in-vm.sh's 124/125/126).
#
# usage: tests/vm/vm-tests.sh [run-in-vm.sh options] [-- SUITE [TEST_NAME...]]
#        SUITE is cgroup, sandbox, engines, criu, migrate, criu_robust, postcopy, migrate_remote, rootless or systemd; default: all, every test
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
suites=(cgroup sandbox engines criu migrate criu_robust postcopy migrate_remote rootless systemd)
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

# The suites that need systemd as PID 1 get a boot of their own.
needs_systemd() { [ "$1" = systemd ]; }

# One guest command per boot runs its suites in turn; each gets its own work dir.
guest_script() { # guest_script FILE SUITE... (test names in the global "tests")
	local out=$1 s
	shift
	{
		echo 'st=0'
		for s in "$@"; do
			printf '/usr/bin/python3 %q %q %q' "$here/${s}_tests.py" "$build/run-container" "$work/$s"
			[ ${#tests[@]} -eq 0 ] || printf ' %q' "${tests[@]}"
			printf ' || st=1\n'
		done
		echo 'exit $st'
	} >"$out"
}
tests=("$@")
plain=() with_systemd=()
for s in "${suites[@]}"; do
	if needs_systemd "$s"; then with_systemd+=("$s"); else plain+=("$s"); fi
done

# The guest's /tmp and /run are fresh tmpfs: share what the suites need from there (the
# repository itself when it lives there, as a CI clone may; the build dir unless inside it).
shares=()
case "$repo/" in /tmp/* | /run/*) shares+=(--rw "$repo") ;; esac
case "$build/" in "$repo"/*) [ ${#shares[@]} -gt 0 ] || shares+=(--rw "$build") ;; *) shares+=(--rw "$build") ;; esac
shares+=(--rw "$work")
cd "$repo"
st=0
: >"$work/out.log"
boot() { # boot GUEST_SCRIPT [run-in-vm.sh options]
	local g=$1 rc=0
	shift
	"$here/run-in-vm.sh" --timeout 1200 "${shares[@]}" "${vm_opts[@]}" "$@" -- sh "$g" |
		tee -a "$work/out.log" || rc=${PIPESTATUS[0]}
	[ "$rc" = 0 ] || [ "$st" != 0 ] || st=$rc
}
if [ ${#plain[@]} -gt 0 ]; then
	guest_script "$work/guest.sh" "${plain[@]}"
	boot "$work/guest.sh"
fi
if [ ${#with_systemd[@]} -gt 0 ]; then
	guest_script "$work/guest-systemd.sh" "${with_systemd[@]}"
	boot "$work/guest-systemd.sh" --systemd
fi
awk '/^[0-9]+ passed, [0-9]+ failed/ { p += $1; f += $3 } END { printf "%d passed, %d failed\n", p, f }' \
	"$work/out.log"
exit "$st"
