"""Fixtures for the integration tests: they drive a real runtime binary as root.

Environment:
  RUNTIME_KIND  "run-container" (default) or "crun" (Debian's crun, to validate the tests)
  BUILD_DIR     meson build dir (default <repo>/build); holds run-container and the probe
  RUNTIME       runtime binary (default BUILD_DIR/run-container, or /usr/bin/crun for crun)
  PROBE         static probe binary (default BUILD_DIR/tests/integration/probe; compiled
                from probe.c into a temp dir when missing)
  AUDIT_MARKERS with RUNTIME_KIND=crun: run the tests marked run_container_only too, to
                find markers no longer needed (a marked test that passes under crun)

crun 1.8.1 refuses this host's hybrid cgroup layout, so for RUNTIME_KIND=crun every call
runs as `unshare -m sh -c 'mount --bind -o ro EMPTY .../unified/cgroup.controllers &&
exec crun --cgroup-manager=disabled "$@"'`: the bind lives in a private mount namespace
that dies with the call, and crun keeps its state on disk under --root.
"""

import contextlib
import copy
import json
import os
import threading
import socket
import select
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KIND = os.environ.get("RUNTIME_KIND", "run-container")
BUILD_DIR = os.environ.get("BUILD_DIR", os.path.join(REPO, "build"))
if KIND == "crun":
    RUNTIME = os.environ.get("RUNTIME", shutil.which("crun") or "/usr/bin/crun")
else:
    RUNTIME = os.environ.get("RUNTIME", os.path.join(BUILD_DIR, "run-container"))
PROBE = os.environ.get("PROBE", os.path.join(BUILD_DIR, "tests", "integration", "probe"))
UNIFIED_CONTROLLERS = "/sys/fs/cgroup/unified/cgroup.controllers"
DEFAULT_TIMEOUT = 30

# Capability numbers from linux/capability.h, for the few names the tests use.
CAPS = {"CAP_CHOWN": 0, "CAP_KILL": 5, "CAP_NET_BIND_SERVICE": 10, "CAP_SYS_ADMIN": 21, "CAP_AUDIT_WRITE": 29}


def pytest_configure(config):
    config.addinivalue_line("markers",
                            "run_container_only(reason): skipped unless RUNTIME_KIND=run-container")


def pytest_collection_modifyitems(config, items):
    for item in items:
        m = item.get_closest_marker("run_container_only")
        if m and KIND != "run-container" and not os.environ.get("AUDIT_MARKERS"):
            reason = m.args[0] if m.args else "tests run-container's own behaviour"
            item.add_marker(pytest.mark.skip(reason=f"run-container only: {reason}"))


def default_config(args):
    """A config like `runc spec` writes, with the probe as the process and no terminal."""
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": list(args),
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                k: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
                for k in ("bounding", "effective", "permitted")
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "probe-host",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                            "/proc/sched_debug", "/proc/scsi", "/sys/firmware"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        },
    }


class Bundle:
    """A bundle directory: rootfs/ (a copy of the session rootfs) and config.json from .config."""

    def __init__(self, path, config):
        self.path = path
        self.config = config
        self.rootfs = os.path.join(path, "rootfs")
        self.save()

    def save(self):
        with open(os.path.join(self.path, "config.json"), "w") as f:
            json.dump(self.config, f, indent=1)

    def add_mount(self, destination, type_, source, options=None):
        m = {"destination": destination, "type": type_, "source": source}
        if options is not None:
            m["options"] = options
        self.config["mounts"].append(m)

    def set_namespace(self, type_, path=None, present=True):
        nss = [n for n in self.config["linux"]["namespaces"] if n["type"] != type_]
        if present:
            nss.append({"type": type_, "path": path} if path else {"type": type_})
        self.config["linux"]["namespaces"] = nss


def runtime_path(kind):
    """The binary for RUNTIME_KIND kind: RUNTIME for the session's own kind, otherwise
    the default (BUILD_DIR/run-container, or Debian's crun)."""
    if kind == KIND:
        return RUNTIME
    if kind == "crun":
        return shutil.which("crun") or "/usr/bin/crun"
    return os.path.join(BUILD_DIR, "run-container")


