"""A new network namespace has its loopback up (issue 14 item 6): runc (its "loopback"
network strategy) and crun bring `lo` up in every network namespace they create; one
joined by path is left as it is."""

import os

import pytest

IFF_UP = 0x1


def lo_flags(rt, b):
    b.config["process"]["args"] = ["/probe", "cat", "/sys/class/net/lo/flags"]
    r = rt.run(b)
    assert r.returncode == 0, r.stderr
    return int(r.stdout.strip(), 16)


def userns(b):
    b.set_namespace("user")
    for key in ("uidMappings", "gidMappings"):
        b.config["linux"][key] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    return b


@pytest.mark.parametrize("variant", ["plain", "userns", "join-path"])
def test_loopback_is_up_in_a_new_network_namespace(rt, bundle, variant):
    b = bundle()
    if variant == "userns":
        userns(b)  # the network namespace is made with the user namespace that owns it
    elif variant == "join-path":
        b.set_namespace("ipc", path="/proc/self/ns/ipc")  # a join: namespaces made by unshare
    assert lo_flags(rt, b) & IFF_UP, "lo is down"


def test_loopback_answers(rt, bundle):
    b = bundle(["/bin/sh", "-c", "ping -c 1 -W 2 127.0.0.1 >/dev/null && echo reachable"])
    for caps in b.config["process"]["capabilities"].values():
        caps.append("CAP_NET_RAW")  # busybox ping's raw socket
    r = rt.run(b)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "reachable"
