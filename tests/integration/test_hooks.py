"""OCI hooks: each kind runs, in order, in the right namespace, with the state on stdin."""

import json
import os

import pytest

from conftest import KIND, wait_for

HOST_HOOKS = ("prestart", "createRuntime", "poststart", "poststop")
CONTAINER_HOOKS = ("createContainer", "startContainer")
ORDER = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]


def hook(kind, out_dir):
    """A hook that saves its stdin (the state JSON) to DIR/KIND.json and appends KIND to DIR/order.

    DIR is the host's out_dir where the hook can see it (runtime namespace hooks, and
    createContainer, which may run before pivot_root), else /hooks, where the container has
    out_dir bind-mounted (startContainer runs in the container, with the rootfs's busybox sh)."""
    script = f'd=$1; [ -d "$d" ] || d=/hooks; cat > "$d/{kind}.json" && echo {kind} >> "$d/order"'
    return {"path": "/bin/sh", "args": ["sh", "-c", script, "hook", out_dir]}


def add_hooks(b, host_dir, kinds=ORDER):
    b.add_mount("/hooks", "bind", host_dir, ["bind", "rw"])
    b.config["hooks"] = {kind: [hook(kind, host_dir)] for kind in kinds}


def read_order(d):
    with open(os.path.join(d, "order")) as f:
        return f.read().split()


def assert_full_order(order):
    if KIND == "crun":
        # crun 1.8.1 runs poststart without waiting for the exec, racing startContainer.
        order[3:5] = sorted(order[3:5], key=ORDER.index)
    assert order == ORDER


def test_all_hooks_run_in_order(rt, bundle, workdir):
    out = os.path.join(workdir, "hooks")
    os.mkdir(out)
    b = bundle(["/probe", "exit", "0"])
    add_hooks(b, out)
    cid = rt.new_id()
    r = rt.run(b, cid=cid)
    assert r.returncode == 0, r.stderr
    assert_full_order(read_order(out))
    for kind in ORDER:
        with open(os.path.join(out, f"{kind}.json")) as f:
            st = json.load(f)
        assert st["id"] == cid, kind
        assert "ociVersion" in st, kind
        if kind in HOST_HOOKS:
            assert os.path.realpath(st["bundle"]) == os.path.realpath(b.path), kind
        if kind in ("prestart", "createRuntime", "poststart"):
            assert st["pid"] > 0, kind


@pytest.mark.run_container_only("crun 1.8.1 gives container hooks pid 0 and startContainer bundle '/'")
def test_container_hooks_state_has_pid_and_bundle(rt, bundle, workdir):
    out = os.path.join(workdir, "hooks")
    os.mkdir(out)
    b = bundle(["/probe", "exit", "0"])
    add_hooks(b, out, kinds=CONTAINER_HOOKS)
    assert rt.run(b).returncode == 0
    for kind in CONTAINER_HOOKS:
        with open(os.path.join(out, f"{kind}.json")) as f:
            st = json.load(f)
        assert st["pid"] > 0, kind
        assert os.path.realpath(st["bundle"]) == os.path.realpath(b.path), kind


@pytest.mark.run_container_only("crun 1.8.1 tells createRuntime/createContainer hooks 'created', "
                                "not 'creating'")
def test_hook_state_status(rt, bundle, workdir):
    out = os.path.join(workdir, "hooks")
    os.mkdir(out)
    b = bundle(["/probe", "exit", "0"])
    add_hooks(b, out)
    assert rt.run(b).returncode == 0
    status = {}
    for kind in ORDER:
        with open(os.path.join(out, f"{kind}.json")) as f:
            status[kind] = json.load(f)["status"]
    assert status["createRuntime"] == "creating"
    assert status["createContainer"] == "creating"
    assert status["poststart"] in ("running", "stopped")
    assert status["poststop"] == "stopped"


def test_container_hooks_run(rt, bundle, workdir):
    out = os.path.join(workdir, "hooks")
    os.mkdir(out)
    b = bundle(["/probe", "exit", "0"])
    add_hooks(b, out, kinds=CONTAINER_HOOKS)
    assert rt.run(b).returncode == 0
    assert read_order(out) == list(CONTAINER_HOOKS)


def test_hooks_with_create_start_delete(rt, bundle, workdir):
    out = os.path.join(workdir, "hooks")
    os.mkdir(out)
    b = bundle(["/probe", "exit", "0"])
    add_hooks(b, out)
    c = rt.create(b)
    assert read_order(out) == ["prestart", "createRuntime", "createContainer"]
    assert rt.cmd("start", c.cid).returncode == 0
    wait_for(lambda: "poststart" in read_order(out), what="poststart")
    assert "poststop" not in read_order(out)
    rt.wait_status(c.cid, "stopped")
    assert rt.cmd("delete", c.cid).returncode == 0
    assert_full_order(read_order(out))


def test_hook_env_args_and_failure(rt, bundle, workdir):
    out = os.path.join(workdir, "hooks")
    os.mkdir(out)
    b = bundle(["/probe", "exit", "0"])
    b.config["hooks"] = {"createRuntime": [{
        "path": "/bin/sh",
        "args": ["sh", "-c", 'echo "$HOOKVAR $0" > "$1/env"; exit 3', "arg0", out],
        "env": ["HOOKVAR=fromconfig"],
    }]}
    cid = rt.new_id()
    r = rt.run(b, cid=cid)
    assert r.returncode != 0, "a failing createRuntime hook must fail the container"
    with open(os.path.join(out, "env")) as f:
        assert f.read().strip() == "fromconfig arg0"
    assert rt.cmd("state", cid).returncode != 0 or rt.cmd("delete", "--force", cid).returncode == 0


def test_state_during_poststart_of_run_is_running(rt, bundle, workdir):
    """`run` writes the state of its created container only once the init is released
    (off the start's critical path), but before the poststart hooks: a hook that asks
    the runtime sees the container running, not still being created."""
    out = os.path.join(workdir, "state.json")
    cid = rt.new_id()
    ask = " ".join(f"'{a}'" for a in rt.argv("state", cid))
    b = bundle(["/probe", "sleep", "2"])
    b.config["hooks"] = {"poststart": [{"path": "/bin/sh", "args": ["sh", "-c", f"{ask} > {out}"]}]}
    r = rt.run(b, cid=cid)
    assert r.returncode == 0, r.stderr
    with open(out) as f:
        st = json.load(f)
    assert st["status"] == "running" and st["pid"] > 0, st
