"""Images through the real binary: `sandbox --image` on OCI layouts and archives, the
layer cache (`image ls`, `image prune`), verification, refusal of hostile layers, and
`--commit` round trips with whiteouts and opaque directories.

Layouts come from rootfs-examples/busybox-image.sh, or are written here with tarfile,
gzip and hashlib (hostile ones). The Debian layout (rootfs-examples/debian-image.sh)
takes minutes to download and build, so its test is opt-in: RC_TEST_DEBIAN_LAYOUT=DIR
names a layout built before (built there when missing if RC_TEST_DEBIAN=1).
"""

import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
import time

import pytest

from conftest import REPO, wait_for

pytestmark = pytest.mark.run_container_only("sandbox and image are run-container's own commands")


# ---------------------------------------------------------------- layouts


def put_blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(layout, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest


def write_layout(layout, entries, tag="latest", cmd=("/bin/sh",)):
    """A one-layer layout; entries are (name, kind, data) with kind file/dir/symlink/hardlink."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, data in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, data
                tar.addfile(info)
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, data
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o755
                tar.addfile(info, io.BytesIO(data))
    tar_bytes = buf.getvalue()
    layer = gzip.compress(tar_bytes, mtime=0)
    layer_digest = put_blob(layout, layer)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": list(cmd)},
                         "rootfs": {"type": "layers",
                                    "diff_ids": ["sha256:" + hashlib.sha256(tar_bytes).hexdigest()]}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put_blob(layout, config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest,
                    "size": len(layer)}]}).encode()
    index = {"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put_blob(layout, manifest),
        "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    return layer_digest


def layer_digests(layout, tag="latest"):
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    m = [d for d in index["manifests"] if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
    with open(os.path.join(layout, "blobs", "sha256", m[0]["digest"].split(":")[1])) as f:
        return [layer["digest"] for layer in json.load(f)["layers"]]


@pytest.fixture(scope="session")
def busybox_image(session_dir, root_required):
    if not os.path.exists("/bin/busybox"):
        pytest.skip("needs /bin/busybox (apt-get install busybox-static)")
    out = os.path.join(session_dir, "busybox-image")
    r = subprocess.run(["bash", os.path.join(REPO, "rootfs-examples", "busybox-image.sh"), out],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return out


class Images:
    """sandbox --image / image ls / image prune with this test's own --root and cache."""

    def __init__(self, rt):
        self.rt = rt
        self.cache = os.path.join(rt.workdir, "cache")

    def sandbox(self, image, *args, timeout=60, **kw):
        return self.rt.cmd("sandbox", "--no-gc", "--image", image, "--image-cache", self.cache, *args,
                           timeout=timeout, **kw)

    def popen(self, image, *args):
        return self.rt.popen("sandbox", "--no-gc", "--image", image, "--image-cache", self.cache, *args,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def ls(self):
        r = self.rt.cmd("image", "ls", "--cache", self.cache, "--format", "json")
        assert r.returncode == 0, r.stderr
        return {layer["digest"]: layer for layer in json.loads(r.stdout)}

    def prune(self):
        r = self.rt.cmd("image", "prune", "--cache", self.cache)
        assert r.returncode == 0, r.stderr
        return int(r.stdout.split()[1])

    def layer_dir(self, digest):
        return os.path.join(self.cache, *digest.split(":"))


@pytest.fixture
def img(rt):
    if rt.cmd("sandbox", "--help").returncode != 0:
        pytest.skip("the sandbox command is not built")
    return Images(rt)


# ---------------------------------------------------------------- tests


def test_runs_the_busybox_image(img, busybox_image):
    r = img.sandbox(busybox_image, "--", "echo", "hi")
    assert r.returncode == 0 and r.stdout == "hi\n", r.stderr
    r = img.sandbox(busybox_image + ":latest", "--", "cat", "/etc/hostname")
    assert r.returncode == 0 and r.stdout == "busybox\n", r.stderr
    assert list(img.ls()) == layer_digests(busybox_image)


def test_runs_an_oci_archive(img, busybox_image, workdir):
    archive = os.path.join(workdir, "busybox.tar")
    subprocess.run(["tar", "-C", busybox_image, "-cf", archive, "."], check=True)
    r = img.sandbox(f"oci-archive:{archive}:latest", "--", "echo", "from an archive")
    assert r.returncode == 0 and r.stdout == "from an archive\n", r.stderr
    assert os.listdir(os.path.join(img.cache, "tmp")) == []


def test_tampered_blob_is_rejected_with_its_digest(img, busybox_image, workdir):
    layout = os.path.join(workdir, "tampered")
    subprocess.run(["cp", "-a", busybox_image, layout], check=True)
    digest = layer_digests(layout)[0]
    blob = os.path.join(layout, "blobs", "sha256", digest.split(":")[1])
    with open(blob, "r+b") as f:
        f.seek(os.path.getsize(blob) // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0xFF]))
    r = img.sandbox(layout, "--", "echo", "hi")
    assert r.returncode == 125 and r.stdout == ""
    assert "digest mismatch" in r.stderr and f"expected {digest}, got sha256:" in r.stderr, r.stderr
    assert img.ls() == {} and os.listdir(os.path.join(img.cache, "tmp")) == []


@pytest.mark.parametrize("entry", [("../escaped", "file", b"x"), ("/abs-escaped", "file", b"x"),
                                   ("a/../../escaped", "file", b"x"), ("h", "hardlink", "../escaped")])
def test_layer_with_paths_outside_is_refused(img, workdir, entry):
    layout = os.path.join(workdir, "hostile")
    write_layout(layout, [("bin", "dir", None), entry])
    r = img.sandbox(layout, "--", "/bin/true")
    assert r.returncode == 125 and "refused" in r.stderr, r.stderr
    for d in (workdir, img.cache, os.path.join(img.cache, "tmp"), "/"):
        assert not os.path.exists(os.path.join(d, "escaped")) and not os.path.exists("/abs-escaped")
    assert img.ls() == {}


def test_two_sandboxes_share_one_cached_copy(img, busybox_image):
    (digest,) = layer_digests(busybox_image)
    p = img.popen(busybox_image, "--", "sleep", "3")
    wait_for(lambda: img.ls().get(digest, {}).get("inUse"), timeout=20, what="the first sandbox using the layer")
    st = os.stat(os.path.join(img.layer_dir(digest), "bin", "busybox"))
    r = img.sandbox(busybox_image, "--", "echo", "second")
    assert r.returncode == 0 and r.stdout == "second\n", r.stderr
    st2 = os.stat(os.path.join(img.layer_dir(digest), "bin", "busybox"))
    assert (st.st_ino, st.st_ctime_ns) == (st2.st_ino, st2.st_ctime_ns), "the layer was unpacked again"
    assert list(img.ls()) == [digest]
    assert img.prune() == 0 and os.path.isdir(img.layer_dir(digest)), "prune removed a layer in use"
    assert p.wait(timeout=30) == 0, p.stderr.read()
    assert img.ls()[digest]["inUse"] is False
    assert img.prune() == 1 and img.ls() == {}


def test_commit_then_run_the_new_tag(img, busybox_image, workdir):
    dest = os.path.join(workdir, "snapshots")
    r = img.sandbox(busybox_image, "--commit", f"{dest}:step1", "--", "sh", "-c",
                    "echo built > /root/artifact && rm /etc/hosts && rm -rf /usr/sbin && mkdir /usr/sbin && "
                    "echo only > /usr/sbin/new")
    assert r.returncode == 0, r.stderr
    base = layer_digests(busybox_image)
    layers = layer_digests(dest, "step1")
    assert layers[:-1] == base and len(layers) == len(base) + 1

    with tarfile.open(os.path.join(dest, "blobs", "sha256", layers[-1].split(":")[1])) as tar:
        names = tar.getnames()
    assert "etc/.wh.hosts" in names and "usr/sbin/.wh..wh..opq" in names, names
    assert "root/artifact" in names and "usr/sbin/new" in names, names

    r = img.sandbox(f"{dest}:step1", "--", "sh", "-c",
                    "cat /root/artifact; ls /usr/sbin; test -e /etc/hosts || echo hosts-gone")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "built\nnew\nhosts-gone\n"
    r = img.sandbox(busybox_image, "--", "sh", "-c", "test -e /root/artifact || cat /etc/hosts")
    assert r.returncode == 0 and "localhost" in r.stdout, "the base image changed"


def test_image_ls_and_prune_on_an_empty_cache(img):
    assert img.ls() == {}
    assert img.prune() == 0
    r = img.rt.cmd("image", "ls", "--cache", img.cache)
    assert r.returncode == 0 and r.stdout.split() == ["DIGEST", "SIZE", "IN", "USE"]
    r = img.rt.cmd("image", "frobnicate")
    assert r.returncode == 1 and "unknown command" in r.stderr


def debian_layout():
    path = os.environ.get("RC_TEST_DEBIAN_LAYOUT")
    if not path:
        pytest.skip("opt-in: set RC_TEST_DEBIAN_LAYOUT=DIR (and RC_TEST_DEBIAN=1 to build it there, "
                    "a few minutes and ~40 MB from deb.debian.org)")
    if not os.path.exists(os.path.join(path, "index.json")):
        if os.environ.get("RC_TEST_DEBIAN") != "1":
            pytest.skip(f"no layout at {path} (RC_TEST_DEBIAN=1 builds it)")
        subprocess.run(["bash", os.path.join(REPO, "rootfs-examples", "debian-image.sh"), path], check=True,
                       timeout=900)
    return path


def test_runs_the_debian_image(img):
    layout = debian_layout()
    start = time.monotonic()
    r = img.sandbox(layout, "--", "sh", "-c", "cat /etc/debian_version && dpkg-query -W -f '${Version}' bash",
                    timeout=300)
    assert r.returncode == 0, r.stderr
    version, bash = r.stdout.split("\n", 1)
    assert version[0].isdigit() and bash, r.stdout
    first = time.monotonic() - start
    start = time.monotonic()
    r = img.sandbox(layout, "--", "true")
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - start < max(first, 1.0), "the second run did not reuse the cached layer"
