#!/usr/bin/env bash
# Configures (once) and builds foothold with Ninja into build/ (or $FOOTHOLD_BUILD_DIR).
# Extra arguments are passed to the CMake configure step, e.g. -DFOOTHOLD_SANITIZE=ON.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${FOOTHOLD_BUILD_DIR:-$root/build}"
if [ ! -f "$build/build.ninja" ] || [ $# -gt 0 ]; then
  cmake -S "$root" -B "$build" -G Ninja "$@" >/dev/null
fi
cmake --build "$build" --target "${FOOTHOLD_TARGETS:-all}"
