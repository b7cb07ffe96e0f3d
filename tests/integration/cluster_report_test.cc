// Cluster-wide reports (README.md, "Cluster-wide view"): two collectors behind the real HAProxy
// (deploy/haproxy/haproxy.cfg, sid affinity) export to one ClickHouse; a third collector gets every
// event directly. The first collector's summary, funnel, lift and experiment with ?scope=cluster, read
// from ClickHouse over the split data, equal what the third reports on all of it.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <tuple>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/clickhouse.h"
#include "tests/integration/harness.h"
#include "tests/integration/util.h"

using namespace foothold::testing;

namespace {

constexpr char kBrowserUa[] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";

constexpr char kConfig[] = R"(
[[micro_conversion]]
name = "demo_video"
event = "video_play"
where = { "props.video_kind" = "demo" }

[[micro_conversion]]
name = "product_add"
event = "add_to_cart"
url_prefix = "/p/"

[[micro_conversion]]
name = "five_stars"
event = "rate"
where = { "props.stars" = 5 }

[[micro_conversion]]
name = "reader"
dwell = { url_prefix = "/blog/", min_engaged_s = 30 }

[[macro_conversion]]
name = "purchase"
event = "purchase"

[[funnel]]
name = "buy"
steps = ["demo_video", "product_add", "purchase"]
window = "10m"

[[experiment]]
name = "autoplay"
target = "purchase"
variants = ["control", "on"]

[[funnel]]
name = "strictly"
steps = ["demo_video", "purchase"]
window = "10m"
mode = "strict"
)";

