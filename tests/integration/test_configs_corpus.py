"""The configs real tools write (tests/integration/configs/, see its README): each runs with
the busybox rootfs and the probe under run-container and under Debian's crun, and the probe
reports the same inside view for both.

Every change made to a corpus config before it runs (nothing else is touched):
  - process.args becomes ["/probe"] (the probe's report; `ctr oci spec` writes no args);
  - root.path becomes "rootfs" (the bundle's busybox + probe; podman wrote the path of its
    storage's layer);
  - bind mounts whose source is under podman's storage (it no longer exists) get a test
    file instead, per destination (HOST_FILES): /etc/hosts, /etc/hostname and
    /run/.containerenv a file, /dev/shm a directory.
A config with "terminal": true (runc spec's) runs with --console-socket, the probe's report
read from the pty.

What legitimately differs between the two runtimes and is not compared (normalise()):
  - namespace inodes: only whether each namespace is the host's is compared;
  - pid, ppid, fds, isatty, clocks: the runtime's own plumbing, not the config's;
  - mount ids, sources and the tmpfs/devpts/mqueue super-block sizes the kernel derives
    (inode64, nr_inodes): only the mount point, fstype, the per-mount flags and the
    super options the config asked for are compared;
  - maskedPaths and readonlyPaths: only that each is masked or read-only (a directory: its
    fstype and read-only flag; a file: that something is bound over it). The spec asks no
    more; crun's read-only remount drops nosuid/nodev/noexec, runc 1.1 keeps them, and a
    masked file is the container's own /dev/null (tmpfs) in runc (seen in tests/vm) and
    run-container, the host's /dev/null (devtmpfs, ro) in crun;
  - /dev/console (a terminal): only that a devpts pty is bound there. runc 1.1.5 (run in
    tests/vm on runc-spec.json) and run-container bind the pty with the flags of the devpts
    mount it comes from (nosuid,noexec); crun 1.8.1's bind has neither;
  - /sys/fs/cgroup: only that it is mounted. On a v1/hybrid host crun 1.8.1 and run-container
    mount a tmpfs there with each v1 hierarchy below (read-only); crun leaves the tmpfs
    writable, runc and run-container make it read-only when the mount says ro
    (test_cgroup_mount.py checks the layout under both runtimes).
"""

import copy
import json
import os
import subprocess

import pytest

from conftest import Bundle, Runtime, host_ns, parse_json

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")
CONFIGS = sorted(f[:-len(".json")] for f in os.listdir(CORPUS) if f.endswith(".json"))
KINDS = ("run-container", "crun")

pytestmark = pytest.mark.run_container_only("runs run-container and crun side by side itself")

# destination -> (kind, content) of the test file that replaces a podman storage path
HOST_FILES = {
    "/etc/hosts": ("file", "127.0.0.1\tlocalhost\n::1\tlocalhost\n"),
    "/etc/hostname": ("file", None),  # the config's hostname
    "/run/.containerenv": ("file", ""),
    "/dev/shm": ("dir", None),
}
NS_TYPES = ("cgroup", "ipc", "mnt", "net", "pid", "user", "uts")
STATUS_KEYS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Umask")
KERNEL_SUPER = ("inode64", "nr_inodes=", "size=", "rw", "ro")


def load(name):
    with open(os.path.join(CORPUS, f"{name}.json")) as f:
        return json.load(f)


def rewrite(config, path):
    """Applies the rewrites listed in the module docstring; returns the config to run."""
    c = copy.deepcopy(config)
    c.setdefault("process", {})["args"] = ["/probe"]
    c["root"]["path"] = "rootfs"
    for m in c.get("mounts", []):
        src = m.get("source", "")
        if m.get("type") != "bind" and "bind" not in m.get("options", []):
            continue
        if not src.startswith("/") or os.path.exists(src):
            continue
        assert m["destination"] in HOST_FILES, f"no test file for the bind mount {m}: add it to HOST_FILES"
        kind, content = HOST_FILES[m["destination"]]
        m["source"] = os.path.join(path, "host-files", m["destination"].strip("/").replace("/", "_"))
        if kind == "dir":
            os.makedirs(m["source"], mode=0o1777)
            continue
        os.makedirs(os.path.dirname(m["source"]), exist_ok=True)
        with open(m["source"], "w") as f:
            f.write(c.get("hostname", "") + "\n" if content is None else content)
    return c


