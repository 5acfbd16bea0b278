"""A stop signal (SIGTERM, SIGINT, SIGHUP) that reaches `run-container sandbox` while it is
still setting up (issue 20): the setup is given up at the next safe point, everything made
so far is undone without any gc, the report says `"reason": "signaled"` with the signal and
`"job_started": false`, and the exit status is 128+N, as for a job the signal ended.

The points: a registry pull that stalls (a proxy in front of docker-registry that sends
half of the layer, then nothing), a layer unpack (a local layout with a layer of many
files), and the container's creation (the signal then belongs to the job). The sandbox is
held with SIGSTOP while the signal is sent, so that it arrives at that point however fast
or loaded the machine is. A SIGKILL at those points leaves what `gc` removes.
"""

import gzip
import hashlib
import io
import json
import os
import signal
import subprocess
import tarfile
import tempfile
import threading

import pytest

from conftest import remove_test_dir, wait_for
from test_registry import HOST_ARCH, Proxy, busybox_layout, cache_state, layout_image, registry  # noqa: F401 (fixtures)
from test_sandbox import Sandbox, leftovers, sb  # noqa: F401 (fixtures)

pytestmark = pytest.mark.run_container_only("sandbox is run-container's own command")


class StallingProxy(Proxy):
    """Sends the first half of blob `digest`, then nothing until `release` is set."""

    def __init__(self, upstream, digest):
        self.digest, self.half_sent, self.release = digest, threading.Event(), threading.Event()
        super().__init__(upstream, self.hook)

    def hook(self, handler, path, status, headers, body):
        if not path.endswith(self.digest) or status != 200:
            return False
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body[:len(body) // 2])
        handler.wfile.flush()
        self.half_sent.set()
        self.release.wait(timeout=120)
        handler.close_connection = True
        return True

    def stop(self):
        self.release.set()
        super().stop()


def proc_state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def signal_while_stopped(p, sig):
    """sig reaches p while p is held still (SIGSTOP): p meets it at its next step."""
    p.send_signal(signal.SIGSTOP)
    wait_for(lambda: proc_state(p.pid) == "T", timeout=10, what="the sandbox stopped")
    p.send_signal(sig)
    p.send_signal(signal.SIGCONT)


def start(sb, rt, name, *args):
    report = os.path.join(rt.workdir, f"{name}.json")
    argv = sb.argv("--name", name, "--report", report, *args, rootfs=False)
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rt.procs.append(p)
    return p, report


def finish(p, report, sig):
    out, err = p.communicate(timeout=60)
    assert p.returncode == 128 + sig, err
    with open(report) as f:
        rep = json.load(f)
    return rep, err


def assert_never_started(rep, sig, err):
    assert rep["reason"] == "signaled" and rep["job_started"] is False, rep
    assert rep["stop_signal"] == sig and rep["signal"] is None and rep["exit_code"] == 128 + sig, rep
    assert rep["usage_source"] is None and rep["user_cpu_us"] is None, rep
    assert f"stopped by SIG{signal.Signals(sig).name[3:]} before the job started" in err, err


# ---------------------------------------------------------------- during a registry pull


def stalled_pull(sb, rt, registry, busybox_layout, name, sig):
    """A sandbox whose pull stalls halfway through the layer, signalled there."""
    _, manifest, _ = layout_image(busybox_layout)
    layer = manifest["layers"][0]["digest"]
    proxy = StallingProxy(registry.host, layer)
    cache = os.path.join(rt.workdir, "cache")
    try:
        p, report = start(sb, rt, name, "--image", f"docker://{proxy.host}/busybox:latest", "--image-cache", cache,
                          "--", "true")
        assert proxy.half_sent.wait(timeout=60), "the layer download never started"
        # the half is written to the partial file before curl waits for more
        part = os.path.join(cache, "downloads", layer.replace(":", "-"))
        wait_for(lambda: os.path.exists(part) and os.path.getsize(part) > 0, timeout=10, what="a partial blob")
        if sig == signal.SIGKILL:
            p.kill()
            p.wait(timeout=30)
            return p, report, cache, layer
        p.send_signal(sig)
        # the transfer ends within about a second (curl's progress callback), not after
        # the 60 s of no progress curl allows
        p.wait(timeout=20)
        return p, report, cache, layer
    finally:
        proxy.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_during_a_pull(sb, rt, registry, busybox_layout, sig):
    p, report, cache, layer = stalled_pull(sb, rt, registry, busybox_layout, f"pull{int(sig)}", sig)
    rep, err = finish(p, report, sig)
    assert_never_started(rep, sig, err)
    assert leftovers(rt) == []
    # the half already downloaded stays for the next pull, which asks for the rest only
    state = cache_state(cache)
    assert state == {"layers": [], "downloads": [layer.replace(":", "-")], "tmp": []}, state
    since = len(registry.requests())
    r = sb.run("--image", f"docker://{registry.host}/busybox:latest", "--image-cache", cache, "--", "true",
               rootfs=False)
    assert r.returncode == 0, r.stderr
    assert [s for m, path, s, n in registry.requests()[since:] if m == "GET" and path.endswith(layer)] == [206]


def test_sigkill_during_a_pull_then_gc(sb, rt, registry, busybox_layout):
    stalled_pull(sb, rt, registry, busybox_layout, "pullk9", signal.SIGKILL)
    r = rt.cmd("gc")
    assert r.returncode == 0, r.stderr
    assert leftovers(rt) == []


# ---------------------------------------------------------------- during an unpack


@pytest.fixture(scope="module")
def many_files_layout(tmp_path_factory):
    """An OCI layout whose one layer holds 40000 small files: seconds of unpacking."""
    d = str(tmp_path_factory.mktemp("many") / "layout")
    blobs = os.path.join(d, "blobs", "sha256")
    os.makedirs(blobs)

    def put(data):
        h = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, h), "wb") as f:
            f.write(data)
        return {"digest": "sha256:" + h, "size": len(data)}

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for i in range(40000):
            data = f"file {i}\n".encode() * 8
            info = tarfile.TarInfo(f"d{i // 1000}/f{i}")
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    diff_id = "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()
    layer = put(gzip.compress(raw.getvalue(), compresslevel=1))
    config = put(json.dumps({"architecture": HOST_ARCH, "os": "linux", "config": {},
                             "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode())
    manifest = put(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": dict(config, mediaType="application/vnd.oci.image.config.v1+json"),
                               "layers": [dict(layer, mediaType="application/vnd.oci.image.layer.v1.tar+gzip")]
                               }).encode())
    with open(os.path.join(d, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [dict(
            manifest, mediaType="application/vnd.oci.image.manifest.v1+json",
            annotations={"org.opencontainers.image.ref.name": "latest"})]}, f)
    return d


@pytest.fixture
def unpack_cache():
    """The layer cache the many-files layout is unpacked into, on a tmpfs (/dev/shm) when
    there is one: on the test machines' /tmp (ext4 without a journal) a file created soon
    after many were deleted waits for ext4's scan of the recently deleted inodes, and
    40000 of them took 30 s and more under load instead of 2, which with the teardown's
    removal of the layer went past the 120 s a test has (a timeout seen in CI)."""
    with open("/proc/self/mounts") as f:
        shm = any(line.split()[1:3] == ["/dev/shm", "tmpfs"] for line in f)
    d = tempfile.mkdtemp(prefix="rc-cache-", dir="/dev/shm" if shm else "/tmp")
    yield os.path.join(d, "cache")
    remove_test_dir(d)


def unpacking(cache):
    tmp = os.path.join(cache, "tmp")
    return os.path.isdir(tmp) and any(e.startswith("unpack-") for e in os.listdir(tmp))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_stop_signal_during_an_unpack(sb, rt, many_files_layout, unpack_cache, sig):
    cache = unpack_cache
    p, report = start(sb, rt, f"unpack{int(sig)}", "--image", many_files_layout, "--image-cache", cache,
                      "--", "true")
    wait_for(lambda: unpacking(cache) or p.poll() is not None, timeout=60, interval=0.005,
             what="the unpack to start")
    assert p.poll() is None, "the unpack ended before it could be interrupted"
    signal_while_stopped(p, sig)
    rep, err = finish(p, report, sig)
    assert_never_started(rep, sig, err)
    assert "interrupted by a stop signal" not in err  # the error is not the message: the report is
    assert leftovers(rt) == []
    assert cache_state(cache) == {"layers": [], "downloads": [], "tmp": []}


def test_a_stop_signal_while_waiting_for_another_unpack(sb, rt, many_files_layout, unpack_cache):
    """A second sandbox waits for the first one's unpack of the same layer (its lock):
    the signal ends that wait too, and the first one goes on."""
    cache = unpack_cache
    first, first_report = start(sb, rt, "unpacker", "--image", many_files_layout, "--image-cache", cache,
                                "--", "true")
    wait_for(lambda: unpacking(cache) or first.poll() is not None, timeout=60, interval=0.005,
             what="the unpack to start")
    first.send_signal(signal.SIGSTOP)  # held in the middle of its unpack, the lock held
    try:
        second, report = start(sb, rt, "waiter", "--image", many_files_layout, "--image-cache", cache, "--", "true")
        wait_for(lambda: any(os.path.isdir(os.path.join(rt.root, "@sandbox")) and
                             e.startswith("waiter") for e in os.listdir(os.path.join(rt.root, "@sandbox"))),
                 timeout=30, what="the second sandbox's journal")
        second.send_signal(signal.SIGTERM)
        rep, err = finish(second, report, signal.SIGTERM)
        assert_never_started(rep, signal.SIGTERM, err)
    finally:
        first.send_signal(signal.SIGCONT)
    out, err = first.communicate(timeout=120)
    # unpacked and started: the image holds data files only, so its job is not found
    assert first.returncode == 127 and "not found" in err, err
    assert leftovers(rt) == []
    assert len(cache_state(cache)["layers"]) == 1 and cache_state(cache)["tmp"] == []


def test_sigkill_during_an_unpack_then_gc(sb, rt, many_files_layout, unpack_cache):
    cache = unpack_cache
    p, _ = start(sb, rt, "unpackk9", "--image", many_files_layout, "--image-cache", cache, "--", "true")
    wait_for(lambda: unpacking(cache) or p.poll() is not None, timeout=60, interval=0.005,
             what="the unpack to start")
    p.kill()
    p.wait(timeout=30)
    r = rt.cmd("gc")
    assert r.returncode == 0, r.stderr
    assert leftovers(rt) == []
    # the abandoned unpack's temp dir goes with the next sandbox's opportunistic gc
    r = subprocess.run(rt.argv("sandbox", "--rootfs", sb.rootfs, "--image-cache", cache, "--", "true"),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


# ---------------------------------------------------------------- once the container exists


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_once_the_container_exists_goes_to_the_job(sb, rt, sig):
    """From the create on the job counts as started (the init may exec it before `start`,
    runtime/container/spawn.h's early release): the signal goes to every process of it."""
    p, report = start(sb, rt, f"created{int(sig)}", "--rootfs", sb.rootfs, "--stop-timeout", "2",
                      "--", "sleep", "1000")
    wait_for(lambda: os.path.isdir(os.path.join(rt.root, f"created{int(sig)}")) or p.poll() is not None,
             timeout=30, interval=0.002, what="the container's state directory")
    signal_while_stopped(p, sig)
    p.communicate(timeout=60)
    with open(report) as f:
        rep = json.load(f)
    assert rep["reason"] == "signaled" and rep["job_started"] is True and rep["stop_signal"] == sig, rep
    # the job's init passes the signal on (128+sig), also one that came before it could
    # take signals: it holds them blocked from its clone (test_sandbox_early_signal.py)
    assert not rep["stop_timeout_expired"], rep
    assert p.returncode == 128 + sig and rep["signal"] == sig, rep
    assert leftovers(rt) == []


# ---------------------------------------------------------------- with a network

from test_network import host, nrt  # noqa: E402,F401  (fixtures: a test-made network namespace)
from test_sandbox import sandbox_veths  # noqa: E402


@pytest.mark.parametrize("point", ["setup", "created"])
def test_a_stop_signal_with_a_network_leaves_no_lease_or_veth(nrt, host, base_rootfs, many_files_layout,
                                                              unpack_cache, point):
    """The network is made by the create: stopped before it there is none; stopped once
    it exists, the address, the port claim and the veth go with the job."""
    name = f"net-{point}"
    report = os.path.join(nrt.workdir, f"{name}.json")
    base = ["--image", many_files_layout, "--image-cache", unpack_cache] \
        if point == "setup" else ["--rootfs", base_rootfs]
    p = subprocess.Popen(nrt.argv("sandbox", "--no-gc", "--name", name, "--report", report, "--net", "default",
                                  "-p", "8091:80/tcp", "--stop-timeout", "2", *base, "--", "sleep", "1000"),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    nrt.procs.append(p)
    if point == "setup":
        wait_for(lambda: unpacking(unpack_cache) or p.poll() is not None, timeout=60,
                 interval=0.005, what="the unpack to start")
    else:
        wait_for(lambda: (nrt.leases() and sandbox_veths(host)) or p.poll() is not None, timeout=30,
                 interval=0.005, what="the sandbox's lease and veth")
    assert p.poll() is None
    signal_while_stopped(p, signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    with open(report) as f:
        rep = json.load(f)
    assert rep["reason"] == "signaled" and rep["stop_signal"] == signal.SIGTERM, rep
    assert rep["job_started"] is (point == "created"), rep
    assert p.returncode == rep["exit_code"], err
    assert nrt.leases() == [] and nrt.claims() == [] and nrt.nft_set("ports") == []
    wait_for(lambda: sandbox_veths(host) == [], timeout=10, what="no veth left")
    assert leftovers(nrt) == []
