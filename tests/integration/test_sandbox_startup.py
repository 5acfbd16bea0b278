"""What the start-up work of issue 20 item 7 changed, as behaviour.

- The runtime re-executes itself from a read-only bind of its binary on a detached mount
  (CVE-2019-5736, runtime/isolation/selfprotect.h) and now keeps that mount's fd across
  the execve, so that the mount dissolves (an RCU grace period in the kernel) while the
  container's process runs instead of before anything starts. No process of the
  container may get that fd, and the runtime lets it go once the process runs; a marker
  in the environment that names an fd the runtime did not open this way must leave that
  fd alone.
- `run` (and so `sandbox`) opens exec.fifo's read end before the init can reach it (the
  start-up fast path "release", RC_TEST_SLOW_PATHS=release forces the old way), so the
  init goes from READY to its execve without waiting for the runtime: both ways must show
  the same (status, output, errors, hooks, states), and sd_notify keeps the old way.
"""

import json
import os
import shlex
import signal
import subprocess

import pytest

from conftest import KIND, wait_for
from test_fastpaths import assert_nothing_left, assert_taken, both, read, sh
from test_sandbox import sb, wait_running  # noqa: F401 (fixtures)

MARKER = "_RUN_CONTAINER_SELFPROTECT"


def binary_fds(pid, binary):
    """The fds of pid that are the runtime binary (through any mount of it)."""
    want = os.stat(binary)
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            st = os.stat(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (want.st_dev, want.st_ino):
            found.append(int(fd))
    return found


def children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(c) for c in f.read().split()]


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            kids = children(p)
        except OSError:
            continue
        out += kids
        todo += kids
    return out


def comm(pid):
    with open(f"/proc/{pid}/comm") as f:
        return f.read().strip()


@pytest.mark.run_container_only("sandbox is run-container's own command")
def test_no_process_of_a_sandbox_holds_the_runtime_binary(sb, rt):
    p = sb.popen("--name", "exefd1", "--", "sleep", "1000", stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL)
    st = wait_running(rt, "exefd1")
    job = wait_for(lambda: [c for c in children(st["pid"]) if comm(c) == "sleep"], what="the job's sleep")
    # the runtime let it go once the job ran; the init closed its copy first thing
    for pid in [p.pid, st["pid"], *job]:
        assert binary_fds(pid, rt.binary) == [], (pid, comm(pid))
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == 128 + signal.SIGTERM


