// Integration tests of the ClickHouse exporter (storage/export/README.md)
// against a real clickhouse-server started by the test (tests/integration/
// clickhouse.h) and the real foothold binary: every accepted event reaches
// the table, a kill -9 between ClickHouse's 200 and the checkpoint re-sends
// without a visible duplicate, and a ClickHouse outage under load loses and
// duplicates nothing while /readyz stays 200.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/clickhouse.h"
#include "tests/integration/harness.h"
#include "tests/integration/util.h"

using namespace foothold::testing;

namespace {

constexpr char kBrowserUa[] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";

std::vector<std::string> ExportEnv(const std::string& url, const std::string& node) {
  return {"FOOTHOLD_EXPORT__CLICKHOUSE__URL=" + url, "FOOTHOLD_EXPORT__CLICKHOUSE__NODE=" + node,
          "FOOTHOLD_EXPORT__CLICKHOUSE__LINGER=20ms", "FOOTHOLD_EXPORT__CLICKHOUSE__TIMEOUT=5s"};
}

// How often the export tests poll (tests/test_util.h WaitUntil).
constexpr std::chrono::milliseconds kPoll{50};

// A JSON array of `n` events with ids prefix-0.. in sessions of 5.
std::string Batch(const std::string& prefix, int n, std::vector<std::string>* ids) {
  std::string body = "[";
  for (int i = 0; i < n; ++i) {
    const std::string id = prefix + "-" + std::to_string(i);
    ids->push_back(id);
    if (i) body += ",";
    body += "{\"event\":\"page_view\",\"session_id\":\"" + prefix + "-s" + std::to_string(i / 5) +
            "\",\"event_id\":\"" + id + "\",\"url\":\"https://shop.example/p/" + std::to_string(i) + "\"}";
  }
  return body + "]";
}

long long MetricValue(const std::string& metrics, const std::string& series) {
  const size_t at = metrics.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(metrics.substr(at + series.size() + 2));
}

std::set<std::string> ExportedIds(const ClickHouseServer& ch) {
  std::string out;
  REQUIRE(ch.Query("SELECT event_id FROM foothold.events FINAL FORMAT TabSeparated", &out));
  std::set<std::string> ids;
  size_t start = 0;
  while (start < out.size()) {
    size_t nl = out.find('\n', start);
    if (nl == std::string::npos) nl = out.size();
    if (nl > start) ids.insert(out.substr(start, nl - start));
    start = nl + 1;
  }
  return ids;
}

// A TCP relay between foothold and ClickHouse that can play the crash of
// exactly-once: once armed, it forwards one INSERT, reads ClickHouse's 200,
// and SIGKILLs the collector before handing the answer over, so the rows are
// in ClickHouse and the exporter's checkpoint never moved.
class CrashRelay {
 public:
  explicit CrashRelay(uint16_t upstream) : upstream_(upstream) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_fd_, 16);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~CrashRelay() {
    stop_.store(true);
    thread_.join();
    ::close(listen_fd_);
  }
  uint16_t port() const { return port_; }
  void Arm(pid_t victim) { victim_.store(victim); }
  bool fired() const { return fired_.load(); }
  long long rows_acknowledged() const { return rows_acked_.load(); }

 private:
  static bool ReadRequest(int fd, std::string* req) {
    char buf[65536];
    for (;;) {
      const size_t head = req->find("\r\n\r\n");
      if (head != std::string::npos) {
        const size_t cl = req->find("Content-Length: ");
        const size_t len = cl == std::string::npos ? 0 : std::stoul(req->substr(cl + 16));
        if (req->size() >= head + 4 + len) return true;
      }
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      req->append(buf, static_cast<size_t>(n));
    }
  }

