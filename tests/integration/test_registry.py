"""Images from registries: `sandbox --image docker://...` and `image pull` against a real
registry on loopback (Debian's docker-registry, started here on 127.0.0.1 with its own
storage and config, stopped by PID), holding images this file pushes with skopeo from the
busybox layout (rootfs-examples/busybox-image.sh).

Covered: pull and run, a multi-arch index resolved for this machine, a cached layer not
downloaded again, an interrupted download resumed with a Range request (through a proxy
here that cuts the first answer), a corrupted layer refused with nothing left in the cache,
Basic auth (htpasswd) and Bearer tokens (the registry's token auth, with a token server
written here that signs its JWTs with openssl), wrong credentials, plain http only on
loopback, the progress line only on a terminal.
"""

import base64
import hashlib
import http.client
import http.server
import json
import os
import pty
import re
import secrets
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import pytest

from conftest import REPO, RUNTIME, read_pty, wait_for

pytestmark = pytest.mark.run_container_only("image pull and sandbox are run-container's own commands")

HOST_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "i686": "386", "armv7l": "arm"}.get(os.uname().machine,
                                                                                      os.uname().machine)
OTHER_ARCH = "arm64" if HOST_ARCH != "arm64" else "amd64"
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def need(*tools):
    for t in tools:
        if shutil.which(t) is None:
            pytest.skip(f"needs {t} (tests/install-deps.sh installs it)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    """docker-registry on 127.0.0.1, its storage and log in `d`. auth: None, ("htpasswd",
    file) or ("token", dict of realm/service/issuer/rootcertbundle)."""

    def __init__(self, d, auth=None):
        self.dir = d
        os.makedirs(d, exist_ok=True)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.storage = os.path.join(d, "storage")
        self.log = os.path.join(d, "registry.log")
        cfg = {"version": 0.1, "log": {"level": "info", "accesslog": {"disabled": False}},
               "storage": {"filesystem": {"rootdirectory": self.storage}, "delete": {"enabled": True}},
               "http": {"addr": self.host, "secret": secrets.token_hex(16)}}
        if auth and auth[0] == "htpasswd":
            cfg["auth"] = {"htpasswd": {"realm": "test", "path": auth[1]}}
        elif auth:
            cfg["auth"] = {"token": auth[1]}
        self.config = os.path.join(d, "config.yml")
        with open(self.config, "w") as f:
            json.dump(cfg, f)  # YAML is a superset of JSON
        with open(self.log, "w") as logf:
            self.proc = subprocess.Popen(["docker-registry", "serve", self.config], stdout=logf,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"docker-registry exited: {open(self.log).read()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return True
            except OSError:
                return False
        wait_for(up, timeout=20, what="docker-registry listening")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def _logged(self):
        with open(self.log) as f:
            return [(m.group(1), m.group(2), int(m.group(3)), int(m.group(4)))
                    for m in re.finditer(r'"(GET|HEAD|PUT|POST|PATCH|DELETE) (\S+) HTTP/[0-9.]+" (\d+) (\d+)',
                                         f.read())]

    def requests(self):
        """(method, path, status, bytes) of every request answered so far. docker-registry
        logs a request once its handler has returned, a moment after the client had the
        whole answer (CI saw the first pull's layer GET logged after the second pull had
        begun): a request of our own (a "barrier", left out of the list) is made, and its
        line waited for, so that the lines of the requests answered before it are there."""
        barrier = f"/v2/_barrier/{secrets.token_hex(8)}"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", barrier)
            conn.getresponse().read()
        finally:
            conn.close()
        wait_for(lambda: any(r[1] == barrier for r in self._logged()), timeout=10,
                 what="docker-registry to log a request")
        return [r for r in self._logged() if not r[1].startswith("/v2/_barrier/")]

    def blob_path(self, digest):
        hexd = digest.split(":", 1)[1]
        return os.path.join(self.storage, "docker/registry/v2/blobs/sha256", hexd[:2], hexd, "data")

    def push(self, layout_ref, name, creds=None, all_images=False, fmt=None):
        argv = ["skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false"]
        if fmt:
            argv += ["--format", fmt]
        if creds:
            argv += ["--dest-creds", creds]
        if all_images:
            argv += ["--all"]
        r = subprocess.run(argv + [f"oci:{layout_ref}", f"docker://{self.host}/{name}"], capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        return f"docker://{self.host}/{name}"


@pytest.fixture(scope="module")
def busybox_layout(tmp_path_factory):
    need("skopeo", "docker-registry")
    out = str(tmp_path_factory.mktemp("layout") / "busybox")
    r = subprocess.run(["bash", os.path.join(REPO, "rootfs-examples", "busybox-image.sh"), out],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot build the busybox image layout: {r.stderr[-300:]}")
    return out


@pytest.fixture(scope="module")
def registry(tmp_path_factory, busybox_layout):
    reg = Registry(str(tmp_path_factory.mktemp("registry")))
    reg.push(f"{busybox_layout}:latest", "busybox:latest")
    yield reg
    reg.stop()


def layout_image(layout, tag="latest"):
    """(manifest digest, manifest, config) of the layout's image tagged `tag`."""
    with open(os.path.join(layout, "index.json")) as f:
        desc = next(m for m in json.load(f)["manifests"]
                    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
    manifest = json.loads(read_blob(layout, desc["digest"]))
    return desc["digest"], manifest, json.loads(read_blob(layout, manifest["config"]["digest"]))


def read_blob(layout, digest):
    with open(os.path.join(layout, "blobs", *digest.split(":", 1)), "rb") as f:
        return f.read()


def put_blob(layout, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", *digest.split(":", 1)), "wb") as f:
        f.write(data)
    return digest


def cache_state(cache):
    """Layers, partial downloads and temp entries in a layer cache."""
    ls = lambda *p: sorted(os.listdir(os.path.join(cache, *p))) if os.path.isdir(os.path.join(cache, *p)) else []
    return {"layers": ["sha256:" + h for h in ls("sha256")], "downloads": ls("downloads"), "tmp": ls("tmp")}


class Cli:
    def __init__(self, workdir):
        self.workdir = workdir
        self.root = os.path.join(workdir, "root")
        self.cache = os.path.join(workdir, "cache")

    def run(self, *args, env=None, timeout=120):
        e = dict(os.environ)
        e.pop("REGISTRY_AUTH_FILE", None)
        e["HOME"] = self.workdir  # no auth file of the host's user is read
        e.pop("XDG_RUNTIME_DIR", None)
        e.update(env or {})
        return subprocess.run([RUNTIME, "--root", self.root, *args], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=timeout, env=e)

    def pull(self, ref, *opts, **kw):
        return self.run("image", "pull", "--cache", self.cache, *opts, ref, **kw)

    def sandbox(self, ref, *cmd, opts=(), **kw):
        return self.run("sandbox", "--no-gc", "--image", ref, "--image-cache", self.cache, *opts, "--", *cmd, **kw)


@pytest.fixture
def cli(runtime_binary, workdir):
    c = Cli(workdir)
    yield c
    c.run("gc", "-q")


def layer_gets(reg, digest, since=0):
    return [r for r in reg.requests()[since:] if r[0] == "GET" and r[1].endswith("/blobs/" + digest)]


# ---------------------------------------------------------------- pulling and running


def test_pull_and_run(cli, registry, busybox_layout):
    ref = f"docker://{registry.host}/busybox:latest"
    digest, manifest, _ = layout_image(busybox_layout)
    r = cli.pull(ref)
    assert r.returncode == 0, r.stderr
    assert digest in r.stdout  # the manifest pulled
    assert r.stderr == ""  # no progress line without a terminal
    layer = manifest["layers"][0]["digest"]
    assert cache_state(cli.cache) == {"layers": [layer], "downloads": [], "tmp": []}
    r = cli.sandbox(ref, "sh", "-c", "test -x /bin/busybox && echo hello from the image")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello from the image\n"
    # by digest too; the image's own command when none is given
    r = cli.run("sandbox", "--no-gc", "--image", f"docker://{registry.host}/busybox@{digest}", "--image-cache",
                cli.cache, "--", "true")
    assert r.returncode == 0, r.stderr


def test_docker_schema2_image(cli, registry, busybox_layout):
    """Docker's media types (the manifest and layers skopeo writes with --format v2s2),
    as Docker Hub serves most images."""
    ref = registry.push(f"{busybox_layout}:latest", "docker-format:v1", fmt="v2s2")
    with urllib.request.urlopen(urllib.request.Request(
            f"http://{registry.host}/v2/docker-format/manifests/v1",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})) as resp:
        assert resp.headers["Content-Type"] == "application/vnd.docker.distribution.manifest.v2+json"
        assert json.load(resp)["layers"][0]["mediaType"] == "application/vnd.docker.image.rootfs.diff.tar.gzip"
    r = cli.sandbox(ref, "sh", "-c", "echo docker format")
    assert r.returncode == 0 and r.stdout == "docker format\n", r.stderr


def test_commit_on_a_registry_image(cli, registry, busybox_layout, tmp_path):
    """--commit writes the job's changes over the pulled image into a layout; the base
    layer's blob, not kept by the cache, is pulled again into it."""
    _, manifest, _ = layout_image(busybox_layout)
    layer = manifest["layers"][0]["digest"]
    dest = str(tmp_path / "committed")
    ref = f"docker://{registry.host}/busybox:latest"
    assert cli.pull(ref).returncode == 0
    since = len(registry.requests())
    r = cli.sandbox(ref, "sh", "-c", "echo built > /result", opts=("--commit", f"{dest}:step1"))
    assert r.returncode == 0, r.stderr
    assert len(layer_gets(registry, layer, since)) == 1
    assert read_blob(dest, layer) == read_blob(busybox_layout, layer)
    r = cli.sandbox(f"{dest}:step1", "cat", "/result")
    assert r.returncode == 0 and r.stdout == "built\n", r.stderr
    assert cache_state(cli.cache)["downloads"] == [] and cache_state(cli.cache)["tmp"] == []


def test_reference_errors(cli, registry):
    for ref, what in [(f"docker://{registry.host}/BusyBox", "invalid repository name"),
                      (f"docker://{registry.host}/busybox:bad~tag", "invalid tag"),
                      (f"docker://{registry.host}/busybox@sha256:1234", "invalid digest")]:
        r = cli.pull(ref)
        assert r.returncode != 0 and what in r.stderr and ref in r.stderr, r.stderr
    r = cli.pull(f"docker://{registry.host}/nothing-here:latest")
    assert r.returncode != 0 and "HTTP 404" in r.stderr and "nothing-here" in r.stderr, r.stderr
    r = cli.pull(f"docker://{registry.host}/busybox:latest", "--creds", "no-colon")
    assert r.returncode != 0 and "--creds" in r.stderr, r.stderr


def test_multi_arch_index_resolved_for_this_machine(cli, registry, busybox_layout, tmp_path):
    """An index of two images sharing busybox's layer, told apart by an env var."""
    layout = str(tmp_path / "multi")
    shutil.copytree(busybox_layout, layout)
    _, manifest, config = layout_image(layout)
    entries = []
    for arch in (OTHER_ARCH, HOST_ARCH):
        c = dict(config, architecture=arch)
        c["config"] = dict(c["config"], Env=c["config"].get("Env", []) + [f"MARK=image-for-{arch}"])
        cb = json.dumps(c).encode()
        m = dict(manifest, config=dict(manifest["config"], digest=put_blob(layout, cb), size=len(cb)))
        mb = json.dumps(m).encode()
        entries.append({"mediaType": MT_MANIFEST, "digest": put_blob(layout, mb), "size": len(mb),
                        "platform": {"os": "linux", "architecture": arch}})
    ib = json.dumps({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": entries}).encode()
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": MT_INDEX, "digest": put_blob(layout, ib), "size": len(ib),
            "annotations": {"org.opencontainers.image.ref.name": "multi"}}]}, f)
    ref = registry.push(f"{layout}:multi", "multi:v1", all_images=True)
    since = len(registry.requests())
    r = cli.sandbox(ref, "sh", "-c", "echo $MARK")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"image-for-{HOST_ARCH}\n"
    gets = [p for m, p, s, n in registry.requests()[since:] if m == "GET"]
    assert any(p.endswith("/manifests/v1") for p in gets)  # the index, by tag
    assert any(p.endswith("/manifests/" + entries[1]["digest"]) for p in gets)  # then this machine's
    assert not any(p.endswith("/manifests/" + entries[0]["digest"]) for p in gets)


