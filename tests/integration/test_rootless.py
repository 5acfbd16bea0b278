"""Rootless: every command run by an unprivileged user (rootless.py's rc-rootless, with its
own XDG_RUNTIME_DIR), with a user namespace mapping the container's root to that user.
Against crun too (RUNTIME_KIND=crun: crun rootless on this host runs with
--cgroup-manager=disabled in a private mount namespace, as the conftest's wrapper)."""

import json
import os
import signal
import subprocess
import time

import pytest

from conftest import KIND, mount_at, parse_json, pid_alive, pids_holding, wait_for
from rootless import NEWUIDMAP, SUBID_COUNT, rl_binary, rl_user, ubundle, urt  # noqa: F401 (fixtures)


def uid_map_lines(text):
    return [line.split() for line in text.strip().splitlines()]


def test_spec_rootless_config_runs(urt, ubundle, rl_user):
    """The runtime's own `spec --rootless`, written by the user, runs as it is (only the
    process changed: the probe, no terminal)."""
    b = ubundle()
    os.remove(os.path.join(b.path, "config.json"))
    r = rl_user.run([urt.binary, "spec", "--rootless"], cwd=b.path)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(b.path, "config.json")) as f:
        cfg = json.load(f)
    if KIND != "crun":  # crun's rootless spec has no maps: it maps the caller itself
        assert cfg["linux"]["uidMappings"] == [{"containerID": 0, "hostID": rl_user.uid, "size": 1}]
    cfg["process"]["args"] = ["/probe"]
    cfg["process"]["terminal"] = False
    b.config = cfg
    info = urt.run_probe(b)
    assert info["uid"] == 0


def test_run_maps_root_to_the_user(urt, ubundle, rl_user):
    b = ubundle(["/probe", "cat", "/proc/self/uid_map"])
    r = urt.run(b)
    assert r.returncode == 0, r.stderr
    assert uid_map_lines(r.stdout) == [["0", str(rl_user.uid), "1"]]
    b.config["process"]["args"] = ["/probe", "exit", "7"]
    assert urt.run(b).returncode == 7


def test_state_root_defaults_to_xdg_runtime_dir(urt, ubundle):
    """runc's and crun's rule: a non-root caller's default root is $XDG_RUNTIME_DIR/<runtime>."""
    b = ubundle(["/probe", "sleep", "30"])
    c = urt.create(b)
    assert os.path.isdir(os.path.join(urt.root, c.cid))
    st = os.stat(os.path.join(urt.root, c.cid))
    assert st.st_uid == urt.user.uid
    r = urt.cmd("list")
    assert c.cid in r.stdout, r.stdout + r.stderr
    assert urt.cmd("delete", "--force", c.cid).returncode == 0
    assert not os.path.exists(os.path.join(urt.root, c.cid))


def test_lifecycle_and_exec(urt, ubundle, rl_user):
    b = ubundle(["/probe", "sleep", "60"])
    c = urt.create(b)
    st = urt.state(c.cid)
    assert st["status"] == "created"
    init = st["pid"]
    assert os.stat(f"/proc/{init}").st_uid == rl_user.uid
    assert urt.cmd("start", c.cid).returncode == 0
    urt.wait_status(c.cid, "running")
    r = urt.cmd("exec", c.cid, "/probe")
    assert r.returncode == 0, r.stderr
    info = parse_json(r.stdout)
    assert info["uid"] == 0
    r = urt.cmd("exec", c.cid, "/probe", "exit", "3")
    assert r.returncode == 3, r.stderr
    assert urt.cmd("kill", c.cid, "KILL").returncode == 0
    urt.wait_status(c.cid, "stopped")
    assert urt.cmd("delete", c.cid).returncode == 0
    assert urt.cmd("state", c.cid).returncode != 0
    assert not pid_alive(init)


