"""`[[registry]]` tables of containers-registries.conf(5) applied to pulls, as the
containers libraries apply them: the mirrors of the table with the longest matching
prefix are tried in order, then its location (the name itself without one); a mirror
without the image, or unreachable, passes to the next; `blocked = true` refuses the pull
with an error naming the file, line and prefix; `pull-from-mirror` and
`mirror-by-digest-only` keep a mirror to digests or tags. (Before: the tables were read and
ignored: a pull went to the named registry only.)

The registry is Debian's docker-registry on loopback (test_registry.py's); "unreachable"
is a loopback port nothing listens on, so no name leads off this machine."""

import os

import pytest

from test_registry import Registry, busybox_layout, free_port, layout_image  # noqa: F401 (fixtures)
from test_registry_names import Names

pytestmark = pytest.mark.run_container_only("image pull is run-container's own command")


@pytest.fixture(scope="module")
def registry(tmp_path_factory, busybox_layout):
    reg = Registry(str(tmp_path_factory.mktemp("registry")))
    reg.push(f"{busybox_layout}:latest", "mirrored/team/busybox:latest")
    yield reg
    reg.stop()


@pytest.fixture
def names(workdir):
    return Names(workdir)


def manifest_gets(reg, since):
    return [p for m, p, s, n in reg.requests()[since:] if m == "GET" and "/manifests/" in p]


def test_a_mirror_that_has_the_image_when_the_primary_is_unreachable(names, registry, busybox_layout):
    digest, _, _ = layout_image(busybox_layout)
    dead = f"127.0.0.1:{free_port()}"
    conf = names.conf(f'[[registry]]\nlocation = "{dead}"\n'
                      f'[[registry.mirror]]\nlocation = "{dead}/first"\n'  # unreachable too: the next one
                      f'[[registry.mirror]]\nlocation = "{registry.host}/mirrored"\n')
    since = len(registry.requests())
    r = names.pull(f"docker://{dead}/team/busybox:latest", "--registries-conf", conf)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{digest}\n"
    assert manifest_gets(registry, since) == ["/v2/mirrored/team/busybox/manifests/latest"]
    # the same through the environment's file, for a sandbox
    r = names.sandbox(f"docker://{dead}/team/busybox:latest", "echo", "ran", conf=conf)
    assert r.returncode == 0 and r.stdout == "ran\n", r.stderr


def test_a_mirror_without_the_image_passes_to_the_location(names, registry, busybox_layout):
    digest, _, _ = layout_image(busybox_layout)
    conf = names.conf('[[registry]]\nprefix = "example.invalid/team"\n'
                      f'location = "{registry.host}/mirrored/team"\n'
                      f'[[registry.mirror]]\nlocation = "{registry.host}/empty"\n')
    since = len(registry.requests())
    r = names.pull("docker://example.invalid/team/busybox:latest", "--registries-conf", conf)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{digest}\n"
    assert manifest_gets(registry, since) == ["/v2/empty/busybox/manifests/latest",
                                              "/v2/mirrored/team/busybox/manifests/latest"]


def test_every_source_failing_names_each(names, registry):
    dead = f"127.0.0.1:{free_port()}"
    conf = names.conf('[[registry]]\nprefix = "example.invalid"\n'
                      f'location = "{dead}"\n'
                      f'[[registry.mirror]]\nlocation = "{registry.host}/empty"\n')
    r = names.pull("docker://example.invalid/team/busybox:latest", "--registries-conf", conf)
    assert r.returncode != 0
    assert "none of its 2 sources (registries.conf) gave it" in r.stderr, r.stderr
    assert f"docker://{registry.host}/empty/team/busybox:latest: " in r.stderr, r.stderr
    assert f"docker://{dead}/team/busybox:latest: " in r.stderr, r.stderr
    assert not os.path.isdir(os.path.join(names.cache, "sha256")) or os.listdir(os.path.join(names.cache, "sha256")) == []


