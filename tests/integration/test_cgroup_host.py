"""cgroups on a host whose /sys/fs/cgroup is not a cgroup2 mount (v1 or hybrid, like the
development machines): the runtime creates no cgroup there. Limits fail closed with an
error naming the controllers and the fix; --cgroup-manager=disabled runs them unenforced
with one warning; configs without limits (device rules alone included) run; commands that
need a cgroup say so. Real enforcement is tested under cgroup v2 in tests/vm
(tests/vm/vm-tests.sh)."""

import json
import os
import subprocess

import pytest

from conftest import wait_for

# crun runs here only as --cgroup-manager=disabled (conftest.py): it makes no cgroup, ignores
# linux.resources and has nothing for the cgroup commands to act on
RC_ONLY = pytest.mark.run_container_only("run-container's cgroup decisions on a non-cgroup2 host; crun runs "
                                         "here only with --cgroup-manager=disabled")

MiB = 1024 * 1024


def cgroup_fstype():
    r = subprocess.run(["stat", "-f", "-c", "%T", "/sys/fs/cgroup"], capture_output=True, text=True)
    return r.stdout.strip()


@pytest.fixture(autouse=True)
def non_v2_host():
    if cgroup_fstype() == "cgroup2fs":
        pytest.skip("/sys/fs/cgroup is cgroup2 here: these tests are for v1/hybrid hosts (see tests/vm)")


def hierarchy_dirs():
    """Every directory under the host's cgroup mounts, two levels deep (cheap, and where a
    stray container cgroup would appear)."""
    seen = set()
    for top in os.listdir("/sys/fs/cgroup"):
        base = os.path.join("/sys/fs/cgroup", top)
        if not os.path.isdir(base) or os.path.islink(base):
            continue
        for dirpath, dirnames, _ in os.walk(base):
            seen.add(dirpath)
            if dirpath.count("/") >= base.count("/") + 2:
                dirnames[:] = []
    return seen


def with_limits(b):
    b.config["linux"]["resources"] = {
        "devices": [{"allow": False, "access": "rwm"}],
        "memory": {"limit": 32 * MiB},
        "pids": {"limit": 20},
    }
    return b


@RC_ONLY
def test_limits_fail_closed_with_a_clear_error(rt, bundle):
    b = with_limits(bundle(["/probe", "exit", "0"]))
    before = hierarchy_dirs()
    r = rt.create(b, check=False)
    assert r.returncode == 1, r.stderr
    msg = r.stderr.strip()
    assert "memory and pids" in msg, msg
    assert "not a cgroup v2 mount" in msg, msg
    assert "--cgroup-manager=disabled" in msg, msg
    assert rt.cmd("state", r.cid).returncode != 0, "a failed create left its state"
    assert hierarchy_dirs() == before, "the host's cgroup hierarchies changed"


@RC_ONLY
def test_unified_limit_fails_closed(rt, bundle):
    b = bundle(["/probe", "exit", "0"])
    b.config["linux"]["resources"] = {"unified": {"cgroup.max.descendants": "3"}}
    r = rt.run(b)
    assert r.returncode == 1
    assert "linux.resources.unified asks for cgroup limits" in r.stderr, r.stderr


@RC_ONLY
def test_disabled_manager_runs_unenforced_with_one_warning(rt, bundle):
    b = with_limits(bundle(["/probe", "exit", "7"]))
    before = hierarchy_dirs()
    r = rt.run(b, global_args=["--cgroup-manager=disabled"])
    assert r.returncode == 7, r.stderr
    warnings = [l for l in r.stderr.splitlines() if "not enforced" in l]
    assert len(warnings) == 1, r.stderr
    assert "memory and pids" in warnings[0]
    assert hierarchy_dirs() == before


def test_device_rules_alone_need_no_cgroup(rt, bundle):
    """The default spec's deny-all device rule must not make every config fail here."""
    b = bundle(["/probe", "dev"])
    b.config["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
    before = hierarchy_dirs()
    info = rt.run_probe(b)
    assert info, "no output"
    assert hierarchy_dirs() == before


@RC_ONLY
def test_cgroup_commands_say_there_is_no_cgroup(rt, bundle):
    b = bundle(["/probe", "sleep", "60"])
    cid = rt.create(b).cid
    for args in (["pause", cid], ["ps", cid], ["events", "--stats", cid], ["update", "--pids-limit", "5", cid]):
        r = rt.cmd(*args)
        assert r.returncode == 1, f"{args}: {r.stdout}"
        assert "no cgroup" in r.stderr, f"{args}: {r.stderr}"
    assert rt.state(cid)["status"] == "created", "a failed pause changed the status"
    # kill --all still works without a cgroup (the pid namespace / process tree)
    assert rt.cmd("start", cid).returncode == 0
    assert rt.cmd("kill", "--all", cid, "KILL").returncode == 0
    wait_for(lambda: rt.state(cid)["status"] == "stopped", what="stopped")
    assert rt.cmd("delete", cid).returncode == 0


@RC_ONLY
def test_update_resources_file_is_validated(rt, bundle, workdir):
    b = bundle(["/probe", "sleep", "60"])
    cid = rt.create(b).cid
    bad = os.path.join(workdir, "bad.json")
    with open(bad, "w") as f:
        json.dump({"unified": {"../memory.max": "1"}}, f)
    r = rt.cmd("update", "-r", bad, cid)
    assert r.returncode == 1
    assert 'invalid cgroup file name "../memory.max"' in r.stderr, r.stderr
    r = rt.cmd("update", "--memory", "lots", cid)
    assert r.returncode == 1 and 'invalid value "lots"' in r.stderr, r.stderr
