"""create/start/state/kill/delete/list and exit statuses, driven through the CLI."""

import json
import os
import signal
import subprocess
import time

import pytest

from conftest import pid_alive, wait_for


def read_file(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def test_exit_status_passthrough(rt, bundle):
    r = rt.run(bundle(["/probe", "exit", "7"]))
    assert r.returncode == 7, r.stderr


def test_exit_status_zero(rt, bundle):
    assert rt.run(bundle(["/probe", "exit", "0"])).returncode == 0


def test_exit_status_signal_no_pidns(rt, bundle):
    # Without a pid namespace the probe is not an init, so it can kill itself.
    b = bundle(["/probe", "kill", "9"])
    b.set_namespace("pid", present=False)
    r = rt.run(b)
    assert r.returncode == 128 + signal.SIGKILL, r.stderr


def test_exit_status_signal_from_kill(rt, bundle):
    b = bundle(["/probe", "sleep", "60"])
    cid = rt.new_id()
    b.save()
    p = rt.popen("run", "--bundle", b.path, cid, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for(lambda: rt.cmd("state", cid).returncode == 0 and rt.state(cid)["status"] == "running",
             what="container running")
    r = rt.cmd("kill", cid, "KILL")
    assert r.returncode == 0, r.stderr
    assert p.wait(timeout=10) == 128 + signal.SIGKILL


def test_run_removes_container(rt, bundle):
    cid = rt.new_id()
    assert rt.run(bundle(["/probe", "exit", "0"]), cid=cid).returncode == 0
    assert rt.cmd("state", cid).returncode != 0
    assert cid not in os.listdir(rt.root)


def test_full_lifecycle(rt, bundle):
    b = bundle(["/probe", "sleep", "60"])
    c = rt.create(b)
    st = rt.state(c.cid)
    assert st["status"] == "created"
    assert st["pid"] > 0 and pid_alive(st["pid"])
    assert rt.cmd("start", c.cid).returncode == 0
    st = rt.wait_status(c.cid, "running")
    pid = st["pid"]
    assert rt.cmd("kill", c.cid, "KILL").returncode == 0
    rt.wait_status(c.cid, "stopped")
    r = rt.cmd("delete", c.cid)
    assert r.returncode == 0, r.stderr
    assert rt.cmd("state", c.cid).returncode != 0
    wait_for(lambda: not pid_alive(pid), what=f"pid {pid} gone")
    assert os.listdir(rt.root) == []


def test_created_process_has_not_run(rt, bundle, workdir):
    marker = os.path.join(workdir, "ran")
    b = bundle(["/probe", "write", "/mnt/ran"])
    b.add_mount("/mnt", "bind", workdir, ["bind", "rw"])
    c = rt.create(b)
    time.sleep(0.3)
    assert not os.path.exists(marker), "the process ran before start"
    assert rt.cmd("start", c.cid).returncode == 0
    wait_for(lambda: os.path.exists(marker), what="process to run after start")


def test_stopped_after_exit(rt, bundle):
    c = rt.create(bundle(["/probe", "exit", "3"]))
    assert rt.cmd("start", c.cid).returncode == 0
    st = rt.wait_status(c.cid, "stopped")
    assert st["id"] == c.cid


def test_state_fields(rt, bundle):
    b = bundle(["/probe", "sleep", "60"])
    b.config["annotations"] = {"org.example.key": "value"}
    c = rt.create(b)
    st = rt.state(c.cid)
    assert st["id"] == c.cid
    assert st["status"] == "created"
    assert isinstance(st["pid"], int) and st["pid"] > 0
    assert os.path.realpath(st["bundle"]) == os.path.realpath(b.path)
    assert isinstance(st["ociVersion"], str) and st["ociVersion"].startswith("1.")
    assert st.get("annotations", {}).get("org.example.key") == "value"


def test_pid_file(rt, bundle, workdir):
    pid_file = os.path.join(workdir, "pid")
    c = rt.create(bundle(["/probe", "sleep", "60"]), extra=["--pid-file", pid_file])
    with open(pid_file) as f:
        pid = int(f.read().strip())
    assert pid == rt.state(c.cid)["pid"]


def test_list(rt, bundle):
    ids = [rt.create(bundle(["/probe", "sleep", "60"])).cid for _ in range(2)]
    r = rt.cmd("list", "-q")
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.split()) == sorted(ids)
    r = rt.cmd("list", "--format", "json")
    assert r.returncode == 0, r.stderr
    entries = json.loads(r.stdout)
    assert sorted(e["id"] for e in entries) == sorted(ids)
    for e in entries:
        assert e["status"] == "created" and e["pid"] > 0 and e["bundle"]


def test_list_empty(rt):
    r = rt.cmd("list", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout or "[]") in ([], None)
    r = rt.cmd("list", "-q")
    assert (r.returncode, r.stdout.strip()) == (0, "")


@pytest.mark.parametrize("sig,num", [("USR1", 10), ("SIGUSR2", 12), ("10", 10), ("HUP", 1)])
def test_kill_signal_by_name_and_number(rt, bundle, sig, num):
    c = rt.create(bundle(["/probe", "sigwait"]))
    assert rt.cmd("start", c.cid).returncode == 0
    wait_for(lambda: "ready" in read_file(c.out), what="probe ready")
    r = rt.cmd("kill", c.cid, sig)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: f"signal {num}\n" in read_file(c.out), what=f"signal {num} in output")


