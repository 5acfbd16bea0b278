#!/bin/sh
# Guest init for tests/vm/run-in-vm.sh.  Runs inside the VM, never on the host.
#
# Stage 1 (PID 1 from the initramfs, busybox sh): mount proc/sys/dev, load the
# few modules needed, mount the host's root (9p, read-only) under a tmpfs
# overlay at /newroot, the per-run share at /run/vm/io, a pure cgroup2 at
# /sys/fs/cgroup with every controller enabled, then switch_root.
# Stage 2 (PID 1 in the new root): run /run/vm/io/cmd.sh, write its exit
# status to /run/vm/io/status, drain the console and power off.
#
# With VM_SYSTEMD=1 (run-in-vm.sh --systemd) stage 1 leaves /sys/fs/cgroup to
# systemd, writes three units to /run/systemd/system and switch_roots into
# /lib/systemd/systemd, which the kernel command line (systemd.unit=rc-vm.target)
# points at them: the system D-Bus (dbus.socket, dbus.service) and rc-vm.service,
# a oneshot that runs this script's "command" step (stage 2 without being
# PID 1). None of the host's other units start: the three skip the default
# dependencies (sysinit.target and what it pulls in) through drop-ins.
#
# Everything here is busybox; every program start costs ~50 ms under TCG, so
# keep the number of commands small.

p9opts=trans=virtio,version=9p2000.L,msize=512000

stage1() {
	PATH=/bin
	export PATH
	mount -t devtmpfs devtmpfs /dev
	exec </dev/null >/dev/console 2>&1
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	# CRIU probes TCP repair over 127.0.0.1: `criu check` fails with lo down.
	ip link set lo up || die "bringing lo up failed"
	# crc32c first: libcrc32c (netfilter) asks for it through the crypto API.
	modprobe -a crc32c_generic virtio_pci 9pnet_virtio 9p overlay ||
		die "loading the kernel modules (virtio_pci, 9p, overlay) failed"
	mkdir -p /mnt/host /mnt/rw /newroot
	# cache=loose: about twice as fast for file-heavy work; the share is
	# read-only and the VM short-lived, so staleness is not a concern.
	mount -t 9p -o "$p9opts,ro,cache=loose" hostroot /mnt/host ||
		die "mounting the host root (9p tag hostroot) failed"
	mount -t tmpfs -o mode=755 tmpfs /mnt/rw
	mkdir /mnt/rw/upper /mnt/rw/work
	mount -t overlay -o lowerdir=/mnt/host,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work overlay /newroot ||
		die "mounting the overlay on the host root failed"
	r=/newroot
	mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs $r/tmp
	mount -t tmpfs -o mode=755,nosuid,nodev tmpfs $r/run
	mkdir -p $r/run/vm/io $r/run/vm/bin
	mount -t 9p -o "$p9opts,cache=mmap" vmio $r/run/vm/io ||
		die "mounting the per-run share (9p tag vmio) failed"
	. $r/run/vm/io/vm.conf
	cp /bin/busybox /init $r/run/vm/
	for a in sh modprobe poweroff sync sleep stty env cat; do
		ln -s ../busybox $r/run/vm/bin/$a
	done
	mount --move /dev $r/dev
	mount --move /proc $r/proc
	mount --move /sys $r/sys
	mkdir -p $r/dev/pts $r/dev/shm
	mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts $r/dev/pts
	mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs $r/dev/shm
	if [ "${VM_SYSTEMD:-0}" != 1 ]; then
		mount -t cgroup2 -o nsdelegate cgroup2 $r/sys/fs/cgroup ||
			die "mounting cgroup2 on /sys/fs/cgroup failed"
		read -r ctrls <$r/sys/fs/cgroup/cgroup.controllers
		enable=
		for c in $ctrls; do enable="$enable +$c"; done
		[ -z "$enable" ] || echo "$enable" >$r/sys/fs/cgroup/cgroup.subtree_control ||
			die "enabling cgroup controllers ($enable) failed"
	fi
	# The guest kernel's modules live in the host's cache directory; make
	# them the guest's /lib/modules so that on-demand loading (veth, bridge,
	# nf_tables, ...) works through busybox modprobe.
	# (Taken from the 9p mount itself, so a cache under /tmp works too.)
	if [ -n "${VM_MODDIR:-}" ] && [ -d "/mnt/host$VM_MODDIR" ]; then
		mkdir -p "$r/lib/modules/$VM_KVER"
		mount --bind "/mnt/host$VM_MODDIR" "$r/lib/modules/$VM_KVER"
		echo /run/vm/bin/modprobe >$r/proc/sys/kernel/modprobe
	fi
	i=0
	for d in ${VM_RW:-}; do
		mkdir -p "$r$d"
		mount -t 9p -o "$p9opts,cache=mmap" "rw$i" "$r$d" ||
			die "mounting the writable share rw$i at $d failed"
		i=$((i + 1))
	done
	if [ "${VM_SYSTEMD:-0}" = 1 ]; then
		systemd_units $r/run/systemd/system
		exec switch_root $r /lib/systemd/systemd
	fi
	exec switch_root $r /run/vm/busybox sh /run/vm/init stage2
	die "switch_root failed"
}

