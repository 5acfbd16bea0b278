"""Short image names (issue 20): `--image NAME[:TAG]` and `registry:NAME` resolved as podman
resolves them, through containers-registries.conf(5) files: `[aliases]`,
`unqualified-search-registries` and `short-name-mode`. The registry is Debian's
docker-registry on loopback (test_registry.py's fixture); every registries.conf is written
here and named by CONTAINERS_REGISTRIES_CONF, --registries-conf or a HOME of the test's
own, so no name ever leads off this machine.
"""

import os
import shutil
import subprocess

import pytest

from conftest import RUNTIME
from test_registry import Registry, busybox_layout, free_port, layout_image  # noqa: F401 (fixtures)

pytestmark = pytest.mark.run_container_only("image pull and sandbox are run-container's own commands")


@pytest.fixture(scope="module")
def registry(tmp_path_factory, busybox_layout):
    reg = Registry(str(tmp_path_factory.mktemp("registry")))
    reg.push(f"{busybox_layout}:latest", "team/busybox:latest")
    reg.push(f"{busybox_layout}:latest", "team/busybox:1.0")
    yield reg
    reg.stop()


class Names:
    def __init__(self, workdir):
        self.workdir = workdir
        self.home = os.path.join(workdir, "home")
        os.makedirs(self.home)
        self.root = os.path.join(workdir, "root")
        self.cache = os.path.join(workdir, "cache")

    def conf(self, text, name="registries.conf"):
        path = os.path.join(self.workdir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def run(self, *args, conf=None, cwd=None, timeout=120, wrap=()):
        env = {k: v for k, v in os.environ.items()
               if k not in ("REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "CONTAINERS_REGISTRIES_CONF")}
        env["HOME"] = self.home
        if conf is not None:
            env["CONTAINERS_REGISTRIES_CONF"] = conf
        if wrap and "ASAN_OPTIONS" in env:  # an ASan build under strace: LeakSanitizer cannot run under ptrace
            env["ASAN_OPTIONS"] += ":detect_leaks=0"
        return subprocess.run([*wrap, RUNTIME, "--root", self.root, *args], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=timeout, env=env, cwd=cwd or self.workdir)

    def sandbox(self, image, *cmd, opts=(), **kw):
        return self.run("sandbox", "--no-gc", "--image", image, "--image-cache", self.cache, *opts, "--", *cmd,
                        **kw)

    def pull(self, ref, *opts, **kw):
        return self.run("image", "pull", "--cache", self.cache, *opts, ref, **kw)


@pytest.fixture
def names(runtime_binary, workdir):
    n = Names(workdir)
    yield n
    n.run("gc", "-q")


def manifest_gets(reg, since):
    return [p for m, p, s, n in reg.requests()[since:] if m == "GET" and "/manifests/" in p]


def test_an_alias(names, registry, busybox_layout):
    digest, _, _ = layout_image(busybox_layout)
    conf = names.conf(f'[aliases]\n"rcbox" = "{registry.host}/team/busybox"  # ours\n')
    r = names.sandbox("rcbox", "sh", "-c", "echo from the alias", conf=conf)
    assert r.returncode == 0 and r.stdout == "from the alias\n", r.stderr
    # the tag is carried over to the alias; registry: forces the name even with a path of
    # that name here; image pull takes the file as an option
    os.makedirs(os.path.join(names.workdir, "elsewhere", "rcbox"))
    since = len(registry.requests())
    r = names.sandbox("registry:rcbox:1.0", "true", conf=conf, cwd=os.path.join(names.workdir, "elsewhere"))
    assert r.returncode == 0, r.stderr
    assert manifest_gets(registry, since) == ["/v2/team/busybox/manifests/1.0"]
    r = names.pull("rcbox", "--registries-conf", conf)
    assert r.returncode == 0 and r.stdout.strip() == digest, r.stderr


def test_an_existing_local_path_wins(names, registry, busybox_layout):
    conf = names.conf(f'[aliases]\n"rcbox" = "{registry.host}/team/busybox"\n')
    shutil.copytree(busybox_layout, os.path.join(names.workdir, "rcbox"))
    since = len(registry.requests())
    r = names.sandbox("rcbox", "true", conf=conf)
    assert r.returncode == 0, r.stderr
    assert registry.requests()[since:] == []  # the local layout, not the registry


def test_search_registries_in_order(names, registry):
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there: the next one is tried
    conf = names.conf(f'unqualified-search-registries = ["{dead}", "{registry.host}"]\n')
    r = names.sandbox("team/busybox", "echo", "searched", conf=conf)
    assert r.returncode == 0 and r.stdout == "searched\n", r.stderr
    # found in none: each one's error
    r = names.sandbox("team/nothing", "true", conf=conf)
    assert r.returncode == 125
    assert "not found in any of the 2 search registries" in r.stderr, r.stderr
    assert dead in r.stderr and "HTTP 404" in r.stderr, r.stderr


def test_enforcing_mode(names, registry):
    """podman's enforcing mode without a terminal: several search registries and no alias
    are an error (we never prompt); one search registry is not ambiguous."""
    two = names.conf(f'short-name-mode = "enforcing"\nunqualified-search-registries = ["a.invalid", '
                     f'"{registry.host}"]\n', "two.conf")
    r = names.sandbox("team/busybox", "true", conf=two)
    assert r.returncode == 125 and "ambiguous" in r.stderr and two in r.stderr, r.stderr
    one = names.conf(f'short-name-mode = "enforcing"\nunqualified-search-registries = ["{registry.host}"]\n',
                     "one.conf")
    r = names.sandbox("team/busybox", "true", conf=one)
    assert r.returncode == 0, r.stderr
    # an alias settles it
    aliased = names.conf(f'short-name-mode = "enforcing"\nunqualified-search-registries = ["a.invalid", '
                         f'"b.invalid"]\n[aliases]\n"team/busybox" = "{registry.host}/team/busybox"\n', "al.conf")
    r = names.sandbox("team/busybox", "true", conf=aliased)
    assert r.returncode == 0, r.stderr


def test_unknown_short_name(names):
    conf = names.conf("[aliases]\n")
    r = names.sandbox("nosuchimage", "true", conf=conf)
    assert r.returncode == 125
    assert "no alias and no unqualified-search-registries" in r.stderr and conf in r.stderr, r.stderr
    assert "no such local path" in r.stderr, r.stderr
    r = names.sandbox("registry:Bad_Name", "true", conf=conf)
    assert r.returncode == 125 and "not an image name" in r.stderr, r.stderr


@pytest.mark.parametrize("text,line,what", [
    ('unqualified-search-registries = ["a.io"\n', 1, "unterminated array"),
    ('\n[aliases]\n"x" = "a.io/x"\n"x" = "a.io/y"\n', 4, 'alias "x" given twice'),
    ('[aliases]\n"x" = "notqualified"\n', 2, "not a fully-qualified image name"),
    ('[aliases]\n"a.io/x" = "a.io/x"\n', 2, "not a short name"),
    ('[aliases]\n"x" = "a.io/x:tag"\n', 2, "not a fully-qualified image name"),
    ('# a comment\nshort-name-mode = "sometimes"\n', 2, "short-name-mode"),
    ('unqualified-search-registries = "a.io"\n', 1, "expected an array of strings"),
    ('x = 1.5\n', 1, "unsupported value"),
    ('x = """\nmulti\n"""\n', 1, "multi-line strings"),
    ('[aliases\n', 1, "expected ']'"),
    ('"x = 1\n', 1, "unterminated string"),
    ('x = "a" y = "b"\n', 1, "one key = value per line"),
    ('x = "\\q"\n', 1, "unknown escape"),
    ('[registries.search]\nregistries = ["a.io"]\n[[registry]]\nlocation = "b.io"\n', None, "version 1"),
])
def test_bad_files_name_file_and_line(names, text, line, what):
    conf = names.conf(text)
    r = names.pull("something", "--registries-conf", conf)
    assert r.returncode != 0
    where = f"{conf}:{line}:" if line else f"{conf}:"
    assert where in r.stderr and what in r.stderr, r.stderr


def test_the_default_files(names, registry):
    """Without CONTAINERS_REGISTRIES_CONF: ~/.config/containers/registries.conf (which
    replaces /etc/containers/registries.conf and its drop-ins), then its own drop-ins in
    name order, each overriding aliases one by one ("" erases one)."""
    user = os.path.join(names.home, ".config", "containers")
    os.makedirs(os.path.join(user, "registries.conf.d"))
    with open(os.path.join(user, "registries.conf"), "w") as f:
        f.write(f'[aliases]\n"first" = "{registry.host}/team/busybox"\n"second" = "a.invalid/x"\n'
                f'"gone" = "{registry.host}/team/busybox"\n'
                "[[registry]]\nprefix = \"example.com\"\nlocation = \"example.org\"\ninsecure = false\n"
                "mirror = [ { location = \"m.example.org\" }, ]\n")
    with open(os.path.join(user, "registries.conf.d", "10-b.conf"), "w") as f:
        f.write('[aliases]\n"second" = "b.invalid/x"\n')
    with open(os.path.join(user, "registries.conf.d", "20-a.conf"), "w") as f:
        f.write(f'[aliases]\n"second" = "{registry.host}/team/busybox"\n"gone" = ""\n')
    with open(os.path.join(user, "registries.conf.d", "README"), "w") as f:
        f.write("not a .conf file: never read [\n")
    for name in ("first", "second:1.0"):
        r = names.sandbox(name, "true")
        assert r.returncode == 0, (name, r.stderr)
    r = names.sandbox("gone", "true")
    assert r.returncode == 125 and "no alias" in r.stderr and "20-a.conf" in r.stderr, r.stderr