def test_kill_default_is_sigterm(rt, bundle):
    c = rt.create(bundle(["/probe", "sigwait"]))
    assert rt.cmd("start", c.cid).returncode == 0
    wait_for(lambda: "ready" in read_file(c.out), what="probe ready")
    assert rt.cmd("kill", c.cid).returncode == 0
    wait_for(lambda: "signal 15\n" in read_file(c.out), what="SIGTERM in output")


def test_kill_created_container(rt, bundle):
    c = rt.create(bundle(["/probe", "sleep", "60"]))
    pid = rt.state(c.cid)["pid"]
    assert rt.cmd("kill", c.cid, "KILL").returncode == 0
    rt.wait_status(c.cid, "stopped")
    wait_for(lambda: not pid_alive(pid), what="created process gone")


def test_delete_running_needs_force(rt, bundle):
    c = rt.create(bundle(["/probe", "sleep", "60"]))
    assert rt.cmd("start", c.cid).returncode == 0
    pid = rt.wait_status(c.cid, "running")["pid"]
    r = rt.cmd("delete", c.cid)
    assert r.returncode != 0
    assert rt.state(c.cid)["status"] == "running"
    r = rt.cmd("delete", "--force", c.cid)
    assert r.returncode == 0, r.stderr
    assert rt.cmd("state", c.cid).returncode != 0
    wait_for(lambda: not pid_alive(pid), what="process killed by delete --force")
    assert os.listdir(rt.root) == []


def test_delete_created_with_force(rt, bundle):
    c = rt.create(bundle(["/probe", "sleep", "60"]))
    pid = rt.state(c.cid)["pid"]
    assert rt.cmd("delete", "--force", c.cid).returncode == 0
    wait_for(lambda: not pid_alive(pid), what="created process gone")
    assert os.listdir(rt.root) == []


def test_start_twice_fails(rt, bundle):
    c = rt.create(bundle(["/probe", "sleep", "60"]))
    assert rt.cmd("start", c.cid).returncode == 0
    r = rt.cmd("start", c.cid)
    assert r.returncode != 0
    assert rt.state(c.cid)["status"] == "running"


def test_start_stopped_fails(rt, bundle):
    c = rt.create(bundle(["/probe", "exit", "0"]))
    assert rt.cmd("start", c.cid).returncode == 0
    rt.wait_status(c.cid, "stopped")
    assert rt.cmd("start", c.cid).returncode != 0


def test_duplicate_id_fails(rt, bundle):
    c = rt.create(bundle(["/probe", "sleep", "60"]))
    pid = rt.state(c.cid)["pid"]
    r = rt.create(bundle(["/probe", "sleep", "60"]), cid=c.cid, check=False)
    assert r.returncode != 0
    st = rt.state(c.cid)
    assert (st["status"], st["pid"]) == ("created", pid)


@pytest.mark.parametrize("cmd", [["state"], ["start"], ["kill", None, "KILL"], ["delete"]])
def test_unknown_id_fails(rt, cmd):
    args = [a if a is not None else "nosuchcontainer" for a in cmd]
    if len(args) == 1:
        args.append("nosuchcontainer")
    r = rt.cmd(*args)
    assert r.returncode != 0
    assert r.stderr.strip(), "no error message"


def test_delete_force_unknown_id(rt):
    # runc: "delete --force" of a missing container is not an error worth failing scripts.
    r = rt.cmd("delete", "--force", "nosuchcontainer")
    assert r.returncode in (0, 1)


@pytest.mark.parametrize("bad_id", [
    "../escape", "a/b", "..", ".", "",
    pytest.param("with space",
                 marks=pytest.mark.run_container_only("runc's id rule [A-Za-z0-9_+.-]; crun allows spaces")),
    "x" * 1025,  # crun has no length limit, but refuses a state directory name that long
])
def test_invalid_id_rejected(rt, bundle, bad_id, workdir):
    b = bundle(["/probe", "exit", "0"])
    r = rt.create(b, cid=bad_id, check=False)
    if r.returncode == 0:
        rt.ids.append(bad_id)
    assert r.returncode != 0, f"id {bad_id!r} was accepted"
    assert not os.path.exists(os.path.join(workdir, "escape")), "a path outside --root was used"
    assert os.listdir(rt.root) == []
