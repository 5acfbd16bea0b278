"""CVE-2019-5736: a container must never get the runtime's own binary to write to.

Every way the runtime binary can end up running as a container process is attacked: the
init and the process of `exec` before their execve (runtime stages), and the binary itself
executed in the container, as the init's process, as `exec`'s process (directly as
/proc/self/exe, or as the interpreter of a `#!/proc/self/exe` script) and as a
startContainer hook. The attacker (attack_exe.c, static, a container's process) watches
its pid namespace, tries PTRACE_SEIZE on every process and holds /proc/PID/exe of every
process that runs the runtime binary, reopening it for writing through /proc/self/fd/N
until the test ends (the original exploit: it succeeds once no process executes the
binary any more) and appending to it when that works.

The runtime under test is a copy of the build's (or of crun), so that a successful attack
damages nothing but the copy; its sha256 must not change. A runtime stage must be
non-dumpable (ptrace and /proc/PID/exe refused); the binary executed inside the container
is an ordinary container process (ptrace allowed), but the file it runs is read-only
(EROFS) or a sealed copy, never the host's writable binary.

To give the attacker all the time it needs, the binary executed in the container is
asked for `--version` with its stdout on a full pipe: it blocks in write() until the test
drains the pipe.
"""

import contextlib
import errno
import fcntl
import hashlib
import os
import shlex
import shutil
import struct
import subprocess
import threading
import time
import uuid

import pytest

from conftest import KIND, RUNTIME, parse_json, pid_alive, pids_with_token, wait_for
from test_security import kernel_caps

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "cvez"  # every container id of these tests starts with it (a runtime stage's argv)
F_SETPIPE_SZ = 1031


@pytest.fixture(scope="session")
def attacker(session_dir, root_required):
    out = os.path.join(session_dir, "attack_exe")
    if not os.path.exists(out):
        cc = os.environ.get("CC", "cc")
        r = subprocess.run([cc, "-std=gnu11", "-O2", "-static", "-o", out, os.path.join(HERE, "attack_exe.c")],
                           capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot build the attacker program: {r.stderr[-500:]}")
    return out


def dynamically_linked(path):
    """Whether the ELF file has a program interpreter (PT_INTERP): it then needs the
    loader and libraries of the host, which the busybox rootfs does not have."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:  # 64-bit ELF only
            return False
        phoff, = struct.unpack_from("<Q", head, 32)
        phentsize, phnum = struct.unpack_from("<HH", head, 54)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    return any(struct.unpack_from("<I", table, i * phentsize)[0] == 3 for i in range(phnum))


@pytest.fixture
def victim(rt, workdir):
    """A private copy of the runtime binary; every command of the test runs it (and teardown
    the original again, in case the attack broke the copy)."""
    if KIND == "run-container" and dynamically_linked(RUNTIME):
        pytest.skip("the runtime is dynamically linked (a sanitizer build): it cannot run inside the "
                    "busybox rootfs, so nothing of it can be attacked there")
    path = os.path.join(workdir, "runtime-copy")
    shutil.copy2(RUNTIME, path)
    saved = rt.prefix
    rt.prefix = [a.replace(shlex.quote(RUNTIME), shlex.quote(path)) if a != RUNTIME else path for a in saved]
    assert rt.prefix != saved, "the runtime binary is not in the command prefix"
    yield path
    rt.prefix = saved


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class FullPipe:
    """A pipe of one page, filled: whoever writes to it blocks until drain()."""

    def __init__(self):
        self.r, self.w = os.pipe()
        fcntl.fcntl(self.w, F_SETPIPE_SZ, 4096)
        os.set_blocking(self.w, False)
        try:
            while True:
                os.write(self.w, b"x" * 4096)
        except BlockingIOError:
            pass
        os.set_blocking(self.w, True)
        self.thread = None

    def drain(self):
        def read_all():
            while os.read(self.r, 65536):
                pass

        self.thread = threading.Thread(target=read_all, daemon=True)
        self.thread.start()

    def close_write(self):
        if self.w >= 0:
            os.close(self.w)
            self.w = -1

    def close(self):
        self.close_write()
        if self.thread is not None:
            self.thread.join(10)
        os.close(self.r)


def start_attacker(rt, bundle, attacker, binary, userns=False):
    """The attacker's container. userns: in a user namespace mapped onto the host's ids
    0-65535 with every capability in it (so it can ptrace what runs there with all of
    them, such as a hook, but still nothing whose memory belongs to the host's)."""
    st = os.stat(binary)
    a = bundle(["/attack", TOKEN, str(st.st_dev), str(st.st_ino), "90"])
    shutil.copy(attacker, os.path.join(a.rootfs, "attack"))
    if userns:
        a.set_namespace("user")
        a.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": 65536}]
        a.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 0, "size": 65536}]
        a.config["process"]["capabilities"] = {k: kernel_caps() for k in ("bounding", "effective", "permitted")}
        a.config["linux"]["maskedPaths"] = a.config["linux"]["readonlyPaths"] = []
    created = rt.create(a, cid=rt.new_id(TOKEN))
    r = rt.cmd("start", created.cid)
    assert r.returncode == 0, r.stderr
    created.pid = rt.state(created.cid)["pid"]
    time.sleep(0.2)
    return a, created


