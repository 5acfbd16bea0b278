"""Command-line forms engines and scripts use (issue 14 items 12 and 13): runc's Go-style
booleans, `kill ID 0`, `kill --all` of a stopped container, crun's `-f FILE` and
`--regex`, `update -r -` from a pipe or a socket."""

import json
import os
import socket
import subprocess

import pytest

from conftest import wait_for


@pytest.mark.run_container_only("runc's Go flag syntax; crun's argp refuses a value for a boolean flag")
def test_go_style_booleans(rt, bundle):
    b = bundle(["/probe", "sleep", "60"])
    cid = rt.new_id()
    b.save()
    r = rt.cmd("run", "--detach=true", "--bundle", b.path, cid, stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL)
    assert r.returncode == 0
    assert rt.state(cid)["status"] == "running"
    assert rt.cmd("kill", "--all=false", cid, "KILL").returncode == 0
    wait_for(lambda: rt.state(cid)["status"] == "stopped", what="stopped")
    assert rt.cmd("delete", "--force=true", cid).returncode == 0
    # --detach=false: in the foreground, with the container's exit status
    b2 = bundle(["/probe", "exit", "3"])
    r = rt.run(b2, extra=["--detach=false"])
    assert r.returncode == 3, r.stderr
    r = rt.run(b2, extra=["--detach=maybe"])
    assert r.returncode != 0 and 'invalid boolean value "maybe" for option "--detach"' in r.stderr


def test_kill_signal_zero_probes_the_init(rt, bundle):
    b = bundle(["/probe", "sleep", "60"])
    cid = rt.create(b).cid
    assert rt.cmd("kill", cid, "0").returncode == 0, "created: the init is alive"
    assert rt.cmd("start", cid).returncode == 0
    r = rt.cmd("kill", cid, "0")
    assert r.returncode == 0, r.stderr
    assert rt.state(cid)["status"] == "running", "signal 0 must not touch the container"
    assert rt.cmd("kill", cid, "KILL").returncode == 0
    wait_for(lambda: rt.state(cid)["status"] == "stopped", what="stopped")
    assert rt.cmd("kill", cid, "0").returncode != 0, "stopped: nothing to probe"


def test_kill_all_of_a_stopped_container_is_not_an_error(rt, bundle):
    b = bundle(["/probe", "exit", "0"])
    cid = rt.create(b).cid
    assert rt.cmd("start", cid).returncode == 0
    wait_for(lambda: rt.state(cid)["status"] == "stopped", what="stopped")
    r = rt.cmd("kill", "--all", cid, "KILL")
    assert r.returncode == 0, r.stderr
    assert rt.cmd("kill", cid, "KILL").returncode != 0, "without --all it still is an error"


def test_create_dash_f_names_the_config(rt, bundle, workdir):
    b = bundle(["/probe", "exit", "0"])
    b.save()
    other = os.path.join(workdir, "other.json")
    cfg = dict(b.config, hostname="from-dash-f")
    cfg["process"] = dict(cfg["process"], args=["/probe"])
    with open(other, "w") as f:
        json.dump(cfg, f)
    cid = rt.new_id()
    r = rt.cmd("run", "-f", other, "--bundle", b.path, cid)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout[r.stdout.index("{"):])["hostname"] == "from-dash-f"


def test_kill_and_delete_regex(rt, bundle):
    b = bundle(["/probe", "sleep", "60"])
    tag = rt.new_id("rx")
    ids = [f"{tag}-a", f"{tag}-b"]
    other = rt.new_id("keep")
    rt.ids += ids
    for cid in ids + [other]:
        rt.create(b, cid=cid)
        assert rt.cmd("start", cid).returncode == 0
    r = rt.cmd("kill", "--regex", f"^{tag}-", "KILL")
    assert r.returncode == 0, r.stderr
    for cid in ids:
        wait_for(lambda: rt.state(cid)["status"] == "stopped", what=f"{cid} stopped")
    assert rt.state(other)["status"] == "running"
    r = rt.cmd("delete", "--regex", f"^{tag}-")
    assert r.returncode == 0, r.stderr
    for cid in ids:
        assert rt.cmd("state", cid).returncode != 0, f"{cid} not deleted"
    assert rt.state(other)["status"] == "running"


@pytest.mark.run_container_only("the parse error shows stdin was read; crun has no cgroup here "
                                "(--cgroup-manager=disabled) to update")
@pytest.mark.parametrize("kind", ["pipe", "socket"])
def test_update_resources_from_stdin(rt, bundle, kind):
    b = bundle(["/probe", "sleep", "60"])
    cid = rt.create(b).cid
    doc = json.dumps({"unified": {"../memory.max": "1"}}).encode()
    if kind == "pipe":
        r = rt.cmd("update", "-r", "-", cid, input=doc.decode())
        out = r.stderr
    else:
        a, s = socket.socketpair()
        p = rt.popen("update", "-r", "-", cid, stdin=s, stderr=subprocess.PIPE)
        s.close()
        a.sendall(doc)
        a.shutdown(socket.SHUT_WR)
        out = p.communicate(timeout=30)[1].decode()
        a.close()
    assert 'stdin: .unified: invalid cgroup file name "../memory.max"' in out, out
