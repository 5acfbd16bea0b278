"""gc and the leftovers of a killed `migrate` (ROOT/@migrate-ID.*, runtime/container/migrate_gc.c)
where no CRIU is needed: the work directories are made here as a migrate or a
migrate-receive leaves them (the record, the lock, the markers); the kills themselves
and the restores run in tests/vm/criu_robust_tests.py.

run-container only: crun has no migrate."""

import fcntl
import json
import os
import subprocess
import time

import pytest

pytestmark = pytest.mark.run_container_only("crun has no migrate (and no gc)")


def leftover(root, cid, record=None, old=True, files=()):
    """A work directory as a dead migrate (record) or migrate-receive (no record) leaves it."""
    os.makedirs(root, exist_ok=True)
    path = os.path.join(root, f"@migrate-{cid}.Ab12Cd")
    os.mkdir(path, 0o700)
    if record is not None:
        with open(os.path.join(path, "migrate.json"), "w") as f:
            json.dump(record, f)
    for name in files:
        os.makedirs(os.path.dirname(os.path.join(path, name)), exist_ok=True)
        open(os.path.join(path, name), "w").close()
    if old:
        t = time.time() - 3600
        os.utime(path, (t, t))
    return path


def record(rt, cid, dest, bundle="/nonexistent-bundle"):
    return {"id": cid, "source": os.path.realpath(rt.root), "destination": dest, "bundle": bundle,
            "tcpEstablished": False, "extUnixSk": False, "fileLocks": False}


@pytest.fixture
def dest(workdir):
    return os.path.join(workdir, "dest-root")


def run_gc(rt, root):
    return subprocess.run(rt.prefix + ["--root", root, "gc"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=60)


def test_a_dead_receivers_directory_goes_and_a_live_ones_stays(rt, dest):
    """No record: a migrate-receive's directory (it holds the lock for its life). gc
    removes it once its lock is free and it is not brand new."""
    dead = leftover(dest, "gone")
    live = leftover(dest, "alive")
    young = leftover(dest, "young", old=False)
    fd = os.open(live, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        r = run_gc(rt, dest)
        assert r.returncode == 0, r.stderr
        assert "settled 1 killed migrate" in r.stdout, r.stdout
        assert not os.path.exists(dead)
        assert os.path.exists(live), "a live receiver's directory was removed"
        assert os.path.exists(young), "a directory younger than its lock could be was removed"
    finally:
        os.close(fd)
    r = run_gc(rt, dest)
    assert r.returncode == 0 and not os.path.exists(live), (r.stderr, os.listdir(dest))


def test_a_killed_migrate_whose_source_runs_is_only_cleaned(rt, bundle, dest):
    b = bundle(["/bin/sh", "-c", "exec sleep 1000"])
    cid = rt.create(b).cid
    assert rt.cmd("start", cid).returncode == 0
    path = leftover(dest, cid, record(rt, cid, dest, b.path), files=("pre-1/pages-1.img", "final/dump.log"))
    r = run_gc(rt, dest)
    assert r.returncode == 0, r.stderr
    assert "settled 1 killed migrate" in r.stdout, r.stdout
    assert not os.path.exists(path)
    assert rt.state(cid)["status"] == "running"


def test_a_locked_work_directory_is_left_to_its_migrate(rt, bundle, dest):
    b = bundle(["/bin/sh", "-c", "exec sleep 1000"])
    cid = rt.create(b).cid
    path = leftover(dest, cid, record(rt, cid, dest, b.path))
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        r = run_gc(rt, dest)
        assert r.returncode == 0 and "settled" not in r.stdout, (r.stdout, r.stderr)
        assert os.path.exists(path)
    finally:
        os.close(fd)


def test_a_container_that_runs_nowhere_without_an_image_is_reported(rt, dest):
    path = leftover(dest, "lost", record(rt, "lost", dest))
    r = run_gc(rt, dest)
    assert r.returncode == 0, r.stderr
    assert "lost" in r.stderr and "of a killed migrate runs nowhere" in r.stderr, r.stderr
    assert not os.path.exists(path)


def test_a_migrate_to_a_socket_whose_answer_was_lost_keeps_its_image(rt, workdir):
    """The receiver may run it: gc at the source's root can not tell, so the image stays
    (a warning says where), and gc does not fail for it."""
    path = leftover(rt.root, "sent", record(rt, "sent", "unix:/run/elsewhere.sock"),
                    files=("restoring", "final/inventory.img"))
    r = run_gc(rt, rt.root)
    assert r.returncode == 0, r.stderr
    assert "may run at the receiver of `/run/elsewhere.sock`" in r.stderr and path in r.stderr, r.stderr
    assert os.path.exists(os.path.join(path, "final", "inventory.img"))


def test_a_corrupt_record_fails_gc_after_the_rest_is_done(rt, dest):
    """One that cannot be settled says which file, and the other clean-ups still ran."""
    bad = leftover(dest, "bad")
    with open(os.path.join(bad, "migrate.json"), "w") as f:
        f.write("{not json")
    dead = leftover(dest, "gone")
    r = run_gc(rt, dest)
    assert r.returncode != 0
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1 and "migrate.json" in err and bad in err, err
    assert not os.path.exists(dead), "the other leftover was not cleaned"
    assert os.path.exists(bad)


def test_a_retired_work_directory_is_only_removed(rt, dest):
    """A migrate (or gc) killed while it removed a settled work directory leaves it part
    of the way: its record was renamed migrate.done first, so the directory is only
    removed, young as it is, and nothing is restored from the final image it still has
    (its `restoring` marker gone, a record there read as a migrate killed before its
    restore, and gc restored a second copy at the source)."""
    path = leftover(dest, "moved", old=False, files=("final/inventory.img", "config.json"))
    with open(os.path.join(path, "migrate.done"), "w") as f:
        json.dump(record(rt, "moved", dest), f)
    r = run_gc(rt, dest)
    assert r.returncode == 0, r.stderr
    assert "settled 1 killed migrate" in r.stdout, r.stdout
    assert not os.path.exists(path), os.listdir(path)
    assert "restor" not in r.stderr, r.stderr
    assert rt.cmd("state", "moved").returncode != 0


def test_a_work_path_in_use_keeps_its_migrates_record(rt, bundle, dest, workdir):
    """A second migrate given the --work-path another one holds is refused, and leaves that
    migrate's record alone (renaming it would tell gc there is nothing to settle)."""
    b = bundle(["/bin/sh", "-c", "exec sleep 1000"])
    cid = rt.create(b).cid
    assert rt.cmd("start", cid).returncode == 0
    work = os.path.join(workdir, "work-in-use")
    os.mkdir(work, 0o700)
    with open(os.path.join(work, "migrate.json"), "w") as f:
        json.dump(record(rt, cid, dest, b.path), f)
    fd = os.open(work, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        r = rt.cmd("migrate", "--work-path", work, "--to", dest, cid)
        assert r.returncode != 0 and "in use by another migrate" in r.stderr, r.stderr
        assert sorted(os.listdir(work)) == ["migrate.json"]
    finally:
        os.close(fd)
    assert rt.state(cid)["status"] == "running"
