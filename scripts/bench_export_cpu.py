#!/usr/bin/env python3
"""CPU cost of the ClickHouse exporter: the same ingest with [export.clickhouse] off and on.

Starts build/server/foothold twice on a fresh data dir (--threads 1), posts N requests of 500
events (browser User-Agent, the shipped config), waits until everything is aggregated (and
exported), and prints the CPU seconds of each thread group from /proc/<pid>/task/*/stat: the
exporter runs on its own thread ("fh-export"), so its cost and the ingest threads' cost are
printed apart. CPU time, not wall-clock throughput: meaningful on a shared machine too.

  scripts/bench_export_cpu.py --clickhouse http://127.0.0.1:8123 [--requests 1000]

The table must exist (deploy/clickhouse/events.sql). Rows go in with a fresh node name per run.
"""
import argparse, http.client, json, os, shutil, socket, subprocess, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--clickhouse", required=True)
ap.add_argument("--requests", type=int, default=1000)
ap.add_argument("--binary", default=os.path.join(root, "build/server/foothold"))
args = ap.parse_args()
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(export):
    data = tempfile.mkdtemp(prefix="foothold-bench-export-")
    env = dict(os.environ)
    if export:
        env["FOOTHOLD_EXPORT__CLICKHOUSE__URL"] = args.clickhouse
        env["FOOTHOLD_EXPORT__CLICKHOUSE__NODE"] = "bench-%d" % time.time_ns()
    port = free_port()
    p = subprocess.Popen([args.binary, "--listen", "127.0.0.1:%d" % port, "--data-dir", data, "--threads", "1",
                          "--config", os.path.join(root, "config/foothold.toml")],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port)
                c.request("GET", "/healthz")
                c.getresponse().read()
                break
            except OSError:
                time.sleep(0.1)
        for r in range(args.requests):
            events = [{"event": ["page_view", "video_play", "add_to_cart", "purchase"][i % 4],
                       "session_id": "b%d-%d" % (r, i // 10), "event_id": "b-%d-%d" % (r, i),
                       "url": "https://shop.example/p/%d" % i, "props": {"video_kind": "demo", "n": i}}
                      for i in range(500)]
            c.request("POST", "/v1/collect", json.dumps(events), {"Content-Type": "application/json", "User-Agent": UA})
            resp = c.getresponse()
            resp.read()
            if resp.status != 200:
                raise SystemExit("collect answered %d" % resp.status)
        for _ in range(3000):
            c.request("GET", "/metrics")
            m = c.getresponse().read().decode()
            if "foothold_aggregator_pending_events 0" in m and (not export or "foothold_export_pending_records 0" in m):
                break
            time.sleep(0.1)
        hz = os.sysconf("SC_CLK_TCK")
        groups = {}
        for t in os.listdir("/proc/%d/task" % p.pid):
            name = open("/proc/%d/task/%s/comm" % (p.pid, t)).read().strip()
            st = open("/proc/%d/task/%s/stat" % (p.pid, t)).read().rsplit(")", 1)[1].split()
            groups[name] = groups.get(name, 0.0) + (int(st[11]) + int(st[12])) / hz
        return groups
    finally:
        p.terminate()
        p.wait()
        shutil.rmtree(data, ignore_errors=True)


events = args.requests * 500
for export in (False, True):
    g = run(export)
    total = sum(g.values())
    exporter = g.get("fh-export", 0.0)
    print("export %-3s  events %d  process CPU %.2f s  exporter thread %.2f s (%.2f us/event)  other threads %.2f s  %s" % (
        "on" if export else "off", events, total, exporter, exporter * 1e6 / events, total - exporter,
        {k: round(v, 2) for k, v in sorted(g.items(), key=lambda kv: -kv[1])}))
