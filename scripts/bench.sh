#!/usr/bin/env bash
# Collector benchmark with real traffic, all in one run on this machine (README.md, "Benchmarks"):
# every foothold body carries a desktop Chrome User-Agent and current timestamps, and the server
# runs the shipped config/foothold.toml, so the aggregator counts every event (a request without a
# browser User-Agent is a bot and the aggregator skips it). Two session shapes:
#   fresh  short visits of 10 events each (new session ids all run);
#   long   a pool of 4096 sessions that keep growing all run.
# Rows, each against a fresh server and data directory:
#   nginx `return 204`  the anchor for one request (same body, same wrk);
#   foothold single beacon (one ~330-byte event a POST), fresh and long;
#   foothold 100-event batches, fresh and long, with the aggregator's lag sampled from /metrics
#     while loaded and the time it needs to catch up after;
#   Segment /v1/batch with 100 track calls (when the server has that endpoint);
#   p99 at half the maximum single-beacon rate, from a rate-limited open loop (h2load --rps);
#   RSS with 10 k idle keep-alive connections under batch load;
#   RocksDB's db_bench fillseq (batch 64, 300-byte values, WAL on), the storage anchor.
# Every server is pinned to BENCH_SERVER_CORE (1), wrk / h2load / clients to BENCH_CLIENT_CORE (0).
# Per row: requests/s, events/s, p50/p99, requests (and events) per server CPU-second, peak RSS,
# and the server's CPU split by thread: http (listener, decode), writer (group commit, RocksDB
# writes), aggregator, rocksdb (flush, compaction). A benchmark, never a test: it exits non-zero
# only when something breaks (a server dies, requests fail).
#
# Usage: scripts/bench.sh [seconds per run (10)] [connections (64)]
#   BENCH_THREADS (1) server --threads; BENCH_SKIP_BUILD=1 uses build/server/foothold as is.
#   Two cores: BENCH_THREADS=2 BENCH_SERVER_CORE=0,1 runs the server on both (the load generator
#   then shares core 0 with it) and adds the scaling row: batch100-fresh again with --threads 1
#   alone on a server core the load generator does not use (a comma list of cores), and the ratio.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/scripts/bench_lib.sh"  # helpers shared by the benchmarks
secs="${1:-10}"
conns="${2:-64}"
server_core="${BENCH_SERVER_CORE:-1}"
client_core="${BENCH_CLIENT_CORE:-0}"
threads="${BENCH_THREADS:-1}"
config="$root/config/foothold.toml"
ua="$bench_ua"

"$root/scripts/setup.sh" bench
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  FOOTHOLD_TARGETS=foothold "$root/scripts/build.sh" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
bin="$root/build/server/foothold"
[ -x "$bin" ] || { echo "bench: no binary at $bin" >&2; exit 1; }

bench_workdir bench

