#!/usr/bin/env bash
# Run a command inside a throw-away QEMU (TCG) virtual machine that has its
# own Debian kernel and a pure cgroup v2 hierarchy with all controllers
# enabled.  The guest sees the host's root filesystem read-only (9p) under a
# tmpfs overlay, so the host's binaries and libraries are at the same paths.
# See tests/vm/README.md.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: tests/vm/run-in-vm.sh [options] -- CMD [ARGS...]

Runs CMD in a fresh VM (cwd and environment taken from the caller), prints
its output and exits with its exit status.

options:
  --timeout SECS  kill the VM after SECS seconds (default 600)    -> exit 124
  --mem MB        guest memory (default 1024)
  --cpus N        guest vCPUs (default 2)
  --cache DIR     kernel/initramfs cache
                  (default ${XDG_CACHE_HOME:-/var/cache}/run-container-vm,
                  ~/.cache instead of /var/cache when not root)
  --rw DIR        share host directory DIR writable at the same path in the
                  guest (repeatable; everything else is discarded at exit)
  --append ARGS   extra kernel command line arguments
  --systemd       boot the host's systemd as PID 1 (with the system D-Bus);
                  CMD runs in its oneshot unit rc-vm.service
  --verbose       show the kernel's boot messages and timings
  --prepare       only download/build the cached kernel and initramfs
  -h, --help      this text

exit status: the command's; 124 timeout; 125 the guest never reported a
status (boot failure, kernel panic, guest init error); 126 host-side setup
failed (missing package, kernel download or extraction).
EOF
}

die() {
	echo "run-in-vm: $*" >&2
	exit 126
}
note() { [ "$verbose" = 0 ] || echo "run-in-vm: $*" >&2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
timeout_s=600 mem=1024 cpus=2 verbose=0 prepare_only=0 extra_append= systemd=0
if [ "$(id -u)" = 0 ]; then
	cache=${XDG_CACHE_HOME:-/var/cache}/run-container-vm
else
	cache=${XDG_CACHE_HOME:-$HOME/.cache}/run-container-vm
fi
rw_dirs=()

while [ $# -gt 0 ]; do
	case "$1" in
	--timeout) timeout_s=${2:?--timeout needs SECS}; shift 2 ;;
	--mem) mem=${2:?--mem needs MB}; shift 2 ;;
	--cpus) cpus=${2:?--cpus needs N}; shift 2 ;;
	--cache) cache=${2:?--cache needs DIR}; shift 2 ;;
	--rw) d=$(realpath -e -- "${2:?--rw needs DIR}") || die "--rw: no such directory: $2"
		rw_dirs+=("$d"); shift 2 ;;
	--append) extra_append=${2?--append needs ARGS}; shift 2 ;;
	--verbose | -v) verbose=1; shift ;;
	--systemd) systemd=1; shift ;;
	--prepare) prepare_only=1; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	-*) echo "run-in-vm: unknown option: $1" >&2; usage >&2; exit 126 ;;
	*) break ;;
	esac
