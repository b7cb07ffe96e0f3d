#!/usr/bin/env bash
# Aggregator and stats API benchmark (scripts/README.md "Benchmarks" and "Targets"), one run:
#   1. Aggregator lag at the maximum ingest rate: wrk (core 0, 64 connections) posts 100-event
#      JSON arrays with a browser User-Agent (a blank/bot UA would make the aggregator skip the
#      events and flatter it) and a realistic mix that hits the seed conversions (page_view /
#      engagement on /p/ pages, video_play, add_to_cart, begin_checkout, purchase, site_search,
#      ~1000 sessions, video_autoplay exposures), without `ts` (event time = received time).
#      /metrics is sampled every 200 ms: lag, pending, aggregated/written events, aggregator busy
#      time. Then: catch-up time after the load stops, the aggregator's own events/s
#      (events_total / busy_seconds_total, and per CPU-second of its thread when gdb can tell
#      which thread that is), the server's CPU split by thread, and a timed `foothold verify`
#      (a full recount of the log with the same rollup code) on the stopped store.
#   2. Stats latency over a day of sessions: scripts/loadgen.py (core 0) loads BENCH_SESSIONS
#      simulated shopper sessions spread over 24 h (session.timeout = 2 s plus the loadgen's tick,
#      so every session is closed and counted in lift / funnel / experiment cells); once the
#      aggregator has caught up, scripts/bench_stats_client.py sends 200 sequential keep-alive
#      requests to each report and prints p50 / p99 / max. The DESIGN figure is for 1 M sessions,
#      but loading 1 M (13.5 M events with event_ids) takes ~9.5 min here: generation ~105 s and
#      ingest that falls from ~100 k to 15-30 k events/s as the dedupe column family grows. So
#      the default is 400 k (~3.5 min in all); BENCH_SESSIONS=1000000 gives the real figure
#      (~10 min in all).
# The server (all its threads) is pinned to core 1, load generators and clients to core 0
# (two processes on the same 2 cores make the figures meaningless). Figures are printed beside
# their targets (scripts/README.md "Targets"). A benchmark, never a test:
# it exits non-zero only when something breaks (server dies, verify mismatch, a request fails).
#
# Usage: scripts/bench_stats.sh
#   BENCH_SECS (10)  BENCH_CONNS (64)  BENCH_SESSIONS (400000)  BENCH_REQUESTS (200)
#   BENCH_SKIP_BUILD=1 uses the existing binary; FOOTHOLD_BUILD_DIR (build) picks the build dir.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/scripts/bench_lib.sh"  # helpers shared by the benchmarks
secs="${BENCH_SECS:-10}"
conns="${BENCH_CONNS:-64}"
sessions="${BENCH_SESSIONS:-400000}"
nreq="${BENCH_REQUESTS:-200}"
server_core="${BENCH_SERVER_CORE:-1}"
client_core="${BENCH_CLIENT_CORE:-0}"
build_dir="${FOOTHOLD_BUILD_DIR:-build}"
case "$build_dir" in /*) ;; *) build_dir="$root/$build_dir" ;; esac
bin="$build_dir/server/foothold"
config="$root/config/foothold.toml"
ua="$bench_ua"
started_at=$(date +%s.%N)

"$root/scripts/setup.sh" bench
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  FOOTHOLD_BUILD_DIR="$build_dir" FOOTHOLD_TARGETS=foothold "$root/scripts/build.sh" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
[ -x "$bin" ] || { echo "bench_stats: no binary at $bin" >&2; exit 1; }

metric_missing=nan
bench_workdir bench-stats

# The server refuses unknown FOOTHOLD_* variables: keep build.sh's own out of its environment.
fh_env() { env -u FOOTHOLD_BUILD_DIR -u FOOTHOLD_TARGETS "$@"; }
rss_mib() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
scrape() { taskset -c "$client_core" curl -fsS --max-time 5 "$1/metrics" -o "$2"; }

rows=()
row() { rows+=("$(printf '%-52s %20s   %s' "$1" "$2" "${3:-}")"); }
section() { rows+=("" "-- $1"); }

# start_server NAME DATA_DIR [ENV=VALUE...] -> sets srv_pid, srv_url, srv_log
start_server() {
  local name="$1" data="$2"; shift 2
  local port; port=$(free_port)
  srv_log="$work/$name.log"
  # env and taskset exec, so $! is the server itself (a shell function here would fork a subshell).
  env -u FOOTHOLD_BUILD_DIR -u FOOTHOLD_TARGETS FOOTHOLD_SHUTDOWN__DRAIN_DELAY=0s "$@" taskset -c "$server_core" "$bin" --config "$config" \
    --listen "127.0.0.1:$port" --data-dir "$data" >"$srv_log" 2>&1 &
  srv_pid=$!
  pids+=("$srv_pid")
  srv_url="http://127.0.0.1:$port"
  for _ in $(seq 100); do curl -fs "$srv_url/readyz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "bench_stats: $name did not become ready; log:" >&2; cat "$srv_log" >&2; exit 1
}
stop_server() {  # SIGTERM, wait for exit 0
  kill -TERM "$srv_pid"
  local rc=0; wait "$srv_pid" || rc=$?
  [ "$rc" -eq 0 ] || { echo "bench_stats: server exited with status $rc; log:" >&2; tail -20 "$srv_log" >&2; exit 1; }
}
alive() { kill -0 "$srv_pid" 2>/dev/null || { echo "bench_stats: the server died; log:" >&2; tail -30 "$srv_log" >&2; exit 1; }; }
# Warnings and errors the server logged (spdlog levels), shown at the end.
log_issues() { grep -E ' (warning|error|critical) ' "$1" || true; }
# RocksDB write stalls noted in its LOG (compaction falling behind): count, and the lines.
rocks_stalls() { cat "$1"/LOG* 2>/dev/null | grep -ciE 'stalling writes|stopping writes' || true; }
rocks_stall_lines() { cat "$1"/LOG* 2>/dev/null | grep -iE 'stalling writes|stopping writes' | head -3 || true; }

# Which server thread does what, from one gdb backtrace (optional: "tid role" lines, roles
# aggregator / writer / http / rocksdb / other). The server is paused for ~0.5 s, before any load.
# Needed because foothold_aggregator_busy_seconds_total is wall time inside a pass: on a core it
# shares with the HTTP and writer threads it includes their time slices and RocksDB write-queue
# waits, so events / busy seconds understates what the aggregator does per CPU-second.
thread_roles() {
  command -v gdb >/dev/null || return 0
  gdb -p "$1" -batch -ex 'thread apply all bt' 2>/dev/null | awk '
    function flush() { if (tid != "") print tid, role }
    /^Thread / { flush(); t = $0; sub(/.*LWP /, "", t); sub(/\).*/, "", t); tid = t
                 role = ($0 ~ /"rocksdb/) ? "rocksdb" : "other" }
    /Aggregator::Run/ { role = "aggregator" }
    /Writer::Run/ { role = "writer" }
    /HttpServer::|scheduler::run/ { if (role == "other") role = "http" }
    END { flush() }'
}
# thread_ticks PID -> "tid ticks" (utime + stime) for every thread
thread_ticks() { for f in /proc/"$1"/task/*/stat; do awk '{ print $1, $14 + $15 }' "$f" 2>/dev/null; done; }
# cpu_split ROLES BEFORE AFTER SECONDS -> "role=CPU-s(share of the window) ... total=CPU-s(share)"
cpu_split() {
  awk -v secs="$4" -v hz="$hz" 'FILENAME == ARGV[1] { role[$1] = $2; next }
    FILENAME == ARGV[2] { before[$1] = $2; next }
    { r = ($1 in role) ? role[$1] : "other"; d[r] += ($2 - before[$1]) / hz; tot += ($2 - before[$1]) / hz }
    END { n = split("http writer aggregator rocksdb other", order, " ")
          for (i = 1; i <= n; i++) printf "%s=%.2fs(%.0f%%) ", order[i], d[order[i]], 100 * d[order[i]] / secs
          printf "total=%.2fs(%.0f%%)\n", tot, 100 * tot / secs }' "$1" "$2" "$3"
}
hz=$(getconf CLK_TCK)

echo "== machine: $(nproc) cores; server on core $server_core, load and clients on core $client_core; binary $bin"

# =============================================================================
# Phase 1: aggregator lag at the maximum ingest rate
# =============================================================================
nbodies=20
python3 - "$work" "$nbodies" <<'PY'
import json, random, sys
work, nbodies = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
# (event, weight): a shop's mix; every conversion but the dwell and the rare ones is hit.
mix = [("page_view", 30), ("engagement", 30), ("site_search", 8), ("video_play", 8),
       ("add_to_cart", 10), ("begin_checkout", 8), ("purchase", 6)]
names = [n for n, w in mix for _ in range(w)]
n_sessions = 1000
slots = [i % n_sessions for i in range(nbodies * 100)]  # every session twice over the bodies
rng.shuffle(slots)
size = 0
for b in range(nbodies):
    events = []
    for s in slots[b * 100:(b + 1) * 100]:
        name = rng.choice(names)
        product = rng.randint(1, 500)
        # ~300 bytes an event, like bench.sh's beacon: ids, url with a query, title, props.
        e = {"event": name, "session_id": "bench-s-%04d" % s, "anonymous_id": "bench-v-%08d" % s,
             "url": "https://shop.example.com/p/%d-trail-running-shoes?ref=home&utm_source=newsletter" % product,
             "title": "Trail running shoes X%d | Shop Example" % product,
             "props": {"category": "running", "position": rng.randint(1, 24), "logged_in": s % 4 == 0}}
        if name == "page_view":
            e["referrer"] = "https://www.google.com/"
            if s % 3:  # two sessions in three are in the experiment
                e["experiments"] = {"video_autoplay": "control" if s % 2 else "autoplay"}
        elif name == "engagement":
            e["engaged_ms"] = rng.randint(5000, 45000)
        elif name == "video_play":
            e["props"].update({"video_kind": "demo", "product": str(product)})
        elif name == "site_search":
            e["url"] = "https://shop.example.com/search?q=shoes"
            e["props"].update({"q": "shoes"})
        elif name == "add_to_cart":
            e["props"].update({"product": str(product), "qty": rng.randint(1, 3)})
        elif name == "begin_checkout":
            e["url"] = "https://shop.example.com/checkout"
        elif name == "purchase":
            e["url"] = "https://shop.example.com/checkout/done"
            e["props"].update({"value": round(rng.uniform(20, 300), 2), "currency": "EUR"})
        events.append(e)
    body = json.dumps(events, separators=(",", ":"))
    size += len(body)
    open("%s/body%d.json" % (work, b + 1), "w").write(body)
print("phase 1 bodies: %d x 100 events, %d bytes on average (%d bytes an event), 1000 sessions"
      % (nbodies, size // nbodies, size // nbodies // 100))
PY

cat > "$work/post.lua" <<LUA
local dir, n, ua = "$work", $nbodies, "$ua"
local reqs, i = {}, 0
function init(args)
  for k = 1, n do
    local f = io.open(dir .. "/body" .. k .. ".json", "rb"); local body = f:read("*a"); f:close()
    reqs[k] = wrk.format("POST", "/v1/collect",
      {["Content-Type"] = "text/plain;charset=UTF-8", ["User-Agent"] = ua}, body)
  end
end
function request() i = i % n + 1; return reqs[i] end
done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
LUA

data1="$work/data-ingest"
start_server ingest "$data1"
echo
echo "== phase 1: wrk ${secs}s, $conns connections, 100-event bodies -> $srv_url (log $srv_log)"

# Sampler: every 200 ms, one line "t lag pending aggregated written busy compactions queue".
sampler() {
  local url="$1" out="$2" stop="$3"
  while [ ! -e "$stop" ]; do
    local t; t=$(now)
    curl -fs --max-time 2 "$url/metrics" 2>/dev/null | awk -v t="$t" '
      $1 == "foothold_aggregator_lag_seconds" { l = $2 }
      $1 == "foothold_aggregator_pending_events" { p = $2 }
      $1 == "foothold_aggregator_events_total" { a = $2 }
      $1 == "foothold_writer_events_total" { w = $2 }
      $1 == "foothold_aggregator_busy_seconds_total" { b = $2 }
      $1 == "foothold_rocksdb_running_compactions" { c = $2 }
      $1 == "foothold_writer_queue_events" { q = $2 }
      END { if (l != "") print t, l, p, a, w, b, c, q }' >>"$out" || true
    sleep 0.2
  done
}
samples="$work/samples.txt"
: >"$samples"
(taskset -p -c "$client_core" "$BASHPID" >/dev/null; sampler "$srv_url" "$samples" "$work/stop-sampler") &
sampler_pid=$!
pids+=("$sampler_pid")

thread_roles "$srv_pid" >"$work/roles1.txt"
thread_ticks "$srv_pid" >"$work/ticks1a.txt"
scrape "$srv_url" "$work/m0.txt"; t0=$(now)
wrk_out=$(taskset -c "$client_core" wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$work/post.lua" "$srv_url/v1/collect")
t1=$(now); scrape "$srv_url" "$work/m1.txt"
alive
# Catch-up: poll every 50 ms until nothing is pending (give up after 180 s).
caught=""
while calc "exit !($(now) - $t1 < 180)"; do
  scrape "$srv_url" "$work/mc.txt"
  if [ "$(metric foothold_aggregator_pending_events "$work/mc.txt")" = 0 ]; then caught=$(now); break; fi
  sleep 0.05
done
t_end=$(now); thread_ticks "$srv_pid" >"$work/ticks1b.txt"
touch "$work/stop-sampler"; wait "$sampler_pid" 2>/dev/null || true
scrape "$srv_url" "$work/m2.txt"
echo "$wrk_out" | grep -E 'Requests/sec|Latency |Non-2xx|Socket errors|RESULT' || true

wrk_line=$(grep '^RESULT' <<<"$wrk_out")
wrk_rps=$(sed -E 's/.*rps=([0-9]+).*/\1/' <<<"$wrk_line")
wrk_bad=$(sed -E 's/.*errors=([0-9]+) non2xx=([0-9]+).*/\1 errors, \2 non-2xx/' <<<"$wrk_line")
w0=$(metric foothold_writer_events_total "$work/m0.txt"); w1=$(metric foothold_writer_events_total "$work/m1.txt")
a0=$(metric foothold_aggregator_events_total "$work/m0.txt"); a1=$(metric foothold_aggregator_events_total "$work/m1.txt")
pend1=$(metric foothold_aggregator_pending_events "$work/m1.txt")
a2=$(metric foothold_aggregator_events_total "$work/m2.txt"); busy2=$(metric foothold_aggregator_busy_seconds_total "$work/m2.txt")
w2=$(metric foothold_writer_events_total "$work/m2.txt")
bots=$(metric foothold_bot_events_total "$work/m2.txt")
batches=$(metric foothold_aggregator_batches_total "$work/m2.txt")
dur=$(calc "printf \"%.3f\", $t1 - $t0")
ingest_eps=$(calc "printf \"%.0f\", ($w1 - $w0) / $dur")
agg_eps=$(calc "printf \"%.0f\", ($a1 - $a0) / $dur")
own_eps=$(calc "if ($busy2 > 0) printf \"%.0f\", $a2 / $busy2; else print \"n/a\"")
# Lag / pending over the samples taken while wrk ran, and over the catch-up that followed.
lag_stats() {  # FROM TO COLUMN -> "p50 max n"
  awk -v from="$1" -v to="$2" -v col="$3" '$1 >= from && $1 <= to { v[n++] = $col }
    END { if (n == 0) { print "nan nan 0"; exit }
          for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x }
          print v[int((n - 1) / 2)], v[n - 1], n }' "$samples"
}
read -r lag_p50 lag_max nsamples < <(lag_stats "$t0" "$t1" 2)
read -r pend_p50 pend_max _ < <(lag_stats "$t0" "$t1" 3)
read -r _ lag_max_all _ < <(lag_stats "$t0" "9999999999" 2)
read -r _ compactions_max _ < <(lag_stats "$t0" "9999999999" 7)
if [ -n "$caught" ]; then catchup=$(calc "printf \"%.2f s\", $caught - $t1"); else catchup="> 180 s (not caught up)"; fi
echo "lag samples while wrk ran: $nsamples; written $((w1 - w0)) events, aggregated $((a1 - a0)), pending at the end $pend1"
echo "sampled lag (s) over time:"
awk -v t0="$t0" '{ printf "  t=%6.2fs lag=%6.2fs pending=%8d compactions=%s queue=%s\n", $1 - t0, $2, $3, $7, $8 }' "$samples" |
  awk 'NR % 5 == 1' # every ~second
