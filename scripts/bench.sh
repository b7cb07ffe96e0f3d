#!/usr/bin/env bash
# Collector benchmark (scripts/README.md "Benchmarks", targets in "Targets"), all in one run on this machine:
#   1. nginx `return 204` vs foothold, single 300-byte beacon per POST, keep-alive;
#   2. foothold with 100-event batches vs RocksDB's db_bench fillseq (batch 64, 300-byte values).
# Servers are pinned to core 1 and wrk / db_bench's client side to core 0: on
# 2 cores, server and load generator fighting for the same cores make the figures meaningless.
# Prints req/s, events/s, p50/p99, server CPU per request, RSS and the ratios. Never a test.
#
# Usage: scripts/bench.sh [seconds per run (default 10)] [connections (default 64)]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
secs="${1:-10}"
conns="${2:-64}"
server_core="${BENCH_SERVER_CORE:-1}"
client_core="${BENCH_CLIENT_CORE:-0}"

"$root/scripts/setup.sh" bench
FOOTHOLD_TARGETS=foothold "$root/scripts/build.sh" -DCMAKE_BUILD_TYPE=Release >/dev/null
bin="$root/build/server/foothold"

work="$(mktemp -d /tmp/foothold-bench-XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_mib() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)

# --- request bodies -----------------------------------------------------------
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
def ev(i):
    return {"event": "video_play", "session_id": "bench-session-%06d" % (i % 5000),
            "anonymous_id": "visitor-%08d" % (i % 20000), "ts": 1700000000000 + i,
            "url": "https://shop.example.com/p/running-shoes-x200?ref=home",
            "title": "Running shoes X200", "engaged_ms": 4200,
            "props": {"video_kind": "demo", "position": 3, "autoplay": False}}
single = json.dumps(ev(1), separators=(",", ":"))
open(work + "/single.json", "w").write(single)
batch = json.dumps([ev(i) for i in range(100)], separators=(",", ":"))
open(work + "/batch.json", "w").write(batch)
print("single beacon body: %d bytes; batch body: %d bytes (100 events)" % (len(single), len(batch)))
PY

cat > "$work/post.lua" <<'LUA'
local body_file = os.getenv("BENCH_BODY")
function init(args)
  local f = io.open(body_file, "rb"); local body = f:read("*a"); f:close()
  req = wrk.format("POST", "/v1/collect", {["Content-Type"] = "text/plain;charset=UTF-8"}, body)
end
function request() return req end
LUA
cat > "$work/report.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
LUA
cat "$work/report.lua" >> "$work/post.lua"

