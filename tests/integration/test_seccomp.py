"""linux.seccomp in real containers: actions seen from inside, the default profile of
`spec`, and the SCMP_ACT_NOTIFY handoff to an agent listening on a unix socket."""

import array
import contextlib
import errno
import fcntl
import json
import os
import select
import signal
import socket
import struct
import subprocess
import threading

import pytest

from conftest import KIND, RUNTIME

# linux/seccomp.h: struct seccomp_notif is 80 bytes, struct seccomp_notif_resp 24.
NOTIF_SIZE, RESP_SIZE = 80, 24
SECCOMP_IOCTL_NOTIF_RECV = 0xC0000000 | (NOTIF_SIZE << 16) | (ord("!") << 8) | 0
SECCOMP_IOCTL_NOTIF_SEND = 0xC0000000 | (RESP_SIZE << 16) | (ord("!") << 8) | 1
SYS_MKDIR = {"x86_64": 83, "aarch64": None}.get(os.uname().machine)
SYS_MKDIRAT = {"x86_64": 258, "aarch64": 34}.get(os.uname().machine)


def profile(default="SCMP_ACT_ALLOW", syscalls=(), **extra):
    p = {"defaultAction": default, "syscalls": list(syscalls)}
    p.update(extra)
    return p


def block_mkdir(action, **rule):
    return profile(syscalls=[dict({"names": ["mkdir", "mkdirat"], "action": action}, **rule)])


def sh(cmd):
    return ["/bin/sh", "-c", cmd]


def spec_config(rt, rootless=False):
    """The config.json `run-container spec` writes."""
    d = os.path.join(rt.workdir, "spec-rootless" if rootless else "spec")
    os.mkdir(d)
    args = ["spec", "--rootless"] if rootless else ["spec"]
    r = subprocess.run([RUNTIME] + args, cwd=d, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(d, "config.json")) as f:
        return json.load(f)


def status_field(info, key):
    return info["status"][key].strip()


RC_ONLY = pytest.mark.run_container_only("run-container's default profile, `spec` and error texts")


# ------------------------------------------------------------------ actions


def test_without_a_profile_mkdir_works(rt, bundle):
    """The control for the next tests: the same command succeeds unfiltered."""
    r = rt.run(bundle(sh("mkdir /dev/shm/d && echo made")))
    assert r.returncode == 0, r.stderr
    assert "made" in r.stdout


def test_errno_action_fails_mkdir_with_eperm(rt, bundle):
    b = bundle(sh("mkdir /dev/shm/d; echo status=$?"))
    b.config["linux"]["seccomp"] = block_mkdir("SCMP_ACT_ERRNO")
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    assert "Operation not permitted" in r.stderr
    assert "status=1" in r.stdout


def test_errno_ret_is_used(rt, bundle):
    b = bundle(sh("mkdir /dev/shm/d"))
    b.config["linux"]["seccomp"] = block_mkdir("SCMP_ACT_ERRNO", errnoRet=errno.EROFS)
    r = rt.run(b)
    assert r.returncode == 1
    assert "Read-only file system" in r.stderr


def test_kill_process_kills_with_sigsys(rt, bundle):
    b = bundle(["/bin/mkdir", "/dev/shm/d"])
    b.config["linux"]["seccomp"] = block_mkdir("SCMP_ACT_KILL_PROCESS")
    r = rt.run(b)
    assert r.returncode == 128 + signal.SIGSYS, (r.returncode, r.stderr)


def test_filter_is_active_in_the_process(rt, bundle):
    b = bundle()
    b.config["linux"]["seccomp"] = block_mkdir("SCMP_ACT_ERRNO")
    info = rt.run_probe(b)
    assert status_field(info, "Seccomp") == "2"
    assert status_field(info, "NoNewPrivs") == "1"


