#!/usr/bin/env bash
# Rebuild (backfill) benchmark (scripts/README.md "Benchmarks"; README.md "Backfill"). One run:
#   1. A store: BENCH_STORE=DIR uses a copy of an existing data dir (written with the shipped
#      config/foothold.toml and FOOTHOLD_SESSION__TIMEOUT=2s, e.g. one bench_dashboard.sh made);
#      otherwise foothold (core 1) is started on a temp dir and scripts/loadgen.py (core 0) loads
#      BENCH_SESSIONS (1 000 000) simulated shopper sessions over 24 h, like bench_dashboard.sh
#      (~10 min for 1 M on a quiet machine), then the server is stopped.
#   2. Anchor, same run, same store: `foothold verify` (a full in-memory recount of the log with
#      the same rollup code, nothing written), its CPU-seconds (user + sys) and records per
#      CPU-second.
#   3. Offline: `foothold rebuild` with the shipped config plus one more micro-conversion (a
#      definition added later): CPU-seconds, records per CPU-second, wall time; then verify.
#   4. Online: the server started with one more definition again recounts in the background while
#      it serves; /metrics is sampled every 200 ms until foothold_rebuilds_completed_total = 1:
#      wall time to the switch, the server's CPU-seconds over it (from /proc), the rebuild's own
#      events/s (foothold_rebuild_events_per_second, wall) next to records per server CPU-second;
#      then SIGTERM and verify.
# Everything foothold runs is pinned to core 1. Wall-clock figures on a shared machine are noise:
# compare the CPU-second figures, and the rebuild against the verify anchor of the same run.
# A benchmark, never a test: it exits non-zero only when something breaks.
#
# Usage: scripts/bench_rebuild.sh
#   BENCH_SESSIONS (1000000)  BENCH_STORE (unset)  BENCH_SKIP_BUILD=1  FOOTHOLD_BUILD_DIR (build)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/scripts/bench_lib.sh"  # helpers shared by the benchmarks
sessions="${BENCH_SESSIONS:-1000000}"
server_core="${BENCH_SERVER_CORE:-1}"
client_core="${BENCH_CLIENT_CORE:-0}"
build_dir="${FOOTHOLD_BUILD_DIR:-build}"
case "$build_dir" in /*) ;; *) build_dir="$root/$build_dir" ;; esac
bin="$build_dir/server/foothold"
config="$root/config/foothold.toml"

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  FOOTHOLD_BUILD_DIR="$build_dir" FOOTHOLD_TARGETS=foothold "$root/scripts/build.sh" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
[ -x "$bin" ] || { echo "bench_rebuild: no binary at $bin" >&2; exit 1; }

metric_missing=nan
bench_workdir bench-rebuild

# The server refuses unknown FOOTHOLD_* variables: keep build.sh's out. Same session timeout
# everywhere: it is part of the definitions fingerprint.
fh() { env -u FOOTHOLD_BUILD_DIR -u FOOTHOLD_TARGETS FOOTHOLD_SHUTDOWN__DRAIN_DELAY=0s FOOTHOLD_SESSION__TIMEOUT=2s "$@"; }
# cpu_run OUT CMD...: runs CMD pinned to the server core; OUT gets its output, then "cpu <user+sys s> wall <s>".
cpu_run() {
  local out="$1"; shift
  fh taskset -c "$server_core" python3 - "$@" >"$out" 2>&1 <<'EOF'
import resource, subprocess, sys, time
t0 = time.monotonic()
rc = subprocess.call(sys.argv[1:])
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"cpu {ru.ru_utime + ru.ru_stime:.2f} wall {wall:.2f} rc {rc}", flush=True)
sys.exit(rc)
EOF
}
proc_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }

start_server() {  # start_server CONFIG
  port=$(free_port)
  srv_url="http://127.0.0.1:$port"
  srv_log="$work/server-$(date +%s%N).log"
  # Not through fh: $! must be the server's pid, not a subshell's.
  env -u FOOTHOLD_BUILD_DIR -u FOOTHOLD_TARGETS FOOTHOLD_SHUTDOWN__DRAIN_DELAY=0s FOOTHOLD_SESSION__TIMEOUT=2s \
    taskset -c "$server_core" "$bin" --config "$1" --listen "127.0.0.1:$port" --data-dir "$data" >"$srv_log" 2>&1 &
  srv_pid=$!
  for _ in $(seq 600); do curl -fs "$srv_url/readyz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "bench_rebuild: server did not become ready; log:" >&2; cat "$srv_log" >&2; exit 1
}
stop_server() {
  kill -TERM "$srv_pid"; wait "$srv_pid" || { echo "bench_rebuild: server exited non-zero; log:" >&2; tail -20 "$srv_log" >&2; exit 1; }
  srv_pid=""
}

# Configs with a definition added later (each a fresh fingerprint).
config_b="$work/b.toml"; config_c="$work/c.toml"
{ cat "$config"; printf '\n[[micro_conversion]]\nname = "bench_added_b"\nevent = "site_search"\n'; } >"$config_b"
{ cat "$config_b"; printf '\n[[micro_conversion]]\nname = "bench_added_c"\nevent = "wishlist_add"\n'; } >"$config_c"

data="$work/data"
echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); foothold on core $server_core; binary $bin"
if [ -n "${BENCH_STORE:-}" ]; then
  echo "== copying the store $BENCH_STORE"
  cp -a "$BENCH_STORE" "$data"
else
  echo "== loading $sessions sessions over 24 h"
  start_server "$config"
  taskset -c "$client_core" python3 "$root/scripts/loadgen.py" --url "$srv_url" --sessions "$sessions" \
    --span-hours 24 --batch 400 --connections 2 --tick-after 3 2>"$work/loadgen.err" >/dev/null ||
    { cat "$work/loadgen.err" >&2; echo "bench_rebuild: loadgen failed" >&2; exit 1; }
  grep 'loadgen: posted' "$work/loadgen.err" || true
  while :; do
    curl -fsS --max-time 5 "$srv_url/metrics" -o "$work/m.txt"
    [ "$(metric foothold_aggregator_pending_events "$work/m.txt")" = 0 ] && break
    sleep 0.5
  done
  stop_server
fi

rows=()
row() { rows+=("$(printf '%-46s %22s   %s' "$1" "$2" "${3:-}")"); }
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' "$2" | tail -1; }

echo "== anchor: foothold verify"
cpu_run "$work/verify.txt" "$bin" verify --config "$config" --data-dir "$data" ||
  { cat "$work/verify.txt" >&2; echo "bench_rebuild: verify failed before the rebuild" >&2; exit 1; }
records=$(grep -o 'recounted [0-9]*' "$work/verify.txt" | awk '{print $2}')
v_cpu=$(field cpu "$work/verify.txt")
row "store records (log)" "$records"
row "verify recount: CPU-seconds" "$v_cpu" "anchor: records per CPU-s $(calc "printf \"%.0f\", $records / $v_cpu")"

echo "== offline: foothold rebuild (one definition added)"
cpu_run "$work/rebuild.txt" "$bin" rebuild --config "$config_b" --data-dir "$data" ||
  { cat "$work/rebuild.txt" >&2; echo "bench_rebuild: rebuild failed" >&2; exit 1; }
grep '^ok:' "$work/rebuild.txt"
r_cpu=$(field cpu "$work/rebuild.txt"); r_wall=$(field wall "$work/rebuild.txt")
row "offline rebuild: CPU-seconds (process)" "$r_cpu" "records per CPU-s $(calc "printf \"%.0f\", $records / $r_cpu"); $(calc "printf \"%.2f\", $r_cpu / $v_cpu") x verify"
row "offline rebuild: wall" "${r_wall} s" "records/s $(calc "printf \"%.0f\", $records / $r_wall") (noise on a shared machine)"
cpu_run "$work/verify-b.txt" "$bin" verify --config "$config_b" --data-dir "$data" ||
  { cat "$work/verify-b.txt" >&2; echo "bench_rebuild: verify failed after the offline rebuild" >&2; exit 1; }

echo "== online: the server recounts in the background (one more definition)"
t0=$(now)
start_server "$config_c"
eps=nan
while :; do
  curl -fsS --max-time 5 "$srv_url/metrics" -o "$work/m.txt" || { echo "bench_rebuild: scrape failed" >&2; exit 1; }
  [ "$(metric foothold_rebuild_active "$work/m.txt")" = 1 ] && eps=$(metric foothold_rebuild_events_per_second "$work/m.txt")
  [ "$(metric foothold_rebuilds_completed_total "$work/m.txt")" = 1 ] && break
  kill -0 "$srv_pid" 2>/dev/null || { echo "bench_rebuild: the server died; log:" >&2; tail -20 "$srv_log" >&2; exit 1; }
  sleep 0.2
done
t1=$(now)
s_cpu=$(proc_cpu "$srv_pid")
row "online rebuild: start -> switch, wall" "$(calc "printf \"%.2f s\", $t1 - $t0")" "last sampled foothold_rebuild_events_per_second: $eps"
row "online rebuild: server CPU-seconds to the switch" "$s_cpu" "records per CPU-s $(calc "printf \"%.0f\", $records / $s_cpu") (start-up included)"
stop_server
cpu_run "$work/verify-c.txt" "$bin" verify --config "$config_c" --data-dir "$data" ||
  { cat "$work/verify-c.txt" >&2; echo "bench_rebuild: verify failed after the online rebuild" >&2; exit 1; }
row "verify after both rebuilds" "ok" "$(grep -o 'recounted [0-9]* records' "$work/verify-c.txt")"
echo
printf '%s\n' "${rows[@]}"
