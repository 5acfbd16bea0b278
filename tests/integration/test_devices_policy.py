"""Device rules (linux.resources.devices) on a host where no cgroup enforces them.

This host has no cgroup v2 with controllers (hybrid layout), and `--cgroup-manager=disabled`
has no cgroup at all: nothing would stop the container from opening a node its rules
deny. So `create` refuses, naming the node and the rule, every node the rules deny that
the container could still reach: a bind mount of a host device node (or of the host's
/dev), or a node listed in linux.devices. What the rules allow, a config without rules,
nodev binds and allow-everything rules (podman --privileged) run as before; so do the
rules engines send by default (deny all, then the standard nodes).

runtime-spec config-linux.md, "Device allowlist": "The runtime MUST apply entries in the
listed order." crun with --cgroup-manager=disabled ignores them silently, so the refusals
are run-container's own (the runs pass against crun too).
"""

import os

import pytest

from conftest import parse_json

SPEC_MUST = ('runtime-spec "Device allowlist": the runtime MUST apply the entries; crun '
             'with --cgroup-manager=disabled ignores them without a word')
DENY_ALL = {"allow": False, "access": "rwm"}
FUSE = (10, 229)  # /dev/fuse on every Linux host: a char device no default rule allows


def rule(major, minor, access="rwm", allow=True, type_="c"):
    return {"allow": allow, "type": type_, "major": major, "minor": minor, "access": access}


def with_rules(b, rules):
    b.config["linux"]["resources"] = {"devices": rules}
    return b


def fuse_bind(b, dest="/dev/fuse", options=("bind",)):
    b.add_mount(dest, "bind", "/dev/fuse", list(options))
    return len(b.config["mounts"]) - 1


def listed(b, path="/dev/fuse", major=FUSE[0], minor=FUSE[1]):
    b.config["linux"]["devices"] = [{"path": path, "type": "c", "major": major, "minor": minor}]


def assert_refused(rt, b, *needles, global_args=()):
    b.save()
    cid = rt.new_id()
    r = rt.cmd("create", "--bundle", b.path, cid, global_args=global_args)
    assert r.returncode != 0, f"created although nothing enforces the device rules: {r.stderr}"
    for n in needles:
        assert n in r.stderr, f"{n!r} not in the error: {r.stderr}"
    assert "config.json" in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(rt.root, cid)), "state left behind"
    return r.stderr


@pytest.mark.run_container_only(SPEC_MUST)
def test_bound_device_node_denied_by_the_rules_is_refused(rt, bundle):
    b = with_rules(bundle(), [DENY_ALL])
    i = fuse_bind(b)
    assert_refused(rt, b, ".linux.resources.devices[0] denies", "`/dev/fuse` (c 10:229)", f".mounts[{i}]")


@pytest.mark.run_container_only(SPEC_MUST)
def test_listed_device_denied_by_the_rules_is_refused(rt, bundle):
    """A node of linux.devices gets no rule of its own: the rules decide (as in runc)."""
    b = with_rules(bundle(), [DENY_ALL, rule(1, 3)])
    listed(b, "/dev/kmsg", 1, 11)
    assert_refused(rt, b, "`/dev/kmsg` (c 1:11)", ".linux.devices[0]")


@pytest.mark.run_container_only(SPEC_MUST)
def test_refused_with_the_cgroup_manager_disabled(rt, bundle):
    b = with_rules(bundle(), [DENY_ALL])
    listed(b)
    assert_refused(rt, b, "`/dev/fuse`", global_args=("--cgroup-manager=disabled",))


@pytest.mark.run_container_only(SPEC_MUST)
def test_read_only_rule_refuses_a_writable_node(rt, bundle):
    b = with_rules(bundle(), [DENY_ALL, rule(*FUSE, access="r")])
    fuse_bind(b)
    assert_refused(rt, b, ".linux.resources.devices[0] denies write access", "`/dev/fuse`")


