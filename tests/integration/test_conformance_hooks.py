"""Hook failures and hook environments as the runtime-spec, runc and crun have them (issue 14
items 3 and 7).

runtime-spec 1.2, runtime.md, Lifecycle:
  9. "The `poststart` hooks MUST be invoked by the runtime. If any `poststart` hook fails,
     the runtime MUST log a warning, but the remaining hooks and lifecycle continue as if the
     hook had succeeded."
  13. "The `poststop` hooks MUST be invoked by the runtime. If any `poststop` hook fails, the
     runtime MUST log a warning, but the remaining hooks and lifecycle continue as if the hook
     had succeeded."
  while a failing `prestart`, `createRuntime`, `createContainer` or `startContainer` hook:
     "the runtime MUST generate an error, stop the container, and continue the lifecycle at
     step 12."
"""

import os

import pytest

from conftest import wait_for

# A failing hook that reads the state first: crun 1.8.1 does not ignore SIGPIPE when it
# writes the state to a hook's stdin, so one that exits unread (/bin/false) kills crun now
# and then (status -13), which is not what these tests are about.
FAILING = "/bin/sh"
FAILING_HOOK = {"path": FAILING, "args": ["sh", "-c", "cat > /dev/null; exit 1"]}


def marker_hook(path):
    """A hook that creates path (in the host's view, or /hooks for container hooks)."""
    name = os.path.basename(path)
    script = f'd=$1; [ -d "$d" ] || d=/hooks; touch "$d/{name}"'
    return {"path": "/bin/sh", "args": ["sh", "-c", script, "hook", os.path.dirname(path)]}


def test_failing_poststart_hook_and_the_rest_run(rt, bundle, workdir):
    ran = os.path.join(workdir, "second-poststart")
    b = bundle(["/probe", "exit", "0"])
    b.config["hooks"] = {"poststart": [FAILING_HOOK, marker_hook(ran)]}
    r = rt.run(b)
    assert r.returncode == 0, f"a failing poststart hook failed the container: {r.stderr}"
    assert os.path.exists(ran), "the poststart hook after the failing one did not run"


def test_failing_poststart_hook_with_create_and_start(rt, bundle, workdir):
    ran = os.path.join(workdir, "second-poststart")
    b = bundle(["/probe", "exit", "0"])
    b.config["hooks"] = {"poststart": [FAILING_HOOK, marker_hook(ran)]}
    c = rt.create(b)
    r = rt.cmd("start", c.cid)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: os.path.exists(ran), what="the second poststart hook")


def test_failing_poststop_hook_and_the_rest_run(rt, bundle, workdir):
    ran = os.path.join(workdir, "second-poststop")
    b = bundle(["/probe", "exit", "0"])
    b.config["hooks"] = {"poststop": [FAILING_HOOK, marker_hook(ran)]}
    c = rt.create(b)
    assert rt.cmd("start", c.cid).returncode == 0
    rt.wait_status(c.cid, "stopped")
    r = rt.cmd("delete", c.cid)
    assert r.returncode == 0, f"a failing poststop hook failed delete: {r.stderr}"
    assert os.path.exists(ran), "the poststop hook after the failing one did not run"
    assert rt.cmd("state", c.cid).returncode != 0, "delete left the container"


@pytest.mark.run_container_only("runtime.md: if a poststart or poststop hook fails, 'the runtime "
                                "MUST log a warning'; crun 1.8.1 logs nothing at its default level")
def test_failing_poststart_and_poststop_hooks_are_warned_about(rt, bundle, workdir):
    log = os.path.join(workdir, "runtime.log")
    b = bundle(["/probe", "exit", "0"])
    b.config["hooks"] = {"poststart": [FAILING_HOOK], "poststop": [FAILING_HOOK]}
    c = rt.create(b)
    r = rt.cmd("start", c.cid)
    assert r.returncode == 0, r.stderr
    assert f'poststart hook \\"{FAILING}\\": exited with status 1' in r.stderr, r.stderr
    rt.wait_status(c.cid, "stopped")
    r = rt.cmd("delete", c.cid, global_args=[f"--log={log}"])
    assert r.returncode == 0, r.stderr
    with open(log) as f:
        assert f'poststop hook \\"{FAILING}\\": exited with status 1' in f.read()


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer", "startContainer"])
def test_failing_hook_before_the_program_is_an_error(rt, bundle, workdir, kind):
    ran = os.path.join(workdir, "second")
    b = bundle(["/probe", "exit", "0"])
    b.add_mount("/hooks", "bind", workdir, ["bind", "rw"])
    b.config["hooks"] = {kind: [FAILING_HOOK, marker_hook(ran)]}
    r = rt.run(b)
    assert r.returncode != 0, f"a failing {kind} hook did not fail the container"
    assert not os.path.exists(ran), f"the {kind} hook after the failing one ran"


def test_hook_without_env_gets_the_runtime_environment(rt, bundle, workdir):
    """runc (Go's exec.Cmd with a nil Env) and crun (environ) give a hook without `env`
    their own environment; config.md: env has "the same semantics as IEEE Std
    1003.1-2008's environ". A hook with `env` gets exactly that list."""
    inherit = os.path.join(workdir, "inherit")
    exact = os.path.join(workdir, "exact")
    b = bundle(["/probe", "exit", "0"])
    show = 'echo "${RC_HOOK_TEST-unset} ${ONLY-unset}" > "$1"'
    b.config["hooks"] = {"createRuntime": [
        {"path": "/bin/sh", "args": ["sh", "-c", show, "hook", inherit]},
        {"path": "/bin/sh", "args": ["sh", "-c", show, "hook", exact], "env": ["ONLY=this"]},
    ]}
    r = rt.run(b, env=dict(os.environ, RC_HOOK_TEST="from-the-caller"))
    assert r.returncode == 0, r.stderr
    with open(inherit) as f:
        assert f.read().split() == ["from-the-caller", "unset"]
    with open(exact) as f:
        assert f.read().split() == ["unset", "this"]
