#!/usr/bin/env bash
# Dashboard first-render benchmark (scripts/README.md "Benchmarks"; the target: every view renders
# in <= 1 s on this machine with a 1 M-session store). One run:
#   1. Builds foothold if needed, starts it with the shipped config/foothold.toml on a temp data
#      dir pinned to core 1, with FOOTHOLD_SESSION__TIMEOUT=2s (so the loadgen's tick closes every
#      session and lift / funnel / experiment cells are full) and an admin token (BENCH_TOKEN,
#      default "bench-dashboard-token"; BENCH_TOKEN= runs an open server), so the page's token path
#      (sessionStorage + Authorization: Bearer on every API call) is what gets measured.
#   2. Loads BENCH_SESSIONS (1 000 000) simulated shopper sessions with scripts/loadgen.py (core 0)
#      spread over the last BENCH_SPAN_HOURS (24) hours, like scripts/bench_stats.sh phase 2, and
#      waits until the aggregator has caught up (/metrics foothold_aggregator_pending_events = 0).
#      Loading 1 M sessions takes ~10 min here (see bench_stats.sh); BENCH_SESSIONS=20000 is a
#      quick check of the script itself.
#   3. scripts/bench_dashboard.mjs (node + headless chromium, pinned to core 0) opens each view
#      (overview, funnel, lift, opportunities, experiments, live, journey of session lg-1-0) cold
#      at 1280x800, BENCH_RUNS (3) times, and prints navigation start -> `foothold-rendered-<view>`
#      mark, median and max, plus the API requests each view waited for (Resource Timing).
#   4. Prints the store size (sessions, events, data dir) and the load time.
# A benchmark, never a test: it exits non-zero only when something breaks (server dies, loadgen
# fails, a view renders an error or never renders).
#
# Usage: scripts/bench_dashboard.sh
#   BENCH_SESSIONS (1000000)  BENCH_SPAN_HOURS (24)  BENCH_RUNS (3)  BENCH_TOKEN (bench-dashboard-token)
#   BENCH_SKIP_BUILD=1 uses the existing binary; FOOTHOLD_BUILD_DIR (build) picks the build dir.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/scripts/bench_lib.sh"  # helpers shared by the benchmarks
sessions="${BENCH_SESSIONS:-1000000}"
span_hours="${BENCH_SPAN_HOURS:-24}"
runs="${BENCH_RUNS:-3}"
token="${BENCH_TOKEN-bench-dashboard-token}"
server_core="${BENCH_SERVER_CORE:-1}"
client_core="${BENCH_CLIENT_CORE:-0}"
build_dir="${FOOTHOLD_BUILD_DIR:-build}"
case "$build_dir" in /*) ;; *) build_dir="$root/$build_dir" ;; esac
bin="$build_dir/server/foothold"
config="$root/config/foothold.toml"
journey_session="lg-1-0"  # loadgen's first session with its default --seed 1
started_at=$(date +%s.%N)

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  FOOTHOLD_BUILD_DIR="$build_dir" FOOTHOLD_TARGETS=foothold "$root/scripts/build.sh" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
[ -x "$bin" ] || { echo "bench_dashboard: no binary at $bin" >&2; exit 1; }
[ -d "$root/tests/js/node_modules/playwright-core" ] ||
  { echo "bench_dashboard: no tests/js/node_modules/playwright-core (run scripts/setup.sh test)" >&2; exit 1; }
command -v node >/dev/null || { echo "bench_dashboard: node not found (run scripts/setup.sh test)" >&2; exit 1; }

metric_missing=nan
bench_workdir bench-dashboard

auth=()
[ -z "$token" ] || auth=(-H "Authorization: Bearer $token")
scrape() { taskset -c "$client_core" curl -fsS --max-time 5 "${auth[@]}" "$srv_url/metrics" -o "$1"; }
alive() { kill -0 "$srv_pid" 2>/dev/null || { echo "bench_dashboard: the server died; log:" >&2; tail -30 "$srv_log" >&2; exit 1; }; }

# Start the server (the server refuses unknown FOOTHOLD_* variables: keep build.sh's out).
port=$(free_port)
srv_url="http://127.0.0.1:$port"
srv_log="$work/server.log"
data="$work/data"
env -u FOOTHOLD_BUILD_DIR -u FOOTHOLD_TARGETS FOOTHOLD_SHUTDOWN__DRAIN_DELAY=0s FOOTHOLD_SESSION__TIMEOUT=2s \
  FOOTHOLD_ADMIN__TOKEN="$token" taskset -c "$server_core" "$bin" --config "$config" \
  --listen "127.0.0.1:$port" --data-dir "$data" >"$srv_log" 2>&1 &
srv_pid=$!
for _ in $(seq 100); do curl -fs "$srv_url/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "$srv_url/readyz" >/dev/null 2>&1 || { echo "bench_dashboard: server did not become ready; log:" >&2; cat "$srv_log" >&2; exit 1; }
echo "== machine: $(nproc) cores; server on core $server_core, loadgen and chromium on core $client_core; binary $bin"
if [ -n "$token" ]; then echo "== admin token: set (the page keeps it in sessionStorage and sends Authorization: Bearer)"
else echo "== admin token: none (open server)"; fi

echo "== loading $sessions sessions over ${span_hours} h -> $srv_url (log $srv_log)"
lt0=$(now)
lg_rc=0
taskset -c "$client_core" python3 "$root/scripts/loadgen.py" --url "$srv_url" --sessions "$sessions" \
  --span-hours "$span_hours" --batch 400 --connections 2 --tick-after 3 2>"$work/loadgen.err" >/dev/null || lg_rc=$?
cat "$work/loadgen.err"
[ "$lg_rc" -eq 0 ] || { echo "bench_dashboard: loadgen failed (exit $lg_rc)" >&2; exit 1; }
alive
# Wait until the aggregator has caught up (the tick is in the log, so every session is closed).
wt0=$(now); caught=""
while calc "exit !($(now) - $wt0 < 600)"; do
  scrape "$work/m.txt"
  if [ "$(metric foothold_aggregator_pending_events "$work/m.txt")" = 0 ]; then caught=$(now); break; fi
  sleep 0.2
done
alive
[ -n "$caught" ] || { echo "bench_dashboard: the aggregator did not catch up within 600 s" >&2; exit 1; }
lt1=$(now)
lg_line=$(grep 'loadgen: posted' "$work/loadgen.err")
lg_events=$(sed -E 's/.*posted ([0-9]+) events of ([0-9]+) sessions.*/\1/' <<<"$lg_line")
lg_sessions=$(sed -E 's/.*posted ([0-9]+) events of ([0-9]+) sessions.*/\2/' <<<"$lg_line")
written=$(metric foothold_writer_events_total "$work/m.txt")
open_sessions=$(metric foothold_aggregator_open_sessions "$work/m.txt")
du_data=$(du -sh "$data" | cut -f1)

