"""The container's filesystem: mounts and their options, /dev, masked and read-only paths."""

import json
import os

import pytest

from conftest import mount_at


def run_cmd(rt, b, *args):
    """Runs /probe ARGS in bundle b; returns (exit status, stdout, stderr)."""
    b.config["process"]["args"] = ["/probe", *args]
    r = rt.run(b)
    return r.returncode, r.stdout, r.stderr


def test_default_mounts_present(rt, bundle):
    info = rt.run_probe(bundle())
    want = {"/proc": "proc", "/dev": "tmpfs", "/dev/pts": "devpts", "/dev/shm": "tmpfs",
            "/dev/mqueue": "mqueue", "/sys": "sysfs"}
    for point, fstype in want.items():
        m = mount_at(info, point)
        assert m is not None, f"no mount at {point}"
        assert m["fstype"] == fstype, m


@pytest.mark.parametrize("point,opts,super_opts", [
    ("/dev", ["nosuid"], ["mode=755", "size=65536k"]),
    ("/dev/pts", ["nosuid", "noexec"], ["mode=620", "ptmxmode=666", "gid=5"]),
    ("/dev/shm", ["nosuid", "nodev", "noexec"], ["size=65536k"]),
    ("/dev/mqueue", ["nosuid", "nodev", "noexec"], []),
    ("/sys", ["ro", "nosuid", "nodev", "noexec"], []),
])
def test_mount_options(rt, bundle, point, opts, super_opts):
    m = mount_at(rt.run_probe(bundle()), point)
    for o in opts:
        assert o in m["options"], f"{point}: {o} not in {m['options']}"
    for o in super_opts:
        assert o in m["super_options"], f"{point}: {o} not in {m['super_options']}"


def test_proc_is_the_containers(rt, bundle):
    rc, out, err = run_cmd(rt, bundle(), "ls", "/proc")
    assert rc == 0, err
    pids = [e for e in json.loads(out) if e.isdigit()]
    assert pids == ["1"], f"/proc shows other pid namespaces' processes: {pids}"


def test_readonly_root(rt, bundle):
    b = bundle()
    info = rt.run_probe(b)
    assert "ro" in mount_at(info, "/")["options"]
    rc, out, _ = run_cmd(rt, b, "write", "/newfile")
    assert rc != 0 and json.loads(out)["errno"] == 30  # EROFS


def test_writable_root(rt, bundle):
    b = bundle()
    b.config["root"]["readonly"] = False
    rc, out, err = run_cmd(rt, b, "write", "/newfile", "hi")
    assert rc == 0, out + err
    with open(os.path.join(b.rootfs, "newfile")) as f:
        assert f.read() == "hi"


def test_bind_mount_host_dir(rt, bundle, workdir):
    host = os.path.join(workdir, "shared")
    os.mkdir(host)
    with open(os.path.join(host, "from-host"), "w") as f:
        f.write("hello")
    b = bundle()
    b.add_mount("/mnt", "bind", host, ["rbind", "rw"])
    rc, out, err = run_cmd(rt, b, "cat", "/mnt/from-host")
    assert (rc, out) == (0, "hello"), err
    rc, out, err = run_cmd(rt, b, "write", "/mnt/from-container", "back")
    assert rc == 0, out + err
    with open(os.path.join(host, "from-container")) as f:
        assert f.read() == "back"


def test_ro_bind_mount(rt, bundle, workdir):
    host = os.path.join(workdir, "ro")
    os.mkdir(host)
    b = bundle()
    b.add_mount("/mnt", "bind", host, ["bind", "ro"])
    b.config["process"]["args"] = ["/probe"]
    assert "ro" in mount_at(rt.run_probe(b), "/mnt")["options"]
    rc, out, _ = run_cmd(rt, b, "write", "/mnt/x")
    assert rc != 0 and json.loads(out)["errno"] == 30
    assert os.listdir(host) == []