# run_wrk NAME PID URL [lua] -> prints a row
run_wrk() {
  local name="$1" pid="$2" url="$3" script="${4:-}"
  local t0 t1 out
  t0=$(cpu_ticks "$pid")
  if [ -n "$script" ]; then
    out=$(taskset -c "$client_core" wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$script" "$url")
  else
    out=$(taskset -c "$client_core" wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$work/report.lua" "$url")
  fi
  t1=$(cpu_ticks "$pid")
  local line; line=$(grep '^RESULT' <<<"$out")
  local rps p50 p99 errs non2xx
  rps=$(sed -E 's/.*rps=([0-9]+).*/\1/' <<<"$line")
  p50=$(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$line")
  p99=$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$line")
  errs=$(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$line")
  non2xx=$(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<<"$line")
  local cpu_s; cpu_s=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN{printf "%.2f", (b-a)/hz}')
  local per_cpu; per_cpu=$(awk -v r="$rps" -v s="$secs" -v c="$cpu_s" 'BEGIN{ if (c>0) printf "%.0f", r*s/c; else print "n/a"}')
  printf "%-28s %10s req/s  p50 %7s ms  p99 %7s ms  %9s req/CPU-s  RSS %6s MiB  errors %s non-2xx %s\n" \
    "$name" "$rps" "$p50" "$p99" "$per_cpu" "$(rss_mib "$pid")" "$errs" "$non2xx"
  eval "RPS_${name//[^a-zA-Z0-9]/_}=$rps"
}

echo "== machine: $(nproc) cores; servers on core $server_core, load on core $client_core; ${secs}s per run, $conns connections"

# --- nginx anchor --------------------------------------------------------------
nginx_port=$(free_port)
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { return 204; }
  }
}
CONF
taskset -c "$server_core" nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
sleep 0.5
nginx_pid=$(cat "$work/nginx/nginx.pid")
# The worker is the one serving; measure its CPU.
nginx_worker=$(pgrep -P "$nginx_pid" | head -1)
pids+=("$nginx_pid")

# --- foothold ------------------------------------------------------------------
fh_port=$(free_port)
taskset -c "$server_core" "$bin" --listen "127.0.0.1:$fh_port" --data-dir "$work/data" --threads 1 \
  --log-level warn &
fh_pid=$!
pids+=("$fh_pid")
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$fh_port/readyz" >/dev/null && break; sleep 0.1; done

echo
echo "== 1. single beacon per request (keep-alive)"
BENCH_BODY="$work/single.json" run_wrk "nginx-return-204" "$nginx_worker" "http://127.0.0.1:$nginx_port/v1/collect" "$work/post.lua"
BENCH_BODY="$work/single.json" run_wrk "foothold-single" "$fh_pid" "http://127.0.0.1:$fh_port/v1/collect" "$work/post.lua"

echo
echo "== 2. 100-event batches (durability = wal)"
BENCH_BODY="$work/batch.json" run_wrk "foothold-batch100" "$fh_pid" "http://127.0.0.1:$fh_port/v1/collect" "$work/post.lua"
events_per_s=$((RPS_foothold_batch100 * 100))
echo "foothold batched: $events_per_s events/s"

echo
echo "== 3. RSS with 10k idle keep-alive connections under load (target <= 256 MiB)"
python3 - "$fh_port" "$((secs + 10))" > "$work/idle.log" 2>&1 <<'PY' &
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
for _ in $(seq 200); do grep -q open "$work/idle.log" 2>/dev/null && break; sleep 0.1; done
if grep -q open "$work/idle.log"; then
  BENCH_BODY="$work/single.json" run_wrk "foothold-single+10k-idle" "$fh_pid" "http://127.0.0.1:$fh_port/v1/collect" "$work/post.lua"
  BENCH_BODY="$work/batch.json" run_wrk "foothold-batch+10k-idle" "$fh_pid" "http://127.0.0.1:$fh_port/v1/collect" "$work/post.lua"
else
  echo "could not open 10k connections (ulimit -n?): $(cat "$work/idle.log")"
fi
kill "$idle_pid" 2>/dev/null || true
kill "$fh_pid"; wait "$fh_pid" 2>/dev/null || true

echo
echo "== RocksDB anchor: db_bench fillseq, batch 64, 300-byte values, WAL on, pinned to core $server_core"
db_out=$(taskset -c "$server_core" db_bench --benchmarks=fillseq --batch_size=64 --value_size=300 --key_size=16 \
  --num=3000000 --db="$work/dbbench" --disable_wal=false --sync=false --compression_type=none 2>&1 | grep -E '^fillseq')
echo "$db_out"
db_ops=$(awk '{for (i=1;i<=NF;i++) if ($i=="ops/sec" || $i=="ops/sec;") print $(i-1)}' <<<"$db_out")

echo
echo "== summary"
awk -v f="$RPS_foothold_single" -v n="$RPS_nginx_return_204" 'BEGIN{printf "single beacon: foothold/nginx = %.2f (target >= 0.80)\n", f/n}'
awk -v e="$events_per_s" -v d="$db_ops" 'BEGIN{printf "batched: %d events/s (target >= 500000); foothold/db_bench = %.2f (target >= 0.50)\n", e, e/d}'
