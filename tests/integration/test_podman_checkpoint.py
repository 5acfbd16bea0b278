"""podman container checkpoint/restore (and --export/--import) with run-container as its
OCI runtime. CRIU must work: on this repository's host it does not (`criu check` fails
on kernel 6.18), so these run in tests/vm (tests/vm/engines_tests.py runs this file).
crun side by side: Debian's crun 1.8.1 is built without CRIU, so podman refuses to
checkpoint with it; the test for crun checks that refusal."""

import os
import shutil
import subprocess
import time

import pytest

from test_engines import IMAGE, engines_dir, need, podman, podman_run, rootfs_tar, sandbox  # noqa: F401
from engines.podman import Podman

pytestmark = pytest.mark.run_container_only("drives podman with the built binary")


@pytest.fixture(scope="module", autouse=True)
def criu_works(root_required):
    need("criu", "criu")
    r = subprocess.run(["criu", "check"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        pytest.skip("criu check fails on this kernel (it passes in tests/vm): "
                    + r.stdout.strip().splitlines()[0])


COUNTER = "i=0; while :; do i=$((i+1)); echo $i >/count; sleep 0.1; done"


def count(podman, name):
    r = podman("exec", name, "cat", "/count", timeout=60)
    v = r.stdout.strip()
    return int(v) if r.returncode == 0 and v.isdigit() else 0


def wait_count(podman, name, above, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = count(podman, name)
        if n > above:
            return n
        time.sleep(0.3)
    raise AssertionError(f"{name}: the count did not pass {above}")


@pytest.fixture
def counter(podman):
    name = f"ck{os.getpid()}{int(time.monotonic() * 1000) % 100000}"
    r = podman_run(podman, "-d", "--name", name, IMAGE, "sh", "-c", COUNTER)
    assert r.returncode == 0, r.stderr
    yield name
    podman("rm", "-f", "-t", "0", name, timeout=120)


def test_podman_checkpoint_restore(podman, counter):
    n = wait_count(podman, counter, 3)
    r = podman("container", "checkpoint", counter, timeout=300)
    assert r.returncode == 0, r.stderr
    st = podman("inspect", "--format", "{{.State.Status}}", counter).stdout.strip()
    assert st == "exited", f"after checkpoint: {st}"
    r = podman("container", "restore", counter, timeout=300)
    assert r.returncode == 0, r.stderr
    assert wait_count(podman, counter, n) > n


def test_podman_checkpoint_export_import(podman, counter, engines_dir):
    n = wait_count(podman, counter, 3)
    archive = os.path.join(engines_dir, f"{counter}.tar.gz")
    r = podman("container", "checkpoint", "--export", archive, counter, timeout=300)
    assert r.returncode == 0, r.stderr
    podman("rm", "-f", "-t", "0", counter, timeout=120)
    r = podman("container", "restore", "--import", archive, timeout=300)
    assert r.returncode == 0, r.stderr
    assert wait_count(podman, counter, n) > n


def test_podman_checkpoint_refused_with_crun(sandbox, engines_dir, rootfs_tar):  # noqa: F811
    """crun side by side: Debian's crun has no checkpoint, and podman says so."""
    crun = shutil.which("crun")
    if crun is None:
        pytest.skip("crun is not installed")
    d = os.path.join(engines_dir, "podman-crun-ck")
    os.mkdir(d)
    p = Podman(sandbox, d, crun, cgroups=True)
    try:
        p.import_rootfs(rootfs_tar, IMAGE)
        r = p("run", *p.run_opts(), "-d", "--name", "ckcrun", IMAGE, "sleep", "1000")
        assert r.returncode == 0, r.stderr
        r = p("container", "checkpoint", "ckcrun", timeout=300)
        assert r.returncode != 0, "podman checkpointed with Debian's crun"
        assert "checkpoint" in r.stderr.lower(), r.stderr
    finally:
        p.cleanup()