def test_bind_mount_file(rt, bundle, workdir):
    host = os.path.join(workdir, "file.txt")
    with open(host, "w") as f:
        f.write("a file")
    b = bundle()
    b.add_mount("/etc/bound.txt", "bind", host, ["bind", "ro"])
    rc, out, err = run_cmd(rt, b, "cat", "/etc/bound.txt")
    assert (rc, out) == (0, "a file"), err


def test_tmpfs_with_size(rt, bundle):
    b = bundle()
    b.add_mount("/scratch", "tmpfs", "tmpfs", ["size=1m", "mode=700", "nodev"])
    m = mount_at(rt.run_probe(b), "/scratch")
    assert m["fstype"] == "tmpfs"
    assert "size=1024k" in m["super_options"]
    assert "mode=700" in m["super_options"]
    assert "nodev" in m["options"]
    rc, out, err = run_cmd(rt, b, "write", "/scratch/f")
    assert rc == 0, out + err


def test_mount_creates_missing_destination(rt, bundle):
    b = bundle()
    b.add_mount("/a/b/c", "tmpfs", "tmpfs", ["size=64k"])
    assert mount_at(rt.run_probe(b), "/a/b/c")["fstype"] == "tmpfs"


def test_dev_nodes_work(rt, bundle):
    rc, out, err = run_cmd(rt, bundle(), "dev")
    assert rc == 0, err
    d = json.loads(out)
    for name in ("null", "zero", "full", "random", "urandom", "tty"):
        assert d[name]["char"], f"/dev/{name} is not a character device"
    assert d["null"]["read"] == 0 and d["null"]["write"] == 1
    assert d["zero"]["read_zeros"] and d["zero"]["write"] == 1
    assert d["full"]["write"] == -28  # ENOSPC
    assert d["random"]["read"] == 16 and d["urandom"]["read"] == 16
    # /dev/tty exists; without a controlling terminal opening it gives ENXIO.
    assert d["tty"]["open_errno"] in (0, 6)


@pytest.mark.parametrize("link,target", [
    ("/dev/fd", "/proc/self/fd"),
    ("/dev/stdin", "/proc/self/fd/0"),
    ("/dev/stdout", "/proc/self/fd/1"),
    ("/dev/stderr", "/proc/self/fd/2"),
    ("/dev/ptmx", "pts/ptmx"),
])
def test_dev_symlinks(rt, bundle, link, target):
    rc, out, err = run_cmd(rt, bundle(), "stat", link)
    assert rc == 0, out + err
    st = json.loads(out)
    assert st["type"] == "symlink" and st["target"] == target, st


