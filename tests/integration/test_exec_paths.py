"""`exec`'s fast path "exec" against its slow twin (issue 18).

The fast way: the runtime sets its pid namespace for children to the container init's
(setns of CLONE_NEWPID on the init's pidfd), clones the process straight into the
container's cgroup and that namespace, sets its own back, and the process joins the other
namespaces itself: one clone, no hand-off before the execve. The slow way
(RC_TEST_SLOW_PATHS=exec, and what an unprivileged runtime or one that is root only in a
user namespace of its own still takes): a stage process joins every namespace and clones
the process with CLONE_PARENT, reports its pid, exits, and only then the process goes on
(runtime/container/exec.c, exec.h).

test_exec.py's exec tests run here once more with the slow way forced (test_exec.py itself
runs the fast way, the default), so each of them checks both; the tests below check the
fast way is taken where it should be and not where it must not be, and that both ways give
the same view from inside.
"""

import json
import os
import signal
import subprocess
import time

import pytest

import test_exec
from test_exec import sleeper, start

pytestmark = pytest.mark.run_container_only(
    "forces run-container's exec fast path off (RC_TEST_SLOW_PATHS) and reads the debug line that shows "
    "it taken; crun has no such path")

ENV = "RC_TEST_SLOW_PATHS"
FAST_LINE = "fast path exec:"

# test_exec.py's exec tests, collected here once more and run the slow way (fixture below)
SLOW_TWINS = [n for n in dir(test_exec) if n.startswith("test_exec") or n == "test_kill_all_reaches_exec_processes"]
for _name in SLOW_TWINS:
    globals()[f"{_name}__slow"] = getattr(test_exec, _name)
del _name


@pytest.fixture(autouse=True)
def slow_way_for_twins(request, monkeypatch):
    """The copies of test_exec.py's tests run with the stage (RC_TEST_SLOW_PATHS=exec)."""
    if request.node.originalname.endswith("__slow"):
        monkeypatch.setenv(ENV, "exec")
    else:
        monkeypatch.delenv(ENV, raising=False)


def exec_logged(rt, cid, *args, slow=False, extra=()):
    """exec with --debug into a log of its own; returns (CompletedProcess, log text)."""
    log = os.path.join(rt.workdir, f"exec-{rt.new_id('log')}.log")
    env = dict(os.environ)
    env.pop(ENV, None)
    if slow:
        env[ENV] = "exec"
    r = rt.cmd("exec", *extra, cid, *args, global_args=("--debug", "--log", log), env=env)
    with open(log) as f:
        return r, f.read()


def view(rt, cid, slow):
    r, log = exec_logged(rt, cid, "/probe", "info", slow=slow)
    assert r.returncode == 0, r.stderr
    assert (FAST_LINE in log) == (not slow), log
    info = json.loads(r.stdout)
    # what differs between two processes of the same container by nature
    for k in ("pid", "ppid", "status", "fds", "starttime", "cmdline", "boottime", "monotonic"):
        info.pop(k, None)
    return info


@pytest.mark.parametrize("pidns", [True, False], ids=["pidns", "host-pidns"])
def test_both_ways_show_the_same_view(rt, bundle, pidns):
    """The namespaces, root, identity, capabilities, limits, seccomp and cgroup the process
    gets, the fast way (taken: the debug line) and the slow way (not taken)."""
    b = sleeper(bundle)
    if not pidns:
        b.set_namespace("pid", present=False)
    cid, _ = start(rt, b)
    fast, slow = view(rt, cid, False), view(rt, cid, True)
    assert fast == slow


def test_fast_way_process_is_inside_the_pid_namespace(rt, bundle):
    cid, init = start(rt, sleeper(bundle))
    r, log = exec_logged(rt, cid, "/probe", "info")
    assert r.returncode == 0, r.stderr
    assert FAST_LINE in log
    info = json.loads(r.stdout)
    assert info["pid"] > 1 and info["ppid"] == 0
    assert info["ns"]["pid"] == os.stat(f"/proc/{init}/ns/pid").st_ino


