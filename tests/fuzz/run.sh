#!/bin/bash
# Build the libFuzzer targets and run each for a while; exit 1 if any target crashes.
#
#   tests/fuzz/run.sh [BUILD_DIR]        (default BUILD_DIR: build-fuzz in the repo)
#
# Environment:
#   FUZZ_SECONDS   time per target (default 60)
#   FUZZ_TARGETS   space-separated subset of: config state seccomp mount_options signal
#                  registries_conf criu_pagemap
#   FUZZ_JOBS      parallel fuzzing processes per target (default 1)
#
# The build is `CC=clang meson setup -Dfuzz=true -Dtests=disabled BUILD_DIR` (ASan and
# UBSan included). Each target starts from its seeds (tests/fuzz/corpus/<target>, plus the
# unit-test fixtures of tests/unit/data for the config parser) and keeps what it finds in
# BUILD_DIR/fuzz-corpus/<target>, so later runs go on from there. A crashing input is
# written to BUILD_DIR/fuzz-crashes/; keep it as a unit-test fixture once fixed
# (tests/unit/data/invalid/fuzz-*.json with a .err sidecar).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${1:-$repo/build-fuzz}
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-config state seccomp mount_options signal registries_conf criu_pagemap}
jobs=${FUZZ_JOBS:-1}

if ! command -v clang >/dev/null; then
        echo "run.sh: clang is required (apt-get install clang)" >&2
        exit 2
fi
if [ ! -f "$build/build.ninja" ]; then
        CC=clang meson setup -Dfuzz=true -Dtests=disabled "$build" "$repo" >/dev/null
fi
ninja -C "$build" $(for t in $targets; do echo "tests/fuzz/fuzz_$t"; done) >/dev/null

seeds() {
        echo "$here/corpus/$1"
        case $1 in
        config) echo "$repo/tests/unit/data/valid" "$repo/tests/unit/data/invalid" ;;
        esac
}

failed=""
mkdir -p "$build/fuzz-crashes"
for t in $targets; do
        corpus="$build/fuzz-corpus/$t"
        mkdir -p "$corpus" "$here/corpus/$t"
        extra=()
        case $t in config | seccomp | state) extra+=(-dict="$here/config.dict") ;; esac
        # parallel jobs write their logs into the current directory
        [ "$jobs" -gt 1 ] && extra+=(-jobs="$jobs" -workers="$jobs")
        echo "== fuzz_$t: ${seconds}s"
        cd "$build"
        # halt_on_error: a UBSan report is a failure too; detect_leaks stays on (ASan default)
        if ! UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
                LSAN_OPTIONS=suppressions="$here/lsan.supp" \
                "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
                -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/fuzz-crashes/$t-" "${extra[@]}" \
                "$corpus" $(seeds "$t") >"$build/fuzz-$t.log" 2>&1; then
                echo "fuzz_$t: FAILED (see $build/fuzz-$t.log and $build/fuzz-crashes/)"
                tail -n 30 "$build/fuzz-$t.log"
                failed="$failed $t"
        else
                grep -E "^stat::number_of_executed_units|^#[0-9]+.*DONE" "$build/fuzz-$t.log" | tail -n 2 || true
        fi
done
if [ -n "$failed" ]; then
        echo "fuzzing found crashes in:$failed"
        exit 1
fi
echo "fuzzing: no crash in $targets"