@pytest.mark.run_container_only(SPEC_MUST)
def test_later_deny_rule_wins(rt, bundle):
    b = with_rules(bundle(), [rule(*FUSE), rule(*FUSE, allow=False, access="w")])
    fuse_bind(b)
    assert_refused(rt, b, ".linux.resources.devices[1] denies write access")


@pytest.mark.run_container_only(SPEC_MUST)
def test_host_dev_directory_bound_under_deny_all_is_refused(rt, bundle):
    b = with_rules(bundle(), [DENY_ALL])
    b.add_mount("/hostdev", "bind", "/dev", ["rbind"])
    assert_refused(rt, b, "binds the host's `/dev`", "does not allow every device")


def test_allowed_device_runs(rt, bundle):
    """podman --device: the node in linux.devices and an allow rule for it."""
    b = with_rules(bundle(["/probe", "stat", "/dev/fuse"]), [DENY_ALL, rule(*FUSE)])
    listed(b)
    st = rt.run_probe(b)
    assert (st["major"], st["minor"]) == FUSE, st


def test_allowed_bound_device_runs(rt, bundle):
    b = with_rules(bundle(["/probe", "stat", "/dev/fuse"]), [DENY_ALL, rule(*FUSE, access="rw")])
    fuse_bind(b)
    st = rt.run_probe(b)
    assert (st["major"], st["minor"]) == FUSE, st


def test_privileged_allow_all_runs(rt, bundle):
    """podman --privileged: deny all, then allow everything; host nodes listed and bound."""
    b = with_rules(bundle(["/probe", "stat", "/dev/fuse"]), [DENY_ALL, {"allow": True, "access": "rwm"}])
    listed(b, "/dev/kmsg", 1, 11)
    fuse_bind(b)
    b.add_mount("/hostdev", "bind", "/dev", ["rbind"])
    st = rt.run_probe(b)
    assert (st["major"], st["minor"]) == FUSE, st


def test_nodev_bind_runs(rt, bundle):
    """A nodev bind cannot be opened as a device: nothing to refuse."""
    b = with_rules(bundle(["/probe", "write", "/dev/fuse"]), [DENY_ALL])
    fuse_bind(b, options=("bind", "nodev"))
    r = rt.run(b)
    res = parse_json(r.stdout)
    assert not res["ok"] and res["errno"] == 13, res  # EACCES: nodev


def test_engine_default_rules_run(rt, bundle):
    """The rules podman and runc spec send: deny all, then the standard nodes."""
    std = [rule(1, 3), rule(1, 5), rule(1, 7), rule(1, 8), rule(1, 9), rule(5, 0), rule(5, 1), rule(5, 2),
           rule(136, -1), rule(-1, -1, "m"), rule(-1, -1, "m", type_="b")]
    for r in std:
        if r["major"] < 0:
            del r["major"]
        if r.get("minor", 0) < 0:
            del r["minor"]
    b = with_rules(bundle(["/probe", "dev"]), [DENY_ALL] + std)
    dev = rt.run_probe(b)
    for name in ("null", "zero", "full", "random", "urandom"):
        assert dev[name]["open_errno"] == 0, dev


def test_no_rules_no_refusal(rt, bundle):
    """A config without device rules asks for nothing that could go unenforced."""
    b = bundle(["/probe", "stat", "/dev/fuse"])
    fuse_bind(b)
    st = rt.run_probe(b)
    assert (st["major"], st["minor"]) == FUSE, st


@pytest.mark.run_container_only("run-container's own warning (crun says nothing)")
def test_mknod_capability_is_warned_of(rt, bundle):
    """What create cannot refuse, it says: with CAP_MKNOD the process could make and open
    nodes the rules deny (nothing stops the open here)."""
    b = with_rules(bundle(["/probe", "exit", "0"]), [DENY_ALL])
    caps = b.config["process"]["capabilities"]
    for k in ("bounding", "effective", "permitted"):
        caps[k] = caps[k] + ["CAP_MKNOD"]
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    assert "CAP_MKNOD" in r.stderr and "linux.resources.devices" in r.stderr, r.stderr
