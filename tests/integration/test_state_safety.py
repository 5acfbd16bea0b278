"""The state directory under damage and the processes it must never lose (issue 21, items
3, 4, 5, 7, 8 and the ipam leftover of 9).

- A corrupt state.json (truncated, garbage, a directory, a symlink to /dev/zero or to a file
  elsewhere, a FIFO, missing) or a FIFO config.json: no command hangs, `delete` refuses with
  the way out while the init runs, `delete --force` kills it and removes everything.
- An init that no state records (pid 0, state directory removed) is found by `delete` and
  `gc`, and gc never touches a process that is not one of this root's inits.
- One size limit for what create accepts and what every later command reads.
- Container ids beginning with a dot are ordinary containers; internal entries of the root
  have names no id can take.
- --pid-file replaces nothing but a regular file.
"""

import json
import os
import stat
import subprocess

import pytest

from conftest import pid_alive, wait_for

CMD_TIMEOUT = 10  # a command on a damaged state answers at once; more means it hangs
LIMIT = 16 * 1024 * 1024  # RC_STATE_FILE_MAX: what create accepts and every command reads


def start_sleeper(rt, bundle, cid=None):
    b = bundle(["sleep", "1000"])
    c = rt.create(b, cid=cid)
    r = rt.cmd("start", c.cid)
    assert r.returncode == 0, r.stderr
    return c.cid, rt.state(c.cid)["pid"]


def state_dir(rt, cid):
    return os.path.join(rt.root, cid)


def corrupt(path, kind):
    """Replaces the file at path by one kind of damage."""
    os.unlink(path)
    if kind == "truncated":
        with open(path, "w") as f:
            f.write('{"ociVersion": "1.2.0", "id": "x", "sta')
    elif kind == "garbage":
        with open(path, "wb") as f:
            f.write(os.urandom(300))
    elif kind == "directory":
        os.mkdir(path)
        open(os.path.join(path, "inside"), "w").close()
    elif kind == "symlink-zero":
        os.symlink("/dev/zero", path)
    elif kind == "symlink-elsewhere":
        os.symlink("/etc/os-release", path)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind != "missing":
        raise AssertionError(kind)


def no_command_hangs(rt, cid):
    """Every command that reads the state answers (success or error) within CMD_TIMEOUT."""
    for args in (["state", cid], ["list"], ["list", "--format", "json"], ["kill", cid, "0"],
                 ["exec", cid, "true"], ["start", cid], ["ps", cid], ["events", "--stats", cid],
                 ["pause", cid], ["resume", cid], ["update", "--pids-limit", "100", cid]):
        try:
            rt.cmd(*args, timeout=CMD_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"`{' '.join(args)}` hangs on a damaged state") from None


KINDS = ["truncated", "garbage", "directory", "symlink-zero", "symlink-elsewhere", "fifo", "missing"]


@pytest.mark.run_container_only("the runtime-spec says nothing of a damaged state directory: the second "
                                "record of the init and the recovery hint are run-container's (issue 21 item 4)")