def executed(marker):
    """Pids of the container processes (not runtime commands) whose argv holds marker."""
    found = []
    for pid in pids_with_token(marker):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as f:
            if TOKEN.encode() not in f.read() and pid_alive(pid):
                found.append(pid)
    return found


def let_it_run_then_release(pipe, marker, procs):
    """Waits until the runtime binary, executed in the container, blocks on the full pipe
    (its command line holds `marker`), lets the attacker work on it, then lets it finish.
    Afterwards no process executes the binary: the write-open of the exploit would work.
    Skips where the runtime refuses to execute itself in the container (crun 1.8.1:
    "exec: No such file or directory"): then there is nothing to attack."""
    wait_for(lambda: executed(marker) or all(p.poll() is not None for p in procs), timeout=20,
             what=f"a process running {marker}")
    if not executed(marker):
        errors = [p.stderr.read().decode(errors="replace") if p.stderr else "" for p in procs]
        if KIND == "run-container":
            raise AssertionError(f"the runtime binary never ran in the container: {errors}")
        pytest.skip(f"{KIND} does not execute itself in the container: {errors}")
    time.sleep(0.5)
    pipe.drain()
    for p in procs:
        p.wait(timeout=20)
    wait_for(lambda: not executed(marker), timeout=20, what=f"{marker} to exit")
    time.sleep(1.0)


def attacker_report(rt, created):
    rt.cmd("kill", created.cid, "TERM")
    wait_for(lambda: rt.state(created.cid)["status"] == "stopped", what="attacker exit")
    with open(created.out) as f:
        return parse_json(f.read())


def assert_attack_failed(report, binary, before, want_stage=False):
    assert sha256(binary) == before, f"the container wrote to the runtime binary: {report}"
    for h in report["held"]:
        assert not h["written"], f"the container opened the runtime binary for writing: {h}"
        assert h["write_errno"] in (errno.EROFS, errno.ETXTBSY, errno.EPERM, errno.EACCES), h
    held = {h["pid"] for h in report["held"]}
    caught = [p for p in report["phases"] if p["runtime"] and not p["stage"]]
    assert caught and held, f"the attacker never caught the runtime binary running in the container: {report}"
    stages = [p for p in report["phases"] if p["stage"]]
    for p in stages:
        assert p["ptrace_errno"] != 0, f"the attacker ptraced a runtime stage: {p}"
        assert p["exe_errno"] in (errno.EACCES, errno.EPERM, errno.ENOENT, errno.ESRCH), p
    if want_stage:
        assert stages, f"the attacker never saw the runtime stage: {report}"


def run_exec(rt, cid, pipe, *args):
    return rt.popen("exec", cid, *args, stdout=pipe.w, stderr=subprocess.PIPE)