def test_wide_map_through_newuidmap(urt, ubundle, rl_user):
    """More than the caller's own id: container ids 1..65536 on the user's /etc/subuid and
    /etc/subgid ranges, written by newuidmap/newgidmap."""
    b = ubundle(["/probe"], wide=True)
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [1001]}
    info = urt.run_probe(b)
    assert (info["uid"], info["gid"]) == (1000, 1000)
    assert 1001 in info["groups"]
    b.config["process"]["user"] = {"uid": 0, "gid": 0}
    b.config["process"]["args"] = ["/probe", "cat", "/proc/self/uid_map"]
    r = urt.run(b)
    assert r.returncode == 0, r.stderr
    assert uid_map_lines(r.stdout) == [["0", str(rl_user.uid), "1"],
                                       ["1", str(rl_user.subuid), str(SUBID_COUNT)]]
    b.config["process"]["args"] = ["/probe", "cat", "/proc/self/gid_map"]
    r = urt.run(b)
    assert uid_map_lines(r.stdout) == [["0", str(rl_user.gid), "1"],
                                       ["1", str(rl_user.subgid), str(SUBID_COUNT)]]


def test_wide_map_outside_the_users_ranges_fails(urt, ubundle, rl_user):
    b = ubundle(["/probe"], wide=True)
    b.config["linux"]["uidMappings"][1]["hostID"] = rl_user.subuid + SUBID_COUNT + 1000
    cid = urt.new_id()
    r = urt.run(b, cid=cid)
    assert r.returncode != 0
    assert urt.cmd("state", cid).returncode != 0
    assert pids_holding(b.rootfs) == []
    if KIND != "crun":
        assert "uidMappings" in r.stderr and NEWUIDMAP in r.stderr, r.stderr
        assert "not allowed" in r.stderr, r.stderr  # newuidmap's own reason, passed on


def test_terminal(urt, ubundle, console, workdir, rl_user):
    sock = console()
    os.chown(workdir, rl_user.uid, rl_user.gid)  # the user's runtime connects to the socket
    os.chmod(sock.path, 0o777)
    b = ubundle(["/bin/sh", "-c", "tty; echo uid=$(id -u)"])
    b.config["process"]["terminal"] = True
    c = urt.create(b, extra=("--console-socket", sock.path))
    sock.wait_master()
    assert urt.cmd("start", c.cid).returncode == 0
    out = sock.read_all()
    assert "/dev/pts/0" in out and "uid=0" in out, out


def test_device_nodes_are_the_hosts(urt, ubundle):
    """A user namespace cannot make device nodes: /dev/null & co. are binds of the host's
    (and a linux.devices entry too)."""
    b = ubundle(["/probe", "dev"])
    info = urt.run_probe(b)
    for name in ("null", "zero", "full", "random", "urandom"):
        assert info[name]["char"] and info[name]["open_errno"] == 0, info
    assert info["zero"]["read_zeros"], info


@pytest.mark.run_container_only("crun 1.8.1 fails a linux.devices entry rootless (\"unshare CLONE_NEWNS: "
                                "Operation not permitted\")")
def test_config_devices_are_bound(urt, ubundle):
    b = ubundle()
    b.config["linux"]["devices"] = [{"path": "/dev/full", "type": "c", "major": 1, "minor": 7,
                                     "fileMode": 0o666}]
    b.config["process"]["args"] = ["/probe", "stat", "/dev/full"]
    st = urt.run_probe(b)
    assert (st["type"], st["major"], st["minor"]) == ("char", 1, 7), st


@pytest.mark.parametrize("netns", [True, False], ids=["own-netns", "host-netns"])
def test_sysfs(urt, ubundle, netns):
    """sysfs in a user namespace: mounted where the container has a network namespace of
    its own; without one the kernel refuses a new sysfs, and the config's sysfs mount is
    the host's /sys bound instead (as crun does), read-only as the config asks."""
    b = ubundle(["/probe"])
    if not netns:
        b.set_namespace("network", present=False)
    info = urt.run_probe(b)
    m = mount_at(info, "/sys")
    assert m["fstype"] == "sysfs", m
    if netns or KIND != "crun":  # crun 1.8.1 binds it read-write (files' modes still deny writes)
        assert "ro" in m["options"], m
    b.config["process"]["args"] = ["/probe", "ls", "/sys/kernel"]
    assert "mm" in parse_json(urt.run(b).stdout)