def test_run_and_exec_leave_no_fd_of_the_runtime_binary(rt, bundle):
    b = bundle(("sleep", "1000"))
    b.save()
    cid = rt.new_id()
    p = rt.popen("run", "--bundle", b.path, cid, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    st = wait_for(lambda: rt.cmd("state", cid).returncode == 0 and rt.state(cid)["status"] == "running"
                  and rt.state(cid), what="the container running")
    x = rt.popen("exec", cid, "sleep", "999", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    exec_procs = wait_for(lambda: [d for d in descendants(x.pid) if comm(d) == "sleep"], what="the exec'd sleep")
    for pid in [p.pid, st["pid"], x.pid, *exec_procs, *descendants(p.pid)]:
        assert binary_fds(pid, rt.binary) == [], (pid, comm(pid))
    assert rt.cmd("kill", cid, "KILL").returncode == 0
    p.wait(timeout=30)
    x.wait(timeout=30)


@pytest.mark.run_container_only("the marker is run-container's own")
def test_a_marker_naming_someone_elses_fd_leaves_it_alone(rt, bundle, workdir):
    # a binary on a read-only mount is not executed again: the marker from the
    # environment is then all there is, and fd 3 (passed on with --preserve-fds) is the
    # caller's file, not the runtime's detached mount: it must reach the container
    data = os.path.join(workdir, "data")
    with open(data, "w") as f:
        f.write("the caller's fd 3\n")
    b = bundle(("cat", "/proc/self/fd/3"))
    b.save()
    cid = rt.new_id()
    argv = rt.argv("run", "--preserve-fds", "1", "--bundle", b.path, cid)
    script = (f"mount --bind -o ro {shlex.quote(rt.binary)} {shlex.quote(rt.binary)} && "
              f"exec {' '.join(shlex.quote(a) for a in argv)} 3<{shlex.quote(data)}")
    env = dict(os.environ, **{MARKER: "fd:3"})
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], env=env,
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "the caller's fd 3\n"


# ---------------------------------------------------------------- the release fast path


@pytest.mark.run_container_only("run-container's own start-up fast path (RC_TEST_SLOW_PATHS)")
@pytest.mark.parametrize("detach", [False, True], ids=["foreground", "detach"])
def test_release_fast_path_shows_the_same(rt, bundle, workdir, detach):
    """Exit status, output and the poststart hook (which sees the container running) are
    the same both ways."""
    seen = {}
    for way in both(rt, "release"):
        tag = way.slow or "fast"
        log = os.path.join(workdir, f"hooks-{tag}")
        out = os.path.join(workdir, f"state-{tag}.json")
        cid = rt.new_id()
        ask = " ".join(shlex.quote(a) for a in rt.argv("state", cid))
        b = bundle(sh("/probe sleep 1; echo out; echo err >&2; exit 7"))
        b.config["hooks"] = {
            "poststart": [{"path": "/bin/sh", "args": ["sh", "-c", f"{ask} > {out}; echo poststart >> {log}"]}],
        }
        r = way.run(b, cid=cid, extra=("--detach",) if detach else ())
        assert_taken(r, "release", not way.slow)
        st = json.loads(read(out))
        assert st["status"] in (("running", "stopped") if detach else ("running",)), st
        if detach:
            assert r.returncode == 0, r.stderr + r.log
            rt.wait_status(cid, "stopped")
            assert way.cmd("delete", cid).returncode == 0
            seen[tag] = (read(log),)
        else:
            seen[tag] = (r.returncode, r.stdout, r.stderr, read(log))
    assert seen["fast"] == seen["release"]
    if not detach:
        assert seen["fast"] == (7, "out\n", "err\n", "poststart\n")
    assert_nothing_left(rt)


@pytest.mark.run_container_only("run-container's own start-up fast path (RC_TEST_SLOW_PATHS)")
@pytest.mark.parametrize("args", [("/nonexistent",), ("/etc/passwd",)], ids=["missing", "not-executable"])
def test_release_fast_path_reports_exec_errors_the_same(rt, bundle, args):
    results = {}
    for way in both(rt, "release"):
        r = way.run(bundle(args))
        assert_taken(r, "release", not way.slow)
        results[way.slow or "fast"] = (r.returncode, r.stdout, r.stderr)
    assert results["fast"] == results["release"]
    assert results["fast"][0] != 0 and args[0] in results["fast"][2]
    assert_nothing_left(rt)


@pytest.mark.run_container_only("run-container's own start-up fast path (RC_TEST_SLOW_PATHS)")
def test_release_fast_path_in_a_sandbox(sb):
    r = sb.run("--", "sh", "-c", "echo hi; exit 4", global_args=("--debug",))
    assert (r.returncode, r.stdout) == (4, "hi\n"), r.stderr
    assert "fast path release:" in r.stderr


@pytest.mark.run_container_only("run-container's own start-up fast path")
def test_release_fast_path_not_with_sd_notify(rt, bundle, workdir):
    # the notify socket must exist before the process runs: the init waits for `start`
    b = bundle(("/bin/true",))
    b.save()
    cid = rt.new_id()
    log = os.path.join(workdir, "notify.log")
    env = dict(os.environ, NOTIFY_SOCKET=os.path.join(workdir, "notify.sock"))
    env.pop("RC_TEST_SLOW_PATHS", None)
    r = rt.cmd("run", "--bundle", b.path, "--detach", cid, global_args=("--debug", "--log", log), env=env)
    assert r.returncode == 0, r.stderr
    assert "fast path created:" not in read(log) and "fast path release:" not in read(log)
    rt.wait_status(cid, "stopped")
    assert rt.cmd("delete", cid).returncode == 0


assert KIND in ("run-container", "crun")
