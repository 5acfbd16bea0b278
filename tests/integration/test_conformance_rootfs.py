"""The root filesystem as the runtime-spec, runc and crun have it (issue 14 items 4, 7, 9)."""

import os

import pytest

from conftest import parse_json


# ---- no mount namespace (item 4) ---------------------------------------------------------
#
# config-linux.md, Namespaces: "If a namespace type is not specified in the namespaces
# array, the container MUST inherit the runtime namespace of that type." Without a mount
# namespace runc and crun chroot the process into the rootfs (no pivot_root).


def no_mountns(b):
    b.set_namespace("mount", present=False)
    b.config["mounts"] = []
    b.config["linux"].pop("maskedPaths")
    b.config["linux"].pop("readonlyPaths")
    b.config["root"]["readonly"] = False
    return b


def host_mount_lines(needle):
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if needle in line]


def test_no_mount_namespace_runs_chrooted_in_the_rootfs(rt, bundle):
    b = no_mountns(bundle(["/probe", "ls", "/"]))
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    names = parse_json(r.stdout)
    assert "probe" in names and "bin" in names, names
    assert host_mount_lines(b.path) == [], "the container mounted something on the host"


def test_no_mount_namespace_shares_the_runtimes(rt, bundle):
    b = no_mountns(bundle(["/probe", "sleep", "30"]))
    c = rt.create(b)
    pid = rt.state(c.cid)["pid"]
    if rt.kind != "crun":  # the fixture runs crun in a private mount namespace: that is "the runtime's"
        assert os.stat(f"/proc/{pid}/ns/mnt").st_ino == os.stat("/proc/self/ns/mnt").st_ino
    assert os.path.realpath(f"/proc/{pid}/root") == os.path.realpath(b.rootfs)
    assert host_mount_lines(b.path) == [], "the container mounted something on the host"


@pytest.mark.run_container_only("runc and crun make these mounts in the runtime's own mount "
                                "namespace, i.e. on the host, and leave them there; run-container "
                                "refuses them (runc too refuses maskedPaths/readonlyPaths: 'unable to "
                                "restrict sys entries without a private MNT namespace')")
@pytest.mark.parametrize("what,path", [
    ("mounts", ".mounts[0]: mounting `/proc`"),
    ("maskedPaths", ".linux.maskedPaths"),
    ("readonlyPaths", ".linux.readonlyPaths"),
    ("readonly", ".root.readonly"),
])
def test_no_mount_namespace_refuses_what_would_mount_on_the_host(rt, bundle, what, path):
    b = no_mountns(bundle())
    if what == "mounts":
        b.add_mount("/proc", "proc", "proc")
    elif what == "readonly":
        b.config["root"]["readonly"] = True
    else:
        b.config["linux"][what] = ["/proc/kcore"]
    r = rt.create(b, check=False)
    assert r.returncode != 0
    assert path in r.stderr and "needs a mount namespace" in r.stderr, r.stderr
    assert host_mount_lines(b.path) == [], "the container mounted something on the host"
    assert rt.cmd("state", r.cid).returncode != 0, "a refused create left a container"


@pytest.mark.run_container_only("run-container's own warning (crun says nothing)")
def test_no_mount_namespace_is_warned_about(rt, bundle):
    r = rt.run(no_mountns(bundle(["/probe", "exit", "0"])))
    assert r.returncode == 0, r.stderr
    assert "no mount namespace" in r.stderr and "chrooted" in r.stderr, r.stderr


# ---- a missing process.cwd (item 7) ------------------------------------------------------
#
# runc (MkdirAll(cwd, 0755) once in the rootfs) and crun (crun_safe_ensure_directory_at,
# 0755) create a missing cwd, as the container's root; the spec is silent.


def userns(b, host_id=100000):
    b.set_namespace("user")
    for key in ("uidMappings", "gidMappings"):
        b.config["linux"][key] = [{"containerID": 0, "hostID": host_id, "size": 65536}]
    return b