echo
echo "== dashboard: $runs cold loads per view"
br_rc=0
br_out=$(taskset -c "$client_core" node "$root/scripts/bench_dashboard.mjs" --url "$srv_url" --token "$token" \
  --session "$journey_session" --runs "$runs") || br_rc=$?
grep -v '^VIEW ' <<<"$br_out" || true
alive
[ "$br_rc" -eq 0 ] || { echo "bench_dashboard: the browser run failed (exit $br_rc)" >&2; exit 1; }

echo
echo "== summary ($(date -u +%FT%TZ); runtime $(calc "printf \"%.0f s\", $(now) - $started_at"))"
printf '%-44s %22s   %s\n' "figure" "value" "target / note"
printf '%-44s %22s   %s\n' "store sessions / events (loadgen)" "$lg_sessions / $lg_events" "spread over the last ${span_hours} h; open sessions left: $open_sessions (the tick's own)"
printf '%-44s %22s   %s\n' "events written (writer_events_total)" "$written" "data dir $du_data"
printf '%-44s %22s   %s\n' "load time (loadgen start -> caught up)" "$(calc "printf \"%.1f s\", $lt1 - $lt0")" "aggregator caught up $(calc "printf \"%.1f s\", $caught - $wt0") after the loadgen exit"
while read -r _ view med max rs; do
  printf '%-44s %22s   %s\n' "first render $view (median / max)" "${med#median_ms=} / ${max#max_ms=} ms" "target <= 1000 ms; runs ${rs#runs=}"
done < <(grep '^VIEW ' <<<"$br_out")
warn=$(grep -E ' (warning|error|critical) ' "$srv_log" || true)
echo
echo "server warnings/errors: ${warn:-none}"