  void Serve(int client) {
    std::string req;
    if (!ReadRequest(client, &req)) return;
    const int up = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(upstream_);
    std::string answer;
    if (::connect(up, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      ::send(up, req.data(), req.size(), MSG_NOSIGNAL);
      char buf[65536];
      for (ssize_t n; (n = ::recv(up, buf, sizeof buf, 0)) > 0;) answer.append(buf, static_cast<size_t>(n));
    }
    ::close(up);
    if (answer.starts_with("HTTP/1.1 200") && req.find("INSERT") != std::string::npos) {
      const size_t body = req.find("\r\n\r\n") + 4;
      long long rows = 0;
      for (size_t i = body; i < req.size(); ++i) rows += req[i] == '\n';
      rows_acked_.fetch_add(rows);
      const pid_t victim = victim_.exchange(0);
      if (victim > 0) {
        ::kill(victim, SIGKILL);
        fired_.store(true);
        return;  // the answer never reaches the dead collector
      }
    }
    ::send(client, answer.data(), answer.size(), MSG_NOSIGNAL);
  }

  void Run() {
    while (!stop_.load()) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int client = ::accept(listen_fd_, nullptr, nullptr);
      if (client < 0) continue;
      Serve(client);
      ::close(client);
    }
  }

  uint16_t upstream_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<pid_t> victim_{0};
  std::atomic<bool> fired_{false};
  std::atomic<long long> rows_acked_{0};
  std::thread thread_;
};

}  // namespace

TEST_CASE("export: every accepted event reaches ClickHouse once, with its fields", "[integration][clickhouse]") {
  if (!ClickHouseInstalled()) return;
  TempDir dir;
  ClickHouseServer ch(dir.path());
  if (!ch.started()) FAIL("clickhouse-server did not start\n" << ch.Log());
  std::string error;
  if (!ch.ApplySchema(&error)) FAIL(error);

  ServerProcess node(dir.path() + "/data", {}, ExportEnv(ch.url(), "node-a"));
  REQUIRE(node.started());
  HttpClient client(node.port());
  const Headers ua = {{"User-Agent", kBrowserUa}};
  std::vector<std::string> ids;
  for (int r = 0; r < 4; ++r) {
    const HttpResult res = client.Post("/v1/collect", Batch("basic" + std::to_string(r), 50, &ids), "application/json", ua);
    REQUIRE(res.status == 200);
  }
  // One event with every kind of field, and its duplicate (acknowledged, stored once).
  const std::string rich = R"({"event":"video_play","session_id":"rich-s","event_id":"rich-1","ts":1700000000000,)"
                           R"("url":"https://shop.example/p/9","title":"T \"q\"","engaged_ms":1500,)"
                           R"("experiments":{"autoplay":"on"},"props":{"kind":"demo","n":2.5,"ok":true,"none":null}})";
  REQUIRE(client.Post("/v1/collect", rich, "application/json", ua).status == 200);
  REQUIRE(client.Post("/v1/collect", rich, "application/json", ua).body.find("\"duplicates\":1") != std::string::npos);
  ids.push_back("rich-1");

  REQUIRE(WaitUntil(
      [&] { return ch.QueryNumber("SELECT count() FROM foothold.events FINAL") >= 201; },
      std::chrono::seconds(60), kPoll));
  CHECK(ch.QueryNumber("SELECT count() FROM foothold.events FINAL") == 201);
  CHECK(ExportedIds(ch) == std::set<std::string>(ids.begin(), ids.end()));
  CHECK(ch.QueryNumber("SELECT uniqExact(node, seq) FROM foothold.events FINAL WHERE node = 'node-a'") == 201);

  std::string row;
  REQUIRE(ch.Query("SELECT event, session_id, ts, title, engaged_ms, experiment_names, experiment_variants, "
                   "prop_keys, prop_values, props, bot, toString(date) FROM foothold.events FINAL "
                   "WHERE event_id = 'rich-1' FORMAT TabSeparated",
                   &row));
  CHECK_THAT(row, Catch::StartsWith("video_play\trich-s\t1700000000000\tT \"q\"\t1500\t['autoplay']\t['on']\t"
                                    "['kind','n','ok','none']\t['demo','2.5','true','']\t"
                                    "{\"kind\":\"demo\",\"n\":2.5,\"ok\":true,\"none\":null}\t0\t"));
  CHECK(ch.QueryNumber("SELECT count() FROM foothold.events FINAL WHERE prop_values[indexOf(prop_keys, 'kind')] = 'demo'") == 1);

  // The README's example SQL runs on this ClickHouse (18.16 on Debian) against the exported table.
  const std::string readme = ReadFile(std::string(FOOTHOLD_SOURCE_DIR) + "/README.md");
  const size_t sql_at = readme.find("```sql\n-- Events and sessions");
  REQUIRE(sql_at != std::string::npos);
  std::string sql = readme.substr(sql_at + 7, readme.find("```", sql_at + 7) - sql_at - 7);
  int statements = 0;
  for (size_t start = 0; start < sql.size();) {
    size_t end = sql.find(';', start);
    if (end == std::string::npos) end = sql.size();
    std::string statement = sql.substr(start, end - start);
    start = end + 1;
    if (statement.find("SELECT") == std::string::npos) continue;
    std::string answer;
    INFO(statement);
    CHECK(ch.Query(statement, &answer));
    INFO(answer);
    ++statements;
  }
  CHECK(statements == 5);

  const std::string metrics = client.Get("/metrics").body;
  CHECK(MetricValue(metrics, "foothold_export_rows_total") == 201);
  CHECK(MetricValue(metrics, "foothold_export_pending_records") == 0);
  CHECK(MetricValue(metrics, "foothold_export_dropped_records_total") == 0);
}

