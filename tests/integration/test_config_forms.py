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
