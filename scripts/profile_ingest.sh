#!/usr/bin/env bash
# Where an ingested event's CPU goes, in callgrind instructions per event by stage (scripts/README.md
# "Where an event's CPU goes"). Instruction counts are repeatable on a busy machine, unlike
# wall-clock throughput. Runs build/server/foothold under valgrind --tool=callgrind with the shipped
# config and a fresh data dir, posts real-traffic bodies (a desktop Chrome User-Agent, current
# timestamps, the bench.sh event shape, fresh 10-event visits) over keep-alive connections, waits
# until the aggregator has counted everything, stops the server and splits the instructions:
#   http        the I/O thread(s) without decoding: Asio, Beast parsing, routing, responses;
#   decode      proto::Decoder (simdjson + validation) and enrichment (UA, bot flag, ids);
#   writer      the writer thread: group commit, record encoding, RocksDB's WriteBatch + memtables + WAL;
#   aggregator  the aggregator thread (its record decoding and RocksDB writes included);
#   rocksdb     RocksDB's background threads: flush and compaction.
#
# Usage: scripts/profile_ingest.sh [requests (400)] [events a request (100)] [connections (4)]
#   PROFILE_SHAPE fresh|long (fresh), PROFILE_KEEP=1 keeps the callgrind files (printed path),
#   PROFILE_THREADS (1) server --threads, PROFILE_EXTRA adds server flags. Needs valgrind (Debian: valgrind).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
requests="${1:-400}"
per="${2:-100}"
conns="${3:-4}"
shape="${PROFILE_SHAPE:-fresh}"
bin="$root/build/server/foothold"
[ -x "$bin" ] || { echo "profile: no binary at $bin (scripts/build.sh first)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "profile: valgrind is missing (apt-get install valgrind)" >&2; exit 1; }

work="$(mktemp -d /tmp/foothold-profile-XXXXXX)"
vg_pid=""
cleanup() {
  [ -z "$vg_pid" ] || kill "$vg_pid" 2>/dev/null || true
  if [ "${PROFILE_KEEP:-0}" = 1 ]; then echo "profile: files kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"

# shellcheck disable=SC2086
FOOTHOLD_SHUTDOWN__DRAIN_DELAY=0s valgrind --tool=callgrind --separate-threads=yes \
  --callgrind-out-file="$work/cg.out" "$bin" --config "$root/config/foothold.toml" \
  --listen "127.0.0.1:$port" --data-dir "$work/data" --log-level warn --threads "${PROFILE_THREADS:-1}" \
  ${PROFILE_EXTRA:-} \
  >"$work/server.log" 2>&1 &
vg_pid=$!
for _ in $(seq 600); do curl -fs "$url/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fs "$url/readyz" >/dev/null || { echo "profile: server not ready" >&2; tail "$work/server.log" >&2; exit 1; }

# The load: the bench.sh body shape, generated up front and posted by `conns` keep-alive clients.
python3 - "$port" "$requests" "$per" "$conns" "$shape" <<'PY'
import http.client, json, random, sys, threading, time
port, requests, per, conns, shape = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
ua = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36")
names = ["page_view", "page_view", "page_view", "engagement", "engagement", "site_search", "video_play",
         "add_to_cart", "begin_checkout", "purchase", "wishlist_add", "newsletter_signup"]
run = "%06x" % random.randrange(1 << 24)
def event(i, ts):
    sid = f"{run}-visit-{i // 10}" if shape == "fresh" else f"{run}-pool-{i % 4096}"
    p = i % 500 + 1
    return (f'{{"event":"{names[(i * 5 + i // 97) % 12]}","session_id":"{sid}","anonymous_id":"a-{sid}",'
            f'"ts":{ts},"url":"https://shop.example.com/p/{p}-trail-running-shoes?ref=home&utm_source=newsletter",'
            f'"title":"Trail running shoes X{p} | Shop Example","engaged_ms":{(i % 7) * 5000},'
            f'"experiments":{{"video_autoplay":"{"control" if i % 2 == 0 else "autoplay"}"}},'
            f'"props":{{"category":"running","position":{i % 24},"logged_in":false}}}}')
ts = int(time.time() * 1000)
bodies = []
for r in range(requests):
    evs = [event(r * per + k, ts) for k in range(per)]
    bodies.append(evs[0] if per == 1 else "[" + ",".join(evs) + "]")
failures = []
def client(c):
    h = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    for r in range(c, requests, conns):
        h.request("POST", "/v1/collect", bodies[r], {"Content-Type": "text/plain;charset=UTF-8", "User-Agent": ua})
        resp = h.getresponse(); resp.read()
        if resp.status != 200: failures.append(resp.status)
threads = [threading.Thread(target=client, args=(c,)) for c in range(conns)]
for t in threads: t.start()
for t in threads: t.join()
if failures: sys.exit(f"profile: {len(failures)} requests failed: {failures[:5]}")
PY
events=$((requests * per))
for _ in $(seq 1200); do
  pending=$(curl -fs "$url/metrics" | awk '$1 == "foothold_aggregator_pending_events" { print $2 }')
  [ "$pending" = 0 ] && break
  sleep 0.5
done
bots=$(curl -fs "$url/metrics" | awk '$1 == "foothold_bot_events_total" { print $2 }')
kill -TERM "$vg_pid"; wait "$vg_pid" 2>/dev/null || true; vg_pid=""

# One callgrind file per thread. A thread's role is the entry point it runs; the I/O thread's
# decode share is the inclusive cost of Service::Handle's decoding and enrichment functions.
incl() {  # FILE REGEX -> the largest inclusive Ir of a function matching REGEX
  callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null |
    awk -v re="$2" '$0 ~ re { gsub(",", "", $1); v = $1 + 0; if (v > m) m = v } END { print m + 0 }'
}
total() { awk '/^(summary|totals):/ { print $2; exit }' "$1"; }
declare -A ir=([http]=0 [decode]=0 [writer]=0 [aggregator]=0 [rocksdb]=0 [other]=0)
for f in "$work"/cg.out-*; do
  t=$(total "$f"); [ -n "$t" ] || continue
  if grep -q 'Writer::Run' "$f"; then ir[writer]=$((ir[writer] + t))
  elif grep -q 'Aggregator::Run' "$f"; then ir[aggregator]=$((ir[aggregator] + t))
  elif grep -q 'BGWork\|BackgroundCallFlush\|BackgroundCallCompaction' "$f"; then ir[rocksdb]=$((ir[rocksdb] + t))
  elif grep -q 'Connection::Dispatch' "$f"; then
    d=$(incl "$f" 'proto::Decoder::DecodeBody|proto::Enrich')
    ir[decode]=$((ir[decode] + d)); ir[http]=$((ir[http] + t - d))
  else ir[other]=$((ir[other] + t)); fi
done
echo "== callgrind instructions per event: $requests requests x $per events ($shape visits, $conns connections), bot events: ${bots:-?}"
sum=0
for k in http decode writer aggregator rocksdb other; do
  printf '%-11s %8.1f k\n' "$k" "$(awk -v a="${ir[$k]}" -v n="$events" 'BEGIN { print a / n / 1000 }')"
  sum=$((sum + ir[$k]))
done
printf '%-11s %8.1f k\n' total "$(awk -v a="$sum" -v n="$events" 'BEGIN { print a / n / 1000 }')"
