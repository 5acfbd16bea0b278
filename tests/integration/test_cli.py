"""CLI features: terminals, fd passing, spec/features, logging, config errors, crash cleanup."""

import json
import os
import signal
import subprocess

import pytest

from conftest import parse_json, pid_alive, pids_under, pids_with_token, wait_for


def test_console_socket_create_start(rt, bundle, console):
    srv = console()
    b = bundle()
    b.config["process"]["terminal"] = True
    c = rt.create(b, extra=["--console-socket", srv.path])
    srv.wait_master()
    assert rt.cmd("start", c.cid).returncode == 0
    info = parse_json(srv.read_all())
    assert info["isatty"] == [1, 1, 1]
    assert info["fds"]["0"].startswith("/dev/pts/")
    rt.wait_status(c.cid, "stopped")


def test_console_socket_controlling_tty(rt, bundle, console):
    srv = console()
    b = bundle(["/probe", "dev"])
    b.config["process"]["terminal"] = True
    c = rt.create(b, extra=["--console-socket", srv.path])
    srv.wait_master()
    assert rt.cmd("start", c.cid).returncode == 0
    d = parse_json(srv.read_all())
    assert d["tty"]["open_errno"] == 0, "no controlling terminal"


def test_console_socket_with_run(rt, bundle, console):
    srv = console()
    b = bundle(["/probe", "exit", "5"])
    b.config["process"]["terminal"] = True
    b.save()
    cid = rt.new_id()
    p = rt.popen("run", "--bundle", b.path, "--console-socket", srv.path, cid,
                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    srv.wait_master()
    srv.read_all()
    assert p.wait(timeout=20) == 5


def test_terminal_without_console_socket_fails_for_create(rt, bundle):
    b = bundle()
    b.config["process"]["terminal"] = True
    r = rt.create(b, check=False)
    assert r.returncode != 0
    assert os.listdir(rt.root) == []


def test_preserve_fds(rt, bundle, workdir):
    data = os.path.join(workdir, "fd3.txt")
    with open(data, "w") as f:
        f.write("passed through fd 3")
    b = bundle(["/probe", "fd", "3"])
    b.save()
    cid = rt.new_id()
    # sh puts the file at fd 3 exactly, then execs the runtime with it.
    argv = ["sh", "-c", 'exec 3<"$0"; exec "$@"', data] + rt.argv("run", "--bundle", b.path,
                                                                   "--preserve-fds", "1", cid)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["open"] and d["data"] == "passed through fd 3"


def test_no_preserve_fds_closes_extra(rt, bundle, workdir):
    data = os.path.join(workdir, "fd3.txt")
    open(data, "w").close()
    b = bundle()
    b.save()
    argv = ["sh", "-c", 'exec 3<"$0"; exec "$@"', data] + rt.argv("run", "--bundle", b.path, rt.new_id())
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert sorted(json.loads(r.stdout)["fds"], key=int) == ["0", "1", "2"]


def test_spec_then_run(rt, base_rootfs, workdir):
    b = os.path.join(workdir, "specbundle")
    os.mkdir(b)
    r = rt.cmd("spec", cwd=b)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(b, "config.json")) as f:
        cfg = json.load(f)
    assert cfg["ociVersion"].startswith("1.")
    assert cfg["root"]["path"] == "rootfs"
    assert cfg["process"]["args"]
    subprocess.run(["cp", "-a", base_rootfs, os.path.join(b, "rootfs")], check=True)
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["/probe"]
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(cfg, f)
    cid = rt.new_id()
    r = rt.cmd("run", "--bundle", b, cid)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["pid"] == 1


def test_spec_refuses_to_overwrite(rt, workdir):
    with open(os.path.join(workdir, "config.json"), "w") as f:
        f.write("{}")
    r = rt.cmd("spec", cwd=workdir)
    assert r.returncode != 0
    with open(os.path.join(workdir, "config.json")) as f:
        assert f.read() == "{}"


@pytest.mark.run_container_only("crun 1.8.1 has no features command (added in crun 1.9)")
def test_features_json(rt):
    r = rt.cmd("features")
    assert r.returncode == 0, r.stderr
    f = json.loads(r.stdout)
    assert f["ociVersionMin"].startswith("1.") and f["ociVersionMax"].startswith("1.")
    for ns in ("pid", "network", "ipc", "uts", "mount", "user"):
        assert ns in f["linux"]["namespaces"]
    assert "prestart" in f["hooks"] or "createRuntime" in f["hooks"]
    assert "bind" in f["mountOptions"] or "rbind" in f["mountOptions"]


