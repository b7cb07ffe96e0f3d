#!/usr/bin/env bash
# Memory and ingest with many open sessions, on the real server (README.md, "Benchmarks"; the
# target: with 1 M sessions open, RSS <= 512 MiB and ingest within 20% of ingest at 10 k open).
# Conventions as scripts/bench.sh: the shipped config/foothold.toml, a desktop Chrome User-Agent
# and current timestamps in every event (so the aggregator counts them all), the server pinned to
# BENCH_SERVER_CORE (1) with --threads 1, wrk and the clients on BENCH_CLIENT_CORE (0).
# Two runs, each against a fresh server and data directory:
#   1. open N sessions (10 000, then BENCH_SESSIONS = 1 000 000): 100-event batches in which every
#      event starts a new session; none closes, the session timeout is 30 minutes of event time.
#      Then wait until the aggregator has counted them and read foothold_aggregator_open_sessions.
#   2. the batch100-fresh load of bench.sh (10-event visits, new session ids all run) for the
#      given seconds: events/s, events per server CPU-second, the aggregator's lag (max while
#      loaded, catch-up after), the server's peak RSS during this load (VmHWM reset before it) and
#      over the whole run, the RocksDB memtables, block cache and table readers at their largest
#      (/metrics), and the RSS at rest 5 s after the catch-up.
# Prints both runs side by side and the ratios against the targets, and /proc/PID/smaps_rollup at
# rest after the large run.
# A benchmark, never a test: it exits non-zero only when something breaks (the server dies,
# requests fail, the aggregator does not catch up, fewer sessions open than asked).
#
# Usage: scripts/bench_sessions.sh [seconds of load (15)] [connections (64)]
#   BENCH_SESSIONS (1000000) sessions opened in the large run; BENCH_SKIP_BUILD=1 uses
#   build/server/foothold as is; BENCH_BINARY=path runs that foothold instead (an A/B of two builds).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/scripts/bench_lib.sh"  # helpers shared by the benchmarks
secs="${1:-15}"
conns="${2:-64}"
server_core="${BENCH_SERVER_CORE:-1}"
client_core="${BENCH_CLIENT_CORE:-0}"
large="${BENCH_SESSIONS:-1000000}"
small=10000
config="$root/config/foothold.toml"
ua="$bench_ua"

"$root/scripts/setup.sh" bench
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ] && [ -z "${BENCH_BINARY:-}" ]; then
  FOOTHOLD_TARGETS=foothold "$root/scripts/build.sh" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
bin="${BENCH_BINARY:-$root/build/server/foothold}"
[ -x "$bin" ] || { echo "bench_sessions: no binary at $bin" >&2; exit 1; }

bench_workdir bench-sessions

hz=$(getconf CLK_TCK)
die() { echo "bench_sessions: $*" >&2; [ -f "$work/foothold.log" ] && tail -20 "$work/foothold.log" >&2; exit 1; }
status_mib() { awk -v k="$2:" '$1 == k {printf "%.0f", $2/1024}' "/proc/$1/status"; }
alive() { kill -0 "$fh_pid" 2>/dev/null || die "foothold died ($1)"; }

# bench.sh's batch100-fresh load (scripts/bench_load.lua): 10-event visits, new session ids all run.
export BENCH_UA="$ua"

start_foothold() {  # -> fh_pid, fh_url, fh_data
  local port; port=$(free_port)
  fh_data="$work/data-$RANDOM"
  env -u FOOTHOLD_BUILD_DIR -u FOOTHOLD_TARGETS FOOTHOLD_SHUTDOWN__DRAIN_DELAY=0s \
    taskset -c "$server_core" "$bin" --config "$config" --listen "127.0.0.1:$port" \
    --data-dir "$fh_data" --threads 1 --log-level warn >"$work/foothold.log" 2>&1 &
  fh_pid=$!
  pids+=("$fh_pid")
  fh_url="http://127.0.0.1:$port"
  for _ in $(seq 100); do curl -fs "$fh_url/readyz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "foothold did not become ready"
}
stop_foothold() {
  kill -TERM "$fh_pid"; wait "$fh_pid" 2>/dev/null || true
  rm -rf "$fh_data"
}