@pytest.mark.parametrize("variant", ["plain", "userns", "symlinked-parent"])
def test_missing_cwd_is_created_in_the_rootfs(rt, bundle, variant):
    b = bundle(["/bin/sh", "-c", "pwd"])
    b.config["process"]["cwd"] = "/work/a/b"
    owner = 0
    if variant == "userns":
        userns(b)
        owner = 100000
        os.chown(b.rootfs, owner, owner)  # the mapped root may write its rootfs
    elif variant == "symlinked-parent":
        # an absolute symlink is resolved inside the rootfs, never on the host
        os.mkdir(os.path.join(b.rootfs, "elsewhere"))
        os.symlink("/elsewhere", os.path.join(b.rootfs, "work"))
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    top = "elsewhere" if variant == "symlinked-parent" else "work"
    assert r.stdout.strip() == f"/{top}/a/b"
    where = os.path.join(b.rootfs, top, "a", "b")
    st = os.lstat(where)
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o755, owner, owner)
    assert not os.path.exists("/elsewhere"), "the cwd was created on the host"


# ---- a mount destination that is a dangling symlink (item 7) -----------------------------
#
# runc (securejoin resolves the destination inside the rootfs, then MkdirAll) and crun
# create the missing target of a symlink in the rootfs and mount there.


CRUN_DANGLING_DIR = ("crun 1.8.1 fails a directory mount on a dangling symlink ('openat2 `mnt/link`: No such "
                     "file or directory'); runc's securejoin + MkdirAll and later crun create the target")


@pytest.mark.parametrize("kind", [
    pytest.param("absolute", marks=pytest.mark.run_container_only(CRUN_DANGLING_DIR)),
    pytest.param("relative", marks=pytest.mark.run_container_only(CRUN_DANGLING_DIR)),
    "file",
])
def test_mount_on_a_dangling_symlink_creates_its_target_in_the_rootfs(rt, bundle, workdir, kind):
    b = bundle(["/bin/sh", "-c", "cat /proc/self/mountinfo"])
    target = {"absolute": "/data/target", "relative": "../data/target", "file": "/data/file"}[kind]
    os.makedirs(os.path.join(b.rootfs, "mnt"), exist_ok=True)
    os.symlink(target, os.path.join(b.rootfs, "mnt", "link"))
    if kind == "file":
        src = os.path.join(workdir, "src-file")
        with open(src, "w") as f:
            f.write("content")
        b.add_mount("/mnt/link", "bind", src, ["bind", "ro"])
    else:
        b.add_mount("/mnt/link", "tmpfs", "tmpfs", ["size=1m"])
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    points = [line.split()[4] for line in r.stdout.splitlines()]
    want = "/data/file" if kind == "file" else "/data/target"
    assert want in points, points
    assert os.path.lexists(os.path.join(b.rootfs, want.lstrip("/")))
    assert not os.path.exists(want), "created on the host"


# ---- a 0700 bundle owned by the mapped root (item 9) -------------------------------------
#
# podman --uidmap writes such a bundle: only the user namespace's root may enter it (and
# the host's root, by CAP_DAC_OVERRIDE, which the init loses in the user namespace).


@pytest.mark.parametrize("path", ["clone", "join"])
def test_user_namespace_with_a_private_bundle_of_the_mapped_root(rt, bundle, path):
    b = userns(bundle())
    if path == "join":
        b.set_namespace("uts", path="/proc/self/ns/uts")  # the init unshares its namespaces
        del b.config["hostname"]
    for d in (b.path, b.rootfs):
        os.chown(d, 100000, 100000)
    os.chmod(b.path, 0o700)
    info = rt.run_probe(b)
    assert (info["uid"], info["gid"]) == (0, 0)


@pytest.mark.run_container_only("crun 1.8.1's exec does not enter the root of a container without a mount "
                                "namespace (its process sees the runtime's /); run-container's exec "
                                "enters the init's root, as for every container")
def test_exec_into_a_container_without_mount_namespace_is_chrooted_too(rt, bundle):
    b = no_mountns(bundle(["/probe", "sleep", "30"]))
    c = rt.create(b)
    assert rt.cmd("start", c.cid).returncode == 0
    r = rt.cmd("exec", c.cid, "/probe", "ls", "/")
    assert r.returncode == 0, r.stderr
    assert "probe" in parse_json(r.stdout)
