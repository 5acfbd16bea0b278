"""Configs as real tools write them (issue 14 items 8 and 11, issue 21 items 6 and 9): values
runc and crun accept must run, values that are wrong must be refused at create with the file
and the JSON path named."""

import json
import os

import pytest


def run_cmd(rt, b, *args):
    b.config["process"]["args"] = ["/probe", *args]
    r = rt.run(b)
    return r.returncode, r.stdout, r.stderr


def test_device_filemode_with_file_type_bits(rt, bundle):
    """podman --device writes the whole st_mode: 8630 = S_IFCHR | 0666."""
    b = bundle()
    b.config["linux"]["devices"] = [
        {"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o20640, "uid": 0, "gid": 0},
    ]
    rc, out, err = run_cmd(rt, b, "stat", "/dev/mynull")
    assert rc == 0, out + err
    st = json.loads(out)
    assert (st["type"], st["major"], st["minor"], st["mode"]) == ("char", 1, 3, 0o640), st


def test_device_outside_dev(rt, bundle):
    b = bundle()
    b.config["root"]["readonly"] = False
    b.config["linux"]["devices"] = [{"path": "/opt/devs/null", "type": "c", "major": 1, "minor": 3}]
    rc, out, err = run_cmd(rt, b, "stat", "/opt/devs/null")
    assert rc == 0, out + err
    st = json.loads(out)
    assert (st["type"], st["major"], st["minor"]) == ("char", 1, 3), st


def test_sysctl_kernel_domainname(rt, bundle):
    """Docker sets the NIS domain name through this sysctl (there is no OCI field for it in
    older configs)."""
    b = bundle()
    b.config["linux"]["sysctl"] = {"kernel.domainname": "sysctl.example"}
    assert rt.run_probe(b)["domainname"] == "sysctl.example"


def test_sysctl_kernel_domainname_agreeing_with_domainname(rt, bundle):
    b = bundle()
    b.config["domainname"] = "same.example"
    b.config["linux"]["sysctl"] = {"kernel.domainname": "same.example"}
    assert rt.run_probe(b)["domainname"] == "same.example"


def test_sysctl_kernel_hostname_is_refused(rt, bundle):
    b = bundle()
    b.config["linux"]["sysctl"] = {"kernel.hostname": "by-sysctl"}
    r = rt.run(b)
    assert r.returncode != 0
    if rt.kind == "run-container":
        cfg = os.path.join(b.path, "config.json")
        assert f"{cfg}: .linux.sysctl.kernel.hostname: not allowed, it conflicts with .hostname" in r.stderr, \
            r.stderr


@pytest.mark.run_container_only("crun 1.8.1 connects to listenerPath without a SCMP_ACT_NOTIFY rule; "
                                "config-linux.md: the runtime sends the state over it \"when the "
                                "SCMP_ACT_NOTIFY action is used\"")
def test_listener_path_without_notify_rule_is_ignored(rt, bundle, workdir):
    """config-linux.md: listenerPath is used only with SCMP_ACT_NOTIFY rules."""
    b = bundle()
    b.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": os.path.join(workdir, "nobody-listens.sock"),
        "syscalls": [{"names": ["mknodat"], "action": "SCMP_ACT_ERRNO"}],
    }
    rt.run_probe(b)


@pytest.mark.run_container_only("crun 1.8.1 accepts \\u0000 in strings and cuts them; "
                                "RFC 8259 strings may hold it, but no path or argument can")
def test_nul_in_a_string_is_refused(rt, bundle):
    b = bundle()
    b.save()
    path = os.path.join(b.path, "config.json")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace('"/probe"', '"/pro\\u0000be"', 1))
    cid = rt.new_id()
    r = rt.cmd("run", "--bundle", b.path, cid)
    assert r.returncode != 0
    assert f"{path}: .process.args[0]: string contains a NUL character" in r.stderr, r.stderr


