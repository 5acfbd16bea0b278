"""The sandbox's /tmp (issue 20 item 3): a directory of the upper layer's tmpfs bound on
/tmp, not a directory written through overlayfs (runtime/rootfs/overlay.h private_tmp).

It must change nothing a job can see but the mount itself: the base's mode, an empty
directory (so only when the base's /tmp is empty: a base with files there keeps them
through the overlay), the upper's size limit shared with the rest of the root, nothing
on the host; not with --upper, --commit or --read-only (the changes are kept there or
there are none), and not under a --tmpfs or -v of /tmp (theirs is the only /tmp).
"""

import os
import shutil
import subprocess

import pytest

from rootless import rl_binary, rl_user, urt  # noqa: F401 (fixtures)
from test_rootless_sandbox import busybox_layout  # noqa: F401 (fixture)
from test_sandbox import leftovers, sb  # noqa: F401 (fixture)

pytestmark = pytest.mark.run_container_only("sandbox is run-container's own command")

# the filesystem type and options of the mount on /tmp, if any (busybox sh and awk)
TMP_MOUNTS = "awk '$5 == \"/tmp\" {print $9}' /proc/self/mountinfo"


def tmp_mounts(sb, *args, rootfs=None):
    extra = ["--rootfs", rootfs] if rootfs else []
    r = sb.run(*extra, *args, "--", "sh", "-c", TMP_MOUNTS, rootfs=rootfs is None)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


@pytest.fixture
def own_rootfs(base_rootfs, tmp_path):
    """A copy of the session's rootfs, to change its /tmp."""
    dst = str(tmp_path / "rootfs")
    subprocess.run(["cp", "-a", base_rootfs, dst], check=True)
    return dst


def test_tmp_is_the_upper_tmpfs_with_the_base_mode(sb, rt, base_rootfs):
    assert oct(os.stat(os.path.join(base_rootfs, "tmp")).st_mode & 0o7777) == "0o1777"
    assert tmp_mounts(sb) == ["tmpfs"]
    r = sb.run("--", "sh", "-c", "stat -c '%a %u %g' /tmp; ls -A /tmp | wc -l; "
               "echo x > /tmp/f && cat /tmp/f && su -s /bin/sh nobody -c 'echo y > /tmp/g' 2>&1; "
               "ls -l /tmp/g | awk '{print $3}'")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:5] == ["1777 0 0", "0", "x", "nobody", ""], r.stdout
    # nothing reached the base, nothing is left on the host
    assert os.listdir(os.path.join(base_rootfs, "tmp")) == []
    assert leftovers(rt) == []


def test_tmp_shares_the_upper_size(sb):
    # 8 MiB for the whole root: /tmp cannot take more, and what it takes the rest lacks
    r = sb.run("--upper-size", "8m", "--", "sh", "-c", "dd if=/dev/zero of=/tmp/a bs=1M count=16")
    assert r.returncode != 0 and "No space left" in r.stderr, r.stderr
    r = sb.run("--upper-size", "8m", "--", "sh", "-c",
               "dd if=/dev/zero of=/tmp/a bs=1M count=6 2>/dev/null && dd if=/dev/zero of=/b bs=1M count=4")
    assert r.returncode != 0 and "No space left" in r.stderr, r.stderr
    r = sb.run("--upper-size", "8m", "--", "sh", "-c",
               "dd if=/dev/zero of=/tmp/a bs=1M count=3 2>/dev/null && dd if=/dev/zero of=/b bs=1M count=3 2>/dev/null")
    assert r.returncode == 0, r.stderr


def test_a_base_with_files_in_tmp_keeps_them(sb, own_rootfs):
    with open(os.path.join(own_rootfs, "tmp", "from-base"), "w") as f:
        f.write("base\n")
    assert tmp_mounts(sb, rootfs=own_rootfs) == []
    r = sb.run("--rootfs", own_rootfs, "--", "sh", "-c", "cat /tmp/from-base; echo x > /tmp/new", rootfs=False)
    assert r.returncode == 0 and r.stdout == "base\n", (r.stdout, r.stderr)
    assert sorted(os.listdir(os.path.join(own_rootfs, "tmp"))) == ["from-base"]