def test_filter_without_no_new_privileges(rt, bundle):
    """noNewPrivileges false: the filter goes in before the capability drop."""
    b = bundle(sh("mkdir /dev/shm/d"))
    b.config["process"]["noNewPrivileges"] = False
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    b.config["linux"]["seccomp"] = block_mkdir("SCMP_ACT_ERRNO", errnoRet=errno.EROFS)
    r = rt.run(b)
    assert r.returncode == 1
    assert "Read-only file system" in r.stderr
    b2 = bundle()
    b2.config["process"]["noNewPrivileges"] = False
    b2.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    b2.config["linux"]["seccomp"] = block_mkdir("SCMP_ACT_ERRNO")
    info = rt.run_probe(b2)
    assert status_field(info, "Seccomp") == "2"
    assert status_field(info, "NoNewPrivs") == "0"
    assert info["uid"] == 1000


def init_seccomp_mode(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(line.split()[1] for line in f if line.startswith("Seccomp:"))


@RC_ONLY
def test_filter_that_allows_the_init_is_loaded_before_start(rt, bundle):
    """A profile that leaves alone everything the init does after its setup is loaded while
    the init waits for `start` (the runtime's work then overlaps it); the process still
    runs under it."""
    b = bundle(sh("mkdir /dev/shm/d; echo status=$?"))
    b.config["linux"]["seccomp"] = block_mkdir("SCMP_ACT_ERRNO")
    c = rt.create(b)
    pid = rt.state(c.cid)["pid"]
    assert init_seccomp_mode(pid) == "2", "the filter should be in place before start"
    assert rt.cmd("start", c.cid).returncode == 0
    rt.wait_status(c.cid, "stopped")
    with open(c.out) as f:
        assert "status=1" in f.read()


@pytest.mark.parametrize("rule,early", [
    ({"names": ["capset"], "action": "SCMP_ACT_ERRNO"}, True),
    ({"names": ["setresuid"], "action": "SCMP_ACT_ERRNO"}, True),
    ({"names": ["prctl"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 24, "op": "SCMP_CMP_EQ"}]},
     False),
], ids=["capset", "setresuid", "prctl-conditional"])
def test_filter_that_restricts_the_init_waits_for_start(rt, bundle, rule, early):
    """With noNewPrivileges the filter goes in after the credentials are set
    (runtime/isolation/preexec.h), so one that denies capset or setresuid is loaded before `start`;
    one that restricts what the init still does after that (prctl, conditionally) must
    not be: the init would fail at `start`. Loaded last, the process runs."""
    b = bundle(sh("echo ran"))
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    b.config["linux"]["seccomp"] = profile(syscalls=[rule])
    c = rt.create(b)
    pid = rt.state(c.cid)["pid"]
    if KIND == "run-container":  # its `seccomp` fast path (tests/integration/README.md); crun loads it last
        assert init_seccomp_mode(pid) == ("2" if early else "0")
    assert rt.cmd("start", c.cid).returncode == 0
    st = rt.wait_status(c.cid, "stopped")
    with open(c.out) as f:
        assert "ran" in f.read(), st


