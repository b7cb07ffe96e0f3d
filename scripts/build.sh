#!/usr/bin/env bash
# Configures (once) and builds foothold with Ninja.
# Usage: scripts/build.sh [cmake args]        into build/ (or $FOOTHOLD_BUILD_DIR); arguments go to
#                                             the configure step, e.g. -DCMAKE_BUILD_TYPE=Release
#        scripts/build.sh asan [cmake args]   the clang ASan+UBSan tree in build-asan/ (or
#                                             $FOOTHOLD_BUILD_DIR): the sanitized foothold and
#                                             foothold_tests and the libFuzzer targets in one
#                                             directory (-DFOOTHOLD_FUZZ=ON), -O1 with line tables
#                                             only (full debug info doubles the build's CPU time)
# $FOOTHOLD_TARGETS picks the targets (default all).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${FOOTHOLD_BUILD_DIR:-$root/build}"
if [ "${1:-}" = asan ]; then
  shift
  build="${FOOTHOLD_BUILD_DIR:-$root/build-asan}"
  command -v clang++ >/dev/null || { echo "build.sh: clang++ is missing (scripts/setup.sh test installs clang)" >&2; exit 1; }
  if [ ! -f "$build/build.ninja" ] || [ $# -gt 0 ]; then
    CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DFOOTHOLD_FUZZ=ON -DFOOTHOLD_WERROR=ON \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG" \
      "$@" >/dev/null
  fi
elif [ ! -f "$build/build.ninja" ] || [ $# -gt 0 ]; then
  cmake -S "$root" -B "$build" -G Ninja "$@" >/dev/null
fi
# shellcheck disable=SC2086  # a space-separated target list
cmake --build "$build" --target ${FOOTHOLD_TARGETS:-all}
