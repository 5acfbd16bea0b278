"""Namespaces beyond the defaults: user (with id maps), joining by path, time with offsets."""

import json
import os
import subprocess
import time

import pytest

from conftest import host_ns, parse_json, pid_alive, wait_for


CRUN_TIMENS = "crun 1.8.1 fails time+pid namespaces ('write to sync socket') and ignores timeOffsets"


def userns_bundle(bundle, args=("/probe",)):
    b = bundle(list(args))
    b.set_namespace("user")
    b.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    return b


def test_user_namespace_maps_ids(rt, bundle):
    info = rt.run_probe(userns_bundle(bundle))
    assert (info["uid"], info["gid"], info["euid"]) == (0, 0, 0)
    assert info["ns"]["user"] != host_ns("user")
    assert info["uid_map"].split() == ["0", "100000", "65536"]
    assert info["gid_map"].split() == ["0", "100000", "65536"]


def test_user_namespace_bundle_in_private_dir(rt, bundle, workdir):
    # The bundle's parent is 0700 root: the mapped root cannot walk there itself, so the
    # runtime must reach the rootfs while it is still the host's root.
    private = os.path.join(workdir, "private")
    os.mkdir(private, 0o700)
    b = userns_bundle(bundle)
    os.rename(b.path, os.path.join(private, "b"))
    b.path, b.rootfs = os.path.join(private, "b"), os.path.join(private, "b", "rootfs")
    assert rt.run_probe(b)["uid"] == 0


def test_user_namespace_files_written_as_mapped_uid(rt, bundle, workdir):
    host = os.path.join(workdir, "out")
    os.mkdir(host)
    os.chmod(host, 0o777)
    b = userns_bundle(bundle, ["/probe", "write", "/mnt/f"])
    b.add_mount("/mnt", "bind", host, ["bind", "rw"])
    r = rt.run(b)
    assert r.returncode == 0, r.stdout + r.stderr
    st = os.stat(os.path.join(host, "f"))
    assert (st.st_uid, st.st_gid) == (100000, 100000)


def test_user_namespace_non_root_user(rt, bundle):
    b = userns_bundle(bundle)
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    info = rt.run_probe(b)
    assert (info["uid"], info["gid"]) == (1000, 1000)


def test_join_network_namespace_of_container(rt, bundle):
    first = rt.create(bundle(["/probe", "sleep", "60"]))
    pid = rt.state(first.cid)["pid"]
    net_path = f"/proc/{pid}/ns/net"
    want = os.stat(net_path).st_ino
    b = bundle()
    b.set_namespace("network", path=net_path)
    info = rt.run_probe(b)
    assert info["ns"]["net"] == want
    assert want != host_ns("net")


def test_join_network_namespace_of_process(rt, bundle):
    # A netns bind-mounted by `unshare --net=FILE` would need a mount on the host; a process
    # that holds the namespace needs none, and it is ended by its pid at teardown.
    holder = subprocess.Popen(["unshare", "--net", "sleep", "60"])
    rt.procs.append(holder)
    path = f"/proc/{holder.pid}/ns/net"
    deadline = time.monotonic() + 5
    while os.stat(path).st_ino == host_ns("net") and time.monotonic() < deadline:
        time.sleep(0.02)  # until unshare(1) has unshared
    want = os.stat(path).st_ino
    assert want != host_ns("net")
    b = bundle()
    b.set_namespace("network", path=path)
    assert rt.run_probe(b)["ns"]["net"] == want


@pytest.mark.parametrize("ns,proc_name", [("ipc", "ipc"), ("uts", "uts")])
def test_join_other_namespaces(rt, bundle, ns, proc_name):
    first = rt.create(bundle(["/probe", "sleep", "60"]))
    pid = rt.state(first.cid)["pid"]
    path = f"/proc/{pid}/ns/{proc_name}"
    b = bundle()
    b.set_namespace(ns, path=path)
    if ns == "uts":
        del b.config["hostname"]
    assert rt.run_probe(b)["ns"][proc_name] == os.stat(path).st_ino


