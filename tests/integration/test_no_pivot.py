"""--no-pivot must not leave the host's procfs and sysfs in the container's mount namespace.

With --no-pivot the rootfs is moved over "/" and chrooted into (no pivot_root): the old
root stays in the container's mount namespace, hidden under the new one. The kernel lets
a process that owns a user and a pid namespace mount a fresh procfs only if a procfs
just as revealing is already mounted in its mount namespace (mount_too_revealing, which
looks at every mount of the namespace, reachable or not): a host /proc left there would
let any container process that can make a user namespace mount one without the masked
paths. runc and crun detach those mounts before the move; so does run-container.
"""

import pytest

ATTACK = ("unshare -mrpf sh -c 'mount -t proc proc /mnt && echo PROC-MOUNTED || echo PROC-REFUSED'; "
          "unshare -mrn sh -c 'mount -t sysfs sysfs /mnt && echo SYSFS-MOUNTED || echo SYSFS-REFUSED'")


def userns_allowed():
    try:
        with open("/proc/sys/user/max_user_namespaces") as f:
            return int(f.read()) > 0
    except OSError:
        return True


@pytest.mark.parametrize("no_pivot", [True, False], ids=["no-pivot", "pivot"])
def test_fresh_procfs_and_sysfs_refused(rt, bundle, no_pivot):
    """The default config's masked and read-only paths; no seccomp profile, so the
    container may unshare a user namespace (busybox's unshare). The process runs as uid
    1000: mapping it to root needs no capability (mapping uid 0 would need CAP_SETFCAP)."""
    if not userns_allowed():
        pytest.skip("user namespaces are disabled on this host")
    b = bundle(["/bin/sh", "-c", ATTACK])
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    r = rt.run(b, extra=("--no-pivot",) if no_pivot else ())
    assert r.returncode == 0, r.stderr
    assert "PROC-" in r.stdout and "SYSFS-" in r.stdout, f"the attack did not run: {r.stdout} {r.stderr}"
    assert "PROC-REFUSED" in r.stdout, f"a fresh procfs was mounted: {r.stdout} {r.stderr}"
    assert "SYSFS-REFUSED" in r.stdout, f"a fresh sysfs was mounted: {r.stdout} {r.stderr}"
