#!/usr/bin/env bash
# Installs what is missing, builds, and runs the test suite with CTest; .ci/run runs exactly this.
#  1. the Release build in build/: every test (Catch2, JavaScript with chromium, container);
#  2. the clang ASan+UBSan build in build-asan/ (scripts/build.sh asan, which also builds the
#     libFuzzer targets scripts/fuzz.sh runs next): every test but those labelled js and container
#     (they drive chromium, node and podman around the binary; the Release pass runs them). The
#     integration tests start the sanitized foothold, so the server is checked under real HTTP.
#     A sanitizer finding aborts the process and fails its test.
# FOOTHOLD_CI_SANITIZE=0 skips pass 2 (a quick local run); FOOTHOLD_SANITIZE=1 runs pass 2 alone.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh" test
jobs="${FOOTHOLD_TEST_JOBS:-2}"
if [ "${FOOTHOLD_SANITIZE:-0}" != "1" ]; then
  FOOTHOLD_BUILD_DIR="${FOOTHOLD_BUILD_DIR:-$root/build}" "$root/scripts/build.sh" \
    -DCMAKE_BUILD_TYPE=Release -DFOOTHOLD_WERROR=ON
  (cd "${FOOTHOLD_BUILD_DIR:-$root/build}" && ctest --output-on-failure --timeout 300 -j "$jobs")
fi
if [ "${FOOTHOLD_CI_SANITIZE:-1}" != "0" ] || [ "${FOOTHOLD_SANITIZE:-0}" = "1" ]; then
  asan="${FOOTHOLD_ASAN_BUILD_DIR:-$root/build-asan}"
  FOOTHOLD_BUILD_DIR="$asan" "$root/scripts/build.sh" asan
  # Leaks are findings; UBSan stops at the first report with a stack trace.
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:check_initialization_order=1:detect_stack_use_after_return=1:strict_string_checks=1}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
  (cd "$asan" && ctest --output-on-failure --timeout 300 -j "$jobs" -LE '^(js|container)$')
fi