def test_join_missing_namespace_path_fails(rt, bundle, workdir):
    b = bundle()
    b.set_namespace("network", path=os.path.join(workdir, "no-such-ns"))
    cid = rt.new_id()
    r = rt.run(b, cid=cid)
    assert r.returncode != 0
    assert cid not in os.listdir(rt.root)


@pytest.mark.run_container_only(CRUN_TIMENS)
def test_time_namespace_offsets(rt, bundle):
    if not os.path.exists("/proc/self/ns/time"):
        pytest.skip("kernel has no time namespaces")
    offset = 10 * 86400
    b = bundle()
    b.set_namespace("time")
    b.config["linux"]["timeOffsets"] = {"monotonic": {"secs": offset, "nanosecs": 0},
                                        "boottime": {"secs": 2 * offset, "nanosecs": 0}}
    with open("/proc/uptime") as f:
        host_up = float(f.read().split()[0])
    info = rt.run_probe(b)
    assert info["ns"]["time"] != host_ns("time")
    assert abs(info["monotonic"] - (_host_monotonic() + offset)) < 30
    assert abs(info["boottime"] - (host_up + 2 * offset)) < 30


def _host_monotonic():
    return time.clock_gettime(time.CLOCK_MONOTONIC)


@pytest.mark.run_container_only(CRUN_TIMENS)
def test_time_namespace_uptime(rt, bundle):
    if not os.path.exists("/proc/self/ns/time"):
        pytest.skip("kernel has no time namespaces")
    b = bundle(["/probe", "cat", "/proc/uptime"])
    b.set_namespace("time")
    b.config["linux"]["timeOffsets"] = {"boottime": {"secs": 86400 * 365, "nanosecs": 0}}
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    with open("/proc/uptime") as f:
        host_up = float(f.read().split()[0])
    assert float(r.stdout.split()[0]) - host_up > 86400 * 364


def test_cgroup_namespace(rt, bundle):
    b = bundle()
    b.set_namespace("cgroup")
    info = rt.run_probe(b)
    assert info["ns"]["cgroup"] != host_ns("cgroup")


def test_namespace_process_gone_after_delete(rt, bundle):
    c = rt.create(userns_bundle(bundle, ["/probe", "sleep", "60"]))
    pid = rt.state(c.cid)["pid"]
    assert rt.cmd("delete", "--force", c.cid).returncode == 0
    wait_for(lambda: not pid_alive(pid), what="container process gone")
    assert json.loads(rt.cmd("list", "--format", "json").stdout or "[]") in ([], None)


# The runtime makes a new network namespace itself while the init mounts, and the init
# joins it before its first mount that can see it (runtime/isolation/namespaces.h rc_netns_make).


def test_new_network_namespace_is_the_containers_own(rt, bundle):
    info = rt.run_probe(bundle())
    assert info["ns"]["net"] != host_ns("net")
    # sysfs tags itself with the mounter's network namespace: only the container's lo
    r = rt.run(bundle(["/probe", "ls", "/sys/class/net"]))
    assert r.returncode == 0, r.stderr
    assert parse_json(r.stdout) == ["lo"]


def test_bind_mount_of_own_netns_sees_the_new_one(rt, bundle):
    # A bind mount resolves its source in the init's namespaces: the init must have joined
    # the new network namespace before it, even though no sysfs mount came first.
    b = bundle(["/probe", "sleep", "60"])
    b.config["mounts"] = [m for m in b.config["mounts"] if m["type"] != "sysfs"]
    b.add_mount("/netns", "bind", "/proc/self/ns/net", ["bind"])
    c = rt.create(b)
    pid = rt.state(c.cid)["pid"]
    assert rt.cmd("start", c.cid).returncode == 0
    r = rt.cmd("exec", c.cid, "/probe", "stat", "/netns")
    assert r.returncode == 0, r.stderr
    assert parse_json(r.stdout)["ino"] == os.stat(f"/proc/{pid}/ns/net").st_ino
    assert parse_json(r.stdout)["ino"] != host_ns("net")


def test_network_namespace_and_user_namespace(rt, bundle):
    # with a new user namespace the init makes the network namespace itself (it must own it)
    info = rt.run_probe(userns_bundle(bundle))
    assert info["ns"]["net"] != host_ns("net")
    assert info["ns"]["user"] != host_ns("user")
