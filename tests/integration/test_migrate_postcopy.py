"""migrate --post-copy on this host, where CRIU itself fails: the argument errors are
refused before anything happens, and a lazy final dump that fails (CRIU's reason in the
error) leaves the container running and nothing behind. The post-copy migration itself
runs in tests/vm/postcopy_tests.py.

crun has no migration: run-container only."""

import os

import pytest

pytestmark = pytest.mark.run_container_only("crun has no live migration")


def running(rt, bundle):
    b = bundle(["/bin/sh", "-c", "exec sleep 1000"])
    cid = rt.create(b).cid
    r = rt.cmd("start", cid)
    assert r.returncode == 0, r.stderr
    return cid, rt.state(cid)["pid"]


def work_dirs(root):
    return [e for e in os.listdir(root) if e.startswith("@migrate")] if os.path.isdir(root) else []


def test_post_copy_with_rounds_is_refused(rt, bundle, workdir):
    cid, pid = running(rt, bundle)
    dest = os.path.join(workdir, "dest")
    r = rt.cmd("migrate", "--post-copy", "--rounds", "2", "--to", dest, cid)
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "--post-copy makes no pre-dump rounds" in r.stderr and "--rounds does not apply" in r.stderr, r.stderr
    assert rt.state(cid)["pid"] == pid and not os.path.exists(dest)


def test_post_copy_to_a_socket_nobody_listens_on_changes_nothing(rt, bundle, workdir):
    """Post-copy goes to a migrate-receive too (its pages over the page channel): with
    nobody listening, the hello fails before anything is dumped."""
    cid, pid = running(rt, bundle)
    sock = os.path.join(workdir, "m.sock")
    r = rt.cmd("migrate", "--post-copy", "--to", f"unix:{sock}", cid)
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f"connect to `{sock}`" in r.stderr and "migrate-receive" in r.stderr, r.stderr
    assert rt.state(cid)["pid"] == pid and not work_dirs(rt.root)


def test_post_copy_whose_dump_fails_leaves_the_container_running(rt, bundle, workdir):
    """CRIU cannot dump on this host (or is not installed): the lazy dump fails before it
    serves anything, the error says so, the container runs on and no work directory is
    left at the destination."""
    cid, pid = running(rt, bundle)
    dest = os.path.join(workdir, "dest")
    r = rt.cmd("migrate", "--post-copy", "--to", dest, cid, timeout=120)
    if r.returncode == 0:
        pytest.skip("CRIU works on this host: the failure path is not reached (tests/vm covers the migration)")
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f'migrate "{cid}" to `{dest}`: final dump (post-copy)' in r.stderr, r.stderr
    assert "criu" in r.stderr.lower(), r.stderr
    assert "round" not in r.stdout, r.stdout
    st = rt.state(cid)
    assert st["status"] == "running" and st["pid"] == pid
    assert not work_dirs(dest) and not work_dirs(rt.root)
