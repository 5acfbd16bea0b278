#!/bin/bash
# Time to attach one container to a bridge network (veth pair with its peer in the
# container's netns, address, default route, link up), run-container against Debian's
# CNI bridge plugin (package containernetworking-plugins, host-local IPAM) doing the same
# attach, in the same run; prints the medians and their ratio.
#
# Usage: tests/bench/bench_network.sh [BUILD_DIR] [ITERATIONS]   (as root)
#
# Everything happens inside a network namespace (and private mount namespace) this
# script creates: the bridges, veths and nft table vanish with it. run-container's time
# is what it logs for its attach step (`--debug`: "attached ... in N us"), measured in
# the process; the plugin's is the wall time of its exec, which is how an engine calls
# it. The first attach of each (bridge creation, nft table) is a warm-up, not counted.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$repo/build}
iterations=${2:-20}
runtime=$build/run-container
cni_dir=${CNI_PATH:-/usr/lib/cni}

[ "$(id -u)" = 0 ] || { echo "bench_network: needs root" >&2; exit 1; }
[ -x "$runtime" ] || { echo "bench_network: no $runtime (build first)" >&2; exit 1; }
[ -x "$cni_dir/bridge" ] && [ -x "$cni_dir/host-local" ] ||
        { echo "bench_network: no CNI plugins in $cni_dir (apt-get install containernetworking-plugins)" >&2; exit 1; }

work=$(mktemp -d /tmp/rc-bench-net-XXXXXX)
holders=()
cleanup() {
        for p in "${holders[@]}"; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        rm -rf "$work"
}
trap cleanup EXIT

# A namespace held by a sleeping process; its pid in $ns_pid (no subshell: the holder
# must stay a child of this script).
new_netns() {
        unshare --net --mount --propagation private sleep infinity </dev/null >/dev/null 2>&1 &
        ns_pid=$!
        holders+=("$ns_pid")
        while [ "$(readlink /proc/$ns_pid/ns/net)" = "$(readlink /proc/self/ns/net)" ]; do sleep 0.01; done
}

new_netns
host=$ns_pid
in_host() { nsenter -t "$host" -n -m -- "$@"; }
in_host ip link set lo up

# ---- run-container: create (attach) + delete, ITERATIONS + 1 times -------------------
"$repo/rootfs-examples/busybox.sh" "$work/rootfs" >/dev/null
mkdir -p "$work/bundle" "$work/root"
ln -s "$work/rootfs" "$work/bundle/rootfs"
python3 - "$work/bundle/config.json" <<'EOF'
import json, sys
cfg = {
    "ociVersion": "1.0.2",
    "process": {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": ["sleep", "30"], "cwd": "/",
                "env": ["PATH=/bin:/usr/bin:/sbin:/usr/sbin"]},
    "root": {"path": "rootfs", "readonly": True},
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
    "annotations": {"run-container.network": "default"},
    "linux": {"namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")]},
}
json.dump(cfg, open(sys.argv[1], "w"))
EOF
rc() { in_host "$runtime" --network-root "$work/net" --root "$work/root" --debug --log "$work/rc.log" "$@"; }
for i in $(seq 0 "$iterations"); do
        rc create --bundle "$work/bundle" "b$i" >/dev/null 2>&1 </dev/null
        rc delete --force "b$i"
done
mapfile -t rc_us < <(grep -o 'attached [^ ]* as [^ ]* in [0-9]* us' "$work/rc.log" | awk '{print $(NF-1)}' | tail -n +2)

# ---- CNI bridge plugin: ADD (attach) + DEL into a fresh netns, ITERATIONS + 1 times --
cat >"$work/cni.json" <<EOF
{"cniVersion": "1.0.0", "name": "bench", "type": "bridge", "bridge": "cni0", "isGateway": true,
 "ipMasq": false, "ipam": {"type": "host-local", "subnet": "10.99.0.0/24", "dataDir": "$work/cni-ipam",
 "routes": [{"dst": "0.0.0.0/0"}]}}
EOF
cni_us=()
for i in $(seq 0 "$iterations"); do
        new_netns
        ctr=$ns_pid
        export CNI_CONTAINERID="bench$i" CNI_NETNS=/proc/$ctr/ns/net CNI_IFNAME=eth0 CNI_PATH=$cni_dir
        t0=$EPOCHREALTIME
        CNI_COMMAND=ADD in_host "$cni_dir/bridge" <"$work/cni.json" >/dev/null
        t1=$EPOCHREALTIME
        CNI_COMMAND=DEL in_host "$cni_dir/bridge" <"$work/cni.json" >/dev/null
        kill "$ctr"
        wait "$ctr" 2>/dev/null || true
        [ "$i" = 0 ] || cni_us+=("$(python3 -c "print(round(($t1 - $t0) * 1e6))")")
done
# nsenter's own exec is part of the plugin's bracket: measure it alone and take it off
ns_us=()
for i in $(seq 1 "$iterations"); do
        t0=$EPOCHREALTIME
        in_host true
        t1=$EPOCHREALTIME
        ns_us+=("$(python3 -c "print(round(($t1 - $t0) * 1e6))")")
done

median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
[ "${#rc_us[@]}" -gt 0 ] || { echo "bench_network: run-container logged no attach times" >&2; exit 1; }
rc_med=$(median "${rc_us[@]}")
cni_med=$(median "${cni_us[@]}")
ns_med=$(median "${ns_us[@]}")
cni_net=$(python3 -c "print(max(1, $cni_med - $ns_med))")
printf 'attach one container (veth + address + route), median of %d:\n' "${#rc_us[@]}"
printf '  run-container (in process)        %8.0f us\n' "$rc_med"
printf '  CNI bridge + host-local (exec)    %8.0f us  (nsenter overhead %.0f us subtracted)\n' "$cni_net" "$ns_med"
python3 -c "print(f'  ratio CNI / run-container         {$cni_net / $rc_med:8.1f}x')"