window1=$(calc "printf \"%.3f\", $t_end - $t0")
split1=$(cpu_split "$work/roles1.txt" "$work/ticks1a.txt" "$work/ticks1b.txt" "$window1")
agg_tid=$(awk '$2 == "aggregator" { print $1 }' "$work/roles1.txt")
agg_cpu_eps="n/a"; agg_cpu_s="needs gdb"
if [ -n "$agg_tid" ]; then
  agg_ticks=$(awk -v t="$agg_tid" 'FILENAME == ARGV[1] { if ($1 == t) b = $2; next } $1 == t { print $2 - b }' \
    "$work/ticks1a.txt" "$work/ticks1b.txt")
  agg_cpu_s=$(calc "printf \"%.2f CPU-s\", $agg_ticks / $hz")
  agg_cpu_eps=$(calc "c = $agg_ticks / $hz; if (c > 0) printf \"%.0f\", ($a2 - $a0) / c; else print \"n/a\"")
fi
echo "server CPU by thread over the run and catch-up (${window1} s): ${split1:-n/a}"
stop_server
phase1_issues=$(log_issues "$srv_log")
stalls1=$(rocks_stalls "$data1"); stall_lines1=$(rocks_stall_lines "$data1")

echo
echo "== phase 1: foothold verify (recount of the whole log)"
vt0=$(now)
vrc=0
verify_out=$(fh_env taskset -c "$server_core" "$bin" verify --config "$config" --data-dir "$data1" 2>&1) || vrc=$?
vt1=$(now)
echo "$verify_out" | tail -5
verify_secs=$(calc "printf \"%.2f\", $vt1 - $vt0")
verify_records=$(sed -nE 's/^(ok|FAILED): recounted ([0-9]+) records.*/\2/p' <<<"$verify_out")
verify_status=$(grep -oE '^(ok|FAILED):' <<<"$verify_out" || echo "exit $vrc")
verify_rate=$(calc "if (\"$verify_records\" != \"\" && $verify_secs > 0) printf \"%.0f\", ${verify_records:-0} / $verify_secs; else print \"n/a\"")
du_ingest=$(du -sh "$data1" | cut -f1)
rm -rf "$data1"