# The units of the systemd mode, in the runtime unit directory $1.
systemd_units() {
	u=$1
	[ -x $r/lib/systemd/systemd ] || die "--systemd: the host has no /lib/systemd/systemd"
	# A host that is itself a container has a marker file; systemd would take it to
	# be one too and ignore the kernel command line (systemd.unit=): not in the VM.
	rm -f $r/.dockerenv $r/run/.containerenv
	mkdir -p $u/dbus.socket.d $u/dbus.service.d
	printf '[Unit]\nDefaultDependencies=no\n' >$u/dbus.socket.d/rc-vm.conf
	printf '[Unit]\nDefaultDependencies=no\n' >$u/dbus.service.d/rc-vm.conf
	cat >$u/rc-vm.target <<-EOF
		[Unit]
		Description=run-in-vm command
		Requires=rc-vm.service
		After=rc-vm.service
	EOF
	cat >$u/rc-vm.service <<-EOF
		[Unit]
		Description=run-in-vm command
		DefaultDependencies=no
		Requires=dbus.socket
		After=dbus.socket
		[Service]
		Type=oneshot
		TimeoutStartSec=infinity
		StandardInput=null
		StandardOutput=null
		ExecStart=/run/vm/busybox sh /run/vm/init command
	EOF
}

# PID 1 (stage2) or systemd's rc-vm.service (command): run the command, power off.
stage2() {
	PATH=/run/vm/bin
	export PATH
	. /run/vm/io/vm.conf
	[ "${VM_VERBOSE:-0}" = 1 ] || echo 1 >/proc/sys/kernel/printk
	# The socket-diag modules CRIU's dump and `criu check` query (from the module tree
	# bind-mounted in stage 1; the kernel would load them on demand too, this makes it sure).
	modprobe -a unix_diag inet_diag tcp_diag udp_diag netlink_diag ||
		echo "run-in-vm (guest init): loading the socket-diag modules failed"
	# No CR before LF on the serial line: the host sees the command's bytes.
	stty -onlcr </dev/console
	env -i "$VM_BASH" --noprofile --norc /run/vm/io/cmd.sh </dev/null >/dev/console 2>&1
	echo $? >/run/vm/io/status
	sync
	finish
}

# Drain the console (busybox stty sets attributes with TCSADRAIN) and leave.
finish() {
	stty -onlcr </dev/console
	sleep 0.1
	echo 0 >/proc/sys/kernel/printk 2>/dev/null
	poweroff -f
}

die() {
	echo "run-in-vm (guest init): $*"
	sync
	finish
}

case "${1:-stage1}" in
stage2 | command) stage2 ;;
*) stage1 ;;
esac