def test_log_json_on_error(rt, workdir):
    log = os.path.join(workdir, "runtime.log")
    r = rt.cmd("state", "nosuchcontainer", global_args=["--log", log, "--log-format", "json"])
    assert r.returncode != 0
    with open(log) as f:
        lines = [ln for ln in f.read().splitlines() if ln.strip()]
    assert lines, "nothing logged"
    entries = [json.loads(ln) for ln in lines]
    assert any(e.get("level") == "error" and e.get("msg") for e in entries), entries
    assert all("time" in e for e in entries)


def _bad_config(b, kind):
    if kind == "args-not-array":
        b.config["process"]["args"] = "/probe"
    elif kind == "no-args":
        del b.config["process"]["args"]
    elif kind == "bad-namespace":
        b.config["linux"]["namespaces"].append({"type": "nosuchns"})
    elif kind == "relative-cwd":
        b.config["process"]["cwd"] = "relative"
    elif kind == "bad-rlimit":
        b.config["process"]["rlimits"] = [{"type": "RLIMIT_NOPE", "soft": 1, "hard": 1}]
    elif kind == "no-root":
        del b.config["root"]
    b.save()


BAD_CONFIGS = {
    "args-not-array": "args",
    "no-args": "args",
    "bad-namespace": "nosuchns",
    "relative-cwd": "cwd",
    "bad-rlimit": "RLIMIT_NOPE",
    "no-root": "root",
}


CRUN_LAX = "crun 1.8.1 accepts this at create and only fails at start"


@pytest.mark.parametrize("kind", [
    pytest.param(k, marks=pytest.mark.run_container_only(CRUN_LAX))
    if k in ("args-not-array", "no-args", "relative-cwd") else k
    for k in sorted(BAD_CONFIGS)
])
def test_bad_config_fails_cleanly(rt, bundle, kind):
    b = bundle()
    _bad_config(b, kind)
    r = rt.create(b, check=False)
    cid = r.cid
    assert r.returncode != 0, f"{kind} accepted"
    assert os.listdir(rt.root) == [], "state left under --root"
    assert not pids_with_token(cid), "a process was left behind"


def test_invalid_json_config(rt, bundle):
    b = bundle()
    with open(os.path.join(b.path, "config.json"), "w") as f:
        f.write('{"ociVersion": "1.0.2", "process": ')
    b.save = lambda: None  # keep the broken file
    r = rt.create(b, check=False)
    assert r.returncode != 0
    assert os.listdir(rt.root) == []


def test_missing_bundle(rt, workdir):
    r = rt.cmd("create", "--bundle", os.path.join(workdir, "nope"), rt.new_id())
    assert r.returncode != 0
    assert os.listdir(rt.root) == []


@pytest.mark.run_container_only("checks run-container's error text and exit code")
@pytest.mark.parametrize("kind", sorted(BAD_CONFIGS))
def test_bad_config_message(rt, bundle, kind):
    b = bundle()
    _bad_config(b, kind)
    r = rt.create(b, check=False)
    assert r.returncode == 1
    assert "config.json" in r.stderr, r.stderr
    assert BAD_CONFIGS[kind] in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, "the error is printed once"


@pytest.mark.run_container_only("checks run-container's error text")
def test_unknown_id_message(rt):
    r = rt.cmd("state", "nosuchcontainer")
    assert r.returncode == 1
    assert "nosuchcontainer" in r.stderr and "does not exist" in r.stderr, r.stderr


def test_kill_runtime_during_create_then_delete_force(rt, bundle, workdir):
    # A createRuntime hook blocks create until its parent (the runtime) dies, then exits.
    marker = os.path.join(workdir, "hook-started")
    b = bundle(["/probe", "sleep", "60"])
    b.config["hooks"] = {"createRuntime": [{
        "path": "/bin/sh",
        "args": ["sh", "-c", 'touch "$0"; i=0; while kill -0 $PPID 2>/dev/null && [ $i -lt 600 ]; '
                 'do sleep 0.1; i=$((i+1)); done', marker],
    }]}
    b.save()
    cid = rt.new_id()
    p = rt.popen("create", "--bundle", b.path, cid, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: os.path.exists(marker), what="createRuntime hook to start")
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=10)
    r = rt.cmd("delete", "--force", cid)
    assert r.returncode in (0, 1), r.stderr
    wait_for(lambda: not [pid for pid in pids_with_token(cid) + pids_under(b.path) if pid_alive(pid)],
             what="no process left")
    assert rt.cmd("state", cid).returncode != 0
    assert os.listdir(rt.root) == [], os.listdir(rt.root)