def mount_view(m):
    """What a mount shows that the config decides."""
    sup = [o for o in m["super_options"] if not o.startswith(KERNEL_SUPER)]
    return {"fstype": m["fstype"], "options": sorted(m["options"]), "super_options": sorted(sup)}


def normalise(info, config):
    """The inside view the config decides (see the module docstring for what is left out)."""
    linux = config.get("linux", {})
    masked, readonly = set(linux.get("maskedPaths", [])), set(linux.get("readonlyPaths", []))
    mounts = {}
    for m in info["mounts"]:
        mp = m["mount_point"]
        if mp.startswith("/sys/fs/cgroup/"):
            continue
        if mp == "/sys/fs/cgroup":
            view = "present"
        elif mp == "/dev/console":
            view = {"fstype": m["fstype"]}
        elif mp in masked and m["root"] != "/":
            view = "masked"  # a file: a /dev/null (a file of another mount) bound over it
        elif mp in masked | readonly:
            view = {"fstype": m["fstype"], "ro": "ro" in m["options"]}
        else:
            view = mount_view(m)
        mounts[mp] = view  # the topmost mount at each point
    return {
        "ids": {k: info[k] for k in ("uid", "gid", "euid", "egid", "groups", "umask")},
        "status": {k: info["status"].get(k) for k in STATUS_KEYS},
        "no_new_privs": info["no_new_privs"],
        "names": {k: info[k] for k in ("hostname", "domainname", "cwd")},
        "host_namespaces": sorted(t for t in NS_TYPES if info["ns"].get(t) == host_ns(t)),
        "rlimits": info["rlimits"],
        "env": sorted(info["env"]),
        "mounts": mounts,
        "maps": {k: info[k] for k in ("uid_map", "gid_map", "setgroups")},
    }


def make_bundle(base_rootfs, workdir, name, kind):
    path = os.path.join(workdir, f"{name}-{kind}")
    os.mkdir(path)
    subprocess.run(["cp", "-a", base_rootfs, os.path.join(path, "rootfs")], check=True)
    return Bundle(path, rewrite(load(name), path))


