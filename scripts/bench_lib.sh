# Sourced by the benchmark scripts (bench.sh, bench_sessions.sh, bench_stats.sh, bench_rebuild.sh,
# bench_dashboard.sh; scripts/README.md "Benchmarks"): the helpers each of them needs, written once.
#   bench_workdir NAME  $work, a temporary directory removed at exit, and the traps; at exit it
#                       touches $work/stop-sampler and kills $srv_pid and every pid in ${pids[@]}
#   free_port, now, calc EXPR, cpu_ticks PID (user+sys clock ticks)
#   metric NAME FILE    an unlabelled metric's value in a saved /metrics answer, or
#                       $metric_missing (0 unless the script sets it) when absent
#   bench_ua            the desktop Chrome User-Agent every benchmark body carries (an empty or
#                       library User-Agent is a bot, and the aggregator skips bots)
# shellcheck shell=bash
bench_ua='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
metric_missing=0
pids=()
srv_pid=""

bench_workdir() {
  work="$(mktemp -d "/tmp/foothold-$1-XXXXXX")"
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}
bench_cleanup() {
  touch "$work/stop-sampler" 2>/dev/null || true
  [ -z "$srv_pid" ] || kill "$srv_pid" 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
calc() { awk "BEGIN { $1 }"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
metric() { awk -v n="$1" -v d="$metric_missing" '$1 == n { print $2; found = 1 } END { if (!found) print d }' "$2"; }
