"""`run`'s own delete once the process exited: run hands the state it wrote to delete
instead of reading state.json and /proc again, but only while the state directory's init
record still names the init run reaped. A directory made again meanwhile (the container
deleted from outside and created anew under the same id) is deleted as any `delete
--force` does it: from what is on disk, its live init killed first."""

import json
import os
import shutil
import subprocess

import pytest

from conftest import pid_alive, wait_for


def test_run_deletes_its_own_container(rt, bundle):
    """The usual case: nothing of the container is left after run."""
    b = bundle(["/probe", "exit", "3"])
    cid = rt.new_id()
    r = rt.run(b, cid=cid)
    assert r.returncode == 3, r.stderr
    assert not os.path.exists(os.path.join(rt.root, cid))
    assert rt.cmd("state", cid).returncode != 0


@pytest.mark.run_container_only(
    "moves run-container's state directory aside by hand (its layout is run-container's own)")
def test_run_deletes_a_container_made_again_as_delete_force(rt, bundle, workdir):
    """run's container is moved aside and another one created under the same id; when
    run's init exits, run deletes the new one as `delete --force` would (kills its init,
    removes its directory) rather than removing the directory under a live init."""
    b = bundle(["/bin/sleep", "60"])
    b.save()
    cid = rt.new_id()
    p = rt.popen("run", "--bundle", b.path, cid, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for(lambda: rt.cmd("state", cid).returncode == 0, what=f"run to create {cid}")
    first = rt.wait_status(cid, "running")["pid"]
    aside = os.path.join(workdir, "aside")
    os.rename(os.path.join(rt.root, cid), aside)
    second = bundle(["/bin/sleep", "60"])
    rt.create(second, cid=cid)
    new_init = rt.state(cid)["pid"]
    assert new_init != first
    os.kill(first, 9)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 137, err
    wait_for(lambda: not pid_alive(new_init), what=f"the new init {new_init} to be killed")
    assert not os.path.exists(os.path.join(rt.root, cid))
    with open(os.path.join(aside, "state.json")) as f:
        assert json.load(f)["pid"] == first
    shutil.rmtree(aside)
