"""The v1 layout at a "cgroup" mount in a cgroup namespace of the container's own, on a
v1 or hybrid host (test_cgroup_mount.py has the view itself): each hierarchy is the
container's own cgroup directory, rooted at the namespace's cgroup ("/"), and, as a
fresh mount made in the namespace is (runc), with private propagation: nothing mounted
under the host's hierarchy reaches the container. run-container binds the directories
it read before the namespace hid their host paths (runtime/rootfs/cgroup_mount.c); a
bind keeps the propagation of its source (a slave of the host's mount, in the init's
rslave copy of the host's mounts) unless it is made private. The host's hierarchies may
be private already (this host's are), so the runtime runs in a mount namespace of the
test's own where they are shared: nothing changes outside it.
"""

import shlex

import pytest

from test_cgroup_mount import OPTIONS, host_v1_hierarchies, host_v2


def mountinfo_below(text, top):
    """mount point -> (root, optional fields) of the mounts below top in a mountinfo."""
    out = {}
    for line in text.splitlines():
        fields = line.split()
        sep = fields.index("-")
        if fields[4].startswith(top + "/"):
            out[fields[4]] = (fields[3], fields[6:sep])
    return out


def test_v1_hierarchies_in_own_cgroupns_are_private_and_rooted_at_the_namespace(rt, bundle):
    if host_v2():
        pytest.skip("a cgroup v2 host: the container gets a cgroup2 mount, not the v1 layout")
    hierarchies = host_v1_hierarchies()
    if not hierarchies:
        pytest.skip("no v1 hierarchy mounted under /sys/fs/cgroup on this host")
    shared = " && ".join(f"mount --make-shared /sys/fs/cgroup/{shlex.quote(n)}" for n in hierarchies)
    rt.prefix = ["unshare", "-m", "--propagation", "unchanged", "sh", "-c", f'{shared} && exec "$@"', "sh",
                 *rt.prefix]
    b = bundle(["/bin/sh", "-c", "cat /proc/self/mountinfo"])
    b.add_mount("/sys/fs/cgroup", "cgroup", "cgroup", OPTIONS)
    b.set_namespace("cgroup")
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    below = mountinfo_below(r.stdout, "/sys/fs/cgroup")
    for name in hierarchies:
        root, optional = below[f"/sys/fs/cgroup/{name}"]
        assert root == "/", (name, root)
        assert not any(o.startswith(("shared:", "master:")) for o in optional), (name, optional)
