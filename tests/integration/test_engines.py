"""The real engines of Debian 12 with run-container as their OCI runtime: podman (through
--runtime) and a private containerd (through `ctr run --runc-binary`), on an image
imported offline from the busybox example rootfs. podman's own configs for --device,
--privileged, --read-only, --tmpfs, --uidmap and -t -u (issue 14 item 11) run with
run-container and, side by side, with Debian's crun.

The engines run in a private mount namespace (engines/sandbox.py): their state, sockets
and locks stay in temporary directories, and on a host without cgroup v2 the host's
cgroup hierarchies are hidden from them. There, containers run without a cgroup
(podman: --cgroups=disabled and ulimits the host allows; ctr: --cpu-shares 0, since its
default shares are a limit nothing could enforce), and what needs a cgroup (pause,
ps) is skipped with the reason. Under tests/vm (pure cgroup v2) the same tests run with
cgroups and limits. Everything a test starts is stopped by the test, by pid."""

import contextlib
import json
import os
import select
import shutil
import stat
import subprocess
import tempfile
import time

import pytest

from conftest import REPO, RUNTIME, runtime_path
from engines.containerd import Containerd
from engines.podman import Podman, script_argv
from engines.sandbox import Sandbox, cgroup2_host

pytestmark = pytest.mark.run_container_only("drives the engines with the built binary")

IMAGE = "localhost/rc-busybox:latest"
CGROUP_V2 = cgroup2_host()
NO_CGROUP = ("this host has no cgroup v2 (hybrid cgroup v1), so containers get no cgroup and the "
             "freezer and process list that {what} needs do not exist; it runs under tests/vm")


def need(tool, package):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (apt-get install {package})")