@pytest.mark.parametrize("kind", KINDS)
def test_corrupt_state_never_loses_the_init(rt, bundle, kind):
    cid, pid = start_sleeper(rt, bundle)
    corrupt(os.path.join(state_dir(rt, cid), "state.json"), kind)
    no_command_hangs(rt, cid)
    assert pid_alive(pid)
    # still listed, with its init
    r = rt.cmd("list", "--format", "json", timeout=CMD_TIMEOUT)
    entry = [c for c in json.loads(r.stdout) if c["id"] == cid]
    assert entry and entry[0]["pid"] == pid and entry[0]["status"] == "running", r.stdout
    # delete refuses, saying how to recover; nothing is removed
    r = rt.cmd("delete", cid, timeout=CMD_TIMEOUT)
    assert r.returncode != 0 and f"delete --force {cid}" in r.stderr, r.stderr
    assert os.path.isdir(state_dir(rt, cid)) and pid_alive(pid)
    # --force kills the init and removes everything
    r = rt.cmd("delete", "--force", cid, timeout=CMD_TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert not pid_alive(pid)
    assert not os.path.exists(state_dir(rt, cid))


@pytest.mark.run_container_only("the runtime-spec says nothing of a damaged state directory")
@pytest.mark.parametrize("kind", ["fifo", "symlink-zero", "directory"])
def test_damaged_config_copy_hangs_nothing(rt, bundle, kind):
    cid, pid = start_sleeper(rt, bundle)
    corrupt(os.path.join(state_dir(rt, cid), "config.json"), kind)
    no_command_hangs(rt, cid)
    assert rt.state(cid)["status"] == "running"
    r = rt.cmd("delete", "--force", cid, timeout=CMD_TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert not pid_alive(pid) and not os.path.exists(state_dir(rt, cid))


@pytest.mark.run_container_only("a created container whose state lost its pid: run-container's own recovery")
def test_delete_finds_an_init_the_state_does_not_record(rt, bundle):
    """A create killed before it recorded the init left state "creating" with pid 0 (and
    no init record): delete finds the init that holds the directory and kills it."""
    b = bundle(["sleep", "1000"])
    c = rt.create(b)
    pid = rt.state(c.cid)["pid"]
    d = state_dir(rt, c.cid)
    with open(os.path.join(d, "state.json")) as f:
        st = json.load(f)
    st.update(status="creating", pid=0, pidStartTime=0)
    with open(os.path.join(d, "state.json"), "w") as f:
        json.dump(st, f)
    os.unlink(os.path.join(d, "init"))
    assert rt.state(c.cid)["status"] == "stopped"
    r = rt.cmd("delete", c.cid, timeout=CMD_TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert not pid_alive(pid)


@pytest.mark.run_container_only("gc of orphaned inits is run-container's own command")
def test_gc_kills_inits_whose_state_is_gone_and_nothing_else(rt, bundle, workdir):
    """An init whose state directory was removed under it (the failure issue 21 item 3 saw)
    is killed by gc; a described container and a process that only looks like an init stay."""
    kept = rt.create(bundle(["sleep", "1000"]))
    kept_pid = rt.state(kept.cid)["pid"]
    lost = rt.create(bundle(["sleep", "1000"]))
    lost_pid = rt.state(lost.cid)["pid"]
    # a look-alike: named rc:init, holding a directory beside the root's entries
    decoy_dir = os.path.join(workdir, "decoy")
    os.mkdir(decoy_dir)
    decoy = subprocess.Popen(["/usr/bin/python3", "-c",
                              "import ctypes, os, time\n"
                              "ctypes.CDLL(None).prctl(15, b'rc:init', 0, 0, 0)\n"
                              f"fd = os.open({decoy_dir!r}, os.O_RDONLY)\n"
                              "time.sleep(1000)\n"])
    rt.procs.append(decoy)
    wait_for(lambda: open(f"/proc/{decoy.pid}/comm").read() == "rc:init\n", what="the decoy's name")
    subprocess.run(["rm", "-rf", state_dir(rt, lost.cid)], check=True)
    assert pid_alive(lost_pid)
    r = rt.cmd("gc", timeout=30)
    assert r.returncode == 0, r.stderr
    assert "killed 1 orphaned container init" in r.stdout, r.stdout
    wait_for(lambda: not pid_alive(lost_pid), what="the orphaned init to die")
    assert pid_alive(kept_pid) and rt.state(kept.cid)["status"] == "created"
    assert decoy.poll() is None
    r = rt.cmd("gc", timeout=30)
    assert r.returncode == 0 and "killed" not in r.stdout, r.stdout


# ---------------------------------------------------------------- one size limit (item 5)


def annotations_of_size(total):
    per = 1 << 20
    ann, left, i = {}, total, 0
    while left > 0:
        n = min(per, left)
        ann[f"a{i}"] = "x" * n
        left -= n
        i += 1
    return ann


def test_large_annotations_accepted_are_read_by_every_command(rt, bundle):
    """13.9 MB of annotations (once over a 4 MiB state read limit, orphaning the init)."""
    b = bundle(["sleep", "1000"])
    b.config["annotations"] = annotations_of_size(13_900_000)
    c = rt.create(b)
    pid = rt.state(c.cid)["pid"]
    assert any(x["id"] == c.cid for x in json.loads(rt.cmd("list", "--format", "json").stdout))
    assert rt.cmd("start", c.cid).returncode == 0
    assert rt.state(c.cid)["status"] == "running"
    r = rt.cmd("delete", "--force", c.cid)
    assert r.returncode == 0, r.stderr
    # crun's delete --force may return before its SIGKILL has landed
    wait_for(lambda: not pid_alive(pid), what="the init killed by delete --force")


@pytest.mark.run_container_only("the size limit (16 MiB) is run-container's own")
def test_config_whose_state_could_not_be_read_is_refused_at_create(rt, bundle, workdir):
    """A config just under the limit whose state (it adds the bundle and rootfs paths) would
    be over it: create refuses, naming the file; nothing is left behind."""
    deep = os.path.join(workdir, *(["d" * 200] * 8))
    os.makedirs(deep)
    b = bundle(["sleep", "1000"])
    os.rename(b.path, os.path.join(deep, "b"))
    b.path, b.rootfs = os.path.join(deep, "b"), os.path.join(deep, "b", "rootfs")
    b.config["annotations"] = {"big": ""}
    base = len(json.dumps(b.config, indent=1))  # as Bundle.save writes it
    b.config["annotations"]["big"] = "x" * (LIMIT - base - 200)
    c = rt.create(b, check=False)
    assert c.returncode != 0
    assert f"{b.path}/config.json: the container's state would be" in c.stderr, c.stderr
    # one byte over the limit: refused when read, naming the file
    b.config["annotations"]["big"] = "x" * (LIMIT - base + 1)
    c2 = rt.create(b, check=False)
    assert c2.returncode != 0 and f"read `{b.path}/config.json`: larger than {LIMIT} bytes" in c2.stderr
    for cid in (c.cid, c2.cid):
        assert not os.path.exists(state_dir(rt, cid))
    assert json.loads(rt.cmd("list", "--format", "json").stdout) in ([], None)


# ---------------------------------------------------------------- ids with a dot (item 7)


DOT_IDS = [".sandbox", ".seccomp-cache", ".x", "..y"]


def create_dot_ids(rt, bundle):
    rt.ids.extend(DOT_IDS)
    for cid in DOT_IDS:
        # the kernel keeps keyring names beginning with a dot to itself (crun names the
        # session keyring after the id): no keyring here
        rt.create(bundle(["sleep", "1000"]), cid=cid, extra=["--no-new-keyring"])


def test_ids_beginning_with_a_dot_are_ordinary_containers(rt, bundle):
    create_dot_ids(rt, bundle)
    internal = sorted(e for e in os.listdir(rt.root) if e not in DOT_IDS)
    for cid in DOT_IDS:
        assert rt.state(cid)["status"] == "created"
        assert rt.cmd("start", cid).returncode == 0
        assert rt.state(cid)["status"] == "running"
        r = rt.cmd("delete", "--force", cid)
        assert r.returncode == 0, r.stderr
        assert rt.cmd("state", cid).returncode != 0
    # internal entries (if any) are still there, every container is gone
    assert sorted(os.listdir(rt.root)) == internal


@pytest.mark.run_container_only("crun 1.8.1's list hides ids beginning with a dot; runc's id rule accepts "
                                "them and run-container lists them like any other")
def test_list_shows_ids_beginning_with_a_dot(rt, bundle):
    create_dot_ids(rt, bundle)
    listed = {c["id"]: c["status"] for c in json.loads(rt.cmd("list", "--format", "json").stdout)}
    assert listed == {cid: "created" for cid in DOT_IDS}, listed


@pytest.mark.run_container_only("the seccomp cache is run-container's own")
def test_no_id_names_an_internal_entry(rt, bundle):
    b = bundle(["true"])
    b.config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                                    "syscalls": [{"names": ["swapon"], "action": "SCMP_ACT_ERRNO"}]}
    assert rt.run(b).returncode == 0
    internal = sorted(os.listdir(rt.root))
    assert internal == ["@seccomp-cache"], internal
    for name in internal:
        r = rt.cmd("delete", "--force", name)
        assert r.returncode != 0 and "invalid container id" in r.stderr, r.stderr
        r = rt.cmd("state", name)
        assert r.returncode != 0
    r = rt.cmd("delete", "--force", ".seccomp-cache")
    assert r.returncode == 0
    assert sorted(os.listdir(rt.root)) == internal and os.listdir(os.path.join(rt.root, internal[0]))


# ---------------------------------------------------------------- --pid-file (item 8)


def special_files(workdir):
    """A character device (the same node as /dev/null), a FIFO, a directory, a symlink."""
    out = {}
    out["device"] = os.path.join(workdir, "null")
    os.mknod(out["device"], 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    out["fifo"] = os.path.join(workdir, "fifo")
    os.mkfifo(out["fifo"])
    out["directory"] = os.path.join(workdir, "dir")
    os.mkdir(out["directory"])
    out["symlink"] = os.path.join(workdir, "link")
    os.symlink("/etc/hostname", out["symlink"])
    return out


def kinds_unchanged(paths):
    st = {k: os.lstat(p) for k, p in paths.items()}
    return (stat.S_ISCHR(st["device"].st_mode) and stat.S_ISFIFO(st["fifo"].st_mode)
            and stat.S_ISDIR(st["directory"].st_mode) and stat.S_ISLNK(st["symlink"].st_mode))


@pytest.mark.run_container_only("--pid-file is outside the runtime-spec; refusing to replace a device node "
                                "is run-container's hardening (issue 21 item 8): crun writes into it")
def test_pid_file_replaces_only_a_regular_file(rt, bundle, workdir):
    paths = special_files(workdir)
    for kind, path in paths.items():
        c = rt.create(bundle(["sleep", "1000"]), extra=["--pid-file", path], check=False)
        assert c.returncode != 0, kind
        assert f"write pid file `{path}`" in c.stderr and "only a regular file is replaced" in c.stderr, c.stderr
        assert not os.path.exists(state_dir(rt, c.cid)), f"{kind}: the container was left behind"
    assert kinds_unchanged(paths)
    regular = os.path.join(workdir, "pid")
    with open(regular, "w") as f:
        f.write("old contents, longer than a pid\n")
    c = rt.create(bundle(["sleep", "1000"]), extra=["--pid-file", regular])
    with open(regular) as f:
        assert int(f.read()) == rt.state(c.cid)["pid"]
    assert sorted(os.listdir(workdir)) == sorted(os.listdir(workdir)), "no temp file left"
    assert not [e for e in os.listdir(workdir) if e.startswith(".pid.")]
    # exec --pid-file: the same writer
    assert rt.cmd("start", c.cid).returncode == 0
    r = rt.cmd("exec", "--detach", "--pid-file", paths["device"], c.cid, "sleep", "100")
    assert r.returncode != 0 and "only a regular file is replaced" in r.stderr, r.stderr
    assert kinds_unchanged(paths)


# ---------------------------------------------------------------- ipam temp files (item 9)

from test_network import host, net_bundle, nrt  # noqa: E402,F401  (fixtures: a test-made network namespace)


@pytest.mark.run_container_only("run-container's own networking")
def test_network_prune_removes_ipam_temp_files(nrt, bundle):
    """The round-robin hint is rewritten in place (a killed allocation leaves no temp file);
    the temp files earlier versions left (..next.*, .tmp-*) go with `network prune`."""
    r = nrt.run(net_bundle(bundle, ["true"], network="default"))
    assert r.returncode == 0, r.stderr
    d = os.path.join(nrt.netroot, "ipam", "default")
    assert sorted(os.listdir(d)) == [".lock", ".next"]
    for name in ("..next.0badc0de", ".tmp-99999-10.90.0.9"):
        open(os.path.join(d, name), "w").close()
    r = nrt.cmd("network", "prune")
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(d)) == [".lock", ".next"]


@pytest.mark.run_container_only("run-container's own networking")
def test_fifo_network_record_hangs_no_delete(nrt, bundle):
    """The network record beside state.json is read the same way: a FIFO there is refused
    at once (delete --force warns, and `network prune` releases the address)."""
    c = nrt.create(net_bundle(bundle, ["sleep", "1000"], network="default"))
    pid = nrt.state(c.cid)["pid"]
    corrupt(os.path.join(state_dir(nrt, c.cid), "network.json"), "fifo")
    r = nrt.cmd("delete", "--force", c.cid, timeout=CMD_TIMEOUT)
    assert r.returncode == 0 and "not a regular file" in r.stderr, r.stderr
    assert not pid_alive(pid) and not os.path.exists(state_dir(nrt, c.cid))
    assert nrt.cmd("network", "prune").returncode == 0
    assert nrt.leases() == []