section "phase 1: aggregator at the maximum ingest rate (${secs}s wrk, $conns conns, 100-event bodies)"
row "wrk requests/s (x100 events)" "$wrk_rps" "($wrk_bad)"
row "ingest events/s (writer_events_total / run)" "$ingest_eps" "(collector target >= 500000)"
row "aggregated events/s during the run" "$agg_eps" "(= ingest when keeping up)"
row "aggregator lag p50 while loaded" "${lag_p50} s" "target < 1 s"
row "aggregator lag max while loaded" "${lag_max} s" "target < 1 s"
row "aggregator lag max incl. catch-up" "${lag_max_all} s" ""
row "pending events p50 / max while loaded" "$pend_p50 / $pend_max" ""
row "catch-up after load stops (pending -> 0)" "$catchup" ""
row "aggregator events/s on its own (events/busy s)" "$own_eps" "($a2 events in ${busy2} s busy wall time, $batches batches)"
row "aggregator events per aggregator-thread CPU-s" "$agg_cpu_eps" "($((a2 - a0)) events in $agg_cpu_s of its thread)"
row "server CPU over run + catch-up" "$(sed -nE 's/.*total=[0-9.]+s\(([0-9]+%)\).*/\1/p' <<<"$split1")" "of core $server_core: $(sed -E 's/ total=.*//' <<<"$split1")"
row "bot-flagged events (must be 0)" "$bots" "(browser User-Agent)"
row "written events total / aggregated total" "$w2 / $a2" ""
row "RocksDB write stalls in LOG / max compactions" "$stalls1 / $compactions_max" "(data dir $du_ingest)"
row "foothold verify" "$verify_status" "must print ok:"
row "verify records / time" "$verify_records in ${verify_secs} s" ""
row "verify records/s" "$verify_rate" ""
if [ "$vrc" -ne 0 ]; then echo "bench_stats: foothold verify failed (exit $vrc):" >&2; echo "$verify_out" >&2; fi

