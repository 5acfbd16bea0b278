"""A rootless sandbox on a root-owned base (`--rootfs` of a tree root unpacked): its
world-writable /tmp and /var/tmp take the job's files, as a bwrap or podman user expects.

The job's user namespace maps the caller's id only, and overlayfs copies a directory up
with its owner, which must be mapped (else EOVERFLOW, "Value too large for defined data
type", on the first file). The sandbox makes those directories in the upper layer first,
the caller's own with the base's mode (runtime/rootfs/overlay.h upper_dirs); an empty /tmp
is the upper tmpfs's own directory, as for root (private_tmp). What the base holds there
stays visible; nothing reaches the base; other root-owned directories stay closed."""

import os
import shutil
import subprocess

import pytest

from rootless import rl_binary, rl_user, urt  # noqa: F401 (fixtures)
from test_rootless_sandbox import leftovers, sandbox

pytestmark = pytest.mark.run_container_only("run-container's sandbox command")

WRITE = ("stat -c '%a %u' /tmp /var/tmp; echo x > /tmp/f && echo y > /var/tmp/g && cat /tmp/f /var/tmp/g; "
         "ls /tmp; ls /var/tmp; touch /etc/x 2>/dev/null || echo etc-closed")


@pytest.fixture
def root_rootfs(base_rootfs, workdir):
    """A root-owned copy of the session's rootfs with a file in /tmp and /var/tmp."""
    dst = os.path.join(workdir, "rootfs")
    subprocess.run(["cp", "-a", base_rootfs, dst], check=True)
    os.makedirs(os.path.join(dst, "var", "tmp"), exist_ok=True)
    os.chmod(os.path.join(dst, "var", "tmp"), 0o1777)
    st = os.stat(os.path.join(dst, "tmp"))
    assert (st.st_uid, st.st_mode & 0o7777) == (0, 0o1777)
    return dst


def test_empty_tmp_of_a_root_owned_base(urt, root_rootfs):
    r = sandbox(urt, "--rootfs", root_rootfs, "--", "sh", "-c", WRITE)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines() == ["1777 0", "1777 0", "x", "y", "f", "g", "etc-closed"], r.stdout + r.stderr
    assert os.listdir(os.path.join(root_rootfs, "tmp")) == []
    assert os.listdir(os.path.join(root_rootfs, "var", "tmp")) == []
    assert leftovers(urt) == []


def test_base_content_in_tmp_stays_visible(urt, root_rootfs):
    for d in ("tmp", "var/tmp"):
        with open(os.path.join(root_rootfs, d, "base"), "w") as f:
            f.write("from the base\n")
    r = sandbox(urt, "--rootfs", root_rootfs, "--", "sh", "-c", WRITE + "; cat /tmp/base /var/tmp/base")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines() == ["1777 0", "1777 0", "x", "y", "base", "f", "base", "g", "etc-closed",
                                     "from the base", "from the base"], r.stdout + r.stderr
    assert sorted(os.listdir(os.path.join(root_rootfs, "tmp"))) == ["base"]
    assert leftovers(urt) == []


def test_tmp_with_an_upper_on_disk_and_another_user(urt, root_rootfs, workdir):
    upper = os.path.join(workdir, "upper")
    os.mkdir(upper)
    urt.user.chown(upper)
    r = sandbox(urt, "--upper", upper, "-u", "1000:1000", "--rootfs", root_rootfs, "--", "sh", "-c", WRITE)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines() == ["1777 1000", "1777 1000", "x", "y", "f", "g", "etc-closed"], r.stdout
    # the files are in the upper, the caller's; a second job finds them there
    with open(os.path.join(upper, "upper", "tmp", "f")) as f:
        assert f.read() == "x\n"
    assert os.stat(os.path.join(upper, "upper", "var", "tmp", "g")).st_uid == urt.user.uid
    r = sandbox(urt, "--upper", upper, "--rootfs", root_rootfs, "--", "sh", "-c", "cat /tmp/f /var/tmp/g")
    assert r.returncode == 0 and r.stdout == "x\ny\n", r.stdout + r.stderr
    assert leftovers(urt) == []
    shutil.rmtree(upper)
