#!/usr/bin/env bash
# Installs the Debian packages foothold needs, when they are missing.
# Usage: scripts/setup.sh [build|test|bench]...   (default: build)
# Not root and something missing: prints the exact apt-get line and exits 1.
set -euo pipefail

build_pkgs=(g++ cmake ninja-build ccache pkg-config libboost-dev libsimdjson-dev libspdlog-dev
            librocksdb-dev zlib1g-dev libtomlplusplus-dev catch2
            libjemalloc-dev)  # jemalloc: linked statically into foothold (CMakeLists.txt)
test_pkgs=(curl prometheus haproxy chromium rocksdb-tools clickhouse-server clickhouse-client  # rocksdb-tools: ldb corrupts a store in the dashboard test
           clang libclang-rt-14-dev  # libFuzzer (scripts/fuzz.sh)
           podman buildah podman-compose debootstrap runc netavark aardvark-dns)  # scripts/container.sh (the CTest test "container")
bench_pkgs=(wrk nginx-light rocksdb-tools nghttp2-client)  # nghttp2-client: h2load --rps, the rate-limited load

want=()
[ $# -eq 0 ] && set -- build
for group in "$@"; do
  case "$group" in
    build) want+=("${build_pkgs[@]}") ;;
    test) want+=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
    bench) want+=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
    *) echo "setup.sh: unknown group '$group' (build|test|bench)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node.js (20 on the development machines) runs the JavaScript tests; Debian's nodejs when absent.
for group in "$@"; do
  if [ "$group" = test ] && ! command -v node >/dev/null 2>&1; then missing+=(nodejs npm); fi
done

install_npm() {
  # The JavaScript tests' packages (tests/js/package-lock.json), from the npm registry, once.
  local js="$(cd "$(dirname "$0")/.." && pwd)/tests/js"
  for group in "$@"; do
    if [ "$group" = test ] && { [ ! -d "$js/node_modules" ] || [ "$js/package-lock.json" -nt "$js/node_modules/.package-lock.json" ]; }; then
      echo "foothold: npm ci in tests/js" >&2
      (cd "$js" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    fi
  done
}

if [ ${#missing[@]} -eq 0 ]; then install_npm "$@"; exit 0; fi

if [ "$(id -u)" -ne 0 ]; then
  echo "foothold: missing Debian packages. Install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "foothold: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_npm "$@"
