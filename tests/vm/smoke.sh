#!/usr/bin/env bash
# Smoke test for tests/vm/run-in-vm.sh: boots one VM and checks that the guest
# has a pure cgroup v2 hierarchy with the controllers a container runtime
# needs, that memory.max really OOM-kills, and that cwd, environment, output
# and exit status cross the VM boundary.  Ends with 'N passed, N failed'.
#
# usage: tests/vm/smoke.sh [run-in-vm.sh options]
# (the script re-runs itself inside the guest with --in-guest)
set -euo pipefail

GUEST_STATUS=7 # the guest part always exits with this; the host checks it

# shellcheck disable=SC2317 # the helpers are called through check
in_guest() {
	local cg=/sys/fs/cgroup st n
	check() { # check NAME CMD...
		local name=$1
		shift
		if "$@"; then echo "ok - $name"; else echo "FAIL - $name"; fi
	}
	fstype() { [ "$(stat -f -c %T "$1")" = "$2" ]; }
	no_v1() { ! grep -q ' cgroup ' /proc/mounts; }
	has_all() { # has_all FILE WORD...
		local f=$1 w have
		shift
		have=" $(cat "$f") "
		for w in "$@"; do
			[[ $have == *" $w "* ]] || { echo "  $f has '${have# }', no $w"; return 1; }
		done
	}
	self_cg() { [ "$(cat /proc/self/cgroup)" = "0::/" ]; }
	oom() {
		local d=$cg/smoke-oom events
		mkdir "$d" && echo 32M >"$d/memory.max" || return 1
		echo 0 >"$d/memory.swap.max" 2>/dev/null || true
		# dd fills a 100 MiB buffer: more than memory.max allows.
		st=0
		# (the group's redirection also silences bash's "Killed" notice)
		{ bash -c 'echo $$ >"$1/cgroup.procs" && exec dd if=/dev/zero of=/dev/null bs=100M count=1' _ "$d" || st=$?; } 2>/dev/null
		events=$(cat "$d/memory.events")
		n=$(awk '$1 == "oom_kill" { print $2 }' <<<"$events")
		rmdir "$d" || true
		[ "$st" = 137 ] && [ "${n:-0}" -ge 1 ] || { echo "  dd exit $st, memory.events: $(tr '\n' ' ' <<<"$events")"; return 1; }
	}
	modules() {
		local m
		if command -v ip >/dev/null; then
			ip link add smoke0 type veth peer name smoke1 && ip link add smokebr type bridge &&
				ip link del smoke0 && ip link del smokebr || return 1
		fi
		"$(cat /proc/sys/kernel/modprobe)" -a nf_tables nft_chain_nat || return 1
		for m in veth bridge nf_tables; do
			grep -q "^$m " /proc/modules || { echo "  module $m not loaded"; return 1; }
		done
	}
	check "/sys/fs/cgroup is cgroup2" fstype /sys/fs/cgroup cgroup2fs
	check "no cgroup v1 hierarchy is mounted" no_v1
	check "the command runs in the root cgroup (0::/)" self_cg
	check "cgroup.subtree_control lists cpu memory pids io cpuset" \
		has_all $cg/cgroup.subtree_control cpu memory pids io cpuset
	check "memory.max=32M OOM-kills a 100 MiB allocation" oom
	check "veth, bridge and nf_tables modules load on demand" modules
	check "cwd is the caller's ($SMOKE_CWD)" test "$PWD" = "$SMOKE_CWD"
	check "the caller's environment is passed" test "${SMOKE_TOKEN:-}" = "token with 'quotes' and spaces"
	check "/tmp is a tmpfs" fstype /tmp tmpfs
	check "the root file system is writable (overlay)" touch /usr/.smoke-write
	exit "$GUEST_STATUS"
}

if [ "${1:-}" = --in-guest ]; then
	# Never on the host: the checks create cgroups under /sys/fs/cgroup.
	[ -e /run/vm/io/cmd.sh ] && [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] ||
		{ echo "smoke.sh: --in-guest runs only inside run-in-vm.sh's VM" >&2; exit 2; }
	in_guest
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(mktemp "${TMPDIR:-/tmp}/vm-smoke.XXXXXX")
trap 'rm -f "$out"' EXIT

export SMOKE_CWD=$PWD SMOKE_TOKEN="token with 'quotes' and spaces"
start=$EPOCHREALTIME
st=0 # with pipefail: run-in-vm's status (tee does not fail)
"$here/run-in-vm.sh" "$@" -- "$here/smoke.sh" --in-guest | tee "$out" || st=$?
secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

passed=$(grep -c '^ok - ' "$out" || true)
failed=$(grep -c '^FAIL - ' "$out" || true)
host_check() { # host_check NAME CMD...
	local name=$1
	shift
	if "$@"; then
		echo "ok - $name"
		passed=$((passed + 1))
	else
		echo "FAIL - $name"
		failed=$((failed + 1))
	fi
}
no_cr() { ! grep -q $'\r' "$out"; }
host_check "the guest's exit status comes back ($st, want $GUEST_STATUS)" test "$st" = "$GUEST_STATUS"
host_check "all 10 guest checks reported" test "$(grep -cE '^(ok|FAIL) - ' "$out")" = 10
host_check "the guest output has no carriage returns" no_cr
echo "(one VM boot + checks: ${secs}s)"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