hz=$(getconf CLK_TCK)
peak_rss_mib() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
# thread_ticks PID -> "role ticks" per thread; roles from the thread names foothold sets.
thread_ticks() {
  for t in /proc/"$1"/task/*; do
    local comm; comm=$(cat "$t/comm" 2>/dev/null) || continue
    local role=http
    case "$comm" in fh-aggregator) role=aggregator ;; fh-writer) role=writer ;; rocksdb*) role=rocksdb ;; esac
    awk -v r="$role" '{ print r, $14 + $15 }' "$t/stat" 2>/dev/null || true
  done
}
# cpu_split BEFORE AFTER EVENTS -> "http=12.3 writer=... (CPU-µs per event)"
cpu_split() {
  awk -v hz="$hz" -v ev="$3" 'FILENAME == ARGV[1] { b[$1] += $2; next } { a[$1] += $2 }
    END { n = split("http writer aggregator rocksdb", r, " ")
          for (i = 1; i <= n; i++) printf "%s=%.2f ", r[i], (ev > 0 ? (a[r[i]] - b[r[i]]) / hz * 1e6 / ev : 0) }' "$1" "$2"
}

# --- load -----------------------------------------------------------------------
# scripts/bench_load.lua: BENCH_SHAPE fresh|long, BENCH_EVENTS events a request, BENCH_FORMAT native|segment.
export BENCH_UA="$ua"
load_lua="$root/scripts/bench_load.lua"

# --- servers --------------------------------------------------------------------
start_foothold() {  # [threads] [cores] -> fh_pid, fh_url, fh_data
  local port; port=$(free_port)
  fh_data="$work/data-$RANDOM"
  env -u FOOTHOLD_BUILD_DIR -u FOOTHOLD_TARGETS FOOTHOLD_SHUTDOWN__DRAIN_DELAY=0s \
    taskset -c "${2:-$server_core}" "$bin" --config "$config" --listen "127.0.0.1:$port" \
    --data-dir "$fh_data" --threads "${1:-$threads}" --log-level warn >"$work/foothold.log" 2>&1 &
  fh_pid=$!
  pids+=("$fh_pid")
  fh_url="http://127.0.0.1:$port"
  for _ in $(seq 100); do curl -fs "$fh_url/readyz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "bench: foothold did not become ready:" >&2; cat "$work/foothold.log" >&2; exit 1
}
stop_foothold() {
  kill -TERM "$fh_pid"; wait "$fh_pid" 2>/dev/null || true
  rm -rf "$fh_data"
}

# Sampler: every 200 ms "lag pending" from /metrics, until $work/stop-sampler exists.
sampler() {
  while [ ! -e "$work/stop-sampler" ]; do
    curl -fs --max-time 2 "$1/metrics" 2>/dev/null | awk '
      $1 == "foothold_aggregator_lag_seconds" { l = $2 } $1 == "foothold_aggregator_pending_events" { p = $2 }
      END { if (l != "") print l, p }' >>"$2" || true
    sleep 0.2
  done
}

printf -v header '%-26s %9s %10s %8s %8s %11s %12s %6s  %s' row "req/s" "events/s" "p50 ms" "p99 ms" "req/CPU-s" "events/CPU-s" "RSS" \
  "CPU-µs per event by thread; aggregator lag"
rows=()
declare -A R  # figures for the summary

# run_row NAME PID URL SHAPE EVENTS [FORMAT] -> a row; R[NAME.rps] etc.
run_row() {
  local name="$1" pid="$2" url="$3" shape="$4" per="$5" format="${6:-native}"
  local t0 t1 out samples="$work/samples-$name.txt"
  : >"$samples"; rm -f "$work/stop-sampler"
  local sampler_pid=""
  if [ "$name" != nginx ]; then
    (taskset -p -c "$client_core" "$BASHPID" >/dev/null; sampler "$url" "$samples") &
    sampler_pid=$!
    thread_ticks "$pid" >"$work/tt0"
    curl -fs "$url/metrics" -o "$work/m0"
  fi
  t0=$(cpu_ticks "$pid")
  out=$(BENCH_SHAPE="$shape" BENCH_EVENTS="$per" BENCH_FORMAT="$format" taskset -c "$client_core" \
    wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$load_lua" "$url")
  t1=$(cpu_ticks "$pid")
  local line; line=$(grep '^RESULT' <<<"$out") || { echo "bench: wrk failed for $name: $out" >&2; exit 1; }
  local rps p50 p99 errs non2xx
  rps=$(sed -E 's/.*rps=([0-9]+).*/\1/' <<<"$line"); p50=$(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$line")
  p99=$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$line"); errs=$(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$line")
  non2xx=$(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<<"$line")
  local cpu_s; cpu_s=$(calc "printf \"%.3f\", ($t1 - $t0) / $hz")
  local eps=$((rps * per))
  local per_cpu ev_cpu; per_cpu=$(calc "if ($cpu_s > 0) printf \"%.0f\", $rps * $secs / $cpu_s; else print \"n/a\"")
  ev_cpu=$(calc "if ($cpu_s > 0) printf \"%.0f\", $eps * $secs / $cpu_s; else print \"n/a\"")
  local extra=""
  if [ -n "$sampler_pid" ]; then
    # Catch-up: until nothing is pending (at most 120 s); CPU by thread over load + catch-up.
    local tl caught=""; tl=$(now)
    while calc "exit !($(now) - $tl < 120)"; do
      curl -fs "$url/metrics" -o "$work/m1"
      if [ "$(metric foothold_aggregator_pending_events "$work/m1")" = 0 ]; then caught=$(now); break; fi
      sleep 0.05
    done
    thread_ticks "$pid" >"$work/tt1"
    touch "$work/stop-sampler"; wait "$sampler_pid" 2>/dev/null || true
    local written; written=$(( $(metric foothold_writer_events_total "$work/m1") - $(metric foothold_writer_events_total "$work/m0") ))
    local bots; bots=$(metric foothold_bot_events_total "$work/m1")
    local lag_max; lag_max=$(awk 'BEGIN { m = 0 } $1 > m { m = $1 } END { printf "%.2f", m }' "$samples")
    local catchup; catchup=$([ -n "$caught" ] && calc "printf \"%.2f s\", $caught - $tl" || echo "> 120 s")
    extra="$(cpu_split "$work/tt0" "$work/tt1" "$written"); lag max ${lag_max} s, catch-up $catchup"
    [ "$bots" = 0 ] || extra="$extra; $bots BOT EVENTS"
    R[$name.lag]=$lag_max
    kill -0 "$pid" 2>/dev/null || { echo "bench: foothold died during $name" >&2; tail -20 "$work/foothold.log" >&2; exit 1; }
  fi
  [ "$errs" = 0 ] && [ "$non2xx" = 0 ] || extra="$extra; $errs socket errors, $non2xx non-2xx"
  R[$name.rps]=$rps; R[$name.eps]=$eps; R[$name.cpu]=$per_cpu; R[$name.evcpu]=$ev_cpu; R[$name.p99]=$p99; R[$name.ok]=$((errs + non2xx == 0))
  local row
  printf -v row '%-26s %9s %10s %8s %8s %11s %12s %6s  %s' "$name" "$rps" "$eps" "$p50" "$p99" "$per_cpu" "$ev_cpu" \
    "$(peak_rss_mib "$pid")M" "$extra"
  rows+=("$row"); echo "$row"
}

