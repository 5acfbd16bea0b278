"""Start-up fast paths of issue 18's `run` round, each against its slow twin
(RC_TEST_SLOW_PATHS, tests/integration/README.md; the others: test_fastpaths.py):
- release with a terminal sent to --console-socket: `run` opens exec.fifo's read end
  before the init reaches it, as without a terminal (a terminal that run relays itself
  still waits: run sizes it and starts the relay first, test_terminal.py);
- recorded: without the HOOKS stop, the init waits for RECORDED at the end of its setup
  (after pivot_root, the terminal and the process attributes) instead of right after its
  mounts.
Each runs both ways and must show the same; the "fast path NAME:" debug line shows which
way was taken.
"""

import os
import subprocess

import pytest

from conftest import ConsoleServer, parse_json, pids_holding
from test_fastpaths import FAST, Way, assert_nothing_left, assert_taken, both, mount_view

pytestmark = pytest.mark.run_container_only(
    "forces run-container's own start-up fast paths (RC_TEST_SLOW_PATHS) and reads the debug lines that "
    "show them taken; crun has no such paths")


def run_with_console(way, b, workdir, extra=()):
    """`run --console-socket`: (the result, what the container wrote on its terminal)."""
    srv = ConsoleServer(os.path.join(workdir, f"console-{way.slow or 'fast'}-{way.n}.sock"))
    b.save()
    cid = way.rt.new_id()
    log = way._log()
    try:
        p = way.rt.popen("run", "--bundle", b.path, "--console-socket", srv.path, *extra, cid,
                         global_args=("--debug", "--log", log), env=way._env(),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        srv.wait_master()
        out = srv.read_all()
        _, stderr = p.communicate(timeout=30)
    finally:
        srv.close()
    p.log = open(log).read() if os.path.exists(log) else ""
    p.stderr_text = stderr.decode(errors="replace")
    p.cid = cid
    return p, out


@pytest.mark.parametrize("status", [0, 7])
def test_release_with_a_console_socket(rt, bundle, workdir, status):
    """The process writes to its terminal and exits: the same output, status, terminal and
    nothing left, whether run opened exec.fifo before READY or after."""
    seen = {}
    for way in both(rt, "release"):
        b = bundle(["/bin/sh", "-c", f"/probe; exit {status}"])
        b.config["process"]["terminal"] = True
        p, out = run_with_console(way, b, workdir)
        assert p.returncode == status, p.stderr_text + p.log
        assert_taken(p, "release", not way.slow)
        info = parse_json(out)
        assert info["isatty"] == [1, 1, 1]
        assert info["fds"]["0"].startswith("/dev/pts/")
        seen[way.slow or "fast"] = (p.returncode, info["isatty"], sorted(info["fds"]), info["uid"])
    assert seen["fast"] == seen["release"]
    assert_nothing_left(rt)


def test_release_not_with_a_relayed_terminal(rt, bundle):
    """run relaying the terminal itself keeps the wait (the debug line is absent)."""
    b = bundle(["/probe", "exit", "0"])
    b.config["process"]["terminal"] = True
    r = Way(rt, FAST).run(b)
    # no pty on the test's stdin: run relays from a pipe all the same
    assert r.returncode == 0, r.stderr + r.log
    assert_taken(r, "release", False)
    assert_taken(r, "recorded", True)


@pytest.mark.parametrize("shape", ["plain", "createContainer-hook", "terminal"])
def test_recorded(rt, bundle, workdir, shape):
    """The container's view (mounts, namespaces, hostname, rlimits) and status are the
    same whether the init took RECORDED after its mounts or at the end of its setup; with
    a hook that needs the HOOKS stop it stays after the mounts."""
    views = {}
    for way in both(rt, "recorded"):
        b = bundle(["/probe"])
        if shape == "createContainer-hook":
            b.config["hooks"] = {"createContainer": [{"path": "/bin/true"}]}
        if shape == "terminal":
            b.config["process"]["terminal"] = True
            p, out = run_with_console(way, b, workdir)
            r, info = p, parse_json(out)
            assert p.returncode == 0, p.stderr_text + p.log
        else:
            r = way.run(b)
            assert r.returncode == 0, r.stderr + r.log
            info = parse_json(r.stdout)
        assert_taken(r, "recorded", shape != "createContainer-hook" and not way.slow)
        info["mounts"] = mount_view(info)
        for k in ("pid", "ppid", "ns", "fds", "monotonic", "boottime"):
            info.pop(k, None)
        views[way.slow or "fast"] = info
    assert views["fast"] == views["recorded"]
    assert_nothing_left(rt)


def test_recorded_create_start_state(rt, bundle):
    """create returns with the pid recorded either way: state says created with it, start
    runs the process, delete leaves nothing."""
    for way in both(rt, "recorded"):
        c = way.create(bundle(["/probe", "exit", "0"]))
        assert_taken(c, "recorded", not way.slow)
        st = rt.state(c.cid)
        assert st["status"] == "created" and st["pid"] > 0, st
        assert way.cmd("start", c.cid).returncode == 0
        rt.wait_status(c.cid, "stopped")
        assert way.cmd("delete", c.cid).returncode == 0
    assert_nothing_left(rt)


@pytest.mark.parametrize("what", ["cwd", "rlimit"])
def test_recorded_failure_after_the_mounts(rt, bundle, workdir, what):
    """A step after the mounts that fails (a cwd that is a file; an open-files limit above
    fs.nr_open, which the kernel refuses) reports the same error either way, and leaves
    nothing behind."""
    errs = {}
    for way in both(rt, "recorded"):
        b = bundle(["/probe", "exit", "0"])
        if what == "cwd":
            b.config["process"]["cwd"] = "/probe"
        else:
            b.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 1 << 31, "hard": 1 << 31}]
        r = way.run(b)
        assert r.returncode != 0, r.stdout
        errs[way.slow or "fast"] = (r.returncode, r.stderr.replace(r.cid, "ID").replace(b.path, "BUNDLE"))
        assert pids_holding(workdir) == []
    assert errs["fast"] == errs["recorded"], errs
    assert_nothing_left(rt)


# ---------------------------------------------------------------- the wait for the execve


@pytest.mark.parametrize("how", ["run", "create-start"])
def test_error_after_the_release_is_reported(rt, bundle, how):
    """A step between the release and execve that fails (a startContainer hook that exits
    1) comes back through exec.fifo: run and start, which wait for its hang-up alone, fail
    with the init's text, the process never runs, nothing is left."""
    b = bundle(["/probe", "exit", "0"])
    b.config["hooks"] = {"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 1"]}]}
    if how == "run":
        r = rt.run(b)
    else:
        c = rt.create(b)
        r = rt.cmd("start", c.cid)
    assert r.returncode != 0, r.stdout
    assert "container process (pid " in r.stderr and "startContainer" in r.stderr, r.stderr
    if how != "run":
        rt.wait_status(c.cid, "stopped")
        assert rt.cmd("delete", c.cid).returncode == 0
    assert_nothing_left(rt)
