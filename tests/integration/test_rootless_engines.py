"""podman rootless (`podman --runtime RUNTIME` run by rootless.py's unprivileged user),
with run-container and, side by side, Debian's crun.

podman runs only inside engines/sandbox.py's private mount namespace (the host's cgroup
hierarchies hidden, /run and /dev/shm fresh tmpfs), set up as root; each podman command
then drops to the user there (setpriv), with its XDG_RUNTIME_DIR on that /run, its
storage (vfs) and containers.conf in a directory it owns. Rootless podman makes its own
user namespace (the user's /etc/subuid and /etc/subgid ranges through newuidmap) and calls
the runtime as that namespace's root: run-container keeps its state under
$XDG_RUNTIME_DIR/run-container there too, as runc and crun do. No network (the host's
/dev/net/tun is 0600) and no cgroup (this host has no cgroup v2)."""

import os
import shutil
import signal
import subprocess

import pytest

from conftest import REPO, runtime_path
from engines.podman import CONF
from engines.sandbox import Sandbox
from rootless import USER_PATH, rl_binary, rl_user  # noqa: F401 (fixtures)

pytestmark = pytest.mark.run_container_only("drives podman with both runtimes itself")

IMAGE = "localhost/rc-rl-busybox:latest"
RUN_OPTS = ["--pull", "never", "--network", "none", "--cgroups=disabled", "--ulimit", "nofile=1024:1024",
            "--ulimit", "nproc=1024:1024"]


class RootlessPodman:
    def __init__(self, sandbox, user, workdir, runtime):
        self.sandbox = sandbox
        self.dir = workdir
        name = os.path.basename(runtime)
        os.makedirs(os.path.join(workdir, "tmp"))
        conf = os.path.join(workdir, "containers.conf")
        with open(conf, "w") as f:
            f.write(CONF.format(name=name, dir=workdir, runtime=runtime))
        user.chown(workdir)
        xdg = f"/run/user/{user.uid}"
        r = sandbox.run(["sh", "-c", f"mkdir -p {xdg} && chown {user.uid}:{user.gid} {xdg} && chmod 700 {xdg}"])
        assert r.returncode == 0, r.stderr
        self.base = user.setpriv() + ["env", "-i", f"PATH={USER_PATH}", f"HOME={workdir}", f"XDG_RUNTIME_DIR={xdg}",
                                      f"CONTAINERS_CONF={conf}", "podman", "--root", os.path.join(workdir, "root"),
                                      "--runroot", os.path.join(xdg, "runroot"), "--storage-driver", "vfs",
                                      "--runtime", runtime]

    def __call__(self, *args, timeout=120, **kw):
        return self.sandbox.run(self.base + list(args), timeout=timeout, **kw)

    def stop_pause_process(self):
        """Rootless podman keeps a pause process (holding its user namespace) for later
        commands, reparented to PID 1; its pid file is in the tmp_dir containers.conf
        names (DIR/tmp). Without this, every run of this file left two behind."""
        try:
            with open(os.path.join(self.dir, "tmp", "pause.pid")) as f:
                pid = int(f.read().strip())
        except (FileNotFoundError, ValueError):
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def rl_engines_dir(rl_user, runtime_binary, session_dir):
    for tool in ("podman", "unshare", "nsenter"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool}")
    d = os.path.join(session_dir, "rl-engines")
    os.mkdir(d, 0o755)
    return d


@pytest.fixture(scope="module")
def rl_sandbox(rl_engines_dir):
    try:
        s = Sandbox(hide_cgroups=True)
    except RuntimeError as e:
        pytest.skip(str(e))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def rl_tar(rl_engines_dir):
    rootfs = os.path.join(rl_engines_dir, "rootfs")
    subprocess.run(["bash", os.path.join(REPO, "rootfs-examples", "busybox.sh"), rootfs], check=True,
                   stdout=subprocess.DEVNULL)
    tar = os.path.join(rl_engines_dir, "rootfs.tar")
    subprocess.run(["tar", "-C", rootfs, "-cf", tar, "."], check=True)
    os.chmod(tar, 0o644)
    return tar


@pytest.fixture(scope="module", params=["run-container", "crun"])
def rl_podman(request, rl_sandbox, rl_user, rl_binary, rl_engines_dir, rl_tar):
    runtime = rl_binary if request.param == "run-container" else runtime_path("crun")
    p = RootlessPodman(rl_sandbox, rl_user, os.path.join(rl_engines_dir, request.param), runtime)
    r = p("import", rl_tar, IMAGE)
    assert r.returncode == 0, f"podman import: {r.stderr}"
    yield p
    r = p("ps", "-aq", timeout=60)
    if r.returncode == 0 and r.stdout.split():
        p("rm", "-f", "-t", "0", *r.stdout.split(), timeout=120)
    p.stop_pause_process()


def test_run_maps_the_users_ranges(rl_podman, rl_user):
    r = rl_podman("run", "--rm", *RUN_OPTS, IMAGE, "sh", "-c", "id -u; cat /proc/self/uid_map")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[0] == "0"
    assert lines[1].split() == ["0", str(rl_user.uid), "1"], r.stdout
    assert lines[2].split() == ["1", str(rl_user.subuid), "65536"], r.stdout


def test_exit_status_exec_stop_rm(rl_podman):
    r = rl_podman("run", "--rm", *RUN_OPTS, IMAGE, "sh", "-c", "exit 42")
    assert r.returncode == 42, r.stderr
    r = rl_podman("run", "-d", "--name", "rl1", *RUN_OPTS, IMAGE, "sleep", "600")
    assert r.returncode == 0, r.stderr
    try:
        r = rl_podman("exec", "rl1", "sh", "-c", "echo exec-ok; id -u")
        assert r.returncode == 0 and r.stdout.split() == ["exec-ok", "0"], r.stdout + r.stderr
        r = rl_podman("exec", "--user", "1000", "rl1", "id", "-u")
        assert r.returncode == 0 and r.stdout.strip() == "1000", r.stdout + r.stderr
        assert rl_podman("stop", "-t", "1", "rl1").returncode == 0
        r = rl_podman("inspect", "--format", "{{.State.Status}}", "rl1")
        assert r.stdout.strip() == "exited", r.stdout + r.stderr
    finally:
        assert rl_podman("rm", "-f", "rl1").returncode == 0