@pytest.fixture(scope="module")
def engines_dir(root_required):
    d = tempfile.mkdtemp(prefix="rc-eng-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def sandbox(runtime_binary, engines_dir):
    for tool in ("unshare", "nsenter", "script"):
        need(tool, "util-linux")
    try:
        s = Sandbox(hide_cgroups=not CGROUP_V2)
    except RuntimeError as e:
        pytest.skip(str(e))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def rootfs_tar(engines_dir):
    if not os.path.exists("/bin/busybox"):
        pytest.skip("needs /bin/busybox (apt-get install busybox-static)")
    rootfs = os.path.join(engines_dir, "rootfs")
    subprocess.run(["bash", os.path.join(REPO, "rootfs-examples", "busybox.sh"), rootfs], check=True,
                   stdout=subprocess.DEVNULL)
    tar = os.path.join(engines_dir, "rootfs.tar")
    subprocess.run(["tar", "-C", rootfs, "-cf", tar, "."], check=True)
    return tar


@pytest.fixture(scope="module")
def podman(sandbox, engines_dir, rootfs_tar):
    need("podman", "podman")
    d = os.path.join(engines_dir, "podman")
    os.mkdir(d)
    p = Podman(sandbox, d, RUNTIME, cgroups=CGROUP_V2)
    p.import_rootfs(rootfs_tar, IMAGE)
    yield p
    p.cleanup()


@pytest.fixture(scope="module")
def containerd(sandbox, engines_dir, podman):
    need("containerd", "containerd")
    need("ctr", "containerd")
    archive = os.path.join(engines_dir, "image.oci.tar")
    r = podman("save", "--format", "oci-archive", "-o", archive, IMAGE)
    assert r.returncode == 0, f"podman save: {r.stderr}"
    d = os.path.join(engines_dir, "containerd")
    os.mkdir(d)
    try:
        c = Containerd(sandbox, d)
    except RuntimeError as e:
        pytest.skip(str(e))
    try:
        r = c.ctr("images", "import", archive)
        assert r.returncode == 0, f"ctr images import: {r.stderr}"
        yield c
    finally:
        c.cleanup()
        c.stop()


# ---------------------------------------------------------------- podman


def podman_run(podman, *args, **kw):
    return podman("run", *podman.run_opts(), *args, **kw)


def test_podman_run_rm_echo(podman):
    r = podman_run(podman, "--rm", IMAGE, "echo", "hello from run-container")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello from run-container\n"


@pytest.mark.parametrize("script,status", [("exit 0", 0), ("exit 42", 42)])
def test_podman_exit_codes(podman, script, status):
    r = podman_run(podman, "--rm", IMAGE, "sh", "-c", script)
    assert r.returncode == status, r.stderr


def test_podman_killed_container_status(podman):
    r = podman_run(podman, "-d", IMAGE, "sleep", "600")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    assert podman("kill", "-s", "KILL", cid).returncode == 0
    assert podman("wait", cid).stdout.strip() == "137"
    assert podman("rm", cid).returncode == 0


def test_podman_network_none(podman):
    r = podman_run(podman, "--rm", IMAGE, "ls", "/sys/class/net")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["lo"]


def test_podman_run_interactive_stdin(podman):
    data = "line one\nline two\n"
    r = podman_run(podman, "--rm", "-i", IMAGE, "sh", "-c", "cat; echo end", input=data)
    assert r.returncode == 0, r.stderr
    assert r.stdout == data + "end\n"


def test_podman_logs(podman):
    r = podman_run(podman, "-d", IMAGE, "sh", "-c", "echo to-stdout; echo to-stderr >&2")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    assert podman("wait", cid).stdout.strip() == "0"
    r = podman("logs", cid)
    assert "to-stdout" in r.stdout and "to-stderr" in r.stdout + r.stderr
    assert podman("rm", cid).returncode == 0


@pytest.fixture
def podman_sleeper(podman):
    r = podman_run(podman, "-d", IMAGE, "sh", "-c", "echo started; exec sleep 600")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    yield cid
    podman("rm", "-f", "-t", "0", cid)


def test_podman_detached_exec_stop_rm(podman, podman_sleeper):
    cid = podman_sleeper
    r = podman("exec", cid, "sh", "-c", "echo in-exec; cat /proc/1/cmdline | tr '\\0' ' '; exit 3")
    assert r.returncode == 3, r.stderr
    assert r.stdout.startswith("in-exec\nsleep 600")
    r = podman("exec", "-e", "FOO=bar", "-w", "/tmp", "-u", "1000:1000", cid, "sh", "-c", "echo $FOO $(pwd) $(id -u)")
    assert r.stdout.strip() == "bar /tmp 1000", r.stderr
    r = subprocess.run(script_argv(podman.argv("exec", "-t", cid, "sh", "-c", "tty; echo tty-ok")),
                       capture_output=True, text=True, timeout=120, env=podman.env, stdin=subprocess.DEVNULL)
    out = r.stdout.replace("\r", "")
    assert r.returncode == 0 and "tty-ok" in out, r.stdout + r.stderr
    assert "/dev/pts/" in out
    assert "started" in podman("logs", cid).stdout
    t0 = time.monotonic()
    r = podman("stop", "-t", "2", cid)
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t0 < 60
    state = json.loads(podman("inspect", cid).stdout)[0]["State"]
    assert not state["Running"]
    assert podman("rm", cid).returncode == 0
    assert cid not in podman("ps", "-aq", "--no-trunc").stdout


def test_podman_exec_errors_map_to_status(podman, podman_sleeper):
    # podman reads the runtime's error text to tell "not found" (127) from others
    r = podman("exec", podman_sleeper, "/no/such/binary")
    assert r.returncode == 127, r.stdout + r.stderr
    r = podman("exec", podman_sleeper, "nosuchcommand")
    assert r.returncode == 127, r.stdout + r.stderr


def test_podman_pause_unpause(podman, podman_sleeper):
    if not podman.cgroups:
        pytest.skip(NO_CGROUP.format(what="podman pause"))
    cid = podman_sleeper
    assert podman("pause", cid).returncode == 0
    assert json.loads(podman("inspect", cid).stdout)[0]["State"]["Status"] == "paused"
    assert podman("unpause", cid).returncode == 0
    assert podman("exec", cid, "true").returncode == 0


def test_podman_limits(podman):
    if not podman.cgroups:
        pytest.skip(NO_CGROUP.format(what="-m/--pids-limit/--cpus"))
    r = podman_run(podman, "--rm", "-m", "64m", "--pids-limit", "50", "--cpus", "0.5", IMAGE, "sh", "-c",
                   "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(64 * 1024 * 1024), "50", "50000", "100000"]


# ------------------------------------------- podman's options, with run-container and crun

# Issue 14 item 11: podman's own configs for these options, each run through podman with
# run-container and, side by side, with Debian's crun (the expectation is the field's).
ENGINE_RUNTIMES = ("run-container", "crun")


@pytest.fixture(scope="module", params=ENGINE_RUNTIMES)
def podman_rt(request, sandbox, engines_dir, rootfs_tar):
    """podman with run-container or crun as its runtime (its own storage for each)."""
    need("podman", "podman")
    kind = request.param
    d = os.path.join(engines_dir, f"podman-{kind}")
    os.mkdir(d)
    p = Podman(sandbox, d, runtime_path(kind), cgroups=CGROUP_V2)
    p.import_rootfs(rootfs_tar, IMAGE)
    yield p
    p.cleanup()


def host_cap_bounding():
    with open("/proc/self/status") as f:
        return next(line.split()[1] for line in f if line.startswith("CapBnd:"))


def extra_device():
    """A host device node that podman's default container does not have (/dev/fuse is
    missing where the fuse module is not loaded, as in tests/vm's guest; /dev/kmsg always
    exists with devtmpfs, and is only stat'ed here): (path, "major:minor" in hex)."""
    for path in ("/dev/fuse", "/dev/net/tun", "/dev/kmsg"):
        with contextlib.suppress(OSError):
            st = os.stat(path)
            if stat.S_ISCHR(st.st_mode):
                return path, f"{os.major(st.st_rdev):x}:{os.minor(st.st_rdev):x}"
    return "/dev/kmsg", "1:b"


DEV, DEV_NUMBERS = extra_device()

# option -> (podman run options, shell command, expected stdout)
PODMAN_OPTIONS = {
    "device": (["--device", DEV], f"test -c {DEV} && stat -c %t:%T {DEV}", f"{DEV_NUMBERS}\n"),
    "privileged": (["--privileged"], f"grep CapEff /proc/self/status | cut -f2; test -c {DEV} && echo dev",
                   f"{host_cap_bounding()}\ndev\n"),
    "read-only": (["--read-only"], "touch /f 2>/dev/null || echo root-ro; touch /tmp/f /run/f /var/tmp/f && echo ok",
                  "root-ro\nok\n"),
    "tmpfs": (["--tmpfs", "/x", "--tmpfs", "/etc"],
              "touch /x/f && grep -c ^root: /etc/passwd && grep -E ' /(x|etc) ' /proc/mounts | cut -d' ' -f2,3 | sort",
              "1\n/etc tmpfs\n/x tmpfs\n"),
    "uidmap": (["--uidmap", "0:100000:65536"], "id -u; cat /proc/self/uid_map | tr -s ' '", "0\n 0 100000 65536\n"),
}


@pytest.mark.parametrize("option", PODMAN_OPTIONS)
def test_podman_option(podman_rt, option):
    opts, cmd, want = PODMAN_OPTIONS[option]
    r = podman_run(podman_rt, "--rm", *opts, IMAGE, "sh", "-c", cmd)
    assert (r.returncode, r.stdout) == (0, want), f"podman run {' '.join(opts)} with {podman_rt.runtime}: {r.stderr}"


def test_podman_tty_user_reopens_its_tty(podman_rt):
    """-t -u 1000: the pty belongs to the process user, so the shell can open its tty again."""
    argv = podman_rt.argv("run", *podman_rt.run_opts(), "--rm", "-t", "-u", "1000", IMAGE, "sh", "-c",
                          "stat -c %u $(tty); exec 3<>$(tty) && echo reopened")
    r = subprocess.run(script_argv(argv), capture_output=True, text=True, timeout=120, env=podman_rt.env,
                       stdin=subprocess.DEVNULL)
    out = r.stdout.replace("\r", "")
    assert (r.returncode, out) == (0, "1000\nreopened\n"), f"with {podman_rt.runtime}: {r.stdout}{r.stderr}"


# ---------------------------------------------------------------- containerd


def ctr_run_opts():
    opts = ["--runc-binary", RUNTIME]
    if not CGROUP_V2:
        opts += ["--cpu-shares", "0"]  # ctr's default 1024 is a limit only a cgroup enforces
    return opts


def read_line(f, timeout):
    """One line from the pipe f (binary), or what came before EOF or the timeout."""
    line, deadline = b"", time.monotonic() + timeout
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([f], [], [], left)[0]:
            break
        chunk = os.read(f.fileno(), 1)
        if not chunk:
            break
        line += chunk
    return line


def ctr_job(containerd, *args, line, code):
    """Runs `ctr ARGS... sh -c 'echo LINE; read; exit CODE'`: the job's output reaches ctr,
    its stdin's end reaches the job, and its exit status is ctr's. The job exits only once
    its line came out of ctr: Debian 12's ctr (containerd 1.6) closes its ends of the
    output FIFOs as soon as it hears of the exit, before they are drained (containerd PR
    8643), so a job that prints and exits at once sometimes has its output dropped by ctr,
    with crun as with run-container (seen in CI: empty output of `ctr run`)."""
    p = subprocess.Popen(containerd.ctr_argv(*args, "sh", "-c", f"echo {line}; read -r line; exit {code}"),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        got = read_line(p.stdout, timeout=60)
        assert got.replace(b"\r", b"") == f"{line}\n".encode(), got
        out, err = p.communicate(timeout=60)  # stdin closed: `read` sees its end
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)
    assert p.returncode == code, err.decode(errors="replace") + containerd.log_tail()
    assert out == b""


def test_ctr_run(containerd):
    ctr_job(containerd, "run", "--rm", *ctr_run_opts(), IMAGE, "ctr-run", line="from-ctr", code=5)


@pytest.fixture
def ctr_task(containerd):
    tid = "ctr-sleeper"
    r = containerd.ctr("run", "-d", *ctr_run_opts(), IMAGE, tid, "sleep", "600")
    assert r.returncode == 0, r.stderr + containerd.log_tail()
    yield tid
    containerd.ctr("tasks", "kill", "-s", "SIGKILL", tid, timeout=30)
    containerd.ctr("tasks", "rm", "-f", tid, timeout=60)
    containerd.ctr("containers", "rm", tid, timeout=60)


def test_ctr_detached_exec_kill_rm(containerd, ctr_task):
    ctr_job(containerd, "tasks", "exec", "--exec-id", "e1", ctr_task, line="in-exec", code=4)
    r = containerd.ctr("tasks", "exec", "--exec-id", "e2", ctr_task, "/no/such/binary")
    assert r.returncode != 0
    assert 'exec: "/no/such/binary": no such file or directory' in r.stderr, r.stderr
    assert containerd.ctr("tasks", "kill", "-s", "SIGKILL", ctr_task).returncode == 0
    deadline = time.monotonic() + 30
    while "STOPPED" not in containerd.ctr("tasks", "ls").stdout and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "STOPPED" in containerd.ctr("tasks", "ls").stdout
    assert containerd.ctr("tasks", "rm", ctr_task).returncode == 0
    assert containerd.ctr("containers", "rm", ctr_task).returncode == 0
    assert ctr_task not in containerd.ctr("containers", "ls", "-q").stdout


def test_ctr_task_ps(containerd, ctr_task):
    if not CGROUP_V2:
        pytest.skip(NO_CGROUP.format(what="`ps --format json` (ctr task ps)"))
    r = containerd.ctr("tasks", "ps", ctr_task)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.strip().splitlines()) >= 2  # header and the init


def test_ctr_pause_resume(containerd, ctr_task):
    if not CGROUP_V2:
        pytest.skip(NO_CGROUP.format(what="ctr task pause"))
    assert containerd.ctr("tasks", "pause", ctr_task).returncode == 0
    assert "PAUSED" in containerd.ctr("tasks", "ls").stdout
    assert containerd.ctr("tasks", "resume", ctr_task).returncode == 0
    assert "RUNNING" in containerd.ctr("tasks", "ls").stdout


def test_ctr_runtime_error_reaches_ctr(containerd):
    """The shim reads the runtime's --log-format json log for the error: it must arrive
    word for word."""
    r = containerd.ctr("run", "--rm", *ctr_run_opts(), IMAGE, "ctr-error", "/no/such/binary")
    assert r.returncode != 0
    assert 'OCI runtime create failed: exec: "/no/such/binary": no such file or directory' in r.stderr, \
        r.stderr
    assert "ctr-error" not in containerd.ctr("containers", "ls", "-q").stdout
