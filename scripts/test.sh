#!/usr/bin/env bash
# Installs what is missing, builds everything, runs the whole test suite with CTest.
# FOOTHOLD_SANITIZE=1 scripts/test.sh builds and tests an ASan+UBSan build in build-asan/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh" test
args=(-DCMAKE_BUILD_TYPE=Release -DFOOTHOLD_WERROR=ON)
if [ "${FOOTHOLD_SANITIZE:-0}" = "1" ]; then
  export FOOTHOLD_BUILD_DIR="$root/build-asan"
  args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DFOOTHOLD_SANITIZE=ON -DFOOTHOLD_WERROR=ON)
fi
build="${FOOTHOLD_BUILD_DIR:-$root/build}"
"$root/scripts/build.sh" "${args[@]}"
cd "$build"
ctest --output-on-failure --timeout 300 -j "${FOOTHOLD_TEST_JOBS:-2}"