@pytest.mark.run_container_only("crun 1.8.1 runs -5 as no limit; only -1 means unlimited")
@pytest.mark.parametrize("field,value", [("memory.limit", -5), ("memory.swap", -2), ("pids.limit", -7)])
def test_negative_limit_is_refused(rt, bundle, field, value):
    b = bundle()
    group, key = field.split(".")
    b.config["linux"]["resources"] = {group: {key: value}}
    r = rt.run(b)
    assert r.returncode != 0
    cfg = os.path.join(b.path, "config.json")
    assert f"{cfg}: .linux.resources.{field}: {value} is out of range" in r.stderr, r.stderr


# ---- engine mount options ------------------------------------------------------------------


def probe_lines(rt, b, script):
    """Runs `sh -c script` in bundle b; returns the JSON objects it printed, one a line."""
    b.config["process"]["args"] = ["/bin/sh", "-c", script]
    r = rt.run(b)
    assert r.returncode == 0, r.stdout + r.stderr
    return [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]


def fill_copyup_dir(rootfs):
    d = os.path.join(rootfs, "opt", "content")
    os.makedirs(os.path.join(d, "sub"))
    with open(os.path.join(d, "file"), "w") as f:
        f.write("from the image\n")
    os.chmod(os.path.join(d, "file"), 0o640)
    os.chown(os.path.join(d, "file"), 1000, 1001)
    os.chmod(os.path.join(d, "sub"), 0o711)
    os.chown(os.path.join(d, "sub"), 1002, 1003)
    with open(os.path.join(d, "sub", "deep"), "w") as f:
        f.write("deep\n")
    os.symlink("../elsewhere", os.path.join(d, "link"))
    os.mkfifo(os.path.join(d, "fifo"), 0o600)
    os.mknod(os.path.join(d, "null"), 0o620 | 0o020000, os.makedev(1, 3))
    os.chmod(os.path.join(d, "null"), 0o620)
    os.chown(d, 0, 0)
    os.chmod(d, 0o705)


@pytest.mark.parametrize("ro", [False, True], ids=["rw", "ro"])
def test_tmpcopyup_copies_the_image_content(rt, bundle, ro):
    """podman adds tmpcopyup to every tmpfs: the tmpfs starts with what the image had."""
    b = bundle()
    fill_copyup_dir(b.rootfs)
    b.add_mount("/opt/content", "tmpfs", "tmpfs", ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"]
                + (["ro"] if ro else []))
    p = "/opt/content"
    objs = probe_lines(rt, b, f"/probe stat {p}; for n in file sub sub/deep link fifo null; "
                              f"do /probe stat {p}/$n; done; /probe cat {p}/sub/deep; "
                              f"/probe write {p}/new; /probe")
    assert len(objs) == 9 and all("type" in o for o in objs[:7]), objs
    root, file, sub, deep, link, fifo, null = objs[:7]
    write, info = objs[7], objs[8]
    if rt.kind == "run-container":
        # runc gives the tmpfs the directory's mode, newer crun too; crun 1.8.1 leaves
        # tmpfs's 1777 root:root. The owner is the image's as well here (a faithful copy).
        assert (root["mode"], root["uid"], root["gid"]) == (0o705, 0, 0), root
    assert (file["type"], file["mode"], file["uid"], file["gid"]) == ("file", 0o640, 1000, 1001), file
    assert (sub["type"], sub["mode"], sub["uid"], sub["gid"]) == ("dir", 0o711, 1002, 1003), sub
    assert deep["type"] == "file", deep
    assert (link["type"], link["target"]) == ("symlink", "../elsewhere"), link
    assert (fifo["type"], fifo["mode"]) == ("fifo", 0o600), fifo
    assert (null["type"], null["major"], null["minor"], null["mode"]) == ("char", 1, 3, 0o620), null
    m = [x for x in info["mounts"] if x["mount_point"] == p][0]
    assert m["fstype"] == "tmpfs", m
    assert ("ro" in m["options"]) == ro, m
    assert write["ok"] is (not ro), write
    # the image itself is unchanged
    assert not os.path.exists(os.path.join(b.rootfs, "opt", "content", "new"))