std::string FindHaproxy() {
  for (const char* path : {"/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

// How often these tests poll (tests/test_util.h WaitUntil).
constexpr std::chrono::milliseconds kPoll{50};

long long MetricValue(const std::string& metrics, const std::string& series) {
  const size_t at = metrics.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(metrics.substr(at + series.size() + 2));
}

// One session's events as a JSON array: a visit with conversions that do and do not match.
std::string SessionEvents(int s, int64_t t0) {
  const std::string sid = "cs-" + std::to_string(s);
  std::string body = "[";
  int k = 0;
  auto add = [&](const std::string& fields) {
    if (k) body += ",";
    body += "{\"session_id\":\"" + sid + "\",\"event_id\":\"" + sid + "-" + std::to_string(k) + "\",\"ts\":" +
            std::to_string(t0 + s * 1000 + k * 7000) + "," + fields + "}";
    ++k;
  };
  const std::string variant = s % 11 == 0 ? "weird" : s % 2 == 0 ? "on" : "control";
  add(R"("event":"page_view","url":"https://shop.example/p/)" + std::to_string(s) + R"(","experiments":{"autoplay":")" +
      variant + "\"}");
  add(std::string(R"("event":"video_play","props":{"video_kind":")") + (s % 3 == 0 ? "demo" : "howto") + "\"}");
  add(std::string(R"("event":"add_to_cart","url":")") + (s % 2 == 0 ? "https://shop.example/p/1?x=1" : "/c/shoes") + "\"");
  add(std::string(R"("event":"rate","props":{"stars":)") + (s % 4 == 0 ? "5" : s % 4 == 1 ? "\"5\"" : "4") + "}");
  if (s % 5 == 0) add(R"("event":"page_view","url":"/blog/a","engaged_ms":40000)");
  if (s % 3 == 0 || s % 7 == 0) add(R"("event":"purchase","props":{"total":19.5})");
  return body + "]";
}

}  // namespace

TEST_CASE("cluster reports: two replicas behind HAProxy via ClickHouse equal one node with every event",
          "[integration][clickhouse]") {
  if (!ClickHouseInstalled()) return;
  const std::string haproxy_binary = FindHaproxy();
  if (!ToolAvailable(!haproxy_binary.empty(), "haproxy")) return;
  TempDir dir;
  ClickHouseServer ch(dir.path());
  if (!ch.started()) FAIL("clickhouse-server did not start\n" << ch.Log());
  std::string error;
  if (!ch.ApplySchema(&error)) FAIL(error);
  const std::string cfg = dir.path() + "/foothold.toml";
  {
    std::FILE* f = std::fopen(cfg.c_str(), "w");
    std::fputs(kConfig, f);
    std::fclose(f);
  }
  auto env = [&](const std::string& node) {
    // A short session timeout: sessions close (for funnels) seconds after the last post.
    return std::vector<std::string>{"FOOTHOLD_TRUSTED_PROXIES=127.0.0.1/32", "FOOTHOLD_SESSION__TIMEOUT=2s",
                                    "FOOTHOLD_EXPORT__CLICKHOUSE__URL=" + ch.url(),
                                    "FOOTHOLD_EXPORT__CLICKHOUSE__NODE=" + node,
                                    "FOOTHOLD_EXPORT__CLICKHOUSE__LINGER=20ms"};
  };
  ServerProcess a(dir.path() + "/a", {"--config", cfg}, env("a"));
  ServerProcess b(dir.path() + "/b", {"--config", cfg}, env("b"));
  ServerProcess all(dir.path() + "/all", {"--config", cfg}, {"FOOTHOLD_SESSION__TIMEOUT=2s"});  // every event, no export
  REQUIRE(a.started());
  REQUIRE(b.started());
  REQUIRE(all.started());

  const uint16_t lb_port = FreeLoopbackPort(), stats_port = FreeLoopbackPort();
  const pid_t haproxy = Spawn({haproxy_binary, "-f", std::string(FOOTHOLD_SOURCE_DIR) + "/deploy/haproxy/haproxy.cfg", "-db"},
                              {"FH_BIND=127.0.0.1:" + std::to_string(lb_port),
                               "FH_STATS_BIND=127.0.0.1:" + std::to_string(stats_port),
                               "FH_SERVER_1=127.0.0.1:" + std::to_string(a.port()),
                               "FH_SERVER_2=127.0.0.1:" + std::to_string(b.port()), "FH_CHECK_INTER=200ms",
                               "FH_CHECK_FALL=1", "FH_CHECK_RISE=1"},
                              dir.path() + "/haproxy.log");
  struct Reap {
    pid_t pid;
    ~Reap() {
      ::kill(pid, SIGKILL);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
  } reap{haproxy};
  HttpClient stats(stats_port);
  REQUIRE(WaitUntil([&] {
    const std::string m = stats.Get("/metrics").body;
    return m.find("server=\"foothold-1\",state=\"UP\"} 1") != std::string::npos &&
           m.find("server=\"foothold-2\",state=\"UP\"} 1") != std::string::npos;
  }, std::chrono::seconds(30), kPoll));

  HttpClient lb(lb_port), direct(all.port());
  const int64_t t0 = NowMs() - 2 * 3600 * 1000;  // two hours ago: within the clamp, sessions closed
  for (int s = 0; s < 60; ++s) {
    const std::string body = SessionEvents(s, t0);
    const Headers ua = {{"User-Agent", s == 59 ? "curl/8.0" : kBrowserUa}};  // one bot session
    const std::string sid = "cs-" + std::to_string(s);
    REQUIRE(lb.Post("/v1/collect?sid=" + sid, body, "application/json", ua).status == 200);
    REQUIRE(direct.Post("/v1/collect?sid=" + sid, body, "application/json", ua).status == 200);
  }
  HttpClient ca(a.port()), cb(b.port());
  REQUIRE(WaitUntil([&] {
    return MetricValue(ca.Get("/metrics").body, "foothold_export_pending_records") == 0 &&
           MetricValue(cb.Get("/metrics").body, "foothold_export_pending_records") == 0 &&
           MetricValue(direct.Get("/metrics").body, "foothold_aggregator_pending_events") == 0;
  }, std::chrono::seconds(60), kPoll));
  // The load balancer split the sessions between both replicas.
  CHECK(MetricValue(ca.Get("/metrics").body, "foothold_export_rows_total") > 20);
  CHECK(MetricValue(cb.Get("/metrics").body, "foothold_export_rows_total") > 20);

  const std::string range = "from=" + std::to_string(t0 - 3600 * 1000) + "&to=" + std::to_string(NowMs() + 3600 * 1000);
  const HttpResult local = direct.Get("/v1/stats/summary?" + range);
  const HttpResult cluster = ca.Get("/v1/stats/summary?scope=cluster&" + range);
  REQUIRE(local.status == 200);
  INFO(cluster.body);
  REQUIRE(cluster.status == 200);
  simdjson::dom::parser p1, p2;
  simdjson::dom::element l = ParseJson(p1, local.body), c = ParseJson(p2, cluster.body);
  CHECK(Str(c, "scope") == "cluster");
  CHECK(Int(l, "from_ms") == Int(c, "from_ms"));
  CHECK(Int(l, "to_ms") == Int(c, "to_ms"));
  CHECK(Int(l, "events") > 0);
  CHECK(Int(c, "events") == Int(l, "events"));
  CHECK(Int(c, "sessions") == Int(l, "sessions"));
  std::map<std::string, std::pair<int64_t, int64_t>> local_convs, cluster_convs;
  const simdjson::dom::array local_array = l["conversions"].get_array().value();
  const simdjson::dom::array cluster_array = c["conversions"].get_array().value();
  for (simdjson::dom::element x : local_array) {
    local_convs[Str(x, "name")] = {Int(x, "events"), Int(x, "sessions")};
  }
  for (simdjson::dom::element x : cluster_array) {
    cluster_convs[Str(x, "name")] = {Int(x, "events"), Int(x, "sessions")};
  }
  CHECK(local_convs.at("reader").first > 0);  // dwell: counted per node only...
  local_convs.erase("reader");                // ...and left out of the cluster summary, with a note
  CHECK(cluster_convs == local_convs);
  CHECK(cluster_convs.at("demo_video").first == 20);
  CHECK(cluster_convs.at("five_stars").first == 15);
  CHECK_THAT(cluster.body, Catch::Contains("dwell conversions"));

  // The funnel, once the direct node closed every session (clock ticks after session.timeout).
  REQUIRE(WaitUntil([&] {
    return MetricValue(direct.Get("/metrics").body, "foothold_aggregator_open_sessions") == 0;
  }, std::chrono::seconds(60), kPoll));
  const HttpResult local_funnel = direct.Get("/v1/stats/funnels/buy?" + range);
  const HttpResult cluster_funnel = ca.Get("/v1/stats/funnels/buy?scope=cluster&" + range);
  REQUIRE(local_funnel.status == 200);
  INFO(cluster_funnel.body);
  REQUIRE(cluster_funnel.status == 200);
  simdjson::dom::element lf = ParseJson(p1, local_funnel.body), cf = ParseJson(p2, cluster_funnel.body);
  CHECK(Int(lf, "sessions_entered") == 20);
  CHECK(Int(cf, "sessions_entered") == Int(lf, "sessions_entered"));
  std::vector<int64_t> local_steps, cluster_steps;
  const simdjson::dom::array lsteps = lf["steps"].get_array().value(), csteps = cf["steps"].get_array().value();
  for (simdjson::dom::element x : lsteps) local_steps.push_back(Int(x, "sessions"));
  for (simdjson::dom::element x : csteps) cluster_steps.push_back(Int(x, "sessions"));
  CHECK(local_steps == std::vector<int64_t>{20, 10, 10});
  CHECK(cluster_steps == local_steps);

  // Lift cells and experiment counts, from the same closed sessions.
  auto cells = [&](const std::string& body, simdjson::dom::parser& parser) {
    std::map<std::string, std::vector<int64_t>> out;
    simdjson::dom::element e = ParseJson(parser, body);
    const simdjson::dom::array rows = e["micro_conversions"].get_array().value();
    for (simdjson::dom::element x : rows) {
      out[Str(x, "name")] = {Int(x, "a"), Int(x, "b"), Int(x, "c"), Int(x, "d")};
    }
    return out;
  };
  const HttpResult local_lift = direct.Get("/v1/stats/lift?target=purchase&" + range);
  const HttpResult cluster_lift = ca.Get("/v1/stats/lift?target=purchase&scope=cluster&" + range);
  INFO(cluster_lift.body);
  REQUIRE(local_lift.status == 200);
  REQUIRE(cluster_lift.status == 200);
  auto local_cells = cells(local_lift.body, p1);
  auto cluster_cells = cells(cluster_lift.body, p2);
  CHECK(local_cells.at("demo_video") == std::vector<int64_t>{20, 0, 6, 33});
  local_cells.erase("reader");
  CHECK(cluster_cells == local_cells);

  // Opportunities from the same cells: the same reach and projection per micro-conversion.
  auto projections = [&](const std::string& body, simdjson::dom::parser& parser) {
    std::map<std::string, std::pair<double, double>> out;
    simdjson::dom::element e = ParseJson(parser, body);
    const simdjson::dom::array rows = e["micro_conversions"].get_array().value();
    for (simdjson::dom::element x : rows) {
      double projected = -1;  // null: no projection
      if (x["projected_conversion_rate"].get(projected) != simdjson::SUCCESS) projected = -1;
      out[Str(x, "name")] = {x["reach"].get_double().value(), projected};
    }
    return out;
  };
  const HttpResult local_opp = direct.Get("/v1/stats/opportunities?target=purchase&reach=0.5&" + range);
  const HttpResult cluster_opp = ca.Get("/v1/stats/opportunities?target=purchase&reach=0.5&scope=cluster&" + range);
  INFO(cluster_opp.body);
  REQUIRE(local_opp.status == 200);
  REQUIRE(cluster_opp.status == 200);
  CHECK_THAT(cluster_opp.body, Catch::Contains("\"scope\":\"cluster\""));
  auto local_projections = projections(local_opp.body, p1);
  local_projections.erase("reader");
  CHECK(projections(cluster_opp.body, p2) == local_projections);
  CHECK(local_projections.at("demo_video").second > 0);

  auto variants = [&](const std::string& body, simdjson::dom::parser& parser) {
    std::vector<std::tuple<std::string, int64_t, int64_t>> out;
    simdjson::dom::element e = ParseJson(parser, body);
    const simdjson::dom::array rows = e["variants"].get_array().value();
    for (simdjson::dom::element x : rows) out.emplace_back(Str(x, "variant"), Int(x, "exposed"), Int(x, "converted"));
    return out;
  };
  const HttpResult local_x = direct.Get("/v1/stats/experiments/autoplay?" + range);
  const HttpResult cluster_x = ca.Get("/v1/stats/experiments/autoplay?scope=cluster&" + range);
  INFO(cluster_x.body);
  REQUIRE(local_x.status == 200);
  REQUIRE(cluster_x.status == 200);
  const auto local_variants = variants(local_x.body, p1);
  CHECK(local_variants.size() == 3);  // control, on, $other
  CHECK(variants(cluster_x.body, p2) == local_variants);

  // Errors: what windowFunnel cannot answer, other reports, a replica without [export.clickhouse].
  const HttpResult strict = ca.Get("/v1/stats/funnels/strictly?scope=cluster");
  CHECK(strict.status == 400);
  CHECK_THAT(strict.body, Catch::Contains("query_invalid"));
  const HttpResult series = ca.Get("/v1/stats/timeseries?name=purchase&scope=cluster");
  CHECK(series.status == 400);
  CHECK_THAT(series.body, Catch::Contains("query_invalid"));
  const HttpResult unconfigured = direct.Get("/v1/stats/summary?scope=cluster");
  CHECK(unconfigured.status == 400);
  CHECK_THAT(unconfigured.body, Catch::Contains("cluster_not_configured"));
  CHECK(ca.Get("/v1/stats/summary?scope=everywhere").status == 400);
  // ClickHouse away: 503 with Retry-After, never a crash; the node-local summary still answers.
  ch.Stop();
  const HttpResult away = ca.Get("/v1/stats/summary?scope=cluster&" + range);
  CHECK(away.status == 503);
  CHECK_THAT(away.body, Catch::Contains("cluster_unavailable"));
  CHECK(away.header("retry-after") == "5");
  CHECK(ca.Get("/v1/stats/summary?" + range).status == 200);
}