TEST_CASE("export: kill -9 between ClickHouse's 200 and the checkpoint re-sends the batch, and FINAL counts it once",
          "[integration][clickhouse]") {
  if (!ClickHouseInstalled()) return;
  TempDir dir;
  ClickHouseServer ch(dir.path());
  if (!ch.started()) FAIL("clickhouse-server did not start\n" << ch.Log());
  std::string error;
  if (!ch.ApplySchema(&error)) FAIL(error);
  CrashRelay relay(ch.http_port());
  const std::string url = "http://127.0.0.1:" + std::to_string(relay.port());
  const std::string data = dir.path() + "/data";
  std::vector<std::string> ids;
  {
    // A long linger: the events are committed (and acknowledged) before the
    // exporter sends them, so the kill lands after the acks.
    std::vector<std::string> env = ExportEnv(url, "node-k");
    env.push_back("FOOTHOLD_EXPORT__CLICKHOUSE__LINGER=1500ms");
    ServerProcess node(data, {}, env);
    REQUIRE(node.started());
    relay.Arm(node.pid());
    HttpClient client(node.port());
    REQUIRE(client.Post("/v1/collect", Batch("k", 100, &ids), "application/json", {{"User-Agent", kBrowserUa}}).status == 200);
    REQUIRE(node.WaitExit(60000) == 128 + SIGKILL);
    REQUIRE(relay.fired());
  }
  // The rows are in ClickHouse, the checkpoint is not: the restarted exporter sends them again.
  CHECK(ch.QueryNumber("SELECT count() FROM foothold.events") == 100);
  ServerProcess node(data, {}, ExportEnv(url, "node-k"));
  REQUIRE(node.started());
  HttpClient client(node.port());
  REQUIRE(WaitUntil(
      [&] { return MetricValue(client.Get("/metrics").body, "foothold_export_pending_records") == 0; },
      std::chrono::seconds(60), kPoll));
  CHECK(relay.rows_acknowledged() == 200);  // every row went to ClickHouse twice
  CHECK(ch.QueryNumber("SELECT count() FROM foothold.events FINAL") == 100);
  CHECK(ch.QueryNumber("SELECT uniqExact(node, seq) FROM foothold.events") == 100);
  CHECK(ExportedIds(ch) == std::set<std::string>(ids.begin(), ids.end()));
  // After a merge the copies are gone for readers that do not say FINAL too.
  std::string out;
  REQUIRE(ch.Query("OPTIMIZE TABLE foothold.events FINAL", &out));
  CHECK(ch.QueryNumber("SELECT count() FROM foothold.events") == 100);
}