def test_tmpcopyup_on_a_missing_directory(rt, bundle):
    b = bundle()
    b.add_mount("/opt/fresh", "tmpfs", "tmpfs", ["tmpcopyup", "mode=1777"])
    st = probe_lines(rt, b, "/probe stat /opt/fresh")[0]
    assert (st["type"], st["mode"]) == ("dir", 0o1777), st


@pytest.mark.run_container_only("crun 1.8.1 hands defaults and notmpcopyup to the kernel (EINVAL); "
                                "later crun releases accept them")
def test_defaults_and_notmpcopyup_are_accepted(rt, bundle):
    b = bundle()
    fill_copyup_dir(b.rootfs)
    b.add_mount("/opt/content", "tmpfs", "tmpfs", ["defaults", "tmpcopyup", "notmpcopyup"])
    names = probe_lines(rt, b, "/probe ls /opt/content || true; echo; /probe stat /opt/content")
    assert names[0]["type"] == "dir"


@pytest.mark.run_container_only("crun 1.8.1 hands notmpcopyup to the kernel (EINVAL)")
def test_notmpcopyup_leaves_the_tmpfs_empty(rt, bundle):
    b = bundle()
    fill_copyup_dir(b.rootfs)
    b.add_mount("/opt/content", "tmpfs", "tmpfs", ["defaults", "tmpcopyup", "notmpcopyup"])
    b.config["process"]["args"] = ["/probe", "ls", "/opt/content"]
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [], "notmpcopyup: an empty tmpfs"


@pytest.mark.run_container_only("crun 1.8.1 has no copy-symlink (crun 1.11 added it)")
def test_copy_symlink(rt, bundle, workdir):
    b = bundle()
    src = os.path.join(workdir, "localtime")
    os.symlink("/usr/share/zoneinfo/Etc/UTC", src)
    b.add_mount("/etc/localtime", "bind", src, ["bind", "copy-symlink"])
    st = probe_lines(rt, b, "/probe stat /etc/localtime")[0]
    assert (st["type"], st["target"]) == ("symlink", "/usr/share/zoneinfo/Etc/UTC"), st
    assert os.path.islink(os.path.join(b.rootfs, "etc", "localtime"))


@pytest.mark.run_container_only("crun 1.8.1 has no src-nofollow (crun 1.11 added it)")
def test_src_nofollow_binds_the_symlink_itself(rt, bundle, workdir):
    b = bundle()
    src = os.path.join(workdir, "alink")
    os.symlink("/nowhere/at/all", src)
    b.add_mount("/opt/alink", "bind", src, ["bind", "src-nofollow"])
    st = probe_lines(rt, b, "/probe stat /opt/alink")[0]
    assert (st["type"], st["target"]) == ("symlink", "/nowhere/at/all"), st


@pytest.mark.run_container_only("crun 1.8.1 has no dest-nofollow (crun 1.11 added it)")
def test_dest_nofollow_mounts_on_the_symlink(rt, bundle, workdir):
    b = bundle()
    b.config["root"]["readonly"] = False
    os.makedirs(os.path.join(b.rootfs, "opt"), exist_ok=True)
    os.symlink("/etc/hostname-target", os.path.join(b.rootfs, "opt", "dlink"))
    src = os.path.join(workdir, "other-link")
    os.symlink("/replaced", src)
    b.add_mount("/opt/dlink", "bind", src, ["bind", "src-nofollow", "dest-nofollow"])
    st = probe_lines(rt, b, "/probe stat /opt/dlink; /probe stat /etc/hostname-target; true")
    assert (st[0]["type"], st[0]["target"]) == ("symlink", "/replaced"), st
    assert st[1]["exists"] is False, "the symlink's target was created or mounted on"


@pytest.mark.run_container_only("run-container's message; crun 1.8.1 supports idmapped mounts")
def test_idmap_option_is_refused_with_the_path(rt, bundle, workdir):
    b = bundle()
    b.add_mount("/data", "bind", workdir, ["rbind", "idmap"])
    r = rt.run(b)
    n = len(b.config["mounts"]) - 1
    cfg = os.path.join(b.path, "config.json")
    assert r.returncode != 0
    assert f'{cfg}: .mounts[{n}].options[1]: "idmap": idmapped mounts are not supported' in r.stderr, r.stderr


