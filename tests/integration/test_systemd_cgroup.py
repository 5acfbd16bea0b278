"""The systemd cgroup driver from the host's side (issue 16). Real scopes need systemd as
PID 1 and cgroup v2: tests/vm/systemd_tests.py runs them (tests/vm/vm-tests.sh -- systemd).
Here: the flags are taken by every command, the driver refuses a host without cgroup v2 at
create and leaves nothing, `features` and --help say what it does, and a `run` without it
never loads libsystemd."""

import json
import os
import subprocess

import pytest

from conftest import wait_for

RC_ONLY = pytest.mark.run_container_only(
    "run-container's systemd driver decisions; crun runs here only with --cgroup-manager=disabled")

FLAGS = (["--systemd-cgroup"], ["--cgroup-manager=systemd"])


def cgroup2_host():
    r = subprocess.run(["stat", "-f", "-c", "%T", "/sys/fs/cgroup"], capture_output=True, text=True)
    return r.stdout.strip() == "cgroup2fs"


@RC_ONLY
@pytest.mark.parametrize("flag", FLAGS, ids=lambda f: f[0])
def test_needs_cgroup_v2_and_leaves_nothing(rt, bundle, flag):
    if cgroup2_host():
        pytest.skip("/sys/fs/cgroup is cgroup2 here: the VM suite covers that case")
    b = bundle(["/probe", "exit", "0"])
    cid = rt.new_id()
    r = rt.run(b, cid, global_args=flag)
    assert r.returncode == 1, r.stderr
    assert "systemd cgroup driver" in r.stderr and "needs cgroup v2" in r.stderr, r.stderr
    assert "--cgroup-manager=disabled" in r.stderr, r.stderr
    assert rt.cmd("state", cid).returncode != 0, "the failed create left its state"


@pytest.mark.parametrize("flag", FLAGS, ids=lambda f: f[0])
def test_every_command_takes_the_flag(rt, bundle, flag):
    """containerd's shim passes --systemd-cgroup to every command, not only create."""
    cid = rt.create(bundle(["/probe", "sleep", "60"])).cid
    for args in (["state", cid], ["list"], ["kill", cid, "KILL"]):
        r = rt.cmd(*args, global_args=flag)
        assert r.returncode == 0, f"{args}: {r.stderr}"
    wait_for(lambda: rt.state(cid)["status"] == "stopped", what="the init to die")
    r = rt.cmd("delete", cid, global_args=flag)
    assert r.returncode == 0, r.stderr


@RC_ONLY
def test_features_and_help_tell_the_truth(rt):
    f = json.loads(rt.cmd("features").stdout)
    assert f["linux"]["cgroup"]["systemd"] is True
    assert f["linux"]["cgroup"]["systemdUser"] is False, "no rootless (user manager) scopes"
    h = rt.cmd("--help").stdout
    assert "--systemd-cgroup" in h and "slice:prefix:name" in h, h
    assert "not supported" not in h


@RC_ONLY
def test_run_without_systemd_never_loads_libsystemd(rt, bundle):
    b = bundle(["/probe", "sleep", "60"])
    b.save()
    cid = rt.new_id()
    p = rt.popen("run", "--bundle", b.path, cid, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: rt.cmd("state", cid).returncode == 0 and rt.state(cid)["status"] == "running",
             what="the container to run")
    with open(f"/proc/{p.pid}/maps") as f:
        maps = f.read()
    assert "libsystemd" not in maps
    assert rt.cmd("kill", cid, "KILL").returncode == 0
    p.wait(timeout=30)
