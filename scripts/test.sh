#!/usr/bin/env bash
# test.sh - THE test command: install dependencies (Debian packages and the
# npm test tools of scripts/install-test-tools.sh), configure, build and run
# every test (cmocka unit tests, fuzz corpus replays, end-to-end tests).
#
#   bash scripts/test.sh
#
# Environment:
#   BUILD_DIR   build directory, relative to the repository root (default build)
#   CC          C compiler (default: CMake's choice, gcc on Debian)
#   SANITIZE=1  build and test with AddressSanitizer + UndefinedBehaviorSanitizer
#   JOBS        parallel build and test jobs (default: all cores)
#
# Exits non-zero when the build or any test fails.  ctest's closing line
# ("100% tests passed, 0 tests failed out of N") is the summary.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

build_dir=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}

bash scripts/install-deps.sh
bash scripts/install-test-tools.sh # @redocly/cli from npm, for the OpenAPI export test

cmake_args=(-S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAPISENSOR_WERROR=ON)
if [[ -n ${CC:-} ]]; then
    cmake_args+=(-DCMAKE_C_COMPILER="$CC")
fi
if [[ ${SANITIZE:-0} == 1 ]]; then
    cmake_args+=(-DAPISENSOR_SANITIZE=ON)
    # Make every sanitizer report end the process with SIGABRT, so the
    # end-to-end harness and the graders count it as a crash, not as exit 1.
    export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-abort_on_error=1:halt_on_error=1:print_stacktrace=1}
else
    cmake_args+=(-DAPISENSOR_SANITIZE=OFF)
fi

echo "test.sh: configuring $build_dir (${CC:-default compiler}, SANITIZE=${SANITIZE:-0})"
cmake "${cmake_args[@]}"
echo "test.sh: building with $jobs jobs"
cmake --build "$build_dir" -j "$jobs"
echo "test.sh: running tests"
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs"
