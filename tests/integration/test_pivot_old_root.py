"""The old root's lazy unmount after pivot_root must not reach the host's mounts.

After pivot_root the init detaches the old root, a copy of the host's mount tree. A copy
that is still a peer of the host's shared mounts would pass that unmount on to them: the
host would lose its mounts. Whatever rootfsPropagation says, the old root is rslave (or
rprivate) by the time it is unmounted: made so at the first step for the default, rslave
and rprivate, and once more before the unmount otherwise (runtime/rootfs/rootfs.c pivot).

The "host" is a private mount namespace (`unshare -m --propagation private`) with a shared
mount SHARED and a tmpfs below it, SHARED/sub, holding a marker file; after `run` the
marker must still be there.
"""

import os
import shlex
import subprocess

import pytest
from conftest import KIND

PROPAGATIONS = [None, "rslave", "slave", "rprivate", "private", "rshared", "shared", "runbindable"]


@pytest.mark.parametrize("prop", PROPAGATIONS, ids=[p or "default" for p in PROPAGATIONS])
def test_old_root_unmount_stays_in_the_container(rt, bundle, workdir, prop):
    if KIND == "crun" and prop == "runbindable":
        pytest.skip("crun 1.8.1 cannot bind /dev/null over the masked files under an unbindable root (EINVAL)")
    shared = os.path.join(workdir, "shared")
    sub = os.path.join(shared, "sub")
    os.makedirs(sub)
    b = bundle(["/bin/true"])
    if prop is None:
        b.config["linux"].pop("rootfsPropagation", None)
    else:
        b.config["linux"]["rootfsPropagation"] = prop
    b.save()
    cid = rt.new_id()
    run = shlex.join(rt.argv("run", "--bundle", b.path, cid))
    q = shlex.quote
    script = (f"mount --bind {q(shared)} {q(shared)} && mount --make-shared {q(shared)} && "
              f"mount -t tmpfs -o size=64k rcsub {q(sub)} && touch {q(sub)}/marker || exit 99\n"
              f"{run} >/dev/null 2>{q(workdir)}/run.err; echo \"status=$?\"\n"
              f"[ -e {q(sub)}/marker ] && echo MARKER-KEPT || echo MARKER-GONE\n"
              "grep -c ' - tmpfs rcsub ' /proc/self/mountinfo || true\n")
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], text=True,
                       capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode != 99, r.stderr
    with open(os.path.join(workdir, "run.err")) as f:
        err = f.read()
    lines = r.stdout.split()
    assert "status=0" in lines, f"run failed: {err}"
    assert "MARKER-KEPT" in lines, f"the old root's unmount reached the host's SHARED/sub: {r.stdout}"
    assert lines[-1] == "1", f"SHARED/sub is not mounted exactly once on the host any more: {r.stdout}"