# =============================================================================
# Phase 2: stats latency over a day with 1 M sessions
# =============================================================================
data2="$work/data-stats"
start_server stats "$data2" FOOTHOLD_SESSION__TIMEOUT=2s
echo
echo "== phase 2: loadgen $sessions sessions over 24 h -> $srv_url (log $srv_log)"
thread_roles "$srv_pid" >"$work/roles2.txt"
thread_ticks "$srv_pid" >"$work/ticks2a.txt"
samples2="$work/samples2.txt"
: >"$samples2"; rm -f "$work/stop-sampler"
(taskset -p -c "$client_core" "$BASHPID" >/dev/null; sampler "$srv_url" "$samples2" "$work/stop-sampler") &
sampler_pid=$!
pids+=("$sampler_pid")
lt0=$(now)
lg_rc=0
taskset -c "$client_core" python3 "$root/scripts/loadgen.py" --url "$srv_url" --sessions "$sessions" \
  --span-hours 24 --batch 400 --connections 2 --tick-after 3 2>"$work/loadgen.err" >/dev/null || lg_rc=$?
lt1=$(now)
thread_ticks "$srv_pid" >"$work/ticks2b.txt"
touch "$work/stop-sampler"; wait "$sampler_pid" 2>/dev/null || true
cat "$work/loadgen.err"
[ "$lg_rc" -eq 0 ] || { echo "bench_stats: loadgen failed (exit $lg_rc)" >&2; exit 1; }
alive
lg_line=$(grep 'loadgen: posted' "$work/loadgen.err")
lg_events=$(sed -E 's/.*posted ([0-9]+) events of ([0-9]+) sessions.*/\1/' <<<"$lg_line")
lg_sessions=$(sed -E 's/.*posted ([0-9]+) events of ([0-9]+) sessions.*/\2/' <<<"$lg_line")
lg_post=$(sed -E 's/.* in ([0-9.]+) s \(([0-9,]+) events\/s.*/\1/' <<<"$lg_line")
lg_rate=$(sed -E 's/.* in ([0-9.]+) s \(([0-9,]+) events\/s.*/\2/' <<<"$lg_line" | tr -d ,)
lg_gen=$(sed -E 's/.*generation ([0-9.]+) s.*/\1/' <<<"$lg_line")
# The server is idle while the loadgen generates, so its CPU over the loadgen run is divided by
# the posting time: about how busy core 1 was while events arrived.
split2=$(cpu_split "$work/roles2.txt" "$work/ticks2a.txt" "$work/ticks2b.txt" "$lg_post")
echo "server CPU by thread during the load (per ${lg_post} s posting): ${split2:-n/a}"
# Ingest rate over time, 20 s windows, from the sampled writer_events_total.
curve2=$(awk 'NR == 1 { t0 = $1; w0 = $5; tp = $1; wp = $5; next }
  $5 > w0 && !started { started = 1; tp = $1; wp = w0 }
  started && $1 - tp >= 20 { printf "%.0fk ", ($5 - wp) / ($1 - tp) / 1000; tp = $1; wp = $5 }
  END { if (started && $1 - tp > 2 && $5 > wp) printf "%.0fk", ($5 - wp) / ($1 - tp) / 1000 }' "$samples2")
echo "ingest events/s per 20 s window during the load: ${curve2:-n/a}"
# Wait until the aggregator has caught up (the tick is in the log, so every session is closed).
wt0=$(now); caught2=""
while calc "exit !($(now) - $wt0 < 300)"; do
  scrape "$srv_url" "$work/mw.txt"
  if [ "$(metric foothold_aggregator_pending_events "$work/mw.txt")" = 0 ]; then caught2=$(now); break; fi
  sleep 0.2
done
alive
[ -n "$caught2" ] || { echo "bench_stats: the aggregator did not catch up within 300 s" >&2; exit 1; }
wait_after=$(calc "printf \"%.2f s\", $caught2 - $wt0")
open_sessions=$(metric foothold_aggregator_open_sessions "$work/mw.txt")
busy_p2=$(metric foothold_aggregator_busy_seconds_total "$work/mw.txt")
agg_p2=$(metric foothold_aggregator_events_total "$work/mw.txt")
rss_load=$(rss_mib "$srv_pid")
du_stats=$(du -sh "$data2" | cut -f1)

echo
echo "== phase 2: $nreq sequential keep-alive requests per report"
crc=0
client_out=$(taskset -c "$client_core" python3 "$root/scripts/bench_stats_client.py" --url "$srv_url" \
  --requests "$nreq") || crc=$?
echo "$client_out"
alive
rss_after=$(rss_mib "$srv_pid")
stop_server
phase2_issues=$(log_issues "$srv_log")
stalls2=$(rocks_stalls "$data2"); stall_lines2=$(rocks_stall_lines "$data2")
field() { sed -nE "s/^FIELD $1 (.*)/\1/p" <<<"$client_out"; }

section "phase 2: stats over a day with $lg_sessions sessions (session.timeout 2s, all closed)"
row "loaded events / sessions" "$lg_events / $lg_sessions" ""
row "load rate (loadgen, 2 conns)" "$lg_rate ev/s" "(${lg_post} s posting, ${lg_gen} s generating)"
row "ingest ev/s per 20 s window during the load" "(curve)" "${curve2:-n/a}"
row "server CPU during posting (approx.)" "$(sed -nE 's/.*total=[0-9.]+s\(([0-9]+%)\).*/\1/p' <<<"$split2")" "of core $server_core: $(sed -E 's/ total=.*//' <<<"$split2")"
row "loadgen wall time" "$(calc "printf \"%.1f s\", $lt1 - $lt0")" ""
row "aggregator caught up after loadgen exit" "$wait_after" "(open sessions left: $open_sessions)"
row "aggregator events/s on its own (phase 2)" "$(calc "if ($busy_p2 > 0) printf \"%.0f\", $agg_p2 / $busy_p2")" ""
row "server RSS after load / after queries" "$rss_load / $rss_after MiB" ""
row "data dir size" "$du_stats" ""
row "summary sessions (last 24 h)" "$(field summary_sessions)" "(+1 tick; sessions begun > 24 h before the query fall out)"
row "summary events (last 24 h)" "$(field summary_events)" ""
row "whole-day summary sessions" "$(field day_summary_sessions)" "($(field day_summary_range))"
row "lift sessions (closed) / converted" "$(field lift_sessions) / $(field lift_sessions_converted)" "(video_play rr $(field lift_video_play_rr), planted 4.2)"
row "funnel checkout sessions per step" "$(field funnel_steps)" ""
row "experiment exposed control / autoplay" "$(field experiment_exposed)" ""
row "timeseries points (minute, 24 h)" "$(field timeseries_points)" ""
while read -r _ name p50 p99 max first _; do
  target=""; case "$name" in summary*) target="target < 50 ms" ;; esac
  row "latency ${name//_/ }" "$(printf '%s / %s / %s' "${p50#p50_ms=}" "${p99#p99_ms=}" "${max#max_ms=}") ms" \
    "p50/p99/max; first ${first#first_ms=} ms${target:+; $target}"
done < <(grep '^LAT ' <<<"$client_out")
row "RocksDB write stalls in LOG" "$stalls2" ""

echo
echo "== summary ($(date -u +%FT%TZ); runtime $(calc "printf \"%.0f s\", $(now) - $started_at"))"
printf '%-52s %20s   %s\n' "figure" "value" "target / note"
printf '%s\n' "${rows[@]}"
echo
echo "server warnings/errors, phase 1: ${phase1_issues:-none}"
echo "server warnings/errors, phase 2: ${phase2_issues:-none}"
echo "RocksDB LOG stall lines, phase 1: ${stall_lines1:-none}"
echo "RocksDB LOG stall lines, phase 2: ${stall_lines2:-none}"
[ "$vrc" -eq 0 ] && [ "$crc" -eq 0 ]
