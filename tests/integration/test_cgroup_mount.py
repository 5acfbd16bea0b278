"""What a container sees at a "cgroup" mount on /sys/fs/cgroup (the mount `runc spec`,
podman and containerd put in every config).

On a cgroup v2 host: a cgroup2 mount. On a v1 or hybrid host (this one: the v1 hierarchies
under /sys/fs/cgroup/<name>, a cgroup2 without controllers at /sys/fs/cgroup/unified): the
v1 layout runc and crun give there, a tmpfs with each v1 hierarchy of the container's
cgroups below it, read-only. Without a cgroup namespace each is the container's own
cgroup directory (the mount's root is its path in /proc/self/cgroup), as crun 1.8.1 binds
it; in a cgroup namespace of its own, the namespace's root ("/"), as runc mounts it. No
cgroup2 mount: a fresh one made from the host's cgroup namespace costs a synchronize_rcu()
(milliseconds) and resets the host's cgroup2 mount options (runtime/rootfs/cgroup_mount.c).
"""

import os

import pytest

from conftest import mount_at, parse_json

OPTIONS = ["nosuid", "noexec", "nodev", "relatime", "ro"]


def host_v2():
    """The host's /sys/fs/cgroup is a cgroup2 mount (pure cgroup v2)."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == "/sys/fs/cgroup" and fields[fields.index("-") + 1] == "cgroup2":
                return True
    return False


def host_v1_hierarchies():
    """name below /sys/fs/cgroup -> this process's cgroup path, for each v1 hierarchy."""
    out = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrl, path = line.rstrip("\n").split(":", 2)
            if not ctrl:
                continue
            name = ctrl[len("name="):] if ctrl.startswith("name=") else ctrl
            if os.path.ismount(f"/sys/fs/cgroup/{name}"):
                out[name] = path
    return out


def run_with_cgroup_mount(rt, bundle, cgroupns):
    b = bundle()
    b.add_mount("/sys/fs/cgroup", "cgroup", "cgroup", OPTIONS)
    if cgroupns:
        b.set_namespace("cgroup")
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    return parse_json(r.stdout)


@pytest.mark.parametrize("cgroupns", [False, True], ids=["host-cgroupns", "own-cgroupns"])
def test_sys_fs_cgroup_view(rt, bundle, cgroupns):
    info = run_with_cgroup_mount(rt, bundle, cgroupns)
    top = mount_at(info, "/sys/fs/cgroup")
    if host_v2():
        assert top["fstype"] == "cgroup2", top
        assert "ro" in top["options"]
        return
    assert top["fstype"] == "tmpfs", f"a v1/hybrid host gets the v1 layout, not {top}"
    below = {m["mount_point"][len("/sys/fs/cgroup/"):]: m for m in info["mounts"]
             if m["mount_point"].startswith("/sys/fs/cgroup/")}
    hierarchies = host_v1_hierarchies()
    assert set(below) == set(hierarchies), below.keys()
    for name, path in hierarchies.items():
        m = below[name]
        assert m["fstype"] == "cgroup", m
        assert {"ro", "nosuid", "nodev", "noexec"} <= set(m["options"]), m
        # the container's own cgroup (this test's: the runtime creates none on such a host)
        assert m["root"] == ("/" if cgroupns else path), m