def test_exec_of_proc_self_exe(rt, bundle, attacker, victim):
    """`exec ID /proc/self/exe`: the exec'd process executes the runtime binary."""
    before = sha256(victim)
    _, a = start_attacker(rt, bundle, attacker, victim)
    marker = f"m{uuid.uuid4().hex[:12]}"
    pipe = FullPipe()
    try:
        p = run_exec(rt, a.cid, pipe, "/proc/self/exe", "--version", marker)
        let_it_run_then_release(pipe, marker, [p])
    finally:
        pipe.close()
    assert_attack_failed(attacker_report(rt, a), victim, before)


def test_exec_of_a_script_interpreted_by_proc_self_exe(rt, bundle, attacker, victim):
    """The original exploit: /evil is `#!/proc/self/exe`; the kernel resolves the
    interpreter in the exec'd process, which is the runtime until its execve."""
    before = sha256(victim)
    b, a = start_attacker(rt, bundle, attacker, victim)
    marker = f"/evil{uuid.uuid4().hex[:12]}"
    with open(b.rootfs + marker, "w") as f:
        f.write("#!/proc/self/exe --version\n")
    os.chmod(b.rootfs + marker, 0o755)
    pipe = FullPipe()
    try:
        p = run_exec(rt, a.cid, pipe, marker)
        let_it_run_then_release(pipe, marker, [p])
    finally:
        pipe.close()
    assert_attack_failed(attacker_report(rt, a), victim, before)


def victim_in_attackers_pid_ns(rt, bundle, a, args, userns=False):
    b = bundle(args)
    b.set_namespace("pid", path=f"/proc/{a.pid}/ns/pid")
    if userns:
        b.set_namespace("user", path=f"/proc/{a.pid}/ns/user")
        b.config["linux"]["maskedPaths"] = b.config["linux"]["readonlyPaths"] = []
    return b


def create_and_start(rt, b, pipe, marker):
    """create + start with the container's stdout on the full pipe; the init waits for
    `start` in the attacker's pid namespace for a while first."""
    b.save()
    cid = rt.new_id(TOKEN)
    errpath = os.path.join(rt.workdir, f"{cid}.err")
    with open(errpath, "w+") as err:  # the init holds it: not a pipe
        r = rt.cmd("create", "--bundle", b.path, cid, stdout=pipe.w, stderr=err)
        err.seek(0)
        assert r.returncode == 0, err.read()
    time.sleep(0.5)
    start = rt.popen("start", cid, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    pipe.close_write()
    let_it_run_then_release(pipe, marker, [start])
    return cid


def test_init_executing_proc_self_exe(rt, bundle, attacker, victim):
    """A container whose process is /proc/self/exe, created in the attacker's pid
    namespace: its init (a runtime stage until execve) waits there for `start`, then
    executes the runtime binary."""
    before = sha256(victim)
    _, a = start_attacker(rt, bundle, attacker, victim)
    marker = f"m{uuid.uuid4().hex[:12]}"
    pipe = FullPipe()
    try:
        b = victim_in_attackers_pid_ns(rt, bundle, a, ["/proc/self/exe", "--version", marker])
        create_and_start(rt, b, pipe, marker)
    finally:
        pipe.close()
    assert_attack_failed(attacker_report(rt, a), victim, before, want_stage=True)


def test_start_container_hook_executing_proc_self_exe(rt, bundle, attacker, victim):
    """A startContainer hook runs in the container's namespaces from a path the image
    controls: here the runtime binary itself, started by the init. The hook may have every
    capability: the attacker has them all too, in the user namespace both share."""
    before = sha256(victim)
    _, a = start_attacker(rt, bundle, attacker, victim, userns=True)
    marker = f"m{uuid.uuid4().hex[:12]}"
    pipe = FullPipe()
    try:
        b = victim_in_attackers_pid_ns(rt, bundle, a, ["/bin/true"], userns=True)
        b.config["hooks"] = {"startContainer": [{"path": "/proc/self/exe",
                                                 "args": ["/proc/self/exe", "--version", marker]}]}
        create_and_start(rt, b, pipe, marker)
    finally:
        pipe.close()
    assert_attack_failed(attacker_report(rt, a), victim, before, want_stage=True)
