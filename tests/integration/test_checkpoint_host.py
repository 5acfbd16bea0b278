"""checkpoint/restore on this host, where CRIU itself fails (3.17 on kernel 6.18: "vdso:
Unexpected rt vDSO area bounds"): checkpoint says so in one line, with CRIU's own reason,
and changes nothing. The working paths run in tests/vm (tests/vm/criu_tests.py).

crun 1.8.1 of Debian is built without CRIU (`crun checkpoint` is an unknown command), so
these are run-container only."""

import os
import re
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.run_container_only("Debian's crun 1.8.1 is built without CRIU")


def criu_check_reason():
    """None when `criu check` passes here; else its first error's text."""
    if shutil.which("criu") is None:
        pytest.skip("criu is not installed (tests/install-deps.sh installs it)")
    r = subprocess.run(["criu", "check"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode == 0:
        return None
    for line in r.stdout.splitlines():
        m = re.search(r"Error \([^)]*\): (.*)", line)
        if m and "tun.c" not in line:
            return m.group(1).strip()
    return r.stdout.strip().splitlines()[0]


def running(rt, bundle):
    b = bundle(["/bin/sh", "-c", "exec sleep 1000"])
    cid = rt.create(b).cid
    r = rt.cmd("start", cid)
    assert r.returncode == 0, r.stderr
    return b, cid


def test_checkpoint_where_criu_fails_says_why_and_changes_nothing(rt, bundle, workdir):
    reason = criu_check_reason()
    if reason is None:
        pytest.skip("criu check passes on this host: the failure path needs a kernel CRIU refuses")
    _, cid = running(rt, bundle)
    before = rt.state(cid)
    img = os.path.join(workdir, "img")
    r = rt.cmd("checkpoint", "--image-path", img, cid, timeout=120)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f'run-container: checkpoint container "{cid}": criu: '), lines[0]
    assert reason in lines[0], f"CRIU's reason {reason!r} not in {lines[0]!r}"
    assert not os.path.exists(img), "the image directory made for the dump was left"
    after = rt.state(cid)
    assert after["status"] == "running" and after["pid"] == before["pid"]


def test_checkpoint_into_an_existing_directory_keeps_it(rt, bundle, workdir):
    if criu_check_reason() is None:
        pytest.skip("criu check passes on this host")
    _, cid = running(rt, bundle)
    img = os.path.join(workdir, "mine")
    os.mkdir(img)
    with open(os.path.join(img, "keep"), "w") as f:
        f.write("x")
    r = rt.cmd("checkpoint", "--image-path", img, cid, timeout=120)
    assert r.returncode != 0
    assert os.path.exists(os.path.join(img, "keep")), "a directory of the user's lost its content"
    assert rt.state(cid)["status"] == "running"


@pytest.mark.parametrize("flags,msg", [
    (["--lazy-pages"], "--lazy-pages needs --page-server ADDRESS:PORT"),
    (["--lazy-pages", "--pre-dump", "--page-server", "127.0.0.1:1"], "--lazy-pages and --pre-dump"),
    (["--status-fd", "x"], 'invalid --status-fd "x"'),
    (["--status-fd", "99", "--lazy-pages", "--page-server", "127.0.0.1:1"], "--status-fd 99: Bad file descriptor"),
    (["--empty-ns", "pid"], 'invalid --empty-ns "pid": only "network" is supported'),
    (["--manage-cgroups-mode", "loose"], 'invalid --manage-cgroups-mode "loose"'),
    (["--parent-path", "/abs"], '--parent-path "/abs": must be relative'),
    (["--page-server", "nowhere"], '--page-server "nowhere": expected ADDRESS:PORT'),
])
def test_checkpoint_bad_flags(rt, bundle, workdir, flags, msg):
    _, cid = running(rt, bundle)
    img = os.path.join(workdir, "img")
    r = rt.cmd("checkpoint", "--image-path", img, *flags, cid, timeout=120)
    assert r.returncode != 0
    assert msg in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not os.path.exists(img)
    assert rt.state(cid)["status"] == "running"


def test_checkpoint_of_a_missing_container(rt, workdir):
    img = os.path.join(workdir, "img")
    r = rt.cmd("checkpoint", "--image-path", img, "nosuch")
    assert r.returncode != 0 and 'container "nosuch" does not exist' in r.stderr, r.stderr
    assert not os.path.exists(img)


def test_restore_from_a_missing_image_leaves_nothing(rt, bundle, workdir):
    b = bundle(["/bin/sh", "-c", "exec sleep 1000"])
    b.save()
    img = os.path.join(workdir, "nope")
    r = rt.cmd("restore", "--detach", "--bundle", b.path, "--image-path", img, "ghost", timeout=60)
    assert r.returncode != 0
    assert len(r.stderr.strip().splitlines()) == 1 and img in r.stderr and "No such file" in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(rt.root, "ghost")), "restore left a state directory"
    assert rt.cmd("list", "-q").stdout.strip() == ""