# wrk_run -> wrk_requests, wrk_secs; dies on errors.
wrk_run() {
  local out line
  out=$(BENCH_SHAPE=fresh BENCH_EVENTS=100 BENCH_FORMAT=native taskset -c "$client_core" \
    wrk -t1 -c"$conns" -d"${secs}s" -s "$root/scripts/bench_load.lua" "$fh_url" 2>&1) || die "wrk failed: $out"
  line=$(grep '^RESULT' <<<"$out") || die "wrk printed no result: $out"
  wrk_requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
  wrk_secs=$(sed -E 's/.*secs=([0-9.]+).*/\1/' <<<"$line")
  local errs non2xx
  errs=$(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$line"); non2xx=$(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<<"$line")
  [ "$errs" = 0 ] && [ "$non2xx" = 0 ] || die "load: $errs socket errors, $non2xx non-2xx answers"
  alive "load"
}

# catch_up -> caught (seconds until nothing is pending, at most 300); metrics in $work/m.
catch_up() {
  local t0; t0=$(now)
  while calc "exit !($(now) - $t0 < 300)"; do
    alive "catch-up"
    curl -fs "$fh_url/metrics" -o "$work/m" || die "GET /metrics failed"
    if [ "$(metric foothold_aggregator_pending_events "$work/m")" = 0 ]; then
      caught=$(calc "printf \"%.2f\", $(now) - $t0"); return 0
    fi
    sleep 0.05
  done
  die "the aggregator did not catch up within 300 s"
}

sampler() {  # every 200 ms "lag memtables block-cache table-readers" (bytes), until $work/stop-sampler exists
  while [ ! -e "$work/stop-sampler" ]; do
    curl -fs --max-time 2 "$fh_url/metrics" 2>/dev/null | awk '
      $1 == "foothold_aggregator_lag_seconds" { l = $2 } $1 == "foothold_rocksdb_memtable_bytes" { m = $2 }
      $1 == "foothold_rocksdb_block_cache_bytes" { c = $2 } $1 == "foothold_rocksdb_table_readers_bytes" { t = $2 }
      END { if (l != "") print l, m, c, t + 0 }' >>"$1" || true
    sleep 0.2
  done
}

declare -A R
# run N: open N sessions, then the batch100-fresh load; figures in R[N.*].
run() {
  local n="$1" k="$1"
  start_foothold
  # Open: 100-event requests over 8 keep-alive connections (wrk cannot stop after a count).
  local o0; o0=$(cpu_ticks "$fh_pid")
  taskset -c "$client_core" python3 - "$fh_url" "$n" "$ua" <<'PY' || die "opening $n sessions failed"
import http.client, os, sys, threading, time, urllib.parse
url, n, ua = urllib.parse.urlparse(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
run = os.urandom(3).hex()
per, conns = 100, 8
requests = (n + per - 1) // per
failed = []
def worker(w):
    c = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    for r in range(w, requests, conns):
        ts = int(time.time() * 1000)
        body = "[" + ",".join(
            '{"event":"page_view","session_id":"%s-open-%d","anonymous_id":"a-%s-open-%d","ts":%d,'
            '"url":"https://shop.example.com/p/%d-trail-running-shoes?ref=home&utm_source=newsletter",'
            '"title":"Trail running shoes | Shop Example","engaged_ms":5000,'
            '"props":{"category":"running","position":3,"logged_in":false}}' % (run, i, run, i, ts, i % 500)
            for i in range(r * per, min(n, (r + 1) * per))) + "]"
        c.request("POST", "/v1/collect", body, {"Content-Type": "text/plain;charset=UTF-8", "User-Agent": ua})
        resp = c.getresponse(); resp.read()
        if resp.status != 200:
            failed.append(resp.status); return
threads = [threading.Thread(target=worker, args=(w,)) for w in range(conns)]
for t in threads: t.start()
for t in threads: t.join()
if failed or sum(1 for t in threads if t.is_alive()):
    sys.exit("answers other than 200: %s" % failed[:5])
PY
  alive "opening"
  catch_up
  local open_ticks=$(( $(cpu_ticks "$fh_pid") - o0 ))
  R[$k.opened]=$(metric foothold_aggregator_open_sessions "$work/m")
  [ "${R[$k.opened]}" -ge "$n" ] || die "asked for $n open sessions, /metrics reads ${R[$k.opened]}"
  R[$k.open_evcpu]=$(calc "printf \"%.0f\", $n * $hz / ($open_ticks > 0 ? $open_ticks : 1)")
  R[$k.open_peak]=$(status_mib "$fh_pid" VmHWM)
  R[$k.open_rest]=$(status_mib "$fh_pid" VmRSS)
  # Load: peak RSS of this phase alone (writing 5 to clear_refs resets VmHWM; root only).
  local hwm_reset=1; echo 5 >"/proc/$fh_pid/clear_refs" 2>/dev/null || hwm_reset=0
  local w0; w0=$(metric foothold_writer_events_total "$work/m")
  local samples="$work/lag-$k"; : >"$samples"; rm -f "$work/stop-sampler"
  (taskset -p -c "$client_core" "$BASHPID" >/dev/null; sampler "$samples") &
  local sp=$!
  local t0; t0=$(cpu_ticks "$fh_pid")
  wrk_run
  local t1; t1=$(cpu_ticks "$fh_pid")
  catch_up
  local t2; t2=$(cpu_ticks "$fh_pid")
  touch "$work/stop-sampler"; wait "$sp" 2>/dev/null || true
  local written=$(( $(metric foothold_writer_events_total "$work/m") - w0 ))
  R[$k.eps]=$(calc "printf \"%.0f\", $wrk_requests * 100 / $wrk_secs")
  R[$k.evcpu]=$(calc "printf \"%.0f\", $written * $hz / ($t2 - $t0 > 0 ? $t2 - $t0 : 1)")
  R[$k.cpu_load]=$(calc "printf \"%.2f\", ($t1 - $t0) / $hz")
  R[$k.lag]=$(awk 'BEGIN { m = 0 } $1 > m { m = $1 } END { printf "%.2f", m }' "$samples")
  R[$k.memtables]=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { printf "%.0f", m / 1048576 }' "$samples")
  R[$k.cache]=$(awk 'BEGIN { m = 0 } $3 > m { m = $3 } END { printf "%.0f", m / 1048576 }' "$samples")
  R[$k.readers]=$(awk 'BEGIN { m = 0 } $4 > m { m = $4 } END { printf "%.0f", m / 1048576 }' "$samples")
  R[$k.catchup]=$caught
  R[$k.after]=$(metric foothold_aggregator_open_sessions "$work/m")
  R[$k.load_peak]=$([ "$hwm_reset" = 1 ] && status_mib "$fh_pid" VmHWM || echo n/a)
  local hwm; hwm=$(status_mib "$fh_pid" VmHWM)
  R[$k.peak]=$(( ${R[$k.open_peak]} > hwm ? ${R[$k.open_peak]} : hwm ))
  sleep 5
  alive "rest"
  R[$k.rest]=$(status_mib "$fh_pid" VmRSS)
  if [ "$n" = "$large" ]; then
    echo "== /proc/PID/smaps_rollup at rest after the $n-session run"
    grep -E '^(Rss|Pss_Anon|Pss_File|Anonymous|Swap):' "/proc/$fh_pid/smaps_rollup" || true
  fi
  stop_foothold
}

echo "== $(nproc) cores; server on core $server_core (--threads 1), load on core $client_core;" \
  "${secs}s of batch100-fresh load, $conns connections; config $config"
run "$small"
run "$large"

row() { printf '%-44s %16s %16s\n' "$@"; }
echo
echo "== open sessions: $small vs $large (one run each, fresh server)"
row "" "$small open" "$large open"
row "open sessions after opening (/metrics)" "${R[$small.opened]}" "${R[$large.opened]}"
row "opening: events per server CPU-s" "${R[$small.open_evcpu]}" "${R[$large.open_evcpu]}"
row "opening: peak RSS MiB" "${R[$small.open_peak]}" "${R[$large.open_peak]}"
row "batch100-fresh: events/s" "${R[$small.eps]}" "${R[$large.eps]}"
row "batch100-fresh: events per server CPU-s" "${R[$small.evcpu]}" "${R[$large.evcpu]}"
row "batch100-fresh: server CPU-s while loaded" "${R[$small.cpu_load]}" "${R[$large.cpu_load]}"
row "batch100-fresh: aggregator lag max s" "${R[$small.lag]}" "${R[$large.lag]}"
row "batch100-fresh: catch-up s" "${R[$small.catchup]}" "${R[$large.catchup]}"
row "batch100-fresh: peak RSS MiB (this load)" "${R[$small.load_peak]}" "${R[$large.load_peak]}"
row "  RocksDB memtables, max MiB (/metrics)" "${R[$small.memtables]}" "${R[$large.memtables]}"
row "  RocksDB block cache, max MiB (/metrics)" "${R[$small.cache]}" "${R[$large.cache]}"
row "  RocksDB table readers, max MiB (/metrics)" "${R[$small.readers]}" "${R[$large.readers]}"
row "open sessions after the load" "${R[$small.after]}" "${R[$large.after]}"
row "peak RSS MiB (whole run)" "${R[$small.peak]}" "${R[$large.peak]}"
row "RSS MiB at rest (5 s after catch-up)" "${R[$small.rest]}" "${R[$large.rest]}"
echo
ratio() { calc "if ($2 > 0) printf \"%.2f\", $1 / $2; else print \"n/a\""; }
echo "== against the targets"
echo "peak RSS with $large open: ${R[$large.peak]} MiB (target <= 512)"
echo "ingest at $large / at $small open: events/s $(ratio "${R[$large.eps]}" "${R[$small.eps]}")," \
  "events per server CPU-s $(ratio "${R[$large.evcpu]}" "${R[$small.evcpu]}") (target >= 0.80)"
