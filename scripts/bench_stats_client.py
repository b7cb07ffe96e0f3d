#!/usr/bin/env python3
"""Stats API latency client for scripts/bench_stats.sh (a benchmark, never a test).

One keep-alive HTTP/1.1 connection (http.client), requests issued strictly one after
another, so each figure is the server's latency for that report plus loopback, with no
queueing behind other requests. For every report it sends N requests, checks each answers
200 with a JSON body, and prints one machine-readable line:

  LAT <name> p50_ms=.. p99_ms=.. max_ms=.. first_ms=.. bytes=.. path=..

plus FIELD lines with values read from the answers (summary and lift `sessions`, ...).
Exit status 1 when a request fails or answers non-200.

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import time
import urllib.parse

DAY_MS = 86_400_000


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * q // 100))  # ceil(n * q / 100), at least 1
    return sorted_values[int(rank) - 1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="server base URL, e.g. http://127.0.0.1:8080")
    ap.add_argument("--requests", type=int, default=200, help="sequential requests per report (default 200)")
    ap.add_argument("--now-ms", type=int, default=None, help="pin 'now' (default: the current time)")
    args = ap.parse_args()

    base = urllib.parse.urlsplit(args.url)
    now = args.now_ms if args.now_ms is not None else int(time.time() * 1000)
    # A whole UTC day that holds at least 12 h of a 24 h span ending now.
    day = (now - DAY_MS // 2) // DAY_MS * DAY_MS
    day_iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(day / 1000))
    next_iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((day + DAY_MS) / 1000))
    reports = [
        ("summary (last 24 h)", "/v1/stats/summary"),
        ("summary (whole UTC day)", f"/v1/stats/summary?from={day_iso}&to={next_iso}"),
        ("timeseries purchase/minute 24 h",
         f"/v1/stats/timeseries?name=purchase&bucket=minute&from={now - DAY_MS}&to={now}"),
        ("lift target=purchase", "/v1/stats/lift?target=purchase"),
        ("funnels/checkout", "/v1/stats/funnels/checkout"),
        ("experiments/video_autoplay", "/v1/stats/experiments/video_autoplay"),
    ]

    conn = http.client.HTTPConnection(base.hostname, base.port or 80, timeout=60)
    headers = {"Accept": "application/json"}
    failed = False
    for name, path in reports:
        times: list[float] = []
        body = b""
        for _ in range(args.requests):
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                print(f"ERROR {name}: {path}: {exc!r}", flush=True)
                failed = True
                conn.close()
                conn = http.client.HTTPConnection(base.hostname, base.port or 80, timeout=60)
                break
            times.append((time.perf_counter() - t0) * 1000.0)
            if resp.status != 200:
                print(f"ERROR {name}: {path}: HTTP {resp.status}: {body[:300]!r}", flush=True)
                failed = True
                break
        if not times:
            continue
        ordered = sorted(times)
        print(f"LAT {name.replace(' ', '_')} p50_ms={percentile(ordered, 50):.3f} "
              f"p99_ms={percentile(ordered, 99):.3f} max_ms={ordered[-1]:.3f} first_ms={times[0]:.3f} "
              f"n={len(times)} bytes={len(body)} path={path}", flush=True)
        try:
            doc = json.loads(body)
        except ValueError:
            print(f"ERROR {name}: answer is not JSON: {body[:300]!r}", flush=True)
            failed = True
            continue
        if path.startswith("/v1/stats/summary") and "from=" not in path:
            print(f"FIELD summary_sessions {doc.get('sessions')}")
            print(f"FIELD summary_events {doc.get('events')}")
            print(f"FIELD summary_range {doc.get('from')}..{doc.get('to')}")
        elif path.startswith("/v1/stats/summary"):
            print(f"FIELD day_summary_sessions {doc.get('sessions')}")
            print(f"FIELD day_summary_range {doc.get('from')}..{doc.get('to')}")
        elif path.startswith("/v1/stats/timeseries"):
            print(f"FIELD timeseries_points {len(doc.get('points', []))}")
        elif path.startswith("/v1/stats/lift"):
            print(f"FIELD lift_sessions {doc.get('sessions')}")
            print(f"FIELD lift_sessions_converted {doc.get('sessions_converted')}")
            video = [m for m in doc.get("micro_conversions", []) if m.get("name") == "video_play"]
            if video:
                print(f"FIELD lift_video_play_rr {video[0].get('rr')}")
        elif path.startswith("/v1/stats/funnels"):
            steps = doc.get("steps", [])
            print(f"FIELD funnel_steps {'/'.join(str(s.get('sessions')) for s in steps)}")
        elif path.startswith("/v1/stats/experiments"):
            variants = doc.get("variants", [])
            print(f"FIELD experiment_exposed {'/'.join(str(v.get('exposed')) for v in variants)}")
    conn.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