def test_migrate_of_a_missing_or_stopped_container_makes_nothing(rt, bundle, workdir):
    dest = os.path.join(workdir, "dest-root")
    r = rt.cmd("migrate", "--to", dest, "nosuch")
    assert r.returncode != 0 and "does not exist" in r.stderr, r.stderr
    assert not os.path.exists(dest)
    cid = rt.create(bundle(["/probe", "sleep", "60"])).cid  # created, never started
    r = rt.cmd("migrate", "--to", dest, cid)
    assert r.returncode != 0 and "not running" in r.stderr, r.stderr
    assert not os.path.exists(dest)
    rt.cmd("delete", "--force", cid)


def test_migrate_to_the_source_root_by_another_spelling(rt, bundle, workdir):
    cid = rt.create(bundle(["/probe", "sleep", "60"])).cid
    for spelling in (rt.root + "/", rt.root + "/."):
        r = rt.cmd("migrate", "--to", spelling, cid)
        assert r.returncode != 0 and "is the source's state root" in r.stderr, (spelling, r.stderr)
    rt.cmd("delete", "--force", cid)


def test_restore_lazy_pages_from_an_image_without_a_page_server_leaves_nothing(rt, bundle, workdir):
    """restore --lazy-pages needs the page server that checkpoint --lazy-pages recorded in
    the image: from another image it fails in one line, before any criu runs."""
    b = bundle(["/bin/sh", "-c", "exec sleep 1000"])
    b.save()
    img = os.path.join(workdir, "plain")
    os.mkdir(img)
    r = rt.cmd("restore", "--detach", "--lazy-pages", "--bundle", b.path, "--image-path", img, "lazy", timeout=60)
    assert r.returncode != 0
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1 and "checkpoint --lazy-pages" in err and img in err, err
    assert not os.path.exists(os.path.join(rt.root, "lazy")), "restore left a state directory"
    assert os.listdir(img) == [], os.listdir(img)


def _pagemap(pages_id, nr_pages):
    """A CRIU pagemap image: the two magics, a head {pages_id}, one present entry."""
    import struct

    def varint(v):
        out = b""
        while True:
            out += bytes([(v & 0x7F) | (0x80 if v > 0x7F else 0)])
            v >>= 7
            if not v:
                return out

    def rec(*kv):
        msg = b"".join(varint(k << 3) + varint(v) for k, v in kv)
        return struct.pack("<I", len(msg)) + msg
    return (struct.pack("<II", 0x54564319, 0x56084025) + rec((1, pages_id)) +
            rec((1, 0x400000), (2, nr_pages), (4, 1 << 2)))


def test_restore_from_truncated_pages_names_the_file_before_criu_runs(rt, bundle, workdir):
    """CRIU 3.17 loops for ever on a pages image shorter than its pagemap: restore checks
    first (no CRIU needed to see it), in one line, and leaves nothing."""
    b = bundle(["/bin/sh", "-c", "exec sleep 1000"])
    b.save()
    img = os.path.join(workdir, "short")
    os.mkdir(img)
    with open(os.path.join(img, "pagemap-1.img"), "wb") as f:
        f.write(_pagemap(3, 4))
    with open(os.path.join(img, "pages-3.img"), "wb") as f:
        f.write(b"\0" * 4096 * 2)
    r = rt.cmd("restore", "--detach", "--bundle", b.path, "--image-path", img, "short", timeout=60)
    assert r.returncode != 0
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1 and "pages-3.img is truncated" in err and "pagemap-1.img names 4 pages" in err, err
    assert not os.path.exists(os.path.join(rt.root, "short")), "restore left a state directory"
