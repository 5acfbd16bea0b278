"""Behaviour fixed by the review of the day's work: each test failed before its fix."""
import os
import subprocess

import pytest

from conftest import wait_for

pytestmark = pytest.mark.run_container_only("image pull is run-container's own command")


@pytest.mark.parametrize("value, why", [(":s3cret-pw", "user name is empty"), ("s3cret-pw", "no ':'")])
def test_bad_creds_never_echo_the_value(runtime_binary, workdir, value, why):
    r = subprocess.run([runtime_binary, "image", "pull", "--cache", os.path.join(workdir, "cache"),
                        "--creds", value, "docker://127.0.0.1:1/x/y"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "--creds" in r.stderr and why in r.stderr, r.stderr
    assert "s3cret" not in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(workdir, "cache")), "nothing made for a bad option"



@pytest.mark.parametrize("ref", ["docker://x:99999/y", "docker://[nothost]/y", "docker://UPPER/y"])
def test_bad_reference_makes_no_cache(runtime_binary, workdir, ref):
    """The reference is checked before the layer cache's directories are made."""
    cache = os.path.join(workdir, "cache")
    r = subprocess.run([runtime_binary, "image", "pull", "--cache", cache, ref],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert ref in r.stderr, r.stderr
    assert not os.path.exists(cache), os.listdir(cache)

def test_run_maps_none_of_the_libraries_loaded_on_first_use(rt, bundle):
    """systemd, curl and archive for their commands, criu for checkpoint/restore: `run`
    pays for none of them (test_systemd_cgroup.py and test_registry.py check one each)."""
    b = bundle(["/probe", "sleep", "60"])
    b.save()
    cid = rt.new_id()
    p = rt.popen("run", "--bundle", b.path, cid, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: rt.cmd("state", cid).returncode == 0 and rt.state(cid)["status"] == "running",
                 what="the container to run")
        with open(f"/proc/{p.pid}/maps") as f:
            maps = f.read()
        for lib in ("libcriu", "libsystemd", "libcurl", "libarchive", "libssl", "libcrypto"):
            assert lib not in maps, f"`run` mapped {lib}"
    finally:
        rt.cmd("kill", cid, "KILL")
        p.wait(timeout=30)
