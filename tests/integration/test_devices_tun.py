"""/dev/net/tun given in linux.devices is created with the mode the config gives, 0666
without one (runc's specconv and crun: the runtime-spec's fileMode, with the umask out of
the way), whatever the host's node says (this host's is 0600). Checked against crun with
RUNTIME_KIND=crun: the same figures."""

import json
import os

import pytest

from test_mounts import run_cmd

TUN = {"path": "/dev/net/tun", "type": "c", "major": 10, "minor": 200}


@pytest.mark.parametrize("mode", [None, 0o666, 0o600, 0o640])
def test_tun_node_mode(rt, bundle, mode):
    if not os.path.exists("/dev/net/tun"):
        pytest.skip("no /dev/net/tun on this host (the tun module)")
    b = bundle()
    dev = dict(TUN, uid=0, gid=0)
    if mode is not None:
        dev["fileMode"] = 0o20000 | mode
    b.config["linux"]["devices"] = [dev]
    rc, out, err = run_cmd(rt, b, "stat", "/dev/net/tun")
    assert rc == 0, out + err
    st = json.loads(out)
    assert (st["type"], st["major"], st["minor"]) == ("char", 10, 200)
    assert st["mode"] == (0o666 if mode is None else mode), oct(st["mode"])
