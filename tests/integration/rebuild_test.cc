// Backfill through the real binary (README.md "Backfill"): a server started
// with a config that adds a micro-conversion recounts the stored log in the
// background, reports its progress in /metrics and the reports' `aggregator`
// block, switches, and then the new conversion has history and `foothold
// verify` passes; a SIGKILL during that rebuild ends clean at the next start;
// `foothold rebuild` does it offline.
#include <catch2/catch.hpp>

#include <signal.h>

#include <fstream>
#include <string>

#include "tests/integration/harness.h"
#include "tests/integration/util.h"

using namespace foothold::testing;

namespace {

const Headers kBrowser = {{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0"}};

constexpr char kConfigA[] = R"(
[[micro_conversion]]
name = "add_to_cart"
event = "add_to_cart"

[[macro_conversion]]
name = "purchase"
event = "purchase"
)";

// A plus a micro-conversion added later.
constexpr char kConfigB[] = R"(
[[micro_conversion]]
name = "add_to_cart"
event = "add_to_cart"

[[micro_conversion]]
name = "site_search"
event = "site_search"

[[macro_conversion]]
name = "purchase"
event = "purchase"
)";

std::string WriteConfig(const TempDir& dir, const std::string& name, const std::string& text) {
  const std::string path = dir.path() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

long long MetricValue(const std::string& metrics, const std::string& series) {
  const size_t at = metrics.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(metrics.substr(at + series.size() + 2));
}

double MetricDouble(const std::string& metrics, const std::string& series) {
  const size_t at = metrics.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(metrics.substr(at + series.size() + 2));
}

// `requests` requests of 500 events; every fifth event a site_search. Returns the searches posted.
int64_t Ingest(uint16_t port, int requests, int64_t t0, const std::string& ids = "e-") {
  HttpClient client(port);
  const char* kinds[] = {"page_view", "add_to_cart", "page_view", "purchase", "site_search"};
  int64_t searches = 0;
  for (int r = 0; r < requests; ++r) {
    std::string body = "[";
    for (int k = 0; k < 500; ++k) {
      const int i = r * 500 + k;
      if (k % 5 == 4) ++searches;
      body += (k ? "," : "") + std::string("{\"event\":\"") + kinds[k % 5] + "\",\"session_id\":\"s-" +
              std::to_string(i / 10) + "\",\"event_id\":\"" + ids + std::to_string(i) +
              "\",\"ts\":" + std::to_string(t0 + i) + "}";
    }
    body += "]";
    auto res = client.Post("/v1/collect", body, "application/json", kBrowser);
    REQUIRE(res.status == 200);
  }
  return searches;
}

std::string Range(int64_t t0) {
  return "from=" + std::to_string(t0 - 3600 * 1000) + "&to=" + std::to_string(NowMs() + 3600 * 1000);
}

int64_t SearchEvents(HttpClient& client, int64_t t0) {
  simdjson::dom::parser p;
  auto r = client.Get("/v1/stats/summary?" + Range(t0));
  REQUIRE(r.status == 200);
  simdjson::dom::array conversions = ParseJson(p, r.body)["conversions"].get_array().value();
  for (simdjson::dom::element c : conversions) {
    if (Str(c, "name") == "site_search") return Int(c, "events");
  }
  return -1;
}

void Verify(const std::string& config, const std::string& data) {
  std::string out;
  const int rc = RunBinary({"verify", "--config", config, "--data-dir", data}, &out);
  INFO(out);
  CHECK(rc == 0);
  CHECK(out.find("ok: recounted") != std::string::npos);
}

}  // namespace

TEST_CASE("a micro-conversion added to the config gets its history from a background rebuild",
          "[integration]") {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  const std::string a = WriteConfig(dir, "a.toml", kConfigA);
  const std::string b = WriteConfig(dir, "b.toml", kConfigB);
  const int64_t t0 = NowMs() - 2 * 3600 * 1000;
  int64_t searches = 0;
  {
    ServerProcess server(data, {"--config", a});
    REQUIRE(server.started());
    searches = Ingest(server.port(), 40, t0);
    server.Signal(SIGTERM);
    REQUIRE(server.WaitExit() == 0);
  }
  Verify(a, data);

  ServerProcess server(data, {"--config", b});
  REQUIRE(server.started());
  HttpClient client(server.port());
  // Progress is in /metrics while it runs; it may be done before the first
  // scrape, so the figures are checked for shape, then for the end state.
  const std::string first = client.Get("/metrics").body;
  for (const char* series : {"foothold_rebuild_active", "foothold_rebuild_progress_ratio", "foothold_rebuild_events_total",
                             "foothold_rebuilds_completed_total", "foothold_counters_generation"}) {
    INFO(series);
    CHECK(MetricDouble(first, series) >= 0);
  }
  REQUIRE(WaitUntil([&] { return MetricValue(client.Get("/metrics").body, "foothold_rebuilds_completed_total") == 1; },
                    std::chrono::seconds(120), std::chrono::milliseconds(20)));
  const std::string metrics = client.Get("/metrics").body;
  CHECK(MetricValue(metrics, "foothold_counters_generation") == 1);
  CHECK(MetricValue(metrics, "foothold_rebuild_active") == 0);
  CHECK(MetricValue(metrics, "foothold_definitions_stale") == 0);

  // The new conversion counts the events stored before it was defined.
  REQUIRE(WaitUntil([&] { return SearchEvents(client, t0) == searches; }, std::chrono::seconds(60)));
  {
    simdjson::dom::parser p;
    auto r = client.Get("/v1/stats/summary?" + Range(t0));
    simdjson::dom::element agg = ParseJson(p, r.body)["aggregator"].value();
    bool stale = true;
    CHECK_FALSE(agg["definitions_stale"].get(stale));
    CHECK_FALSE(stale);
    CHECK(agg["rebuilding"].is_null());
  }
  // Ingest goes on into the new counters.
  searches += Ingest(server.port(), 2, t0 + 3600 * 1000, "later-");
  REQUIRE(WaitUntil([&] { return SearchEvents(client, t0) == searches; }, std::chrono::seconds(60)));
  server.Signal(SIGTERM);
  REQUIRE(server.WaitExit() == 0);
  Verify(b, data);
}

TEST_CASE("SIGKILL during a rebuild: the next start finishes it and verify passes, then foothold rebuild offline",
          "[integration]") {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  const std::string a = WriteConfig(dir, "a.toml", kConfigA);
  const std::string b = WriteConfig(dir, "b.toml", kConfigB);
  const int64_t t0 = NowMs() - 2 * 3600 * 1000;
  int64_t searches = 0;
  {
    ServerProcess server(data, {"--config", a});
    REQUIRE(server.started());
    searches = Ingest(server.port(), 200, t0);  // 100 000 events
    server.Signal(SIGTERM);
    REQUIRE(server.WaitExit() == 0);
  }
  // Killed as soon as it listens: the rebuild started at open and has most
  // of the log still to read (the log says how far it got).
  for (int round = 0; round < 2; ++round) {
    ServerProcess server(data, {"--config", b});
    REQUIRE(server.started());
    HttpClient client(server.port());
    const std::string metrics = client.Get("/metrics").body;
    UNSCOPED_INFO("round " << round << ": active " << MetricValue(metrics, "foothold_rebuild_active")
                           << ", progress " << MetricDouble(metrics, "foothold_rebuild_progress_ratio")
                           << ", completed " << MetricValue(metrics, "foothold_rebuilds_completed_total"));
    server.Kill9();
  }
  {
    ServerProcess server(data, {"--config", b});
    REQUIRE(server.started());
    HttpClient client(server.port());
    // Done when this start switched or an earlier one had (then no rebuild runs).
    REQUIRE(WaitUntil(
        [&] {
          const std::string m = client.Get("/metrics").body;
          return MetricValue(m, "foothold_rebuild_active") == 0 && MetricValue(m, "foothold_definitions_stale") == 0;
        },
        std::chrono::seconds(120), std::chrono::milliseconds(20)));
    REQUIRE(WaitUntil([&] { return SearchEvents(client, t0) == searches; }, std::chrono::seconds(60)));
    server.Signal(SIGTERM);
    REQUIRE(server.WaitExit() == 0);
  }
  Verify(b, data);

  // Offline, back to A: `foothold rebuild` recounts and switches; verify under A passes.
  std::string out;
  const int rc = RunBinary({"rebuild", "--config", a, "--data-dir", data}, &out);
  INFO(out);
  REQUIRE(rc == 0);
  CHECK(out.find("ok: recounted ") != std::string::npos);
  Verify(a, data);
  CHECK(RunBinary({"rebuild", "--config", a, "--data-dir", dir.path() + "/none"}, &out) == 2);
  CHECK(out.find("no foothold store") != std::string::npos);
}