def test_cached_layer_not_downloaded_again(cli, registry, busybox_layout):
    ref = f"docker://{registry.host}/busybox:latest"
    _, manifest, _ = layout_image(busybox_layout)
    layer = manifest["layers"][0]["digest"]
    since = len(registry.requests())
    assert cli.pull(ref).returncode == 0
    assert len(layer_gets(registry, layer, since)) == 1
    since = len(registry.requests())
    r = cli.sandbox(ref, "true")
    assert r.returncode == 0, r.stderr
    assert layer_gets(registry, layer, since) == []
    # the same layer under another repository: still not downloaded
    registry.push(f"{busybox_layout}:latest", "other/busybox:v2")
    since = len(registry.requests())
    r = cli.pull(f"docker://{registry.host}/other/busybox:v2")
    assert r.returncode == 0, r.stderr
    assert layer_gets(registry, layer, since) == []


# ---------------------------------------------------------------- a proxy that cuts a download


class Proxy:
    """An HTTP proxy in front of the registry. `blob_hook(handler, path, status, headers, body)`
    may answer a GET of a blob itself (returns True); it sees the registry's answer."""

    def __init__(self, upstream, blob_hook=None):
        self.upstream, self.blob_hook = upstream, blob_hook
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                conn = http.client.HTTPConnection(proxy.upstream, timeout=30)
                conn.request("GET", self.path, headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
                resp = conn.getresponse()
                body = resp.read()
                if "/blobs/" in self.path and proxy.blob_hook and \
                        proxy.blob_hook(self, self.path, resp.status, resp.getheaders(), body):
                    return
                self.relay(resp.status, resp.getheaders(), body)

            def relay(self, status, headers, body, send=None):
                self.send_response(status)
                for k, v in headers:
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body if send is None else send)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class CuttingProxy(Proxy):
    """Answers the first GET of `cut_digest` with half the blob, then closes the
    connection; records the Range headers of the requests for that blob."""

    def __init__(self, upstream, cut_digest):
        self.cut_digest, self.cut_done, self.ranges = cut_digest, False, []
        super().__init__(upstream, self.hook)

    def hook(self, handler, path, status, headers, body):
        if not path.endswith(self.cut_digest):
            return False
        self.ranges.append(handler.headers.get("Range"))
        if self.cut_done or status != 200:
            return False
        self.cut_done = True
        handler.relay(status, headers, body, send=body[:len(body) // 2])
        handler.wfile.flush()
        handler.close_connection = True
        handler.connection.shutdown(socket.SHUT_RDWR)
        return True


def test_interrupted_download_resumes(cli, registry, busybox_layout):
    _, manifest, _ = layout_image(busybox_layout)
    layer, size = manifest["layers"][0]["digest"], manifest["layers"][0]["size"]
    proxy = CuttingProxy(registry.host, layer)
    try:
        ref = f"docker://{proxy.host}/busybox:latest"
        r = cli.pull(ref)
        assert r.returncode != 0 and layer in r.stderr, r.stderr
        partial = os.path.join(cli.cache, "downloads", layer.replace(":", "-"))
        assert os.path.getsize(partial) == size // 2
        assert cache_state(cli.cache)["layers"] == []
        since = len(registry.requests())
        r = cli.pull(ref)
        assert r.returncode == 0, r.stderr
        assert proxy.ranges == [None, f"bytes={size // 2}-"]
        # the registry sent the rest only
        assert [(s, n) for m, p, s, n in registry.requests()[since:] if p.endswith(layer)] == \
            [(206, size - size // 2)]
        assert cache_state(cli.cache) == {"layers": [layer], "downloads": [], "tmp": []}
    finally:
        proxy.stop()
    r = cli.sandbox(f"docker://{registry.host}/busybox:latest", "true")
    assert r.returncode == 0, r.stderr


def test_prune_removes_partial_downloads(cli, registry, busybox_layout):
    _, manifest, _ = layout_image(busybox_layout)
    layer = manifest["layers"][0]["digest"]
    proxy = CuttingProxy(registry.host, layer)
    try:
        assert cli.pull(f"docker://{proxy.host}/busybox:latest").returncode != 0
    finally:
        proxy.stop()
    assert cache_state(cli.cache)["downloads"] == [layer.replace(":", "-")]
    r = cli.run("image", "prune", "--cache", cli.cache)
    assert r.returncode == 0, r.stderr
    assert cache_state(cli.cache) == {"layers": [], "downloads": [], "tmp": []}


def test_corrupted_layer_refused_and_nothing_kept(cli, busybox_layout, tmp_path):
    reg = Registry(str(tmp_path / "reg"))
    try:
        ref = reg.push(f"{busybox_layout}:latest", "busybox:latest")
        _, manifest, _ = layout_image(busybox_layout)
        layer = manifest["layers"][0]["digest"]
        with open(reg.blob_path(layer), "r+b") as f:  # same size, one byte changed
            f.seek(manifest["layers"][0]["size"] // 2)
            b = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([b[0] ^ 0xFF]))
        for r in (cli.pull(ref), cli.sandbox(ref, "true")):
            assert r.returncode != 0
            assert f"verify blob `{layer}`: digest mismatch" in r.stderr, r.stderr
        assert cache_state(cli.cache) == {"layers": [], "downloads": [], "tmp": []}
    finally:
        reg.stop()


# ---------------------------------------------------------------- authentication


def test_basic_auth(cli, busybox_layout, tmp_path):
    need("htpasswd")
    htpasswd = str(tmp_path / "htpasswd")
    subprocess.run(["htpasswd", "-Bbc", htpasswd, "alice", "s3cret"], check=True, capture_output=True)
    reg = Registry(str(tmp_path / "reg"), auth=("htpasswd", htpasswd))
    try:
        ref = reg.push(f"{busybox_layout}:latest", "private/busybox:latest", creds="alice:s3cret")
        r = cli.pull(ref)
        assert r.returncode != 0 and f"registry `{reg.host}`: needs credentials" in r.stderr, r.stderr
        r = cli.pull(ref, "--creds", "alice:wrong")
        assert r.returncode != 0 and "HTTP 401, access denied" in r.stderr and \
            "the credentials of `alice` rejected" in r.stderr, r.stderr
        assert cache_state(cli.cache)["layers"] == []
        r = cli.pull(ref, "--creds", "alice:s3cret")
        assert r.returncode == 0, r.stderr
        # an auth file as podman login writes it, through $REGISTRY_AUTH_FILE and --authfile
        authfile = str(tmp_path / "auth.json")
        with open(authfile, "w") as f:
            json.dump({"auths": {reg.host: {"auth": base64.b64encode(b"alice:s3cret").decode()}}}, f)
        r = cli.sandbox(ref, "true", env={"REGISTRY_AUTH_FILE": authfile})
        assert r.returncode == 0, r.stderr
        r = cli.sandbox(ref, "true", opts=("--authfile", authfile))
        assert r.returncode == 0, r.stderr
        # the containers default path under $HOME
        os.makedirs(os.path.join(cli.workdir, ".config", "containers"))
        shutil.copy(authfile, os.path.join(cli.workdir, ".config", "containers", "auth.json"))
        r = cli.sandbox(ref, "true")
        assert r.returncode == 0, r.stderr
    finally:
        reg.stop()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """The registry's token service: Basic credentials in, an RS256 JWT for the scopes
    asked out (signed with openssl), the key id as the registry computes it (libtrust).
    Pulls of public/* need no credentials (as Docker Hub's public images)."""

    def __init__(self, d, users):
        self.key, self.cert = os.path.join(d, "token.key"), os.path.join(d, "token.crt")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key, "-out",
                        self.cert, "-days", "2", "-subj", "/CN=test-token"], check=True, capture_output=True)
        der = subprocess.run(["openssl", "pkey", "-in", self.key, "-pubout", "-outform", "DER"], check=True,
                             capture_output=True).stdout
        b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
        self.kid = ":".join(b32[i:i + 4] for i in range(0, len(b32), 4))
        self.users, self.seen = users, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                auth = self.headers.get("Authorization", "")
                user = None
                if auth.startswith("Basic "):
                    u, _, p = base64.b64decode(auth[6:]).decode().partition(":")
                    if server.users.get(u) != p:
                        return self.reply(401, {"details": "wrong credentials"})
                    user = u
                scopes = q.get("scope", [])
                if user is None and not all(sc.startswith("repository:public/") and sc.endswith(":pull")
                                            for sc in scopes):
                    return self.reply(401, {"details": "credentials needed"})
                server.seen.append((user, q.get("scope", [])))
                self.reply(200, {"token": server.sign(user, q.get("service", [""])[0], q.get("scope", []))})

            def reply(self, status, doc):
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def sign(self, user, service, scopes):
        access = []
        for s in scopes:
            typ, name, actions = s.split(":")
            access.append({"type": typ, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        head = b64url(json.dumps({"typ": "JWT", "alg": "RS256", "kid": self.kid}).encode())
        claims = b64url(json.dumps({"iss": "test-issuer", "sub": user, "aud": service, "exp": now + 600,
                                    "nbf": now - 60, "iat": now, "jti": secrets.token_hex(8),
                                    "access": access}).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key], input=f"{head}.{claims}".encode(),
                             check=True, capture_output=True).stdout
        return f"{head}.{claims}.{b64url(sig)}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_bearer_token_auth(cli, busybox_layout, tmp_path):
    need("openssl")
    tokens = TokenServer(str(tmp_path), {"bob": "hunter2"})
    reg = Registry(str(tmp_path / "reg"), auth=("token", {
        "realm": tokens.realm, "service": "test-registry", "issuer": "test-issuer",
        "rootcertbundle": tokens.cert}))
    try:
        ref = reg.push(f"{busybox_layout}:latest", "team/busybox:latest", creds="bob:hunter2")
        tokens.seen.clear()
        r = cli.pull(ref, "--creds", "bob:hunter2")
        assert r.returncode == 0, r.stderr
        assert ("bob", ["repository:team/busybox:pull"]) in tokens.seen
        r = cli.sandbox(ref, "sh", "-c", "echo via-token", opts=("--creds", "bob:hunter2"))
        assert r.returncode == 0 and r.stdout == "via-token\n", r.stderr
        r = cli.pull(ref, "--creds", "bob:wrong")
        assert r.returncode != 0, r.stderr
        assert f"token server `{tokens.realm}` answered HTTP 401: credentials rejected" in r.stderr, r.stderr
        r = cli.pull(ref)
        assert r.returncode != 0 and "credentials needed" in r.stderr, r.stderr
        # an anonymous token for a public repository
        public = reg.push(f"{busybox_layout}:latest", "public/busybox:latest", creds="bob:hunter2")
        tokens.seen.clear()
        r = cli.sandbox(public, "sh", "-c", "echo anonymous")
        assert r.returncode == 0 and r.stdout == "anonymous\n", r.stderr
        assert tokens.seen == [(None, ["repository:public/busybox:pull"])]
    finally:
        reg.stop()
        tokens.stop()


# ---------------------------------------------------------------- transport


class BlobServer:
    """What a registry's CDN is: blobs of a layout at /cdn/<digest>; records whether a
    request carried an Authorization header."""

    def __init__(self, layout):
        self.authorizations = []
        srv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                srv.authorizations.append(self.headers.get("Authorization"))
                body = read_blob(layout, self.path.split("?")[0].rsplit("/", 1)[1])
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_blob_redirect_followed_without_credentials(cli, busybox_layout, tmp_path):
    """Registries send blobs from elsewhere (a 307 to a CDN, by name: resolved by us for
    libcurl): followed, and the registry's credentials are not sent there."""
    need("htpasswd")
    htpasswd = str(tmp_path / "htpasswd")
    subprocess.run(["htpasswd", "-Bbc", htpasswd, "alice", "s3cret"], check=True, capture_output=True)
    reg = Registry(str(tmp_path / "reg"), auth=("htpasswd", htpasswd))
    cdn = BlobServer(busybox_layout)

    def redirect(handler, path, status, headers, body):
        if status != 200:  # the registry checks the credentials first
            return False
        location = f"http://localhost:{cdn.port}/cdn/{path.rsplit('/', 1)[1]}?signature=x"
        handler.relay(307, [("Location", location)], b"")
        return True
    proxy = Proxy(reg.host, redirect)
    try:
        reg.push(f"{busybox_layout}:latest", "busybox:latest", creds="alice:s3cret")
        r = cli.sandbox(f"docker://{proxy.host}/busybox:latest", "sh", "-c", "echo redirected",
                        opts=("--creds", "alice:s3cret"))
        assert r.returncode == 0 and r.stdout == "redirected\n", r.stderr
        assert len(cdn.authorizations) == 2 and cdn.authorizations == [None, None]  # config and layer
    finally:
        proxy.stop()
        cdn.stop()
        reg.stop()


def test_plain_http_only_for_loopback_names(cli, registry):
    """A registry named by something other than localhost or a loopback address gets
    https only, unless --tls-verify=false."""
    name = socket.gethostname()
    try:
        addr = socket.gethostbyname(name)
    except OSError:
        pytest.skip(f"the host name {name} does not resolve")
    if not addr.startswith("127.") or name == "localhost":
        pytest.skip(f"the host name {name} is not a loopback alias here ({addr})")
    ref = f"docker://{name}:{registry.port}/busybox:latest"
    r = cli.pull(ref)
    assert r.returncode != 0 and f"https://{name}:{registry.port}/v2/" in r.stderr, r.stderr
    r = cli.pull(ref, "--tls-verify=false")
    assert r.returncode == 0, r.stderr
    r = cli.pull(f"docker://localhost:{registry.port}/busybox:latest")
    assert r.returncode == 0, r.stderr


def test_progress_line_on_a_terminal(cli, registry):
    master, slave = pty.openpty()
    try:
        e = dict(os.environ, HOME=cli.workdir)
        p = subprocess.Popen([RUNTIME, "--root", cli.root, "image", "pull", "--cache", cli.cache,
                              f"docker://{registry.host}/busybox:latest"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=slave, env=e)
        os.close(slave)
        slave = -1
        out = read_pty(master, 120)
        assert p.wait(timeout=60) == 0
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    text = out.decode(errors="replace")
    assert "\r" in text and "sha256:" in text and "100%" in text, text


def test_libcurl_loaded_only_for_pulls(cli, registry, busybox_layout):
    """A sandbox on a local layout (and so `run`) never maps libcurl; one on a registry
    image does, once it pulls."""
    maps = {}
    for ref in (busybox_layout, f"docker://{registry.host}/busybox:latest"):
        e = dict(os.environ, HOME=cli.workdir)
        p = subprocess.Popen([RUNTIME, "--root", cli.root, "sandbox", "--no-gc", "--image", ref, "--image-cache",
                              cli.cache, "--", "sleep", "60"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=e)
        try:
            def job_running():
                with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
                    return p.poll() is None and f.read().strip() != ""
            wait_for(job_running, timeout=30, what="the sandbox's job")
            with open(f"/proc/{p.pid}/maps") as f:
                maps[ref] = f.read()
        finally:
            p.kill()
            p.wait(timeout=30)
    assert "libarchive" in maps[busybox_layout] and "libcurl" not in maps[busybox_layout]
    assert "libcurl" in maps[f"docker://{registry.host}/busybox:latest"]
