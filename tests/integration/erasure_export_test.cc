// Erasure reaching ClickHouse (README.md "Privacy", storage/export/README.md
// "Erasure") against a real clickhouse-server (tests/integration/clickhouse.h)
// and the real binary: the exported rows of an erased visitor are replaced by
// their redacted copies while the cluster reports stay equal; an erasure while
// ClickHouse is down stays pending_export, survives a kill -9 of the collector,
// and completes once ClickHouse is back.
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <string>

#include "tests/integration/clickhouse.h"
#include "tests/integration/harness.h"
#include "tests/integration/util.h"

using namespace foothold::testing;

namespace {

constexpr char kBrowserUa[] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
constexpr std::chrono::milliseconds kPoll{50};

constexpr char kConfig[] = R"(
[[micro_conversion]]
name = "demo_video"
event = "video_play"
where = { "props.video_kind" = "demo" }

[[micro_conversion]]
name = "product_add"
event = "add_to_cart"
url_prefix = "/p/"

[[macro_conversion]]
name = "purchase"
event = "purchase"

[[funnel]]
name = "buy"
steps = ["demo_video", "product_add", "purchase"]
window = "10m"
)";

// One visit: a demo video, an add to cart, and (when `buys`) a purchase, all
// carrying personal fields an erasure must remove.
std::string Visit(const std::string& sid, const std::string& anon, const std::string& user, bool buys) {
  const std::string ids = R"("session_id":")" + sid + R"(","anonymous_id":")" + anon + "\"" +
                          (user.empty() ? "" : R"(,"user_id":")" + user + "\"");
  std::string body = R"([{"event":"video_play",)" + ids +
                     R"(,"url":"https://shop.example/p/1?email=a%40b","props":{"video_kind":"demo","email":"a@b"}},)"
                     R"({"event":"add_to_cart",)" + ids + R"(,"url":"https://shop.example/p/1?ref=x","title":"Lamp"})";
  if (buys) body += R"(,{"event":"purchase",)" + ids + R"(,"url":"https://shop.example/thanks"})";
  return body + "]";
}

std::vector<std::string> Env(const std::string& url, const std::string& node) {
  return {"FOOTHOLD_EXPORT__CLICKHOUSE__URL=" + url, "FOOTHOLD_EXPORT__CLICKHOUSE__NODE=" + node,
          "FOOTHOLD_EXPORT__CLICKHOUSE__LINGER=20ms", "FOOTHOLD_EXPORT__CLICKHOUSE__TIMEOUT=5s",
          "FOOTHOLD_SESSION__TIMEOUT=2s"};
}

long long MetricValue(HttpClient& c, const std::string& series) {
  const std::string metrics = c.Get("/metrics").body;
  const size_t at = metrics.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(metrics.substr(at + series.size() + 2));
}

// The report without its "export" and "aggregator" blocks (this replica's
// checkpoints, which move with clock ticks).
std::string WithoutExport(std::string body) {
  for (const char* block : {"\"export\":{", "\"aggregator\":{"}) {
    const size_t at = body.find(block);
    if (at != std::string::npos) body.erase(at, body.find('}', at) - at + 1);
  }
  return body;
}

std::string ErasureStatus(HttpClient& admin, int64_t id) {
  simdjson::dom::parser p;
  const HttpResult r = admin.Get("/v1/privacy/erasures");
  if (r.status != 200) return "http " + std::to_string(r.status);
  for (auto e : ParseJson(p, r.body)["erasures"].get_array()) {
    if (Int(e, "erasure_id") == id) return Str(e, "status");
  }
  return "missing";
}

// Rows in ClickHouse that still name the erased visitor (any copy, not FINAL).
long long PersonalRows(const ClickHouseServer& ch) {
  return ch.QueryNumber("SELECT count() FROM foothold.events WHERE user_id = 'u-victim' OR anonymous_id LIKE 'victim%' "
                        "OR session_id LIKE 's-victim%' OR position(url, '?') > 0 AND session_id NOT LIKE 's-other%'");
}

}  // namespace