def run_probe(rt, b, console):
    """Runs the bundle; returns (probe JSON or None, the runtime's output on failure)."""
    if not b.config["process"].get("terminal"):
        r = rt.run(b)
        if r.returncode != 0:
            return None, f"exit {r.returncode}: {r.stderr}{r.stdout}"
        return parse_json(r.stdout), ""
    srv = console()
    p = rt.popen("run", "--bundle", b.path, "--console-socket", srv.path, rt.new_id(),
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        srv.wait_master()
    except AssertionError as e:
        p.kill()
        return None, f"{e}: {p.communicate(timeout=10)}"
    text = srv.read_all()
    out, err = p.communicate(timeout=20)
    if p.returncode != 0:
        return None, f"exit {p.returncode}: {err}{out}{text}"
    return parse_json(text), ""


@pytest.fixture
def runtimes(runtime_binary, workdir):
    made = {}
    for kind in KINDS:
        d = os.path.join(workdir, f"rt-{kind}")
        os.mkdir(d)
        made[kind] = Runtime(d, kind=kind)
    yield made
    for r in made.values():
        r.cleanup()


def inside_views(runtimes, base_rootfs, workdir, console, name, edit=None):
    """The normalised probe report of config name under each runtime (edit(config) may
    change the config first); fails naming the runtime that could not run it."""
    views, errors = {}, []
    for kind, rt in runtimes.items():
        b = make_bundle(base_rootfs, workdir, name, kind)
        if edit:
            edit(b.config)
        info, err = run_probe(rt, b, console)
        if info is None:
            errors.append(f"{name} under {kind}: {err.strip()}")
        else:
            views[kind] = normalise(info, b.config)
    assert not errors, "\n".join(errors)
    return views


def differences(a, b, path=""):
    """One line per leaf where the two views differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in differences(a.get(k), b.get(k), f"{path}.{k}")]
    return [] if a == b else [f"{path[1:]}: run-container {json.dumps(a)}, crun {json.dumps(b)}"]


def assert_same_view(views, name):
    diff = differences(views["run-container"], views["crun"])
    assert not diff, f"{name}: inside views differ:\n" + "\n".join(diff)


def test_corpus_is_what_the_tools_wrote():
    """Every file is a tool's own output (README.md says which); none was edited to run."""
    with open(os.path.join(CORPUS, "README.md")) as f:
        readme = f.read()
    assert {"runc-spec", "podman-default", "podman-read-only", "podman-privileged", "ctr-oci-spec",
            "ctr-run-seccomp"} <= set(CONFIGS)
    for name in CONFIGS:
        assert f"`{name}.json`" in readme, f"{name}.json is not described in configs/README.md"
        c = load(name)
        assert c["ociVersion"].startswith("1.0.2"), name


@pytest.mark.parametrize("name", CONFIGS)
def test_config_runs_with_the_same_inside_view_as_crun(runtimes, base_rootfs, workdir, console, name):
    assert_same_view(inside_views(runtimes, base_rootfs, workdir, console, name), name)


# ---- the probe's inside checks under the engines' own seccomp profiles ---------------------

# engine -> the corpus config whose linux.seccomp (and capabilities, which the engine's
# profile was filtered by) is the engine's default: podman's translation of
# /usr/share/containers/seccomp.json, containerd's built-in default.
ENGINE_PROFILES = {"podman": "podman-default", "containerd": "ctr-run-seccomp"}
CHECKS = [
    ["/probe", "info"],
    ["/probe", "dev"],
    ["/probe", "stat", "/dev/null"],
    ["/probe", "ls", "/"],
    ["/probe", "write", "/dev/shm/f", "x"],
    ["/probe", "cat", "/etc/passwd"],
    ["/probe", "exit", "7"],
    ["/bin/sh", "-c", "ls / >/dev/null && echo x >/dev/shm/f && cat /dev/shm/f && ps >/dev/null && "
     "mkdir /dev/shm/d && ln -s d /dev/shm/l && chmod 700 /dev/shm/d && id -u && echo ok"],
]


PODMAN_SECCOMP = "/usr/share/containers/seccomp.json"


def test_podman_profile_is_the_installed_one():
    """podman-default.json's profile is podman's translation of the one installed with it."""
    if not os.path.exists(PODMAN_SECCOMP):
        pytest.skip(f"{PODMAN_SECCOMP} is not installed (apt-get install podman)")
    with open(PODMAN_SECCOMP) as f:
        installed = json.load(f)
    written = load(ENGINE_PROFILES["podman"])["linux"]["seccomp"]
    assert (written["defaultAction"], written["defaultErrnoRet"]) == \
        (installed["defaultAction"], installed["defaultErrnoRet"])
    names = {n for rule in installed["syscalls"] for n in rule["names"]}
    assert {n for rule in written["syscalls"] for n in rule["names"]} <= names


def check_output(args, r, config):
    """What a check shows, comparable between a filtered and an unfiltered run."""
    if args[1:] != ["info"] or r.returncode != 0:
        return r.returncode, r.stdout
    view = normalise(parse_json(r.stdout), config)
    del view["status"]["Seccomp"]
    return r.returncode, view


@pytest.mark.parametrize("nnp", [True, False], ids=["noNewPrivileges", "without-noNewPrivileges"])
@pytest.mark.parametrize("engine", ENGINE_PROFILES)
@pytest.mark.parametrize("kind", KINDS)
def test_probe_checks_under_an_engine_seccomp_profile(runtime_binary, bundle, workdir, kind, engine, nnp):
    """Every check gives what it gives without a filter, and the filter is in force."""
    engine_config = load(ENGINE_PROFILES[engine])
    d = os.path.join(workdir, "rt")
    os.mkdir(d)
    rt = Runtime(d, kind=kind)
    try:
        for args in CHECKS:
            b = bundle(args)
            b.config["process"]["capabilities"] = engine_config["process"]["capabilities"]
            b.config["process"]["noNewPrivileges"] = nnp
            control = rt.run(b)
            b.config["linux"]["seccomp"] = engine_config["linux"]["seccomp"]
            filtered = rt.run(b)
            assert check_output(args, filtered, b.config) == check_output(args, control, b.config), \
                f"{args} under {engine}'s profile: {filtered.stderr}"
            if args[1:] == ["info"]:
                assert parse_json(filtered.stdout)["status"]["Seccomp"].strip() == "2"
    finally:
        rt.cleanup()
