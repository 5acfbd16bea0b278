"""A stop signal that reaches `run-container image pull` after its last check (the pull has
completed, the digest is being written) still makes the status 128+N, as when the signal
ends the command during the pull (test_image_pull_stop.py) and as for a command it had
ended there (skopeo's and podman's pulls die of a late ^C): a CI script sees the job was
stopped. The image, complete, stays in the cache and the next pull downloads nothing.

The late moment is made certain: the pull's stdout is a one-page pipe the test filled,
so the digest's write waits until the test, having sent the signal, empties it.
(Before: exit 0.)"""

import fcntl
import os
import signal
import subprocess

import pytest

from conftest import RUNTIME, wait_for
from test_registry import busybox_layout, cache_state, layer_gets, layout_image, registry  # noqa: F401 (fixtures)

pytestmark = pytest.mark.run_container_only("image pull is run-container's own command")

F_SETPIPE_SZ = 1031


def blocked_writing_stdout(pid):
    """In write(2) on fd 1 (/proc/PID/syscall: the number, then the arguments)."""
    try:
        with open(f"/proc/{pid}/syscall") as f:
            fields = f.read().split()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return len(fields) > 1 and fields[0] == "1" and int(fields[1], 16) == 1


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_after_the_pull_completed(registry, busybox_layout, workdir, sig):
    cache, root = os.path.join(workdir, "cache"), os.path.join(workdir, "root")
    digest, manifest, _ = layout_image(busybox_layout)
    layer = manifest["layers"][0]["digest"]
    rfd, wfd = os.pipe2(os.O_CLOEXEC)
    fcntl.fcntl(wfd, F_SETPIPE_SZ, 4096)
    os.write(wfd, b"x" * 4096)  # full: the digest's write waits
    env = dict(os.environ, HOME=workdir)
    env.pop("REGISTRY_AUTH_FILE", None)
    ref = f"docker://{registry.host}/busybox:latest"
    p = subprocess.Popen([RUNTIME, "--root", root, "image", "pull", "--cache", cache, ref],
                         stdin=subprocess.DEVNULL, stdout=wfd, stderr=subprocess.PIPE, text=True, env=env)
    os.close(wfd)
    try:
        wait_for(lambda: blocked_writing_stdout(p.pid) or p.poll() is not None, timeout=60,
                 what="the pull to write its digest")
        assert p.poll() is None, p.stderr.read()
        p.send_signal(sig)
        with os.fdopen(rfd, "rb") as r:
            out = r.read()
        err = p.stderr.read()
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert out == b"x" * 4096 + f"{digest}\n".encode(), out[4096:]
    assert p.returncode == 128 + sig, (p.returncode, err)
    name = signal.Signals(sig).name[3:]
    assert err == (f"run-container: image pull: stopped by SIG{name} after the pull had completed "
                   "(the image stays in the cache)\n"), err
    # the image is whole in the cache: the next pull downloads no layer
    assert cache_state(cache) == {"layers": [layer], "downloads": [], "tmp": []}
    since = len(registry.requests())
    r = subprocess.run([RUNTIME, "--root", root, "image", "pull", "--cache", cache, ref], capture_output=True,
                       text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 0 and r.stdout == f"{digest}\n", r.stderr
    assert layer_gets(registry, layer, since) == []
