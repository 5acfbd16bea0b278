#!/bin/bash
# Install every Debian 12 package the build and the test suite need (root, no stdin).
# The one list of dependencies: README.md, .ci/run and tests/run-all.sh all use it.
set -euo pipefail

deps=(
        # build
        gcc libc6-dev meson ninja-build pkg-config libyajl-dev libcap-dev libseccomp-dev
        libnftables-dev libarchive-dev libssl-dev libcurl4-openssl-dev libsystemd-dev
        # checkpoint/restore: libcriu (criu.h, libcriu.so, loaded on first use) needs protobuf-c's header
        criu libprotobuf-c-dev
        # tests
        libcriterion-dev python3-pytest python3-grpcio python3-protobuf man-db groff-base busybox-static clang-format clang util-linux git iproute2 nftables
        debootstrap
        # a registry on loopback, and the tools that push to it and sign its tokens (test_registry.py)
        docker-registry skopeo apache2-utils openssl
        # reference runtimes for tests and benchmarks, and the VM for the cgroup v2 suite
        crun runc qemu-system-x86 bubblewrap
        # rootless: newuidmap/newgidmap for id maps beyond the caller's own id (test_rootless.py),
        # pasta for a rootless container's network (test_rootless_net.py)
        uidmap passt
        # the engines that drive the runtime in tests/integration/test_engines.py
        podman containerd
)
missing=()
for p in "${deps[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
        echo "installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq </dev/null
        apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
fi
# The tests start their own registry on loopback; the package's service would listen on
# :5000 on every interface of a host whose policy lets packages start services.
if [ -d /run/systemd/system ] && systemctl is-enabled --quiet docker-registry.service 2>/dev/null; then
        systemctl disable --now docker-registry.service
fi
