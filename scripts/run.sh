#!/usr/bin/env bash
# Builds when needed and runs foothold with config/foothold.toml and ./data.
# Extra arguments go to foothold (e.g. --listen 127.0.0.1:9000).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh" build
FOOTHOLD_TARGETS=foothold "$root/scripts/build.sh" -DCMAKE_BUILD_TYPE=Release
cd "$root"
exec "$root/build/server/foothold" --config "$root/config/foothold.toml" "$@"