TEST_CASE("export: ClickHouse stopped under load and started again: every accepted event exactly once",
          "[integration][clickhouse]") {
  if (!ClickHouseInstalled()) return;
  TempDir dir;
  ClickHouseServer ch(dir.path());
  if (!ch.started()) FAIL("clickhouse-server did not start\n" << ch.Log());
  std::string error;
  if (!ch.ApplySchema(&error)) FAIL(error);
  std::vector<std::string> env = ExportEnv(ch.url(), "node-o");
  env.push_back("FOOTHOLD_EXPORT__CLICKHOUSE__BATCH_ROWS=300");
  ServerProcess node(dir.path() + "/data", {}, env);
  REQUIRE(node.started());

  // Load: one client posting batches of 20 until told to stop; ids of acknowledged batches only.
  std::mutex mu;
  std::vector<std::string> accepted;
  std::atomic<bool> stop{false};
  std::atomic<int> batches{0}, refused{0};
  std::thread load([&] {
    HttpClient client(node.port());
    for (int r = 0; !stop.load(); ++r) {
      std::vector<std::string> ids;
      const HttpResult res = client.Post("/v1/collect", Batch("o" + std::to_string(r), 20, &ids), "application/json",
                                         {{"User-Agent", kBrowserUa}});
      if (res.status == 200) {
        std::lock_guard<std::mutex> lock(mu);
        accepted.insert(accepted.end(), ids.begin(), ids.end());
        batches.fetch_add(1);
      } else {
        refused.fetch_add(1);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  HttpClient ops(node.port());
  REQUIRE(WaitUntil(
      [&] { return ch.QueryNumber("SELECT count() FROM foothold.events") > 0; },
      std::chrono::seconds(60), kPoll));

  ch.Stop();
  const int during_outage_from = batches.load();
  // The exporter fails and retries; ingestion and readiness carry on.
  REQUIRE(WaitUntil([&] {
    const std::string m = ops.Get("/metrics").body;
    return MetricValue(m, "foothold_export_failures_total{kind=\"connect\"}") > 0 && batches.load() > during_outage_from + 20;
  }, std::chrono::seconds(60), kPoll));
  CHECK(ops.Get("/readyz").status == 200);
  CHECK(MetricValue(ops.Get("/metrics").body, "foothold_export_pending_records") > 0);

  REQUIRE(ch.Start());
  const int after_restart = batches.load();
  REQUIRE(WaitUntil([&] { return batches.load() > after_restart + 20; }, std::chrono::seconds(60), kPoll));
  stop.store(true);
  load.join();
  CHECK(refused.load() == 0);

  REQUIRE(WaitUntil(
      [&] { return MetricValue(ops.Get("/metrics").body, "foothold_export_pending_records") == 0; },
      std::chrono::seconds(90), kPoll));
  const long long final_count = ch.QueryNumber("SELECT count() FROM foothold.events FINAL");
  CHECK(final_count == static_cast<long long>(accepted.size()));
  CHECK(ch.QueryNumber("SELECT uniqExact(node, seq) FROM foothold.events") == final_count);
  CHECK(ExportedIds(ch) == std::set<std::string>(accepted.begin(), accepted.end()));
}

TEST_CASE("export: the source column, added to a table of the older DDL, and cluster timeseries?source= equals the node's",
          "[integration][clickhouse]") {
  if (!ClickHouseInstalled()) return;
  TempDir dir;
  ClickHouseServer ch(dir.path());
  if (!ch.started()) FAIL("clickhouse-server did not start\n" << ch.Log());
  std::string error;
  if (!ch.ApplySchema(&error)) FAIL(error);
  std::string out;
  // The table as the DDL before the source column made it.
  REQUIRE(ch.Query("ALTER TABLE foothold.events DROP COLUMN source", &out));
  REQUIRE(ch.QueryNumber("SELECT count() FROM system.columns WHERE database = 'foothold' AND table = 'events' "
                         "AND name = 'source'") == 0);
  const std::string cfg = dir.path() + "/foothold.toml";
  std::ofstream(cfg) << "[[source]]\nname = \"web\"\nwrite_key = \"pk_web\"\n\n"
                        "[[source]]\nname = \"backend\"\nwrite_key = \"sk_backend\"\nkind = \"server\"\n";
  ServerProcess node(dir.path() + "/data", {"--config", cfg}, ExportEnv(ch.url(), "node-src"));
  REQUIRE(node.started());
  HttpClient client(node.port());
  const Headers ua = {{"User-Agent", kBrowserUa}};
  const int64_t now = NowMs();
  for (int i = 0; i < 3; ++i) {
    const std::string n = std::to_string(i);
    REQUIRE(client.Post("/v1/track", R"({"event":"purchase","userId":"u)" + n + R"(","messageId":"b)" + n +
                                         R"(","writeKey":"sk_backend"})", "application/json", ua).status == 200);
  }
  REQUIRE(client.Post("/v1/track", R"({"event":"x","anonymousId":"a1","messageId":"w1","writeKey":"pk_web"})",
                      "application/json", ua).status == 200);
  std::vector<std::string> ids;
  REQUIRE(client.Post("/v1/collect", Batch("native", 4, &ids), "application/json", ua).status == 200);

  REQUIRE(WaitUntil([&] { return ch.QueryNumber("SELECT count() FROM foothold.events FINAL") == 8; },
                    std::chrono::seconds(60), kPoll));
  CHECK(ch.QueryNumber("SELECT count() FROM system.columns WHERE database = 'foothold' AND table = 'events' "
                       "AND name = 'source'") == 1);
  CHECK(ch.QueryNumber("SELECT count() FROM foothold.events FINAL WHERE source = 'backend'") == 3);
  CHECK(ch.QueryNumber("SELECT count() FROM foothold.events FINAL WHERE source = 'web'") == 1);
  CHECK(ch.QueryNumber("SELECT count() FROM foothold.events FINAL WHERE source = ''") == 4);

  // The cluster series of a source equals the node's own (same events, one node).
  const std::string range = "&bucket=hour&from=" + std::to_string(now - 3600000) + "&to=" + std::to_string(now + 3600000);
  REQUIRE(WaitUntil([&] { return MetricValue(client.Get("/metrics").body, "foothold_aggregator_pending_events") == 0; },
                    std::chrono::seconds(30), kPoll));
  for (const char* source : {"backend", "web"}) {
    INFO(source);
    const HttpResult local = client.Get(std::string("/v1/stats/timeseries?source=") + source + range);
    const HttpResult cluster = client.Get(std::string("/v1/stats/timeseries?scope=cluster&source=") + source + range);
    REQUIRE(local.status == 200);
    REQUIRE(cluster.status == 200);
    simdjson::dom::parser lp, cp;
    auto l = ParseJson(lp, local.body);
    auto c = ParseJson(cp, cluster.body);
    CHECK(Str(c, "scope") == "cluster");
    auto lpts = l["points"].get_array();
    auto cpts = c["points"].get_array();
    REQUIRE(lpts.size() == cpts.size());
    int64_t events = 0;
    for (size_t i = 0; i < lpts.size(); ++i) {
      CHECK(Int(lpts.at(i), "t_ms") == Int(cpts.at(i), "t_ms"));
      CHECK(Int(lpts.at(i), "events") == Int(cpts.at(i), "events"));
      events += Int(cpts.at(i), "events");
    }
    CHECK(events == (std::string(source) == "backend" ? 3 : 1));
  }
  CHECK(client.Get("/v1/stats/timeseries?scope=cluster&name=x" + range).status == 400);
}