def test_kill9_of_the_runtime_then_delete_force(urt, ubundle):
    """`run` killed by SIGKILL after the container started: `delete --force` as the user
    removes the container's processes and state."""
    b = ubundle(["/probe", "sleep", "60"])
    cid = urt.new_id()
    p = urt.popen("run", "--bundle", b.path, cid, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: os.path.exists(os.path.join(urt.root, cid)) and urt.state(cid)["status"] == "running",
             what="running")
    init = urt.state(cid)["pid"]
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    r = urt.cmd("delete", "--force", cid)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: not pid_alive(init), what="init gone")
    assert not os.path.exists(os.path.join(urt.root, cid))
    assert pids_holding(b.rootfs) == []


@pytest.mark.run_container_only("run-container's gc")
def test_gc_after_kill9_of_create(urt, ubundle):
    """create killed at random moments; gc as the user leaves no process and no state."""
    b = ubundle(["/probe", "sleep", "60"])
    b.save()
    for delay in (0.005, 0.02, 0.05, 0.1, 0.2):
        cid = urt.new_id()
        p = urt.popen("create", "--bundle", b.path, cid, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.kill()
        p.wait()
        urt.cmd("delete", "--force", cid)
    r = urt.cmd("gc")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: pids_holding(b.rootfs) == [] and pids_holding(urt.xdg) == [], what="nothing left")
    left = [e for e in os.listdir(urt.root) if not e.startswith("@")]
    assert left == []


# ---- what needs root or a cgroup: clear errors ----------------------------------------------


@pytest.mark.run_container_only("run-container's error texts and cgroup options")
def test_limits_without_a_delegated_cgroup(urt, ubundle):
    b = ubundle(["/probe", "exit", "0"])
    b.config["linux"]["resources"] = {"memory": {"limit": 64 << 20}, "pids": {"limit": 64}}
    r = urt.run(b)
    assert r.returncode != 0
    assert "memory" in r.stderr and "--cgroup-manager=disabled" in r.stderr, r.stderr
    r = urt.run(b, global_args=("--cgroup-manager=disabled",))
    assert r.returncode == 0, r.stderr
    assert "not enforced" in r.stderr


@pytest.mark.run_container_only("run-container's bridge networks")
def test_bridge_network_needs_root(urt, ubundle):
    b = ubundle(["/probe", "exit", "0"])
    b.config["annotations"] = {"run-container.network": "default"}
    cid = urt.new_id()
    r = urt.run(b, cid=cid)
    assert r.returncode != 0
    assert "need root" in r.stderr and "run-container.network" in r.stderr, r.stderr
    assert urt.cmd("state", cid).returncode != 0
    r = urt.cmd("network", "create", "rl-net")
    assert r.returncode != 0 and "need root" in r.stderr, r.stderr


def test_mount_a_user_namespace_refuses(urt, ubundle):
    """A filesystem a user namespace may not mount (ext4): create fails, leaving nothing."""
    b = ubundle(["/probe", "exit", "0"])
    b.add_mount("/mnt", "ext4", "/dev/null")
    cid = urt.new_id()
    r = urt.run(b, cid=cid)
    assert r.returncode != 0
    assert urt.cmd("state", cid).returncode != 0
    assert pids_holding(b.rootfs) == []
    if KIND != "crun":
        assert ".mounts[" in r.stderr and '"ext4"' in r.stderr and "needs root" in r.stderr, r.stderr


def test_lower_oom_score_adj_needs_root(urt, ubundle):
    b = ubundle(["/probe", "exit", "0"])
    b.config["process"]["oomScoreAdj"] = -500
    r = urt.run(b)
    assert r.returncode != 0
    if KIND != "crun":
        assert ".process.oomScoreAdj" in r.stderr and "needs root" in r.stderr, r.stderr
    b.config["process"]["oomScoreAdj"] = 500  # raising it is anyone's right
    b.config["process"]["args"] = ["/probe", "cat", "/proc/self/oom_score_adj"]
    r = urt.run(b)
    assert r.returncode == 0 and r.stdout.strip() == "500", r.stdout + r.stderr
