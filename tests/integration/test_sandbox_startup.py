"""What the start-up work of issue 20 item 7 changed, as behaviour: the runtime re-executes
itself from a read-only bind of its binary on a detached mount (CVE-2019-5736,
runtime/isolation/selfprotect.h) and now keeps that mount's fd across the execve, so that
the mount dissolves (an RCU grace period in the kernel) while the container's process
runs instead of before anything starts. No process of the container may get that fd,
and the runtime lets it go once the process runs; a marker in the environment that names
an fd the runtime did not open this way must leave that fd alone.
"""

import os
import shlex
import signal
import subprocess

import pytest

from conftest import KIND, wait_for
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


assert KIND in ("run-container", "crun")