# ---- errors found while creating name the file and the JSON path ---------------------------


def _missing_bind(b, workdir):
    b.add_mount("/data", "bind", os.path.join(workdir, "no-such-source"), ["rbind"])
    return f".mounts[{len(b.config['mounts']) - 1}]: mount `"


def _bad_fs_type(b, workdir):
    b.add_mount("/data", "nosuchfs", "x")
    return f".mounts[{len(b.config['mounts']) - 1}]: mount `x` on `/data`: No such device"


def _missing_ns_path(b, workdir):
    b.set_namespace("network", path=os.path.join(workdir, "no-such-netns"))
    i = [n["type"] for n in b.config["linux"]["namespaces"]].index("network")
    return f".linux.namespaces[{i}].path: open namespace path"


def _failing_hook(b, workdir):
    b.config["hooks"] = {"createRuntime": [{"path": "/bin/true"}, {"path": "/bin/false"}]}
    return '.hooks.createRuntime[1]: createRuntime hook "/bin/false": exited with status 1'


def _missing_sysctl(b, workdir):
    b.config["linux"]["sysctl"] = {"net.ipv4.no_such_sysctl": "1"}
    return ".linux.sysctl.net.ipv4.no_such_sysctl: write sysctl"


def _bad_device(b, workdir):
    b.config["linux"]["devices"] = [{"path": "/dev/null/under-a-node", "type": "c", "major": 1, "minor": 3}]
    return ".linux.devices[0]: create device `/dev/null/under-a-node`"


def _rlimit_above_nr_open(b, workdir):
    b.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 1 << 40, "hard": 1 << 40}]
    return ".process.rlimits: setrlimit `RLIMIT_NOFILE`"


@pytest.mark.run_container_only("run-container's error texts (runc's and crun's name neither file nor path)")
@pytest.mark.parametrize("make", [_missing_bind, _bad_fs_type, _missing_ns_path, _failing_hook, _missing_sysctl,
                                  _bad_device, _rlimit_above_nr_open], ids=lambda f: f.__name__.strip("_"))
def test_create_errors_name_the_file_and_json_path(rt, bundle, workdir, make):
    b = bundle(["/probe", "exit", "0"])
    want = make(b, workdir)
    r = rt.create(b, check=False)
    cfg = os.path.join(b.path, "config.json")
    assert r.returncode == 1
    assert f"{cfg}: {want}" in r.stderr, r.stderr
    assert rt.cmd("state", r.cid).returncode != 0, "the failed create left its state"


@pytest.mark.run_container_only("crun 1.8.1 predates linux.memoryPolicy and ignores it")
@pytest.mark.parametrize("policy,mode,nodes", [
    ({"mode": "MPOL_BIND", "nodes": "0"}, 2, 1),
    ({"mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}, 3 | 1 << 15, 1),
    ({"mode": "MPOL_LOCAL"}, 4, 0),
])
def test_memory_policy_is_applied(rt, bundle, policy, mode, nodes):
    """config-linux.md memoryPolicy: the container's processes run with it (get_mempolicy
    from inside reports the mode with its flags and the nodes)."""
    b = bundle(["/probe", "mempolicy"])
    b.config["linux"]["memoryPolicy"] = policy
    r = rt.run(b)
    assert r.returncode == 0, r.stdout + r.stderr
    got = json.loads(r.stdout)
    assert (got["mode"], got["nodes"]) == (mode, nodes), got


@pytest.mark.run_container_only("run-container's error text")
def test_memory_policy_on_a_missing_node_names_the_path(rt, bundle):
    b = bundle(["/probe", "exit", "0"])
    b.config["linux"]["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": "1000"}
    r = rt.run(b)
    cfg = os.path.join(b.path, "config.json")
    assert r.returncode != 0
    assert f"{cfg}: .linux.memoryPolicy: set_mempolicy" in r.stderr, r.stderr
