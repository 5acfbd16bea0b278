#!/bin/bash
# Install the dependencies, build, check formatting, run the unit tests, the integration
# tests and the cgroup v2 suite in a VM, and print one summary line.
#
# Usage: bash tests/run-all.sh
#
# Environment:
#   BUILD_DIR     meson build directory (default: build-ci in the repo)
#   RUNTIME_KIND  passed to the integration tests (default run-container; "crun" validates the
#                 tests against Debian's crun instead: the integration step runs crun, every
#                 other step still builds and tests run-container)
#   PYTEST_ARGS   extra pytest arguments, e.g. "-k lifecycle -x"
#   SKIP_VM=1     skip the cgroup v2 suite in tests/vm (reported as skipped)
#   SKIP_ASAN=1   skip the ASan + UBSan pass of the unit and integration tests
#   FUZZ_SECONDS  time per libFuzzer target (default 20; 0 skips fuzzing)
#
# The last line printed is "N passed, N failed, N skipped", summed over the format check,
# every criterion test case and every pytest test. Exits 1 if anything failed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build=${BUILD_DIR:-$repo/build-ci}
python=/usr/bin/python3
[ -x "$python" ] || python=python3

passed=0
failed=0
skipped=0
add() {
        passed=$((passed + $1))
        failed=$((failed + $2))
        skipped=$((skipped + $3))
}

section() {
        printf '\n=== %s ===\n' "$*"
}

# "passed failed skipped" of a pytest junit file ("0 0 0" when there is none)
junit_counts() {
        "$python" - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (FileNotFoundError, ET.ParseError):
    print(0, 0, 0)
    sys.exit()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
t = f = s = 0
for su in suites:
    t += int(su.get("tests", 0))
    f += int(su.get("failures", 0)) + int(su.get("errors", 0))
    s += int(su.get("skipped", 0))
print(t - f - s, f, s)
PY
}

section "dependencies"
bash "$repo/tests/install-deps.sh"

# --- build ---------------------------------------------------------------------------------
section "build ($build)"
if [ ! -f "$build/build.ninja" ]; then
        meson setup "$build" "$repo"
fi
if ! ninja -C "$build"; then
        echo "run-all: build failed" >&2
        echo "0 passed, 1 failed, 0 skipped"
        exit 1
fi

# --- clang-format ----------------------------------------------------------------------------
section "clang-format"
if git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
        mapfile -t sources < <(git -C "$repo" ls-files '*.c' '*.h')
else
        mapfile -t sources < <(find . -path ./build\* -prune -o \( -name '*.c' -o -name '*.h' \) -print)