def pull_is_blocked(names, registry, conf, entry):
    """A pull of registry's mirrored/team/busybox refused before any request, naming entry."""
    since = len(registry.requests())
    r = names.pull(f"docker://{registry.host}/mirrored/team/busybox:latest", "--registries-conf", conf)
    assert r.returncode != 0
    assert r.stderr.strip().endswith(
        f"pull `{registry.host}/mirrored/team/busybox:latest`: blocked by registries.conf: {entry}"), r.stderr
    assert registry.requests()[since:] == []


def test_a_blocked_registry_is_refused_naming_the_entry(names, registry):
    conf = names.conf(f'# a CI host that may not pull from {registry.host}\n\n'
                      f'[[registry]]\nprefix = "{registry.host}/mirrored"\nblocked = true\n')
    pull_is_blocked(names, registry, conf,
                    f'[[registry]] at {conf}:3 (prefix "{registry.host}/mirrored", blocked = true)')
    # a prefix is a whole component: another repository of the host is not blocked
    r = names.pull(f"docker://{registry.host}/mirrored-not/x:latest", "--registries-conf", conf)
    assert "blocked" not in r.stderr, r.stderr


def test_a_version_1_block_list_refuses_the_pull(names, registry):
    """The version 1 format's `[registries.block]` (as podman reads it; before, only its
    search list was applied and a blocked registry was pulled from)."""
    conf = names.conf(f'[registries.search]\nregistries = []\n'
                      f'[registries.block]\nregistries = ["{registry.host}"]\n')
    pull_is_blocked(names, registry, conf, f'[registries.block] at {conf}:4 (registry "{registry.host}")')


def test_a_short_name_reads_the_files_once(names, registry, busybox_layout):
    """The search registries and the candidate's [[registry]] table come from one reading of
    the file (before, the pull of each candidate read the files again: a file rewritten
    between the two could resolve a name with one version and pull it with another)."""
    digest, _, _ = layout_image(busybox_layout)
    conf = names.conf(f'unqualified-search-registries = ["{registry.host}"]\n'
                      f'[[registry]]\nlocation = "{registry.host}/mirrored"\n')
    trace = os.path.join(names.workdir, "trace")
    r = names.run("image", "pull", "--cache", names.cache, "--registries-conf", conf, "mirrored/team/busybox:latest",
                  wrap=["strace", "-f", "-qq", "-e", "trace=openat,open", "-o", trace])
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{digest}\n"
    with open(trace) as f:
        opens = [line for line in f if f'"{conf}"' in line]
    assert len(opens) == 1, opens


def test_pull_from_mirror_digest_only(names, registry, busybox_layout):
    digest, _, _ = layout_image(busybox_layout)
    dead = f"127.0.0.1:{free_port()}"
    conf = names.conf(f'[[registry]]\nlocation = "{dead}"\n'
                      f'[[registry.mirror]]\nlocation = "{registry.host}/mirrored"\n'
                      'pull-from-mirror = "digest-only"\n')
    r = names.pull(f"docker://{dead}/team/busybox:latest", "--registries-conf", conf)
    assert r.returncode != 0 and dead in r.stderr, r.stderr  # a tag: the primary only
    r = names.pull(f"docker://{dead}/team/busybox@{digest}", "--registries-conf", conf)
    assert r.returncode == 0 and r.stdout == f"{digest}\n", r.stderr


def test_a_bad_entry_names_file_and_line(names, registry):
    conf = names.conf('[[registry]]\nprefix = "a.io"\n\n[[registry]]\nlocation = "https://b.io"\n')
    r = names.pull(f"docker://{registry.host}/mirrored/team/busybox:latest", "--registries-conf", conf)
    assert r.returncode != 0
    assert f'{conf}:4: location "https://b.io": expected HOST[:PORT][/PATH]' in r.stderr, r.stderr
