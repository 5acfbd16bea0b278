"""The runtime binary's detached read-only mount (runtime/isolation/selfprotect.h) after
`create` and `run --detach`: both hand their copy of its fd to a short-lived thread first
thing (the mount dissolves while they work, not at their exit), and the runtime stays
multi-threaded for a moment while it clones the init, makes the network namespace and
writes the id maps. Checked here: the container's processes (the init waiting for
`start`, the process after it, a detached `run`'s process) hold no descriptor of the
runtime binary (the thread's copy went with the thread; the init never inherited one),
and the creation works with a user namespace too (a process with a second thread may not
create or join one: only the init does, in a process of its own)."""

import os
import signal

import pytest

from conftest import KIND, pid_alive, wait_for
from test_namespaces import userns_bundle

pytestmark = pytest.mark.skipif(KIND != "run-container", reason="run-container's own re-execution")


def binary_fds(pid, binary):
    """The fds of pid that refer to the file binary (through any mount: a bind shows the
    same device and inode)."""
    want = os.stat(binary)
    found = []
    fd_dir = f"/proc/{pid}/fd"
    for name in os.listdir(fd_dir):
        try:
            st = os.stat(os.path.join(fd_dir, name))
        except OSError:
            continue  # closed meanwhile, or a target without a stat
        if (st.st_dev, st.st_ino) == (want.st_dev, want.st_ino):
            found.append((name, os.readlink(os.path.join(fd_dir, name))))
    return found


def reexecuted(pid, binary):
    """Whether pid (a stage still running the runtime binary) runs it from the detached
    read-only bind: then the fd was there to hand on; a binary already on a read-only
    mount is not executed again and has none."""
    exe = os.stat(f"/proc/{pid}/exe")
    want = os.stat(binary)
    if (exe.st_dev, exe.st_ino) != (want.st_dev, want.st_ino):
        return False
    return os.statvfs(binary).f_flag & os.ST_RDONLY == 0


@pytest.mark.parametrize("userns", [False, True], ids=["no-userns", "userns"])
def test_create_leaves_no_binary_fd_in_the_container(rt, bundle, userns):
    b = userns_bundle(bundle, ["/probe", "sleep", "60"]) if userns else bundle(["/probe", "sleep", "60"])
    c = rt.create(b)
    pid = rt.state(c.cid)["pid"]
    if not reexecuted(pid, rt.binary):
        pytest.skip(f"{rt.binary} is on a read-only mount: not re-executed, no detached mount")
    # the init waits for `start`, still the runtime binary: it never had the fd
    assert binary_fds(pid, rt.binary) == []
    r = rt.cmd("start", c.cid)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: rt.state(c.cid)["status"] == "running", what="running")
    assert binary_fds(pid, rt.binary) == []
    r = rt.cmd("delete", "--force", c.cid)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: not pid_alive(pid), what="the container's process gone")


@pytest.mark.parametrize("userns", [False, True], ids=["no-userns", "userns"])
def test_run_detach_leaves_no_binary_fd_in_the_container(rt, bundle, userns, workdir):
    b = userns_bundle(bundle, ["/probe", "sleep", "60"]) if userns else bundle(["/probe", "sleep", "60"])
    cid = rt.new_id()
    pid_file = os.path.join(workdir, "pid")
    # the container's output to a file: a pipe would stay open as long as it runs
    with open(os.path.join(workdir, "run.out"), "w") as out:
        r = rt.run(b, cid, extra=["--detach", "--pid-file", pid_file], stdout=out, stderr=out)
    assert r.returncode == 0, open(os.path.join(workdir, "run.out")).read()
    with open(pid_file) as f:
        pid = int(f.read())
    assert rt.state(cid)["status"] == "running"
    assert binary_fds(pid, rt.binary) == []
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: rt.state(cid)["status"] == "stopped", what="stopped")
    r = rt.cmd("delete", cid)
    assert r.returncode == 0, r.stderr
