"""`sandbox` for an unprivileged user (rootless.py's rc-rootless): the rootless default
spec (the job's root is the caller), the overlay mounted inside the user namespace, the
image cache under the user's own $HOME/.local/share, a build, limits that need a
delegated cgroup, kill -9 then gc, and pasta for its network."""

import contextlib
import os
import random
import signal
import socket
import subprocess
import tarfile
import time

import pytest

from conftest import REPO, pid_alive, pids_with_token, wait_for
from rootless import UserRuntime, rl_binary, rl_user, tun_node, urt  # noqa: F401 (fixtures)

pytestmark = pytest.mark.run_container_only("run-container's sandbox command")

DEBIAN = os.environ.get("RC_TEST_DEBIAN_BUILD_LAYOUT", "/var/tmp/images/debian")


@pytest.fixture(scope="module")
def busybox_layout(session_dir, rl_binary):
    """The busybox image layout, readable by the user (rl_binary opened session_dir)."""
    path = os.path.join(session_dir, "rl-busybox-layout")
    if not os.path.exists(path):
        subprocess.run(["bash", os.path.join(REPO, "rootfs-examples", "busybox-image.sh"), path], check=True,
                       capture_output=True)
        subprocess.run(["chmod", "-R", "a+rX", path], check=True)
    return path


def sandbox(rt, *args, timeout=120, **kw):
    return rt.cmd("sandbox", *args, timeout=timeout, **kw)


def leftovers(rt):
    found = []
    if os.path.isdir(rt.root):
        found += [e for e in os.listdir(rt.root) if e not in ("@sandbox", "@seccomp-cache")]
        sdir = os.path.join(rt.root, "@sandbox")
        if os.path.isdir(sdir):
            found += [f"@sandbox/{e}" for e in os.listdir(sdir)]
    with open("/proc/self/mountinfo") as f:
        found += [f"mount {line.split()[4]}" for line in f if rt.root in line]
    return found


def test_rootfs_job_as_the_user(urt, base_rootfs):
    r = sandbox(urt, "--rootfs", base_rootfs, "--", "sh", "-c",
                "echo built > /out && cat /out && id -u && cat /proc/self/uid_map && grep ' / ' /proc/self/mounts")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "built" and lines[1] == "0", r.stdout
    assert lines[2].split() == ["0", str(urt.user.uid), "1"], r.stdout
    assert "overlay" in lines[3], r.stdout  # the overlay, mounted in the job's user namespace
    assert not os.path.exists(os.path.join(base_rootfs, "out"))
    assert sandbox(urt, "--rootfs", base_rootfs, "--", "sh", "-c", "exit 7").returncode == 7
    assert leftovers(urt) == []



def test_job_as_another_user(urt, busybox_layout):
    """--user N: the one id a rootless sandbox maps is the caller's, given to N (bwrap's
    --uid): the job runs as N, without capabilities, and owns what the caller owns (the
    image the caller unpacked: its /tmp is writable)."""
    r = sandbox(urt, "--image", busybox_layout, "-u", "1000:1001", "-w", "/tmp", "--", "sh", "-c",
                "id -u; id -g; cat /proc/self/uid_map; cat /proc/self/gid_map; "
                "echo x > f && stat -c %u:%g f; grep CapEff /proc/self/status")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0:2] == ["1000", "1001"], r.stdout
    assert lines[2].split() == ["1000", str(urt.user.uid), "1"], r.stdout
    assert lines[3].split() == ["1001", str(urt.user.gid), "1"], r.stdout
    assert lines[4] == "1000:1001", (r.stdout, r.stderr)
    assert lines[5].split()[1] == "0000000000000000", r.stdout
    # without --user the job is root, as before
    r = sandbox(urt, "--image", busybox_layout, "--", "sh", "-c", "id -u; cat /proc/self/uid_map")
    assert r.returncode == 0 and r.stdout.split() == ["0", "0", str(urt.user.uid), "1"], r.stdout + r.stderr
    assert leftovers(urt) == []

def test_commit_records_the_owners_the_job_saw(urt, busybox_layout):
    """A rootless job's files are the caller's on the host (its one mapped id); the layer
    --commit writes records them as the job saw them: root's, or --user's (before: the
    caller's host uid and gid: the image, run by root or elsewhere, had the job's files
    owned by a stranger)."""
    from test_image import layer_digests
    dest = os.path.join(urt.home, "committed")
    for user, want in ((None, (0, 0)), ("1000:1001", (1000, 1001))):
        args = ["-u", user, "-w", "/tmp"] if user else []
        r = sandbox(urt, "--image", busybox_layout, *args, "--commit", f"{dest}:v", "--", "sh", "-c",
                    "echo made > /tmp/made && mkdir /tmp/d")
        assert r.returncode == 0, r.stderr
        with tarfile.open(os.path.join(dest, "blobs", "sha256", layer_digests(dest, "v")[-1].split(":")[1])) as tar:
            owners = {m.name: (m.uid, m.gid) for m in tar.getmembers()}
        assert owners["tmp/made"] == want and owners["tmp/d"] == want, owners
    r = sandbox(urt, "--image", f"{dest}:v", "--", "cat", "/tmp/made")
    assert r.returncode == 0 and r.stdout == "made\n", r.stderr