def test_detached_fast_way_pid_file(rt, bundle):
    """exec --detach --pid-file the fast way: the pid written is the host's pid of a process
    inside the container's pid namespace (its pid there is not 1)."""
    cid, init = start(rt, sleeper(bundle))
    pid_file = os.path.join(rt.workdir, "exec.pid")
    r = test_exec.exec_detached(rt, cid, "/probe", "sleep", "30", extra=("--pid-file", pid_file))
    assert r.returncode == 0, r.stderr
    with open(pid_file) as f:
        pid = int(f.read())
    assert os.stat(f"/proc/{pid}/ns/pid").st_ino == os.stat(f"/proc/{init}/ns/pid").st_ino
    with open(f"/proc/{pid}/status") as f:
        nspid = [ln.split()[1:] for ln in f if ln.startswith("NSpid:")][0]
    assert len(nspid) == 2 and nspid[0] == str(pid) and int(nspid[1]) > 1
    os.kill(pid, 9)


def test_the_error_of_a_missing_executable_both_ways(rt, bundle):
    cid, _ = start(rt, sleeper(bundle))
    results = []
    for slow in (False, True):
        r, _ = exec_logged(rt, cid, "/no/such/binary", slow=slow)
        results.append((r.returncode, r.stderr.split(":", 1)[-1]))
    assert results[0] == results[1]
    assert results[0][0] == 255  # as runc's "exec failed" (test_exec.py)


def test_time_namespace_and_offsets_both_ways(rt, bundle):
    """The process joins the init's time namespace itself on the fast way (a setns of a
    time namespace applies to the caller at once, unlike a pid namespace): both ways see
    the container's clock offsets."""
    if not os.path.exists("/proc/self/ns/time"):
        pytest.skip("kernel has no time namespaces")
    offset = 10 * 86400
    b = sleeper(bundle)
    b.set_namespace("time")
    b.config["linux"]["timeOffsets"] = {"monotonic": {"secs": offset, "nanosecs": 0}}
    cid, init = start(rt, b)
    for slow in (False, True):
        r, log = exec_logged(rt, cid, "/probe", "info", slow=slow)
        assert r.returncode == 0, r.stderr
        assert (FAST_LINE in log) == (not slow), log
        info = json.loads(r.stdout)
        assert info["ns"]["time"] == os.stat(f"/proc/{init}/ns/time").st_ino
        assert abs(info["monotonic"] - (time.clock_gettime(time.CLOCK_MONOTONIC) + offset)) < 30


NO_WAKE_LINE = "fast path exec: no wakeup at the execve"


def test_foreground_exec_does_not_wait_for_the_execve(rt, bundle, workdir):
    """A foreground exec without a pid file or a relayed terminal goes straight to the
    wait for the exit (the debug line), with the process' output and status passed on; with
    --pid-file (which must name an executed process) or --detach it waits for the execve
    first, and the slow way always does."""
    cid, _ = start(rt, sleeper(bundle))
    r, log = exec_logged(rt, cid, "/probe", "exit", "7")
    assert r.returncode == 7, r.stderr
    assert NO_WAKE_LINE in log
    r, log = exec_logged(rt, cid, "/probe", "exit", "7", slow=True)
    assert r.returncode == 7 and NO_WAKE_LINE not in log
    pid_file = os.path.join(workdir, "p.pid")
    r, log = exec_logged(rt, cid, "/probe", "exit", "3", extra=("--pid-file", pid_file))
    assert r.returncode == 3 and NO_WAKE_LINE not in log and FAST_LINE in log
    with open(pid_file) as f:
        assert int(f.read()) > 0


def test_signals_reach_only_the_executed_process(rt, bundle):
    """A signal sent to the runtime right after it started is forwarded only once the
    process executed: the process (a shell trapping it) reports it, both ways."""
    cid, _ = start(rt, sleeper(bundle))
    for slow in (False, True):
        env = dict(os.environ)
        env.pop(ENV, None)
        if slow:
            env[ENV] = "exec"
        p = rt.popen("exec", cid, "/bin/sh", "-c", "trap 'echo got-usr1; exit 0' USR1; echo ready; "
                     "while :; do sleep 0.1; done", stdout=subprocess.PIPE, text=True, env=env)
        assert p.stdout.readline().strip() == "ready"
        p.send_signal(signal.SIGUSR1)
        out, _ = p.communicate(timeout=30)
        assert (p.returncode, out.strip()) == (0, "got-usr1")