done
for v in "$timeout_s" "$mem" "$cpus"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || die "not a positive integer: $v"
done
[ $# -gt 0 ] || [ "$prepare_only" = 1 ] || { usage >&2; exit 126; }
for d in "${rw_dirs[@]}"; do
	[ -d "$d" ] || die "--rw: not a directory: $d"
	[[ $d != *[[:space:]]* ]] || die "--rw: paths with white space are not supported: $d"
done

# The guest gets fresh tmpfs at /tmp and /run: a cwd there would not exist.
covered() { local d; for d in "${rw_dirs[@]}"; do [[ $1/ == "$d"/* ]] && return 0; done; return 1; }
if [ "$prepare_only" = 0 ] && [[ $PWD/ == /tmp/* || $PWD/ == /run/* ]] && ! covered "$PWD"; then
	die "the current directory $PWD is under /tmp or /run, which are empty tmpfs in the guest; run from elsewhere or share it with --rw"
fi

# --- host tools ---------------------------------------------------------

apt_updated=0
apt_install() {
	[ "$(id -u)" = 0 ] || die "missing package(s) $*; install them (needs root)"
	echo "run-in-vm: installing $* with apt-get" >&2
	if [ "$apt_updated" = 0 ]; then
		apt-get update -qq >&2 || die "apt-get update failed"
		apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 ||
		die "apt-get install $* failed"
}

command -v qemu-system-x86_64 >/dev/null || apt_install qemu-system-x86
busybox=
for b in /bin/busybox /usr/bin/busybox; do
	# A dynamic binary names its ELF interpreter; a static one does not.
	if [ -x "$b" ] && ! LC_ALL=C grep -q '/lib64/ld-linux-x86-64.so.2' "$b"; then
		busybox=$b
		break
	fi
done
if [ -z "$busybox" ]; then
	apt_install busybox-static
	busybox=/bin/busybox
fi
for t in timeout flock xz sha256sum dpkg-deb; do
	command -v "$t" >/dev/null || die "required host tool not found: $t"
done

# --- kernel (cached) ----------------------------------------------------

mkdir -p "$cache" || die "cannot create the cache directory $cache"
cache=$(cd "$cache" && pwd)

# Uncompressed ELF vmlinux (PVH entry) from a bzImage: find an xz or zstd
# stream in it, decompress and keep it if it is an ELF with the Xen PVH
# (XEN_ELFNOTE_PHYS32_ENTRY, 0x12) note.  Booting it directly skips the
# in-guest decompression, which is slow under TCG.
extract_vmlinux() {
	local img=$1 out=$2 off magic
	for magic in '\xfd7zXZ\x00' '\x28\xb5\x2f\xfd'; do
		for off in $(LC_ALL=C grep -obUaP "$magic" "$img" | cut -d: -f1); do
			case $magic in
			*7z*) tail -c +$((off + 1)) "$img" | xz -dc --single-stream >"$out" 2>/dev/null || true ;;
			*) command -v zstd >/dev/null || continue
				tail -c +$((off + 1)) "$img" | zstd -dcq >"$out" 2>/dev/null || true ;;
			esac
			if [ "$(head -c 4 "$out" | od -An -c | tr -d ' ')" = '177ELF' ] &&
				{ ! command -v readelf >/dev/null ||
					readelf -Wn "$out" 2>/dev/null | grep -q 'Xen.*(0x00000012)'; }; then
				return 0
			fi
		done
	done
	rm -f "$out"
	return 1
}

fetch_kernel() {
	local meta=linux-image-amd64 pkg dl deb kver tree log
	pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}') || true
	if [ -z "$pkg" ] && [ "$(id -u)" = 0 ]; then
		apt-get update -qq >&2 || die "apt-get update failed"
		pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}') || true
	fi
	[ -n "$pkg" ] || die "cannot resolve the kernel package behind $meta (apt-cache depends $meta)"
	dl=$cache/download
	rm -rf "$dl" && mkdir -p "$dl"
	echo "run-in-vm: downloading $pkg (one time; cached in $cache)" >&2
	log=$dl/apt.log
	if ! (cd "$dl" && apt-get download "$pkg" >"$log" 2>&1); then
		# Offline fallback: a copy apt already has.
		deb=$(ls -t /var/cache/apt/archives/"${pkg}"_*.deb 2>/dev/null | head -n1) || true
		[ -n "$deb" ] || { cat "$log" >&2; die "apt-get download $pkg failed"; }
		cp "$deb" "$dl/"
	fi
	deb=$(ls "$dl"/*.deb | head -n1)
	mkdir "$dl/x"
	dpkg-deb -x "$deb" "$dl/x" || die "dpkg-deb -x $deb failed"
	kver=$(ls "$dl/x/lib/modules" | head -n1)
	[ -n "$kver" ] && [ -f "$dl/x/boot/vmlinuz-$kver" ] || die "unexpected layout in $deb (no boot/vmlinuz-* or lib/modules/*)"
	tree=$cache/$kver
	rm -rf "$tree" && mkdir -p "$tree/modules/lib"
	mv "$dl/x/boot/vmlinuz-$kver" "$tree/vmlinuz"
	mv "$dl/x/boot/config-$kver" "$tree/config" 2>/dev/null || true
	mv "$dl/x/lib/modules" "$tree/modules/lib/"
	# Hardware a VM never has: drop it (391 MB of modules -> ~130 MB).
	(cd "$tree/modules/lib/modules/$kver/kernel" && rm -rf sound net/{wireless,mac80211,bluetooth} \
		drivers/{gpu,media,scsi,usb,infiniband,iio,staging,hwmon,hid,input,comedi,mtd,video} \
		drivers/{bluetooth,isdn,mmc,nfc,ata} drivers/net/{wireless,ethernet,can})
	"$busybox" depmod -b "$tree/modules" "$kver" || die "depmod for $kver failed"
	if extract_vmlinux "$tree/vmlinuz" "$tree/vmlinux"; then
		note "extracted the PVH vmlinux from $kver's bzImage"
	else
		echo "run-in-vm: warning: could not extract a PVH vmlinux; booting the (slower) bzImage" >&2
	fi
	echo "$kver" >"$cache/kernel-version"
	rm -rf "$dl"
}

# Modules loaded at boot (their dependencies are added from modules.dep).
# Everything else (veth, bridge, nf_tables, ...) is loaded on demand in the
# guest from the cached module tree.
boot_modules="crc32c_generic virtio_pci 9pnet_virtio 9p overlay"

build_initramfs() {
	local kver=$1 out=$2 tree=$cache/$1 stage m a
	local moddir=$tree/modules/lib/modules/$kver
	stage=$(mktemp -d "$cache/initramfs.XXXXXX")
	mkdir -p "$stage"/{bin,dev,proc,sys,mnt,newroot,lib/modules/"$kver"}
	cp "$busybox" "$stage/bin/busybox"
	for a in $("$busybox" --list); do
		[ "$a" = busybox ] || ln -s busybox "$stage/bin/$a"
	done
	cp "$here/guest-init.sh" "$stage/init"
	chmod 755 "$stage/init"
	# Module files for the boot set and their dependencies, plus a
	# modules.dep restricted to them (paths are relative to $moddir).
	local -A want=()
	for m in $boot_modules; do
		local line
		line=$(grep -E "(^|/)${m}\.ko(\.[a-z]+)?:" "$moddir/modules.dep") ||
			die "module $m not found in $moddir/modules.dep"
		for a in ${line/:/}; do want[$a]=1; done
	done
	for a in "${!want[@]}"; do
		mkdir -p "$stage/lib/modules/$kver/$(dirname "$a")"
		cp "$moddir/$a" "$stage/lib/modules/$kver/$a"
		grep -E "^${a//./\\.}:" "$moddir/modules.dep" >>"$stage/lib/modules/$kver/modules.dep"
	done
	(cd "$stage" && find . | LC_ALL=C sort | "$busybox" cpio -o -H newc 2>/dev/null) >"$out.tmp" ||
		die "writing the initramfs archive failed"
	mv "$out.tmp" "$out"
	rm -rf "$stage"
}

prepare() {
	exec 9>"$cache/.lock"
	flock 9 || die "cannot lock $cache/.lock"
	if [ ! -s "$cache/kernel-version" ] || [ ! -d "$cache/$(cat "$cache/kernel-version")/modules" ]; then
		fetch_kernel
	fi
	kver=$(cat "$cache/kernel-version")
	local key
	key=$({ cat "$here/guest-init.sh" "$busybox"; echo "$boot_modules"; } | sha256sum | cut -c1-16)
	initrd=$cache/$kver/initramfs-$key.cpio
	if [ ! -s "$initrd" ]; then
		build_initramfs "$kver" "$initrd"
		note "built $initrd"
	fi
	# Other guest-init.sh versions (other worktrees, other runs) may be booting their
	# image right now: only images unused for a day are removed.
	touch "$initrd"
	find "$cache/$kver" -maxdepth 1 -name 'initramfs-*.cpio' -mmin +1440 -delete
	kernel=$cache/$kver/vmlinux
	[ -s "$kernel" ] || kernel=$cache/$kver/vmlinuz
	exec 9>&-
}

now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
t0=$(now_ms)
prepare
[ "$prepare_only" = 0 ] || { echo "run-in-vm: ready: $kernel, $initrd" >&2; exit 0; }

# --- per-run share: command script, config, status ----------------------

io=$(mktemp -d "${TMPDIR:-/tmp}/run-in-vm.XXXXXX") || die "mktemp failed"
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$io"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

{
	echo "# generated by run-in-vm.sh"
	for v in $(compgen -e); do
		case $v in
		PWD | OLDPWD | SHLVL | _ | BASH_* | SHELLOPTS | BASHOPTS) continue ;;
		esac
		printf 'export %s=%q\n' "$v" "${!v}"
	done
	printf 'cd -- %q || { echo "run-in-vm: cannot cd to %q in the guest" >&2; exit 125; }\n' "$PWD" "$PWD"
	printf 'exec'
	printf ' %q' "$@"
	printf '\n'
} >"$io/cmd.sh"
# Read by busybox sh in the guest: plain single-quoted values.
[[ $cache != *"'"* ]] || die "the cache path must not contain a single quote: $cache"
printf "VM_%s='%s'\n" BASH "$BASH" KVER "$kver" MODDIR "$cache/$kver/modules/lib/modules/$kver" \
	VERBOSE "$verbose" RW "${rw_dirs[*]}" SYSTEMD "$systemd" >"$io/vm.conf"

# acpi=noirq and mitigations=off: each saves time under TCG.
append="console=ttyS0 panic=-1 acpi=noirq mitigations=off rdinit=/init cgroup_no_v1=all"
[ "$verbose" = 1 ] || append="$append quiet"
# systemd: only the units guest-init.sh writes (no host disk from /etc/fstab), its
# own messages kept off the console unless --verbose.
if [ "$systemd" = 1 ]; then
	[ -x /lib/systemd/systemd ] || die "--systemd: no /lib/systemd/systemd on this host"
	append="$append systemd.unit=rc-vm.target fstab=no systemd.unified_cgroup_hierarchy=1"
	# (loglevel=1 as stage 2's printk setting: the boot's own messages stay off the console)
	[ "$verbose" = 1 ] || append="$append systemd.show_status=0 systemd.log_target=kmsg systemd.log_level=crit loglevel=1"
fi
[ -z "$extra_append" ] || append="$append $extra_append"

# shellcheck disable=SC2054 # the commas are QEMU's
qemu=(qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot
	-accel tcg,thread=single -cpu max -smp "$cpus" -m "$mem"
	-serial stdio -monitor none
	-kernel "$kernel" -initrd "$initrd" -append "$append"
	-fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap"
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
	-fsdev "local,id=vmio,path=$io,security_model=none,multidevs=remap"
	-device virtio-9p-pci,fsdev=vmio,mount_tag=vmio)
i=0
for d in "${rw_dirs[@]}"; do
	qemu+=(-fsdev "local,id=rw$i,path=$d,security_model=none,multidevs=remap"
		-device "virtio-9p-pci,fsdev=rw$i,mount_tag=rw$i")
	i=$((i + 1))
done

note "kernel $kernel, setup took $(($(now_ms) - t0)) ms"
t1=$(now_ms)
# --foreground: qemu stays in our process group (terminal signals reach it,
# no SIGTTOU on a terminal); -k: SIGKILL if SIGTERM is not enough.
timeout --foreground -k 10 "$timeout_s" "${qemu[@]}" </dev/null &
pid=$!
rc=0
wait "$pid" || rc=$?
pid=
note "the VM ran $(($(now_ms) - t1)) ms (qemu/timeout exit $rc)"

status=$(cat "$io/status" 2>/dev/null) || true
if [[ $status =~ ^[0-9]+$ ]]; then
	exit "$status"
fi
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	echo "run-in-vm: timed out after ${timeout_s}s" >&2
	exit 124
fi
echo "run-in-vm: the guest never reported an exit status (qemu exit $rc); rerun with --verbose for the boot log" >&2
exit 125