fi
if [ ${#sources[@]} -eq 0 ]; then
        echo "no C sources"
elif clang-format --dry-run --Werror "${sources[@]}" 2>"$build/clang-format.log"; then
        echo "clang-format: ${#sources[@]} files clean"
        add 1 0 0
else
        grep -oE '^[^: ]+\.[ch]:[0-9]+:[0-9]+: ' "$build/clang-format.log" | cut -d: -f1 | sort -u |
                sed 's/^/needs clang-format: /'
        add 0 1 0
fi

# --- unit tests (criterion) ------------------------------------------------------------------
section "unit tests"
unit_rc=0
meson test -C "$build" --suite unit --print-errorlogs || unit_rc=$?
# Count test cases from each binary's "Synthesis: Tested: N | Passing: P | Failing: F |
# Crashing: C" line; a binary that died before printing one counts as one failure.
read -r up uf us < <("$python" - "$build/meson-logs/testlog.json" <<'PY'
import json, re, sys
syn = re.compile(r"Synthesis: Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)")
p = f = s = 0
try:
    lines = open(sys.argv[1]).read().splitlines()
except FileNotFoundError:
    lines = []
for line in lines:
    t = json.loads(line)
    m = syn.search((t.get("stdout") or "") + (t.get("stderr") or ""))
    if m:
        n, ok, bad, crash = map(int, m.groups())
        p, f, s = p + ok, f + bad + crash, s + max(0, n - ok - bad - crash)
        if t["result"] not in ("OK", "SKIP", "EXPECTEDFAIL") and bad + crash == 0:
            f += 1  # e.g. a leak check or timeout after the synthesis
    elif t["result"] == "OK":
        p += 1
    elif t["result"] == "SKIP":
        s += 1
    else:
        f += 1
print(p, f, s)
PY
)
echo "unit: $up passed, $uf failed, $us skipped (meson test exit $unit_rc)"
if [ "$unit_rc" -ne 0 ] && [ "$uf" -eq 0 ]; then
        uf=1
fi
add "$up" "$uf" "$us"

# --- integration tests (pytest, real containers) ---------------------------------------------
section "integration tests (${RUNTIME_KIND:-run-container})"
junit="$build/integration-junit.xml"
rm -f "$junit"
it_rc=0
# shellcheck disable=SC2086 # PYTEST_ARGS is split on purpose
# The Debian image layout (rootfs-examples/debian-image.sh: debootstrap from Debian's
# archive, a few minutes) is built once and kept in /var/tmp for later runs.
export RC_TEST_DEBIAN_LAYOUT=${RC_TEST_DEBIAN_LAYOUT:-/var/tmp/run-container-tests/debian-layout}
export RC_TEST_DEBIAN=${RC_TEST_DEBIAN:-1}
mkdir -p "$(dirname "$RC_TEST_DEBIAN_LAYOUT")"
BUILD_DIR="$build" "$python" -m pytest "$repo/tests/integration" -q -rs -p no:cacheprovider \
        --junitxml="$junit" ${PYTEST_ARGS:-} </dev/null || it_rc=$?
read -r ip if is < <(junit_counts "$junit")
# pytest exits 5 when it collected nothing: not a failure by itself.
if [ "$it_rc" -ne 0 ] && [ "$it_rc" -ne 5 ] && [ "$if" -eq 0 ]; then
        if=1
fi
echo "integration: $ip passed, $if failed, $is skipped (pytest exit $it_rc)"
add "$ip" "$if" "$is"

# --- the static non-PIE build (meson -Db_pie=false, tests/bench/README.md tenth round) -----
# Not the default; built here so that the option keeps working: its program re-executes
# from the protected copy, loads the image and network libraries, enters containers.
section "static non-PIE build (-Db_pie=false)"
nopie="$build-nopie"
nopie_junit="$nopie/junit.xml"
rm -f "$nopie_junit"
np_rc=0
if [ ! -f "$nopie/build.ninja" ]; then
        meson setup "$nopie" "$repo" -Db_pie=false >/dev/null || np_rc=$?
fi
[ "$np_rc" -eq 0 ] && { ninja -C "$nopie" run-container tests/integration/probe >/dev/null || np_rc=$?; }
if [ "$np_rc" -eq 0 ]; then
        env -u RUNTIME_KIND -u RUNTIME BUILD_DIR="$nopie" "$python" -m pytest -q -p no:cacheprovider \
                --junitxml="$nopie_junit" "$repo/tests/integration/test_cve_2019_5736.py" \
                "$repo/tests/integration/test_lifecycle.py" "$repo/tests/integration/test_exec.py" \
                "$repo/tests/integration/test_image.py" </dev/null || np_rc=$?
        read -r np nf ns < <(junit_counts "$nopie_junit")
        [ "$np_rc" -ne 0 ] && [ "$nf" -eq 0 ] && nf=1
else
        echo "run-all: the -Db_pie=false build failed" >&2
        np=0 nf=1 ns=0
fi
echo "non-PIE: $np passed, $nf failed, $ns skipped"
add "$np" "$nf" "$ns"

# --- the unit and integration suites again under ASan + UBSan (one case per step) -----------
section "ASan + UBSan (tests/sanitize.sh)"
if [ "${SKIP_ASAN:-0}" = 1 ]; then
        echo "sanitizers: skipped (SKIP_ASAN=1)"
        add 0 0 2
else
        san_log="$build/sanitize.log"
        san_rc=0
        # always run-container's ASan build, also when RUNTIME_KIND=crun validates the tests
        env -u RUNTIME_KIND -u RUNTIME SANITIZE_STEPS="asan-unit asan-integration" \
                bash "$repo/tests/sanitize.sh" "$build-asan" </dev/null 2>&1 |
                tee "$san_log" || san_rc=${PIPESTATUS[0]}
        sf=0
        for step in asan-unit asan-integration; do
                grep -qE "^sanitize.sh: FAILED:.* $step( |$)" "$san_log" && sf=$((sf + 1))
        done
        [ "$san_rc" -ne 0 ] && [ "$sf" -eq 0 ] && sf=2
        add $((2 - sf)) "$sf" 0
fi

# --- fuzzing: a short libFuzzer run per target (one test case each) ---------------------------
section "fuzzing (tests/fuzz, ${FUZZ_SECONDS:-20}s per target)"
if [ "${FUZZ_SECONDS:-20}" = 0 ]; then
        echo "fuzzing: skipped (FUZZ_SECONDS=0)"
        add 0 0 6
else
        fuzz_log="$build/fuzz-run.log"
        fuzz_rc=0
        FUZZ_SECONDS=${FUZZ_SECONDS:-20} bash "$repo/tests/fuzz/run.sh" "$build-fuzz" </dev/null 2>&1 |
                tee "$fuzz_log" || fuzz_rc=${PIPESTATUS[0]}
        ff=$(grep -cE '^fuzz_[a-z_]+: FAILED' "$fuzz_log" || true)
        if [ "$fuzz_rc" -ne 0 ] && [ "$ff" -eq 0 ]; then
                ff=6 # the build or the script itself failed
        fi
        add $((6 - ff)) "$ff" 0
fi

# --- cgroup v2 suite in a VM ------------------------------------------------------------------
section "cgroup v2 and sandbox suites (tests/vm)"
if [ "${SKIP_VM:-0}" = 1 ]; then
        echo "cgroup v2 suite: skipped (SKIP_VM=1)"
        add 0 0 1
else
        vm_log="$build/vm-cgroup.log"
        vm_rc=0
        BUILD_DIR="$build" bash "$repo/tests/vm/vm-tests.sh" </dev/null 2>&1 | tee "$vm_log" || vm_rc=${PIPESTATUS[0]}
        summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$vm_log" | tail -n 1 || true)
        if [ -n "$summary" ]; then
                vp=$(echo "$summary" | sed -E 's/^([0-9]+) passed.*/\1/')
                vf=$(echo "$summary" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
                [ "$vm_rc" -ne 0 ] && [ "$vf" -eq 0 ] && vf=1
                add "$vp" "$vf" 0
        else
                echo "cgroup v2 suite: no summary (exit $vm_rc)"
                add 0 1 0
        fi
fi

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
