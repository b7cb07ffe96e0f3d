// Integration tests of the aggregator through the real binary: exactly-once
// counting across repeated kill -9 during ingest and aggregation (checked by
// the stats API and by `foothold verify`), and the stats endpoints' contract.
#include <catch2/catch.hpp>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "tests/integration/harness.h"
#include "tests/integration/util.h"

using namespace foothold::testing;

namespace {

const Headers kBrowser = {{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0"}};
const std::string kConfig = std::string(FOOTHOLD_SOURCE_DIR) + "/config/foothold.toml";

// Waits until the aggregator has counted everything committed; returns the summary body.
std::string CaughtUpSummary(HttpClient& client, const std::string& query) {
  simdjson::dom::parser p;
  std::string body;
  const bool caught_up = WaitUntil(
      [&] {
        auto r = client.Get("/v1/stats/summary?" + query);
        REQUIRE(r.status == 200);
        body = r.body;
        return Int(ParseJson(p, body)["aggregator"].value(), "pending_events") == 0;
      },
      std::chrono::seconds(60));
  if (!caught_up) FAIL("the aggregator did not catch up");
  return body;
}

std::map<std::string, int64_t> ConversionEvents(const std::string& summary) {
  simdjson::dom::parser p;
  std::map<std::string, int64_t> out;
  simdjson::dom::array conversions = ParseJson(p, summary)["conversions"].get_array().value();
  for (simdjson::dom::element c : conversions) {
    out[Str(c, "name")] = Int(c, "events");
  }
  return out;
}

}  // namespace

// storage/README.md "Aggregator: exactly once": three kill -9s while four clients post
// (the aggregator runs throughout), then a clean run that retries whatever was
// never acknowledged. Every posted event must be counted exactly once, and
// `foothold verify` must find the counters equal to a recount of the log.
TEST_CASE("kill -9 during ingest and aggregation never double- or under-counts", "[integration]") {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  const std::vector<std::string> args = {"--config", kConfig};
  const char* kinds[] = {"add_to_cart", "video_play", "purchase", "page_view", "site_search"};
  const int64_t t0 = NowMs() - 3600 * 1000;

  std::mutex mu;
  std::map<std::string, std::string> bodies;  // request key -> body, every request ever sent
  std::map<std::string, bool> acked;          // request key -> acknowledged
  std::map<std::string, int64_t> posted;      // event name -> events posted
  for (int round = 0; round < 3; ++round) {
    auto server = std::make_unique<ServerProcess>(data, args);
    REQUIRE(server->started());
    std::atomic<bool> stop{false};
    std::atomic<int> sent{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; ++t) {
      clients.emplace_back([&, t] {
        HttpClient client(server->port());
        for (int i = 0; !stop.load(); ++i) {
          const std::string key = std::to_string(round) + "-" + std::to_string(t) + "-" + std::to_string(i);
          std::string body = "[";
          std::map<std::string, int64_t> counts;
          for (int k = 0; k < 10; ++k) {
            const char* kind = kinds[(i + k) % 5];
            ++counts[kind];
            body += (k ? "," : "") + std::string("{\"event\":\"") + kind + "\",\"session_id\":\"s-" + key.substr(0, 3) +
                    "-" + std::to_string(i % 13) + "\",\"event_id\":\"" + key + "-" + std::to_string(k) +
                    "\",\"ts\":" + std::to_string(t0 + i * 100 + k) + "}";
          }
          body += "]";
          {
            std::lock_guard<std::mutex> lock(mu);
            bodies[key] = body;
            acked[key] = false;
            for (auto& [kind, n] : counts) posted[kind] += n;
          }
          auto r = client.Post("/v1/collect", body, "application/json", kBrowser);
          if (r.status == 0) break;  // killed
          if (r.status == 200) {
            std::lock_guard<std::mutex> lock(mu);
            acked[key] = true;
          }
          sent.fetch_add(1);
        }
      });
    }
    const bool busy = WaitUntil([&] { return sent.load() >= 150 * (round + 1); }, std::chrono::seconds(60),
                                std::chrono::milliseconds(2));
    server->Kill9();
    stop = true;
    for (auto& c : clients) c.join();
    REQUIRE(busy);
  }

  auto server = std::make_unique<ServerProcess>(data, args);
  REQUIRE(server->started());
  HttpClient client(server->port());
  size_t retried = 0;
  for (auto& [key, ok] : acked) {
    if (ok) continue;
    auto r = client.Post("/v1/collect", bodies[key], "application/json", kBrowser);
    REQUIRE(r.status == 200);  // accepted now, or deduplicated if it had reached the log
    ++retried;
  }
  INFO("requests: " << bodies.size() << ", retried after the crashes: " << retried);
  const std::string range = "from=" + std::to_string(t0 - 60000) + "&to=" + std::to_string(NowMs() + 60000);
  const std::string summary = CaughtUpSummary(client, range);
  std::map<std::string, int64_t> counted = ConversionEvents(summary);
  for (const char* kind : {"add_to_cart", "video_play", "purchase", "site_search"}) {
    INFO(kind);
    CHECK(counted[kind] == posted[kind]);
  }
  simdjson::dom::parser p;
  int64_t total = 0;
  for (auto& [kind, n] : posted) total += n;
  CHECK(Int(ParseJson(p, summary), "events") == total);

  server->Signal(SIGTERM);
  REQUIRE(server->WaitExit() == 0);
  std::string out;
  CHECK(RunBinary({"verify", "--config", kConfig, "--data-dir", data}, &out) == 0);
  INFO(out);
  CHECK(out.find("ok: recounted") != std::string::npos);
}

TEST_CASE("stats endpoints answer from the counters and reject bad parameters", "[integration]") {
  TempDir dir;
  ServerProcess server(dir.path() + "/data", {"--config", kConfig, "--admin-listen", "127.0.0.1:0"},
                       {"FOOTHOLD_ADMIN__TOKEN=s3cret", "FOOTHOLD_SESSION__TIMEOUT=1s"});
  REQUIRE(server.started());
  HttpClient pub(server.port());
  HttpClient admin(server.admin_port());
  const Headers auth = {{"Authorization", "Bearer s3cret"}};

  const int64_t t = (NowMs() / 3600000 - 2) * 3600000 + 5 * 60000;  // 2 h ago, 5 min past the hour
  std::string body = "[";
  body += "{\"event\":\"page_view\",\"session_id\":\"v1\",\"ts\":" + std::to_string(t) +
          ",\"url\":\"https://shop.example/p/9\",\"experiments\":{\"video_autoplay\":\"autoplay\"}},";
  body += "{\"event\":\"video_play\",\"session_id\":\"v1\",\"ts\":" + std::to_string(t + 1000) + "},";
  body += "{\"event\":\"engagement\",\"session_id\":\"v1\",\"ts\":" + std::to_string(t + 200000) +
          ",\"url\":\"https://shop.example/p/9\",\"engaged_ms\":185000},";
  body += "{\"event\":\"add_to_cart\",\"session_id\":\"v1\",\"ts\":" + std::to_string(t + 210000) + "},";
  body += "{\"event\":\"begin_checkout\",\"session_id\":\"v1\",\"ts\":" + std::to_string(t + 220000) + "},";
  body += "{\"event\":\"purchase\",\"session_id\":\"v1\",\"ts\":" + std::to_string(t + 300000) + "},";
  body += "{\"event\":\"add_to_cart\",\"session_id\":\"v2\",\"ts\":" + std::to_string(t) +
          ",\"experiments\":{\"video_autoplay\":\"control\"}}]";
  REQUIRE(pub.Post("/v1/collect", body, "application/json", kBrowser).status == 200);
  // A bot's purchase is stored but never counted.
  REQUIRE(pub.Post("/v1/collect", "{\"event\":\"purchase\",\"session_id\":\"b\"}", "application/json",
                   {{"User-Agent", "Googlebot/2.1"}})
              .status == 200);

  // Stats live on the admin listener and need the token.
  CHECK(pub.Get("/v1/stats/summary").status == 404);
  CHECK(admin.Get("/v1/stats/summary").status == 401);
  CHECK(admin.Get("/v1/stats/summary", {{"Authorization", "Bearer nope"}}).status == 403);

  simdjson::dom::parser p;
  std::string summary;
  REQUIRE(WaitUntil(  // the aggregator has counted all 8
      [&] {
        auto r = admin.Get("/v1/stats/summary", auth);
        REQUIRE(r.status == 200);
        summary = r.body;
        return Int(ParseJson(p, summary)["aggregator"].value(), "checkpoint_seq") >= 8;
      },
      std::chrono::seconds(30)));
  simdjson::dom::element s = ParseJson(p, summary);
  CHECK(Int(s, "events") == 7);
  CHECK(Int(s, "sessions") == 2);
  std::map<std::string, int64_t> events = ConversionEvents(summary);
  CHECK(events["video_play"] == 1);
  CHECK(events["product_dwell_3m"] == 1);
  CHECK(events["add_to_cart"] == 2);
  CHECK(events["purchase"] == 1);  // not the bot's
  simdjson::dom::array conversions = s["conversions"].get_array().value();
  for (simdjson::dom::element c : conversions) {
    if (Str(c, "name") == "purchase") CHECK(c["rate"].get_double().value() == Approx(0.5));
  }

  // Hourly series over the last 3 h: everything is in the bucket 2 h ago.
  auto ts = admin.Get("/v1/stats/timeseries?name=add_to_cart&bucket=hour&from=" + std::to_string(t - 3600000) +
                          "&to=" + std::to_string(NowMs()),
                      auth);
  REQUIRE(ts.status == 200);
  int64_t in_series = 0, buckets = 0;
  simdjson::dom::array points = ParseJson(p, ts.body)["points"].get_array().value();
  for (simdjson::dom::element pt : points) {
    ++buckets;
    in_series += Int(pt, "events");
    if (Int(pt, "t_ms") == t - 5 * 60000) CHECK(Int(pt, "events") == 2);
  }
  CHECK(in_series == 2);
  CHECK(buckets >= 3);

  // Errors: stable codes, the parameter named.
  auto bad = admin.Get("/v1/stats/summary?from=yesterday", auth);
  CHECK(bad.status == 400);
  CHECK(bad.body.find("query_invalid") != std::string::npos);
  CHECK(bad.body.find("from") != std::string::npos);
  CHECK(admin.Get("/v1/stats/summary?from=2025-01-02T00:00:00Z&to=2025-01-01T00:00:00Z", auth).status == 400);
  CHECK(admin.Get("/v1/stats/summary?color=red", auth).status == 400);
  CHECK(admin.Get("/v1/stats/timeseries?name=nope", auth).status == 404);
  CHECK(admin.Get("/v1/stats/timeseries?bucket=week&name=purchase", auth).status == 400);
  auto big = admin.Get("/v1/stats/timeseries?name=purchase&bucket=minute&from=2025-01-01T00:00:00Z&to=2025-03-01T00:00:00Z", auth);
  CHECK(big.status == 400);
  CHECK(big.body.find("range_too_large") != std::string::npos);
  CHECK(admin.Get("/v1/stats/funnels/nope", auth).status == 404);
  CHECK(admin.Get("/v1/stats/experiments/nope", auth).status == 404);
  CHECK(admin.Get("/v1/stats/lift?target=video_play", auth).status == 404);  // not a macro-conversion
  CHECK(admin.Get("/v1/stats/whatever", auth).status == 404);
  CHECK(admin.Request("POST", "/v1/stats/summary", "", auth).status == 405);

  // No more traffic: with a 1 s session timeout the store's clock ticks move
  // the watermark and close both sessions; the funnel, lift and experiment
  // reports then count them.
  std::string funnel;
  REQUIRE(WaitUntil(
      [&] {
        auto r = admin.Get("/v1/stats/funnels/checkout?from=" + std::to_string(t - 86400000), auth);
        REQUIRE(r.status == 200);
        funnel = r.body;
        return Int(ParseJson(p, funnel), "sessions_entered") == 2;
      },
      std::chrono::seconds(30)));
  simdjson::dom::array steps = ParseJson(p, funnel)["steps"].get_array().value();
  std::vector<int64_t> reached;
  for (simdjson::dom::element st : steps) reached.push_back(Int(st, "sessions"));
  CHECK(reached == std::vector<int64_t>{2, 1, 1});
  auto x = admin.Get("/v1/stats/experiments/video_autoplay?from=" + std::to_string(t - 86400000), auth);
  REQUIRE(x.status == 200);
  simdjson::dom::element xe = ParseJson(p, x.body);
  CHECK(xe["enough_data"].get_bool().value() == false);
  CHECK(x.body.find("not enough data") != std::string::npos);
  auto lift = admin.Get("/v1/stats/lift?target=purchase&from=" + std::to_string(t - 86400000), auth);
  REQUIRE(lift.status == 200);
  CHECK(Int(ParseJson(p, lift.body), "sessions") == 2);
  CHECK(lift.body.find("association, not causation") != std::string::npos);
  CHECK(ParseJson(p, lift.body)["enough_data"].get_bool().value() == false);  // 2 sessions
  CHECK(lift.body.find("not enough data: 2 closed sessions") != std::string::npos);
}