def test_image_cache_is_the_users(urt, busybox_layout):
    r = sandbox(urt, "--image", busybox_layout, "--", "sh", "-c", "echo hello")
    assert r.returncode == 0 and r.stdout == "hello\n", r.stderr
    cache = os.path.join(urt.home, ".local", "share", "run-container", "layers")
    layers = os.listdir(os.path.join(cache, "sha256"))
    assert len(layers) == 1
    assert os.stat(os.path.join(cache, "sha256", layers[0])).st_uid == urt.user.uid
    r = urt.cmd("image", "ls")
    assert r.returncode == 0 and f"sha256:{layers[0]}" in r.stdout, r.stdout + r.stderr
    assert urt.cmd("image", "prune").returncode == 0
    assert os.listdir(os.path.join(cache, "sha256")) == []


def test_a_build(urt, base_rootfs, workdir):
    """A job builds from a read-only bind of a source tree into a tmpfs; with the Debian
    image of rootfs-examples/debian-image.sh (INCLUDE=gcc,...) a C program too."""
    src = os.path.join(workdir, "src")
    os.mkdir(src)
    with open(os.path.join(src, "build.sh"), "w") as f:
        f.write("set -e\nfor i in 1 2 3; do echo part$i > part$i; done\ncat part* > result\nwc -l < result\n")
    with open(os.path.join(src, "m.c"), "w") as f:
        f.write("int main(void) { return 42; }\n")
    os.chmod(src, 0o755)
    r = sandbox(urt, "--rootfs", base_rootfs, "-v", f"{src}:/src:ro", "--tmpfs", "/build", "-w", "/build", "--",
                "sh", "-c", "cp /src/build.sh . && sh build.sh")
    assert r.returncode == 0 and r.stdout.strip() == "3", r.stdout + r.stderr
    if not os.path.exists(os.path.join(DEBIAN, "index.json")):
        pytest.skip(f"the C build needs the Debian image with gcc at {DEBIAN} (INCLUDE=gcc,make,libc6-dev "
                    "rootfs-examples/debian-image.sh, or RC_TEST_DEBIAN_BUILD_LAYOUT)")
    r = sandbox(urt, "--image", DEBIAN, "-v", f"{src}:/src:ro", "--tmpfs", "/build", "-w", "/build", "--",
                "sh", "-c", "command -v gcc || exit 99; gcc -o m /src/m.c && ./m", timeout=300)
    if r.returncode == 99:
        pytest.skip(f"no gcc in {DEBIAN}")
    assert r.returncode == 42, r.stdout + r.stderr
    assert leftovers(urt) == []


def test_limits_need_a_delegated_cgroup(urt, base_rootfs):
    r = sandbox(urt, "--rootfs", base_rootfs, "-m", "64m", "--", "true")
    assert r.returncode == 125 and "--cgroup-manager=disabled" in r.stderr, r.stderr
    r = urt.cmd("sandbox", "--rootfs", base_rootfs, "-m", "64m", "--", "true",
                global_args=("--cgroup-manager=disabled",))
    assert r.returncode == 0 and "not enforced" in r.stderr, r.stderr
    assert leftovers(urt) == []


def test_kill_minus_9_then_gc(urt, base_rootfs):
    rnd = random.Random(os.getpid())
    marker = f"27.{os.getpid()}"
    for i in range(8):
        p = urt.popen("sandbox", "--rootfs", base_rootfs, "--", "sleep", marker,
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0, 0.3))
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
    r = urt.cmd("gc", timeout=120)
    assert r.returncode == 0, r.stderr

    def clean():
        # a job's init still dying (a loaded machine) holds its journal: gc leaves such
        # a sandbox to the next gc, as it leaves a live one
        if leftovers(urt) == []:
            return True
        assert urt.cmd("gc", timeout=120).returncode == 0
        return False

    wait_for(clean, timeout=30, interval=0.5, what=f"no leftovers (have {leftovers(urt)})")
    wait_for(lambda: all(not pid_alive(p) for p in pids_with_token(marker)), timeout=30, what="no job left")


def test_published_port_through_pasta(rl_user, rl_binary, workdir, base_rootfs):
    if not os.path.exists("/usr/bin/pasta"):
        pytest.skip("needs /usr/bin/pasta (apt-get install passt)")
    rt = UserRuntime(workdir, rl_user, rl_binary, tun=tun_node(workdir))
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        p = rt.popen("sandbox", "--rootfs", base_rootfs, "--net", "pasta", "-p", f"{port}:8080", "--",
                     "sh", "-c", "echo hello-from-job | nc -l -p 8080", stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)

        def answer():
            assert p.poll() is None, p.communicate()
            with contextlib.suppress(OSError):
                with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
                    return c.recv(100)
            return None

        assert b"hello-from-job" in wait_for(answer, timeout=20, interval=0.2, what="the job's port")
        assert p.wait(timeout=30) == 0, p.communicate()
        assert [q for q in pids_with_token(f"{rt.root}/") if pid_alive(q)] == []  # pasta stopped
        assert leftovers(rt) == []
    finally:
        rt.cleanup()
