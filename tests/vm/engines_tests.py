"""The engine and exec integration tests (tests/integration/test_engines.py, test_exec.py)
under the pure cgroup v2 kernel, where podman and containerd run with cgroups and limits
(-m, --pids-limit, --cpus, pause/unpause, ps), and podman's checkpoint/restore through
run-container (CRIU works here). Run inside the VM by tests/vm/vm-tests.sh;
prints the plain 'N passed, N failed' line like the other VM suites.

usage: engines_tests.py RUNTIME WORKDIR [PYTEST_ARGS...]"""

import os
import sys

import pytest


class Count:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def pytest_runtest_logreport(self, report):
        if report.when == "call" and report.passed:
            self.passed += 1
        elif report.failed:
            self.failed += 1
        elif report.skipped:
            self.skipped += 1


def main():
    runtime = sys.argv[1]  # argv[2], the work dir, is not needed: pytest makes its own
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.environ["RUNTIME"] = runtime
    os.environ["BUILD_DIR"] = os.path.dirname(runtime)
    count = Count()
    args = sys.argv[3:] or [os.path.join(repo, "tests/integration/test_engines.py"),
                            os.path.join(repo, "tests/integration/test_exec.py"),
                            os.path.join(repo, "tests/integration/test_podman_checkpoint.py")]
    rc = pytest.main(["-q", "-rs", "-p", "no:cacheprovider"] + args, plugins=[count])
    print(f"{count.passed} passed, {count.failed} failed, {count.skipped} skipped")
    sys.exit(0 if rc in (0, 5) and count.failed == 0 else 1)


if __name__ == "__main__":
    main()
