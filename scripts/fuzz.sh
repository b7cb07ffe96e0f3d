#!/usr/bin/env bash
# Runs the libFuzzer targets (tests/fuzz: beacon decoder, pixel query parser, record codec, config
# loader, session-state codec, the fast HTTP request parser against Beast's; clang with ASan+UBSan) each for a bounded time on a copy of its seed
# corpus (tests/fuzz/corpus/<target>/; the seeds in the repository are not changed). They live in
# the sanitized build directory build-asan/ (scripts/build.sh asan, shared with scripts/test.sh's
# sanitized pass, so after test.sh this builds nothing). Prints executions per target; exits 1 on
# the first crash, leak or sanitizer report, whose input is kept in build-asan/artifacts/.
# Usage: scripts/fuzz.sh [seconds per target]   (default: $FOOTHOLD_FUZZ_SECONDS or 20)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-${FOOTHOLD_FUZZ_SECONDS:-20}}"
build="${FOOTHOLD_ASAN_BUILD_DIR:-$root/build-asan}"
targets=(beacon pixel record config session_state http_request)
FOOTHOLD_BUILD_DIR="$build" FOOTHOLD_TARGETS="${targets[*]/#/fuzz_}" "$root/scripts/build.sh" asan
mkdir -p "$build/artifacts"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=0
passed=0
for target in "${targets[@]}"; do
  mkdir -p "$work/$target"
  cp "$root/tests/fuzz/corpus/$target/"* "$work/$target/"
  log="$build/artifacts/fuzz_$target.log"
  if "$build/tests/fuzz/fuzz_$target" "$work/$target" "$root/tests/fuzz/corpus/$target" \
       -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="$build/artifacts/${target}-" >"$log" 2>&1; then
    execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
    echo "fuzz_$target: ok, $execs executions in ${seconds}s, corpus $(ls "$work/$target" | wc -l) inputs"
    passed=$((passed + 1))
  else
    echo "fuzz_$target: FAILED (see $log and $build/artifacts/${target}-*)"
    tail -n 30 "$log"
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
