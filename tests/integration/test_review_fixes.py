"""Behaviour fixed by the review of the day's work: each test failed before its fix."""
import os
import subprocess

import pytest

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