def test_unknown_syscall_names_are_skipped(rt, bundle):
    b = bundle(sh("mkdir /dev/shm/d"))
    b.config["linux"]["seccomp"] = profile(syscalls=[
        {"names": ["no_such_syscall_rc", "mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}])
    r = rt.run(b)
    assert r.returncode == 1
    assert "Operation not permitted" in r.stderr


def test_conditions_on_arguments(rt, bundle):
    """kill(pid, SIGUSR2) is refused, other signals pass (SCMP_CMP_EQ on argument 1)."""
    rule = {"names": ["kill"], "action": "SCMP_ACT_ERRNO",
            "args": [{"index": 1, "value": signal.SIGUSR2, "op": "SCMP_CMP_EQ"}]}
    b = bundle(sh("sleep 30 & p=$!; kill -USR2 $p; echo usr2=$?; kill -TERM $p; echo term=$?"))
    b.config["linux"]["seccomp"] = profile(syscalls=[rule])
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["usr2=1", "term=0"], r.stdout + r.stderr
    assert "Operation not permitted" in r.stderr


@RC_ONLY
def test_bad_profile_fails_at_create(rt, bundle):
    b = bundle()
    b.config["linux"]["seccomp"] = profile(
        listenerPath=os.path.join(rt.workdir, "nobody-listens.sock"),
        syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}])
    c = rt.create(b, check=False)
    assert c.returncode == 1
    assert "connect to seccomp listener" in c.stderr
    assert rt.cmd("state", c.cid).returncode != 0, "a failed create left a container behind"


# ------------------------------------------------------------------ the default profile


@RC_ONLY
def test_default_spec_profile_runs_busybox_and_the_probe(rt, bundle):
    spec = spec_config(rt)
    b = bundle()
    b.config["process"]["capabilities"] = spec["process"]["capabilities"]
    b.config["linux"]["seccomp"] = spec["linux"]["seccomp"]
    info = rt.run_probe(b)
    assert status_field(info, "Seccomp") == "2"
    b2 = bundle(sh("ls / >/dev/null && echo x > /dev/shm/f && cat /dev/shm/f && ps >/dev/null && echo ok"))
    b2.config["process"]["capabilities"] = spec["process"]["capabilities"]
    b2.config["linux"]["seccomp"] = spec["linux"]["seccomp"]
    r = rt.run(b2)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["x", "ok"]


@RC_ONLY
def test_default_spec_profile_blocks_namespaces_and_mounts(rt, bundle):
    """unshare, setns and mount need no capability beyond what root in the container has
    here (CAP_SYS_ADMIN is granted on purpose), so the refusals are the filter's."""
    spec = spec_config(rt)
    cmd = ("unshare -U true; echo unshare=$?; nsenter -t 1 -u true; echo nsenter=$?; "
           "mount -t tmpfs none /mnt; echo mount=$?")
    b = bundle(sh(cmd))
    caps = spec["process"]["capabilities"]["bounding"] + ["CAP_SYS_ADMIN"]
    b.config["process"]["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
    r = rt.run(b)
    assert r.stdout.split() == ["unshare=0", "nsenter=0", "mount=0"], "control: " + r.stdout + r.stderr
    b.config["linux"]["seccomp"] = spec["linux"]["seccomp"]
    r = rt.run(b)
    assert r.stdout.split() == ["unshare=1", "nsenter=1", "mount=1"], r.stdout + r.stderr
    assert r.stderr.count("Operation not permitted") == 2, r.stderr  # unshare, setns
    assert "mount: permission denied" in r.stderr  # busybox's words for EPERM


@RC_ONLY
def test_default_spec_capabilities(rt, bundle):
    spec = spec_config(rt)
    names = spec["process"]["capabilities"]["bounding"]
    assert "CAP_SYS_ADMIN" not in names and "CAP_AUDIT_WRITE" not in names
    b = bundle()
    b.config["process"]["capabilities"] = spec["process"]["capabilities"]
    b.config["linux"]["seccomp"] = spec["linux"]["seccomp"]
    info = rt.run_probe(b)
    assert int(status_field(info, "CapEff"), 16) == 0x800405FB  # the 11 of podman's default set
    assert int(status_field(info, "CapBnd"), 16) == 0x800405FB


@RC_ONLY
def test_rootless_spec_has_the_same_profile(rt):
    assert spec_config(rt, rootless=True)["linux"]["seccomp"] == spec_config(rt)["linux"]["seccomp"]


# ------------------------------------------------------------------ SCMP_ACT_NOTIFY


class Agent:
    """A seccomp agent: accepts one connection, takes the listener fd and the container
    process state, answers every notification with -EROFS until stopped."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.state = None
        self.fds = []
        self.notified = []
        self.error = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _receive(self):
        self.sock.settimeout(20)
        conn, _ = self.sock.accept()
        with conn:
            conn.settimeout(20)
            data = b""
            while True:
                chunk, anc, _flags, _addr = conn.recvmsg(65536, socket.CMSG_SPACE(4 * 4))
                for level, kind, payload in anc:
                    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                        fds = array.array("i")
                        fds.frombytes(payload[:len(payload) - len(payload) % 4])
                        self.fds.extend(fds)
                if not chunk:
                    break
                data += chunk
                # a runtime need not close the connection: stop at a complete document
                with contextlib.suppress(ValueError):
                    self.state = json.loads(data)
                    return
        self.state = json.loads(data)

    def _serve(self, fd):
        while not self.stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                continue
            buf = bytearray(NOTIF_SIZE)
            try:
                fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, buf)
            except OSError as e:
                if e.errno in (errno.ENOENT, errno.EINTR):
                    continue
                raise
            notif_id, pid, _flags, nr = struct.unpack_from("=QIIi", buf)
            self.notified.append((pid, nr))
            resp = bytearray(struct.pack("=QqiI", notif_id, 0, -errno.EROFS, 0))
            with contextlib.suppress(OSError):
                fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp)

    def _run(self):
        try:
            self._receive()
            if len(self.fds) == 1:
                self._serve(self.fds[0])
        except Exception as e:  # reported by the test
            self.error = e

    def close(self):
        self.stop.set()
        self.thread.join(timeout=10)
        self.sock.close()
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)


@pytest.fixture
def agent(rt):
    a = Agent(os.path.join(rt.workdir, "agent.sock"))
    yield a
    a.close()


def test_notify_hands_fd_and_state_to_the_agent(rt, bundle, agent):
    b = bundle(sh("mkdir /dev/shm/d; echo status=$?"))
    b.config["annotations"] = {"org.example": "yes"}
    b.config["linux"]["seccomp"] = profile(
        listenerPath=agent.path, listenerMetadata="MKNOD=/dev/null;X=1",
        syscalls=[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}])
    cid = rt.new_id()
    r = rt.run(b, cid=cid)
    assert agent.error is None, agent.error
    assert r.returncode == 0, r.stderr
    # the agent's answer, not the kernel's: /dev/shm is writable
    assert "Read-only file system" in r.stderr
    assert "status=1" in r.stdout
    st = agent.state
    assert st is not None, "the agent got no state"
    assert len(agent.fds) == 1
    assert st["fds"] == ["seccompFd"]
    assert st["metadata"] == "MKNOD=/dev/null;X=1"
    assert st["ociVersion"]
    assert isinstance(st["pid"], int) and st["pid"] > 1
    assert st["state"]["id"] == cid
    assert st["state"]["pid"] == st["pid"]
    # the filter goes in after `start`; crun, which sends it earlier, says "creating"
    assert st["state"]["status"] == ("running" if rt.kind == "run-container" else "creating")
    assert st["state"]["bundle"] == b.path
    assert st["state"]["annotations"] == {"org.example": "yes"}
    assert agent.notified, "no notification reached the agent"
    assert all(nr in (SYS_MKDIR, SYS_MKDIRAT) for _pid, nr in agent.notified)


@RC_ONLY
def test_compiled_profile_is_cached_and_still_enforced(rt, bundle):
    """The first container compiles the profile and keeps the BPF in the state root's
    @seccomp-cache; the next one with the same profile reads it and is confined the same."""
    spec = spec_config(rt)
    b = bundle(sh("mount -t tmpfs none /mnt; echo mount=$?"))
    caps = spec["process"]["capabilities"]["bounding"] + ["CAP_SYS_ADMIN"]
    b.config["process"]["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
    b.config["linux"]["seccomp"] = spec["linux"]["seccomp"]
    cache = os.path.join(rt.root, "@seccomp-cache")
    b.save()
    logs = []
    for _ in range(2):
        r = rt.cmd("run", "--bundle", b.path, rt.new_id("s"), global_args=("--debug",))
        logs.append(r.stderr)
        assert r.stdout.split() == ["mount=1"], r.stdout + r.stderr
    assert "seccomp cache: filter" in logs[0] and "written" in logs[0], logs[0]
    assert "read (" in logs[1], logs[1]
    assert len(os.listdir(cache)) == 1
    assert os.stat(cache).st_mode & 0o7777 == 0o700
    # a different profile is a different entry
    b.config["linux"]["seccomp"]["syscalls"].append({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"})
    b.save()
    r = rt.cmd("run", "--bundle", b.path, rt.new_id("s"))
    assert r.stdout.split() == ["mount=1"], r.stdout + r.stderr
    assert len(os.listdir(cache)) == 2
    # `list` does not take the cache for a container
    assert rt.cmd("list", "-q").stdout.split() == []
