"""A stop signal (^C's SIGINT, SIGTERM, SIGHUP, SIGQUIT) that reaches a standalone
`run-container image pull` is held as `sandbox` holds it (runtime/base/stopsig.h): the
transfer or the unpack ends at its next check, nothing half-made is left in the cache but
the partial download, which the next pull resumes, and the status is 128+N with one line
saying which signal. (Not held, the signal ended the process at once: an unpack's temp
directory stayed behind.)

The registry is docker-registry on loopback behind tests/integration/test_sandbox_stop.py's
proxy that stalls halfway through the layer; the unpack is of a layer of many files
(test_sandbox_stop.py's many_files_layout, pushed to the registry).
"""

import os
import signal
import subprocess

import pytest

from conftest import RUNTIME, wait_for
from test_registry import Cli, Registry, busybox_layout, cache_state, layout_image  # noqa: F401 (fixture)
from test_sandbox_stop import StallingProxy, many_files_layout, signal_while_stopped, unpacking  # noqa: F401

pytestmark = pytest.mark.run_container_only("image pull is run-container's own command")


@pytest.fixture(scope="module")
def registry(tmp_path_factory, busybox_layout, many_files_layout):
    reg = Registry(str(tmp_path_factory.mktemp("registry")))
    reg.push(f"{busybox_layout}:latest", "busybox:latest")
    reg.push(f"{many_files_layout}:latest", "many:latest")
    yield reg
    reg.stop()


@pytest.fixture
def cli(runtime_binary, workdir):
    c = Cli(workdir)
    yield c
    c.run("gc", "-q")


def start_pull(cli, ref):
    env = dict(os.environ, HOME=cli.workdir)
    env.pop("REGISTRY_AUTH_FILE", None)
    return subprocess.Popen([RUNTIME, "--root", cli.root, "image", "pull", "--cache", cli.cache, ref],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


def assert_stopped(p, sig):
    out, err = p.communicate(timeout=30)
    assert p.returncode == 128 + sig, (p.returncode, err)
    assert out == "", out
    assert err == f"run-container: image pull: stopped by SIG{signal.Signals(sig).name[3:]}\n", err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT])
def test_a_stop_signal_during_the_download_leaves_a_resumable_partial(cli, registry, busybox_layout, sig):
    _, manifest, _ = layout_image(busybox_layout)
    layer = manifest["layers"][0]["digest"]
    proxy = StallingProxy(registry.host, layer)
    try:
        p = start_pull(cli, f"docker://{proxy.host}/busybox:latest")
        assert proxy.half_sent.wait(timeout=60), "the layer download never started"
        part = os.path.join(cli.cache, "downloads", layer.replace(":", "-"))
        wait_for(lambda: os.path.exists(part) and os.path.getsize(part) > 0, timeout=10, what="a partial blob")
        p.send_signal(sig)
        # within about a second (curl's progress callback), not after its 60 s without progress
        p.wait(timeout=20)
    finally:
        proxy.stop()
    assert_stopped(p, sig)
    state = cache_state(cli.cache)
    assert state == {"layers": [], "downloads": [layer.replace(":", "-")], "tmp": []}, state
    # the next pull asks for the rest only
    since = len(registry.requests())
    r = cli.pull(f"docker://{registry.host}/busybox:latest")
    assert r.returncode == 0, r.stderr
    assert [s for m, path, s, n in registry.requests()[since:] if m == "GET" and path.endswith(layer)] == [206]
    assert cache_state(cli.cache) == {"layers": [layer], "downloads": [], "tmp": []}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_during_the_unpack_leaves_no_temp_files(cli, registry, sig):
    p = start_pull(cli, f"docker://{registry.host}/many:latest")
    wait_for(lambda: unpacking(cli.cache) or p.poll() is not None, timeout=60, interval=0.005,
             what="the unpack to start")
    assert p.poll() is None, "the unpack ended before it could be interrupted"
    signal_while_stopped(p, sig)
    assert_stopped(p, sig)
    state = cache_state(cli.cache)
    assert state["layers"] == [] and state["tmp"] == [], state
    r = cli.pull(f"docker://{registry.host}/many:latest")
    assert r.returncode == 0, r.stderr
    assert len(cache_state(cli.cache)["layers"]) == 1