def test_linux_devices_creates_node(rt, bundle):
    b = bundle()
    b.config["linux"]["devices"] = [
        {"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o620, "uid": 0, "gid": 5},
    ]
    rc, out, err = run_cmd(rt, b, "stat", "/dev/mynull")
    assert rc == 0, out + err
    st = json.loads(out)
    assert (st["type"], st["major"], st["minor"]) == ("char", 1, 3)
    assert (st["mode"], st["uid"], st["gid"]) == (0o620, 0, 5)
    rc, out, err = run_cmd(rt, b, "write", "/dev/mynull")
    assert rc == 0, out + err


def _existing_host_masked(kind):
    cands = {"file": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug"],
             "dir": ["/proc/acpi", "/proc/scsi", "/sys/firmware"]}[kind]
    return [p for p in cands if os.path.exists(p)]


@pytest.mark.parametrize("path", _existing_host_masked("file") or ["/proc/kcore"])
def test_masked_file_reads_empty(rt, bundle, path):
    if not os.path.exists(path):
        pytest.skip(f"{path} does not exist on this kernel")
    rc, out, err = run_cmd(rt, bundle(), "cat", path)
    assert (rc, out) == (0, ""), err


@pytest.mark.parametrize("path", _existing_host_masked("dir") or ["/sys/firmware"])
def test_masked_dir_is_empty(rt, bundle, path):
    if not os.path.exists(path):
        pytest.skip(f"{path} does not exist on this kernel")
    rc, out, err = run_cmd(rt, bundle(), "ls", path)
    assert (rc, json.loads(out or "null")) == (0, []), err


def test_readonly_paths(rt, bundle):
    # kernel.domainname belongs to the container's uts namespace: harmless if the test fails.
    b = bundle()
    rc, out, _ = run_cmd(rt, b, "write", "/proc/sys/kernel/domainname", "x")
    assert rc != 0 and json.loads(out)["errno"] == 30  # EROFS
    rc, out, err = run_cmd(rt, b, "cat", "/proc/sys/kernel/domainname")
    assert rc == 0, err


def test_readonly_paths_absent_makes_proc_sys_writable(rt, bundle):
    b = bundle()
    b.config["linux"]["readonlyPaths"] = []
    rc, out, err = run_cmd(rt, b, "write", "/proc/sys/kernel/domainname", "x")
    assert rc == 0, out + err


def test_sysctl_in_netns(rt, bundle):
    # Set the opposite of the host's value, so the test shows the write happened; the
    # container has its own network namespace, so the host's value must not change.
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        host_before = f.read().strip()
    want = "0" if host_before == "1" else "1"
    b = bundle()
    b.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": want}
    rc, out, err = run_cmd(rt, b, "cat", "/proc/sys/net/ipv4/ip_forward")
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        host_after = f.read().strip()
    assert host_after == host_before, "the sysctl leaked to the host's network namespace"
    assert (rc, out.strip()) == (0, want), err


def test_sysctl_ipc(rt, bundle):
    # kernel.msgmax belongs to the container's ipc namespace.
    b = bundle(["/probe", "cat", "/proc/sys/kernel/msgmax"])
    b.config["linux"]["sysctl"] = {"kernel.msgmax": "12345"}
    r = rt.run(b)
    assert (r.returncode, r.stdout.strip()) == (0, "12345"), r.stderr


# While the runtime makes the network namespace, the init creates the device nodes and
# masks/read-only paths early, but only those no later mount can touch: the results must
# be those of the usual order (mounts, then devices, then masks and read-only paths).

def test_mask_applies_over_a_later_mount(rt, bundle, workdir):
    host = os.path.join(workdir, "data")
    os.mkdir(host)
    open(os.path.join(host, "x"), "w").close()
    b = bundle()
    b.add_mount("/data", "bind", host, ["rbind", "rw"])  # after sysfs: after the netns join
    b.config["linux"]["maskedPaths"].append("/data")
    rc, out, err = run_cmd(rt, b, "ls", "/data")
    assert (rc, json.loads(out or "null")) == (0, []), err
    for path in _existing_host_masked("file")[:1]:  # an early one still masked
        rc, out, err = run_cmd(rt, b, "cat", path)
        assert (rc, out) == (0, ""), err


@pytest.mark.run_container_only("KNOWN DIVERGENCE: runc and crun remount a readonlyPath read-only without MS_REC, so mounts below it stay writable; the spec is silent")
def test_readonly_path_over_a_later_mount(rt, bundle, workdir):
    host = os.path.join(workdir, "rw")
    os.mkdir(host)
    b = bundle()
    b.add_mount("/data/sub", "bind", host, ["rbind", "rw"])
    b.config["linux"]["readonlyPaths"].append("/data")
    rc, out, _ = run_cmd(rt, b, "write", "/data/sub/f", "x")
    assert rc != 0 and json.loads(out)["errno"] == 30  # EROFS: the read-only bind is on top
    assert os.listdir(host) == []


def test_devices_made_after_a_later_dev_mount(rt, bundle):
    b = bundle()
    b.add_mount("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"])
    rc, out, err = run_cmd(rt, b, "dev")
    assert rc == 0, err
    d = json.loads(out)
    assert d["null"]["char"] and d["null"]["write"] == 1, "the nodes are in the /dev mounted last"