echo "== $(nproc) cores; servers on core $server_core (foothold --threads $threads), load on core $client_core;" \
  "${secs}s a run, $conns connections; config $config"
echo "$header"

# --- nginx anchor ---------------------------------------------------------------
nginx_port=$(free_port)
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  server { listen 127.0.0.1:$nginx_port; location / { return 204; } }
}
CONF
taskset -c "$server_core" nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/nginx/nginx.pid" ] && break; sleep 0.1; done
sleep 0.2
nginx_worker=$(pgrep -P "$(cat "$work/nginx/nginx.pid")" | head -1)
run_row nginx "$nginx_worker" "http://127.0.0.1:$nginx_port" fresh 1

# --- foothold rows ----------------------------------------------------------------
for spec in "single-fresh fresh 1" "single-long long 1" "batch100-fresh fresh 100" "batch100-long long 100"; do
  read -r name shape per <<<"$spec"
  start_foothold
  run_row "$name" "$fh_pid" "$fh_url" "$shape" "$per"
  stop_foothold
done

# --- two cores: the same batch load on one core with one I/O thread, for the ratio ----------
if [ "$threads" -gt 1 ] || [[ "$server_core" == *,* ]]; then
  # The reference core is one the load generator does not use, as in the one-core rows.
  one_core=""
  for c in ${server_core//,/ }; do [ "$c" != "$client_core" ] && { one_core=$c; break; }; done
  one_core="${one_core:-${server_core%%,*}}"
  start_foothold 1 "$one_core"
  run_row batch100-fresh-1core "$fh_pid" "$fh_url" fresh 100
  stop_foothold
fi

start_foothold
seg_status=$(curl -s -o /dev/null -w '%{http_code}' -H "User-Agent: $ua" -H 'Content-Type: text/plain' \
  --data '{"batch":[{"type":"track","event":"probe","anonymousId":"bench-probe"}]}' "$fh_url/v1/batch")
if [ "$seg_status" = 200 ]; then
  run_row segment-batch100-fresh "$fh_pid" "$fh_url" fresh 100 segment
else
  rows+=("segment-batch100-fresh     skipped: POST /v1/batch answered $seg_status (no Segment endpoint in this build)")
  echo "${rows[-1]}"
fi

# --- p99 at half the maximum single-beacon rate (open loop) -------------------------
rate=$(( ${R[single-fresh.rps]} / 2 ))
hconns=32
python3 - "$work/beacon.json" <<'PY'
import json, sys, time
json.dump({"event": "page_view", "session_id": "bench-rate", "anonymous_id": "a-bench-rate",
           "ts": int(time.time() * 1000), "url": "https://shop.example.com/p/7-trail-running-shoes?ref=home",
           "title": "Trail running shoes X7 | Shop Example", "engaged_ms": 5000,
           "props": {"category": "running", "position": 3, "logged_in": False}}, open(sys.argv[1], "w"))
PY
h2_out=$(taskset -c "$client_core" h2load --h1 -c "$hconns" --rps "$(calc "printf \"%.2f\", $rate / $hconns")" \
  -D "$secs" -d "$work/beacon.json" -H "User-Agent: $ua" -H 'Content-Type: text/plain' \
  --log-file="$work/h2load.log" "$fh_url/v1/collect" 2>&1) || true
h2_bad=$(awk '$2 != 200 { bad++ } END { print bad + 0 }' "$work/h2load.log")
read -r h2_n h2_p50 h2_p99 < <(awk '{ print $3 / 1000 }' "$work/h2load.log" | sort -n |
  awk '{ v[NR] = $1 } END { if (NR == 0) { print 0, "nan", "nan"; exit }
        i50 = int(NR * 0.50); i99 = int(NR * 0.99); if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1
        printf "%d %.3f %.3f\n", NR, v[i50], v[i99] }')
R[rate.p99]=$h2_p99
printf -v row '%-26s %9s %10s %8s %8s  %s' "single-at-half-rate" "$(calc "printf \"%.0f\", $h2_n / $secs")" "" "$h2_p50" "$h2_p99" \
  "h2load --rps, target $rate req/s over $hconns connections, $h2_bad non-200 (one session: h2load repeats one body)"