TEST_CASE("erasure reaches ClickHouse: rows redacted in place, cluster reports unchanged",
          "[integration][clickhouse][privacy]") {
  if (!ClickHouseInstalled()) return;
  TempDir dir;
  ClickHouseServer ch(dir.path());
  if (!ch.started()) FAIL("clickhouse-server did not start\n" << ch.Log());
  std::string error;
  if (!ch.ApplySchema(&error)) FAIL(error);
  const std::string cfg = dir.path() + "/foothold.toml";
  std::ofstream(cfg) << kConfig;
  ServerProcess node(dir.path() + "/data", {"--config", cfg}, Env(ch.url(), "node-e"));
  REQUIRE(node.started());
  HttpClient client(node.port());
  const Headers ua = {{"User-Agent", kBrowserUa}};
  const int64_t t0 = NowMs();
  // The victim: two devices linked by one user id; five other visitors.
  REQUIRE(client.Post("/v1/collect", Visit("s-victim-1", "victim-a", "u-victim", true), "application/json", ua).status == 200);
  REQUIRE(client.Post("/v1/collect", Visit("s-victim-2", "victim-b", "u-victim", false), "application/json", ua).status == 200);
  for (int i = 0; i < 5; ++i) {
    const std::string id = std::to_string(i);
    REQUIRE(client.Post("/v1/collect", Visit("s-other-" + id, "other-" + id, "", i % 2 == 0), "application/json", ua)
                .status == 200);
  }
  const long long total = 3 + 2 + 5 * 2 + 3;
  const std::string range = "from=" + std::to_string(t0 - 3600 * 1000) + "&to=" + std::to_string(NowMs() + 3600 * 1000);
  // Every session closed (2 s timeout) and every row exported: the cluster funnel sees all 7 sessions.
  REQUIRE(WaitUntil([&] {
    const HttpResult f = client.Get("/v1/stats/funnels/buy?scope=cluster&" + range);
    return f.status == 200 && f.body.find("\"sessions\":7") != std::string::npos &&
           MetricValue(client, "foothold_export_pending_records") == 0;
  }, std::chrono::seconds(60), kPoll));
  REQUIRE(ch.QueryNumber("SELECT count() FROM foothold.events FINAL") == total);
  const std::string reports[] = {"/v1/stats/summary?scope=cluster&" + range, "/v1/stats/funnels/buy?scope=cluster&" + range,
                                 "/v1/stats/lift?target=purchase&scope=cluster&" + range};
  std::vector<std::string> before;
  for (const std::string& r : reports) {
    const HttpResult res = client.Get(r);
    REQUIRE(res.status == 200);
    before.push_back(WithoutExport(res.body));
  }
  REQUIRE(PersonalRows(ch) == 5);

  simdjson::dom::parser p;
  const HttpResult erased = client.Request("POST", "/v1/privacy/erase?user_id=u-victim", "", {});
  REQUIRE(erased.status == 200);
  const int64_t id = Int(ParseJson(p, erased.body), "erasure_id");
  CHECK(Int(ParseJson(p, erased.body), "events_erased") == 5);
  REQUIRE(WaitUntil([&] { return ErasureStatus(client, id) == "done"; }, std::chrono::seconds(60), kPoll));

  // Every copy of the victim's rows is gone; their redacted copies took their place.
  CHECK(PersonalRows(ch) == 0);
  CHECK(ch.QueryNumber("SELECT count() FROM foothold.events FINAL") == total);
  CHECK(ch.QueryNumber("SELECT count() FROM foothold.events") == total);
  CHECK(ch.QueryNumber("SELECT count() FROM foothold.events WHERE session_id LIKE 'erased-%' AND event_id = '' "
                       "AND user_id = '' AND anonymous_id = '' AND title = '' AND user_agent = '' AND ip = ''") == 5);
  CHECK(ch.QueryNumber("SELECT uniqExact(session_id) FROM foothold.events WHERE session_id LIKE 'erased-%'") == 2);
  // The matcher's literal stays (video_kind = demo), the other props go.
  CHECK(ch.QueryNumber("SELECT count() FROM foothold.events WHERE session_id LIKE 'erased-%' "
                       "AND props = '{\"video_kind\":\"demo\"}'") == 2);
  for (size_t i = 0; i < before.size(); ++i) {
    INFO(reports[i]);
    CHECK(WithoutExport(client.Get(reports[i]).body) == before[i]);
  }
  CHECK(MetricValue(client, "foothold_export_erasure_pending") == 0);
  // 5 rows redacted while their sessions were open, then again once they closed and took the opaque id.
  CHECK(MetricValue(client, "foothold_export_erasure_rows_total") >= 5);
  // A second erasure of the same person changes nothing, here or there.
  const HttpResult again = client.Request("POST", "/v1/privacy/erase?user_id=u-victim", "", {});
  CHECK(Int(ParseJson(p, again.body), "events_erased") == 0);
  CHECK(ch.QueryNumber("SELECT count() FROM foothold.events") == total);
}