class Runtime:
    """Runs `RUNTIME --root ROOT ...` and remembers what to clean up. kind (default: the
    session's RUNTIME_KIND) lets a test drive run-container and crun side by side."""

    def __init__(self, workdir, kind=KIND):
        self.workdir = workdir
        self.root = os.path.join(workdir, "root")
        os.mkdir(self.root, 0o700)
        self.kind = kind
        self.binary = runtime_path(kind)
        self.ids = []
        self.procs = []
        self.prefix = self.prefix_for(self.binary)

    def prefix_for(self, binary):
        """The argv that runs `binary` as this kind of runtime (for crun: the wrapper)."""
        if self.kind != "crun":
            return [binary]
        base = [binary, "--cgroup-manager=disabled"]
        if not os.path.exists(UNIFIED_CONTROLLERS):
            return base
        empty = os.path.join(self.workdir, "empty")
        open(empty, "w").close()
        script = (f"mount --bind -o ro {shlex.quote(empty)} {UNIFIED_CONTROLLERS} && "
                  f"exec {' '.join(shlex.quote(a) for a in base)} \"$@\"")
        return ["unshare", "-m", "sh", "-c", script, "sh"]

    def argv(self, *args, global_args=()):
        return self.prefix + list(global_args) + ["--root", self.root] + [str(a) for a in args]

    def new_id(self, tag="c"):
        cid = f"{tag}{uuid.uuid4().hex[:10]}"
        self.ids.append(cid)
        return cid

    def cmd(self, *args, timeout=DEFAULT_TIMEOUT, global_args=(), input=None, **kw):
        """Runs a runtime command to completion; returns CompletedProcess (text)."""
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        kw.setdefault("stdin", subprocess.DEVNULL if input is None else None)
        return subprocess.run(self.argv(*args, global_args=global_args), timeout=timeout, text=True,
                              input=input, **kw)

    def popen(self, *args, global_args=(), **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(self.argv(*args, global_args=global_args), **kw)
        self.procs.append(p)
        return p

    def run(self, bundle, cid=None, extra=(), timeout=DEFAULT_TIMEOUT, **kw):
        """run --bundle; saves bundle.config first, so tests may just edit the dict."""
        bundle.save()
        cid = self.new_id() if cid is None else cid
        return self.cmd("run", "--bundle", bundle.path, *extra, cid, timeout=timeout, **kw)

    def run_probe(self, bundle, extra=()):
        """Runs the bundle (whose process is `/probe [info]`) and returns the parsed JSON."""
        r = self.run(bundle, extra=extra)
        assert r.returncode == 0, f"run failed ({r.returncode}): {r.stderr}"
        return parse_json(r.stdout)

    def create(self, bundle, cid=None, extra=(), out=None, check=True, timeout=DEFAULT_TIMEOUT):
        """create with the container's stdout/stderr sent to files (a pipe would keep
        communicate() waiting for as long as the container lives)."""
        bundle.save()
        cid = self.new_id() if cid is None else cid
        self.ncreate = getattr(self, "ncreate", 0) + 1
        out = out or os.path.join(self.workdir, f"create{self.ncreate}.out")
        err = os.path.join(self.workdir, f"create{self.ncreate}.err")
        with open(out, "w") as fo, open(err, "w") as fe:
            r = self.cmd("create", "--bundle", bundle.path, *extra, cid, stdout=fo, stderr=fe,
                             timeout=timeout)
        with open(err) as fe:
            r.stderr = fe.read()
        if check:
            assert r.returncode == 0, f"create failed ({r.returncode}): {r.stderr}"
        r.cid, r.out = cid, out
        return r

    def state(self, cid):
        r = self.cmd("state", cid)
        assert r.returncode == 0, f"state {cid} failed ({r.returncode}): {r.stderr}"
        return json.loads(r.stdout)

    def wait_status(self, cid, status, timeout=10):
        deadline = time.monotonic() + timeout
        st = None
        while time.monotonic() < deadline:
            st = self.state(cid)
            if st["status"] == status:
                return st
            time.sleep(0.05)
        raise AssertionError(f"{cid} did not reach {status!r}: last state {st}")

    def cleanup(self):
        for cid in self.ids:
            with contextlib.suppress(Exception):
                self.cmd("delete", "--force", cid, timeout=15)
        for p in self.procs:
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                p.wait(timeout=10)


def parse_json(text):
    """Parses the probe's JSON, tolerating \\r\\n from a pty and stray lines around it."""
    text = text.replace("\r", "")
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start < 0:
        raise AssertionError(f"no JSON in output: {text!r}")
    obj, _ = json.JSONDecoder().raw_decode(text[start:])
    return obj


def wait_for(pred, timeout=10, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def pids_with_token(token):
    """Pids whose command line contains token (finds a container's runtime helpers)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            with open(f"/proc/{name}/cmdline", "rb") as f:
                if token.encode() in f.read():
                    found.append(int(name))
    return found


def pids_under(path):
    """Pids whose root or cwd is path or below it (finds a container's processes by rootfs)."""
    path = os.path.realpath(path)
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        for link in ("root", "cwd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{name}/{link}")
                if target == path or target.startswith(path + "/"):
                    found.append(int(name))
                    break
    return found


def pids_holding(path):
    """Pids other than ours with an open fd, root or cwd at path or below it (an init
    waiting for `start` holds its state directory and exec.fifo)."""
    path = os.path.realpath(path)
    found = set(pids_under(path))
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{name}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{name}/fd/{fd}")
                    if target == path or target.startswith(path + "/"):
                        found.add(int(name))
                        break
    found.discard(os.getpid())
    return sorted(found)


def pid_alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def host_ns(name):
    return os.stat(f"/proc/self/ns/{name}").st_ino


def cap_mask(names):
    return sum(1 << CAPS[n] for n in names)


def mount_at(info, mount_point):
    """The last (topmost) mount at mount_point in the probe's mounts, or None."""
    found = [m for m in info["mounts"] if m["mount_point"] == mount_point]
    return found[-1] if found else None


# ---------------------------------------------------------------- fixtures


TEST_TIMEOUT = int(os.environ.get("TEST_TIMEOUT", "120"))


class TestTimeout(Exception):
    pass


@pytest.fixture(autouse=True)
def _per_test_timeout():
    """Fails a test that hangs (say on a blocking read), so teardown still cleans up."""

    def expired(signum, frame):
        raise TestTimeout(f"test took longer than {TEST_TIMEOUT}s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TEST_TIMEOUT)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    yield
    signal.alarm(0)  # the limit is the test's (see pytest_runtest_teardown)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """The time limit ends before the teardown: _per_test_timeout's own teardown comes last,
    so the alarm of a slow test went off in another fixture's teardown and cut it short
    (a workdir left in /tmp, half removed). Each teardown step has its own timeout."""
    signal.alarm(0)
    yield


@pytest.fixture(scope="session")
def root_required():
    if os.geteuid() != 0:
        pytest.skip("needs root: the integration tests create real containers")


@pytest.fixture(scope="session")
def runtime_binary(root_required):
    if not (os.path.isfile(RUNTIME) and os.access(RUNTIME, os.X_OK)):
        pytest.skip(f"runtime binary not found: {RUNTIME} (build it, or set RUNTIME/BUILD_DIR)")
    if KIND == "crun" and not shutil.which("unshare"):
        pytest.skip("needs unshare(1) to wrap crun")
    return RUNTIME


@pytest.fixture(scope="session")
def session_dir():
    d = tempfile.mkdtemp(prefix="rc-it-", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def probe_binary(session_dir, root_required):
    if os.path.isfile(PROBE):
        return PROBE
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe.c")
    out = os.path.join(session_dir, "probe")
    cc = os.environ.get("CC", "cc")
    r = subprocess.run([cc, "-std=gnu11", "-O2", "-static", "-o", out, src], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"no probe binary at {PROBE} and compiling it failed: {r.stderr[-500:]}")
    return out


@pytest.fixture(scope="session")
def base_rootfs(session_dir, probe_binary):
    """The busybox rootfs with /probe, built once per session."""
    if not os.path.exists("/bin/busybox"):
        pytest.skip("needs /bin/busybox (apt-get install busybox-static)")
    rootfs = os.path.join(session_dir, "rootfs")
    script = os.path.join(REPO, "rootfs-examples", "busybox.sh")
    subprocess.run(["bash", script, rootfs], check=True, stdout=subprocess.DEVNULL)
    shutil.copy(probe_binary, os.path.join(rootfs, "probe"))
    os.chmod(os.path.join(rootfs, "probe"), 0o755)
    return rootfs


@pytest.fixture
def workdir(root_required):
    """A short per-test directory (unix socket paths must stay under 108 bytes)."""
    d = tempfile.mkdtemp(prefix="rc-", dir="/tmp")
    os.chmod(d, 0o711)  # a user namespace's root (an unprivileged host uid) must reach the bundle
    yield d
    remove_test_dir(d)


def remove_test_dir(d):
    """Removes a test's directory. A test that failed half-way (a timeout, a killed runtime)
    may leave a container's processes behind: they were started by this test, and hold the
    directory. They are gone before the removal: one killed in the middle of a call (an
    unpack's file creation) still makes that file."""
    pids = pids_holding(d)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(pid_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def rt(runtime_binary, workdir):
    r = Runtime(workdir)
    yield r
    r.cleanup()


@pytest.fixture
def bundle(base_rootfs, workdir):
    """Factory: bundle(args=None, name=None) -> Bundle with the default config."""
    n = [0]

    def make(args=("/probe",), name=None):
        n[0] += 1
        path = os.path.join(workdir, name or f"bundle{n[0]}")
        os.mkdir(path)
        subprocess.run(["cp", "-a", base_rootfs, os.path.join(path, "rootfs")], check=True)
        return Bundle(path, copy.deepcopy(default_config(args)))

    return make


# ---- terminals: the --console-socket end -------------------------------------------------


def read_pty(master, timeout=20):
    """Everything a pty master gives until every holder of its slave side has closed it
    (EIO), or until `timeout` seconds pass."""
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not select.select([master], [], [], 0.2)[0]:
            continue
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data


class ConsoleServer:
    """An AF_UNIX listener that accepts one connection and takes the pty master from it."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.sock.settimeout(20)
        self.master = None
        self.error = None
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        try:
            conn, _ = self.sock.accept()
            with conn:
                _, fds, _, _ = socket.recv_fds(conn, 4096, 4)
                self.master = fds[0] if fds else None
                for extra in fds[1:]:
                    os.close(extra)
        except Exception as e:  # reported by wait_master
            self.error = e

    def wait_master(self):
        self.thread.join(25)
        assert self.master is not None, f"no pty master received: {self.error}"
        return self.master

    def read_all(self, timeout=20):
        """Reads the master until the slave side closes (EIO)."""
        return read_pty(self.master, timeout).decode(errors="replace")

    def close(self):
        self.sock.close()
        if self.master is not None:
            os.close(self.master)


@pytest.fixture
def console(workdir):
    servers = []

    def make():
        s = ConsoleServer(os.path.join(workdir, f"console{len(servers)}.sock"))
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()