def test_a_base_tmp_of_another_mode_is_kept(sb, own_rootfs):
    os.chmod(os.path.join(own_rootfs, "tmp"), 0o750)
    assert tmp_mounts(sb, rootfs=own_rootfs) == ["tmpfs"]
    r = sb.run("--rootfs", own_rootfs, "--", "stat", "-c", "%a", "/tmp", rootfs=False)
    assert r.returncode == 0 and r.stdout == "750\n", (r.stdout, r.stderr)


@pytest.mark.parametrize("shape", ["symlink", "missing", "file"])
def test_a_base_tmp_that_is_no_directory_is_left_alone(sb, own_rootfs, shape):
    tmp = os.path.join(own_rootfs, "tmp")
    shutil.rmtree(tmp)
    if shape == "symlink":
        os.makedirs(os.path.join(own_rootfs, "var", "tmp"), exist_ok=True)
        os.symlink("var/tmp", tmp)
    elif shape == "file":
        with open(tmp, "w") as f:
            f.write("a file\n")
    assert tmp_mounts(sb, rootfs=own_rootfs) == []
    r = sb.run("--rootfs", own_rootfs, "--", "sh", "-c", "ls -ld /tmp | cut -c1", rootfs=False)
    want = {"symlink": "l\n", "missing": "", "file": "-\n"}[shape]
    assert r.stdout == want, (r.stdout, r.stderr)


def test_tmpfs_or_volume_on_tmp_is_the_only_tmp(sb, tmp_path):
    assert tmp_mounts(sb, "--tmpfs", "/tmp:size=2m") == ["tmpfs"]
    r = sb.run("--tmpfs", "/tmp/:size=2m", "--", "df", "-k", "/tmp")
    assert r.returncode == 0 and r.stdout.split("\n")[1].split()[1] == "2048", r.stdout
    host = tmp_path / "vol"
    host.mkdir()
    r = sb.run("-v", f"{host}:/tmp", "--", "sh", "-c", f"{TMP_MOUNTS}; echo v > /tmp/v")
    # one mount on /tmp, the volume: the write went to the host's directory
    assert r.returncode == 0 and len(r.stdout.split()) == 1, (r.stdout, r.stderr)
    assert (host / "v").read_text() == "v\n"


def test_volume_below_tmp_lands_in_it(sb, tmp_path):
    host = tmp_path / "sub"
    host.mkdir()
    (host / "in").write_text("host\n")
    r = sb.run("-v", f"{host}:/tmp/sub:ro", "--", "sh", "-c", "cat /tmp/sub/in; echo x > /tmp/x && echo ok")
    assert r.returncode == 0 and r.stdout == "host\nok\n", (r.stdout, r.stderr)


def test_upper_dir_keeps_tmp_in_the_overlay(sb, tmp_path):
    upper = tmp_path / "keep"
    upper.mkdir()
    assert tmp_mounts(sb, "--upper", str(upper)) == []
    r = sb.run("--upper", str(upper), "--", "sh", "-c", "echo kept > /tmp/k")
    assert r.returncode == 0, r.stderr
    assert (upper / "upper" / "tmp" / "k").read_text() == "kept\n"


def test_read_only_has_no_writable_tmp(sb):
    assert tmp_mounts(sb, "--read-only") == []
    r = sb.run("--read-only", "--", "sh", "-c", "echo x > /tmp/x")
    assert r.returncode != 0 and "Read-only file system" in r.stderr, r.stderr


def test_rootless_image_job_gets_the_upper_tmp(urt, busybox_layout):
    """For a user, layers unpacked by that user: their /tmp is the user's (the job's root),
    so the init, root of the job's user namespace, makes the same directory."""
    r = urt.cmd("sandbox", "--image", busybox_layout, "--net", "host", "--", "sh", "-c",
                f"{TMP_MOUNTS}; stat -c '%a %u' /tmp; echo x > /tmp/x && cat /tmp/x", timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:3] == ["tmpfs", "1777 0", "x"], r.stdout


def test_rootless_base_of_another_owner_gets_the_callers_tmp(urt, base_rootfs):
    # the session's rootfs is root's, an id the job's user namespace does not map: its
    # empty world-writable /tmp becomes the upper tmpfs's, the caller's (the job's root),
    # which takes files (test_rootless_sandbox_tmp.py)
    r = urt.cmd("sandbox", "--rootfs", base_rootfs, "--net", "host", "--", "sh", "-c",
                f"{TMP_MOUNTS}; stat -c '%u %a' /tmp", timeout=120)
    assert r.returncode == 0 and r.stdout == "tmpfs\n0 1777\n", (r.stdout, r.stderr)
