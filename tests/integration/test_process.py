"""What the container's process sees of itself: ids, names, namespaces, limits, fds, caps."""

import pytest

from conftest import cap_mask, host_ns


def test_probe_runs_as_pid1_in_pid_ns(rt, bundle):
    info = rt.run_probe(bundle())
    assert info["pid"] == 1
    assert info["ppid"] == 0
    assert info["argv"] == ["/probe"]


def test_hostname_from_config(rt, bundle):
    b = bundle()
    b.config["hostname"] = "box-one"
    assert rt.run_probe(b)["hostname"] == "box-one"


def test_domainname_from_config(rt, bundle):
    b = bundle()
    b.config["domainname"] = "example.test"
    assert rt.run_probe(b)["domainname"] == "example.test"


@pytest.mark.parametrize("ns", ["pid", "ipc", "uts", "mnt", "net"])
def test_namespaces_differ_from_host(rt, bundle, ns):
    info = rt.run_probe(bundle())
    assert info["ns"][ns] != host_ns(ns), f"{ns} namespace is the host's"


def test_unrequested_namespaces_are_shared(rt, bundle):
    info = rt.run_probe(bundle())
    assert info["ns"]["user"] == host_ns("user")
    b = bundle()
    b.set_namespace("uts", present=False)
    del b.config["hostname"]  # the spec requires a uts namespace for it
    assert rt.run_probe(b)["ns"]["uts"] == host_ns("uts")


def test_cwd_from_config(rt, bundle):
    b = bundle()
    b.config["process"]["cwd"] = "/tmp"
    assert rt.run_probe(b)["cwd"] == "/tmp"


def test_env_exactly_from_config(rt, bundle):
    b = bundle()
    b.config["process"]["env"] = ["PATH=/bin", "FOO=bar baz", "EMPTY="]
    env = rt.run_probe(b)["env"]
    for e in ("PATH=/bin", "FOO=bar baz", "EMPTY="):
        assert e in env
    # Nothing of the runtime's own environment leaks in (a runtime may add HOME).
    assert not [e for e in env if e.split("=")[0] not in ("PATH", "FOO", "EMPTY", "HOME", "TERM")]


def test_args_passed_verbatim(rt, bundle):
    b = bundle(["/probe", "info", "two words", "", "x\"y"])
    assert rt.run_probe(b)["argv"] == ["/probe", "info", "two words", "", "x\"y"]


def test_non_root_user_ids_groups_umask(rt, bundle):
    b = bundle()
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [1001, 65534], "umask": 0o027}
    info = rt.run_probe(b)
    assert (info["uid"], info["euid"], info["gid"], info["egid"]) == (1000, 1000, 1000, 1000)
    assert sorted(info["groups"]) == [1001, 65534]
    assert info["umask"] == 0o027


def test_root_user_default_umask(rt, bundle):
    info = rt.run_probe(bundle())
    assert (info["uid"], info["gid"]) == (0, 0)
    assert info["umask"] == 0o022


def test_rlimits(rt, bundle):
    b = bundle()
    b.config["process"]["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024},
        {"type": "RLIMIT_NPROC", "soft": 300, "hard": 400},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 4096},
    ]
    rl = rt.run_probe(b)["rlimits"]
    assert rl["nofile"] == [512, 1024]
    assert rl["nproc"] == [300, 400]
    assert rl["core"] == [0, 4096]


def test_only_stdio_fds_open(rt, bundle):
    fds = rt.run_probe(bundle())["fds"]
    assert sorted(fds, key=int) == ["0", "1", "2"], fds


def test_capabilities_and_no_new_privs(rt, bundle):
    status = rt.run_probe(bundle())["status"]
    want = cap_mask(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
    assert int(status["CapEff"], 16) == want
    assert int(status["CapPrm"], 16) == want
    assert int(status["CapBnd"], 16) == want
    assert int(status["CapInh"], 16) == 0
    assert status["NoNewPrivs"] == "1"


def test_ambient_capabilities_for_non_root(rt, bundle):
    b = bundle()
    caps = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    b.config["process"]["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted",
                                                             "inheritable", "ambient")}
    status = rt.run_probe(b)["status"]
    assert int(status["CapAmb"], 16) == cap_mask(caps)
    assert int(status["CapEff"], 16) == cap_mask(caps)


def test_no_new_privileges_false(rt, bundle):
    b = bundle()
    b.config["process"]["noNewPrivileges"] = False
    assert rt.run_probe(b)["status"]["NoNewPrivs"] == "0"


def test_oom_score_adj(rt, bundle):
    b = bundle()
    b.config["process"]["oomScoreAdj"] = 123
    assert rt.run_probe(b)["oom_score_adj"] == 123


def test_seccomp_off_without_config(rt, bundle):
    assert rt.run_probe(bundle())["status"]["Seccomp"] == "0"