TEST_CASE("erasure while ClickHouse is down: pending_export, survives kill -9, done once ClickHouse is back",
          "[integration][clickhouse][privacy]") {
  if (!ClickHouseInstalled()) return;
  TempDir dir;
  ClickHouseServer ch(dir.path());
  if (!ch.started()) FAIL("clickhouse-server did not start\n" << ch.Log());
  std::string error;
  if (!ch.ApplySchema(&error)) FAIL(error);
  const std::string data = dir.path() + "/data";
  const Headers ua = {{"User-Agent", kBrowserUa}};
  auto node = std::make_unique<ServerProcess>(data, std::vector<std::string>{}, Env(ch.url(), "node-d"));
  REQUIRE(node->started());
  int64_t id = 0;
  {
    HttpClient client(node->port());
    REQUIRE(client.Post("/v1/collect", Visit("s-victim-1", "victim-a", "u-victim", true), "application/json", ua).status == 200);
    REQUIRE(client.Post("/v1/collect", Visit("s-other-1", "other-1", "", true), "application/json", ua).status == 200);
    // Exported, and both sessions closed (2 s): the erasure has nothing left but ClickHouse.
    REQUIRE(WaitUntil([&] {
      return ch.QueryNumber("SELECT count() FROM foothold.events") == 6 &&
             MetricValue(client, "foothold_aggregator_open_sessions") == 0;
    }, std::chrono::seconds(60), kPoll));
    ch.Stop();
    simdjson::dom::parser p;
    const HttpResult erased = client.Request("POST", "/v1/privacy/erase?anonymous_id=victim-a", "", {});
    REQUIRE(erased.status == 200);  // the local erasure does not wait for ClickHouse
    id = Int(ParseJson(p, erased.body), "erasure_id");
    CHECK(Int(ParseJson(p, erased.body), "events_erased") == 3);
    CHECK(client.Get("/v1/sessions/s-victim-1").status == 404);
    REQUIRE(WaitUntil([&] { return MetricValue(client, "foothold_export_erasure_pending") == 1; },
                      std::chrono::seconds(30), kPoll));
    CHECK(ErasureStatus(client, id) == "pending_export");
    node->Kill9();  // between the local phase and the ClickHouse phase
  }
  node = std::make_unique<ServerProcess>(data, std::vector<std::string>{}, Env(ch.url(), "node-d"));
  REQUIRE(node->started());
  HttpClient client(node->port());
  CHECK(ErasureStatus(client, id) == "pending_export");
  REQUIRE(ch.Start());
  REQUIRE(WaitUntil([&] { return ErasureStatus(client, id) == "done"; }, std::chrono::seconds(60), kPoll));
  CHECK(PersonalRows(ch) == 0);
  CHECK(ch.QueryNumber("SELECT count() FROM foothold.events") == 6);
  CHECK(ch.QueryNumber("SELECT count() FROM foothold.events FINAL") == 6);
  CHECK(ch.QueryNumber("SELECT count() FROM foothold.events WHERE event_id = '' AND user_agent = ''") == 3);
  CHECK(MetricValue(client, "foothold_export_erasure_pending") == 0);
}