rows+=("$row"); echo "$row"
[ "$h2_n" -gt 0 ] || echo "$h2_out" | tail -5

# --- RSS with 10k idle keep-alive connections under batch load ------------------------
python3 - "${fh_url##*:}" "$((secs + 15))" > "$work/idle.log" 2>&1 <<'PY' &
import resource, socket, sys, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
socks = []
for _ in range(10000):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    socks.append(s)
for s in socks:
    s.recv(4096)
print("open", flush=True)
time.sleep(float(sys.argv[2]))
PY
idle_pid=$!
pids+=("$idle_pid")
for _ in $(seq 300); do grep -q open "$work/idle.log" 2>/dev/null && break; sleep 0.1; done
if grep -q open "$work/idle.log"; then
  run_row batch100-fresh+10k-idle "$fh_pid" "$fh_url" fresh 100
else
  rows+=("batch100-fresh+10k-idle    could not open 10k connections: $(head -c 200 "$work/idle.log")"); echo "${rows[-1]}"
fi
kill "$idle_pid" 2>/dev/null || true
stop_foothold

# --- RocksDB anchor ------------------------------------------------------------------
db_out=$(taskset -c "$server_core" db_bench --benchmarks=fillseq --batch_size=64 --value_size=300 --key_size=16 \
  --num=3000000 --db="$work/dbbench" --disable_wal=false --sync=false --compression_type=none 2>&1 | grep -E '^fillseq')
db_ops=$(awk '{for (i = 1; i <= NF; i++) if ($i == "ops/sec" || $i == "ops/sec;") print $(i-1)}' <<<"$db_out")
printf -v row '%-26s %9s %10s  %s' "db_bench-fillseq-b64" "" "${db_ops%.*}" "(RocksDB alone, WAL on, 300-byte values, batch 64)"
rows+=("$row"); echo "$row"

# --- summary ---------------------------------------------------------------------------
echo
echo "== results (one run; servers on core $server_core, load on core $client_core)"
echo "$header"
printf '%s\n' "${rows[@]}"
echo
echo "== against the targets"
ratio() { calc "if ($2 > 0) printf \"%.2f\", $1 / $2; else print \"n/a\""; }
echo "single beacon, fresh:   $(ratio "${R[single-fresh.rps]}" "${R[nginx.rps]}") x nginx req/s (target >= 0.80);" \
  "$(ratio "${R[single-fresh.cpu]}" "${R[nginx.cpu]}") x nginx req per CPU-s"
echo "single beacon, long:    $(ratio "${R[single-long.rps]}" "${R[nginx.rps]}") x nginx req/s;" \
  "long/fresh = $(ratio "${R[single-long.rps]}" "${R[single-fresh.rps]}") (target >= 0.80)"
echo "batches, fresh:         ${R[batch100-fresh.eps]} events/s (target >= 500000);" \
  "$(ratio "${R[batch100-fresh.eps]}" "${db_ops:-0}") x db_bench (target >= 0.50); aggregator lag max ${R[batch100-fresh.lag]} s (target < 1 s)"
echo "batches, long-lived:    ${R[batch100-long.eps]} events/s; long/fresh = $(ratio "${R[batch100-long.eps]}" "${R[batch100-fresh.eps]}")" \
  "(target >= 0.80); aggregator lag max ${R[batch100-long.lag]} s"
echo "p99 at half the single-beacon rate: ${R[rate.p99]} ms (target <= 5 ms)"
if [ -n "${R[batch100-fresh-1core.eps]:-}" ]; then
  echo "two cores (--threads $threads on cores $server_core; load shares core $client_core): batch100-fresh" \
    "${R[batch100-fresh.eps]} events/s vs ${R[batch100-fresh-1core.eps]} on core $one_core alone" \
    "= $(ratio "${R[batch100-fresh.eps]}" "${R[batch100-fresh-1core.eps]}") x; events per server CPU-s" \
    "${R[batch100-fresh.evcpu]} vs ${R[batch100-fresh-1core.evcpu]}"
fi
for k in single-fresh single-long batch100-fresh batch100-long; do
  [ "${R[$k.ok]:-1}" = 1 ] || { echo "bench: $k had failed requests" >&2; exit 1; }
done
