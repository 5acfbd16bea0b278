"""Values on the command line (cli/grammar.c): one parser for byte sizes and one for
durations, so every command takes the same spellings and refuses the same ones with the
same error naming the flag. `sandbox -m` and `update --memory` once disagreed ("2GiB")."""

import json
import os
import subprocess

import pytest

from conftest import wait_for

pytestmark = pytest.mark.run_container_only("the value grammar of run-container's own commands and errors")

GiB = 1024 ** 3


SANDBOX_GLOBALS = ["--cgroup-manager=disabled"]  # limits cannot be enforced on this host


def sandbox_argv(rt, rootfs, *args):
    return rt.argv("sandbox", "--no-gc", "--rootfs", rootfs, *args, global_args=SANDBOX_GLOBALS)


def status(rt, cid):
    r = rt.cmd("state", cid)
    return json.loads(r.stdout)["status"] if r.returncode == 0 else None


def saved_memory_limit(rt, cid):
    """linux.resources.memory.limit of the config a running container was created with."""
    with open(os.path.join(rt.root, cid, "config.json")) as f:
        return json.load(f)["linux"]["resources"]["memory"]["limit"]


@pytest.mark.parametrize("size,want", [("2GiB", 2 * GiB), ("2g", 2 * GiB), ("2 GB", 2 * GiB),
                                       ("2048MiB", 2 * GiB), ("1.5g", 3 * GiB // 2)])
def test_sandbox_memory_takes_docker_sizes(rt, base_rootfs, size, want):
    cid = rt.new_id("sb")
    p = rt.popen("sandbox", "--no-gc", "--rootfs", base_rootfs, "--name", cid, "-m", size, "--", "sleep", "60",
                 global_args=SANDBOX_GLOBALS, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        # running, not creating: `kill` refuses a container that is still being created
        wait_for(lambda: p.poll() is not None or status(rt, cid) == "running", timeout=30,
                 what="the sandbox's container running")
        assert p.poll() is None, p.stderr.read()
        assert saved_memory_limit(rt, cid) == want
    finally:
        rt.cmd("kill", cid, "KILL")
        p.wait(timeout=30)


def test_update_memory_takes_the_same_sizes(rt, bundle):
    cid = rt.create(bundle(["/probe", "sleep", "60"])).cid
    for size in ("2GiB", "2g", "2 GB", "2048MiB", "-1"):
        r = rt.cmd("update", "--memory", size, cid)
        # this host has no cgroup v2: the value was accepted, the container has no cgroup
        # to write it to (tests/vm writes it for real)
        assert r.returncode == 1 and "no cgroup" in r.stderr and "invalid" not in r.stderr, (size, r.stderr)


BAD_SIZES = [("lots", "not a size"), ("2GiBx", "unknown unit"), ("-5", "not a size"), ("1.", "not a size"),
             ("99999999t", "too large")]


@pytest.mark.parametrize("value,why", BAD_SIZES)
def test_bad_sizes_same_error_in_sandbox_and_update(rt, base_rootfs, value, why):
    want = f'run-container: invalid value "{value}" for --memory: {why}'
    r = subprocess.run(sandbox_argv(rt, base_rootfs, "-m", value, "--", "true"), capture_output=True, text=True,
                       timeout=60)
    assert r.returncode != 0 and r.stderr.startswith(want), r.stderr
    sandbox_err = r.stderr
    r = rt.cmd("update", "--memory", value, "no-such-container")
    assert r.returncode == 1 and r.stderr == sandbox_err, (r.stderr, sandbox_err)


def test_sandbox_memory_zero_and_unlimited_are_refused(rt, base_rootfs):
    for value, why in (("0", "must be at least 1 byte"), ("-1", "not a size")):
        r = subprocess.run(sandbox_argv(rt, base_rootfs, "-m", value, "--", "true"), capture_output=True, text=True,
                           timeout=60)
        assert r.returncode != 0 and f'invalid value "{value}" for --memory: {why}' in r.stderr, r.stderr


@pytest.mark.parametrize("cmd", [["gc", "--timeout"], ["events", "--interval"], ["sandbox", "--timeout"]])
def test_durations_one_grammar(rt, base_rootfs, cmd):
    flag = cmd[1]
    # Go's spellings are taken: the command gets past its options (gc runs, events and
    # sandbox fail on the missing container / rootfs, not on the value)
    extra = {"gc": [], "events": ["no-such-container"], "sandbox": ["--rootfs", "/nonexistent", "--", "true"]}
    for value in ("1m30s", "500ms", "2", "1.5s", "1h"):
        r = rt.cmd(*cmd, value, *extra[cmd[0]])
        assert "invalid value" not in r.stderr, (value, r.stderr)
    for value, why in (("5d", "missing or unknown unit"), ("1m30", "missing or unknown unit"),
                       ("soon", "not a duration"), ("597h", "too long")):
        r = rt.cmd(*cmd, value, *extra[cmd[0]])
        assert r.returncode != 0 and f'invalid value "{value}" for {flag}: {why}' in r.stderr, (value, r.stderr)


def test_sandbox_cpus_errors_name_the_flag(rt, base_rootfs):
    for value, why in (("0.001", "less than 1 ms of CPU time per period"), ("lots", "not a number of CPUs"),
                       ("1001", "more than 1000 CPUs")):
        r = subprocess.run(sandbox_argv(rt, base_rootfs, "--cpus", value, "--", "true"), capture_output=True,
                           text=True, timeout=60)
        assert r.returncode != 0 and f'invalid value "{value}" for --cpus: {why}' in r.stderr, r.stderr
