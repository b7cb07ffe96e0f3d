// Integration tests of the operator-facing surface: metrics, admin listener
// and token, rate limits, connection cap, idle keep-alive timeout.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "tests/integration/harness.h"
#include "tests/integration/util.h"

using namespace foothold::testing;

TEST_CASE("metrics count requests, events and rejections", "[integration]") {
  TempDir dir;
  ServerProcess server(dir.path() + "/data", {"--config", std::string(FOOTHOLD_SOURCE_DIR) + "/config/foothold.toml"});
  REQUIRE(server.started());
  HttpClient c(server.port());
  REQUIRE(c.Post("/v1/collect", "[{\"event\":\"add_to_cart\",\"session_id\":\"m\"},{\"event\":\"\\t\",\"session_id\":\"m\"}]",
                 "application/json", {{"User-Agent", "Mozilla/5.0 (Macintosh) Safari/605.1.15"}})
              .status == 200);
  HttpResult m;
  const bool counted = WaitUntil(  // until the aggregator has counted it
      [&] {
        m = c.Get("/metrics");
        REQUIRE(m.status == 200);
        return m.body.find("foothold_aggregator_pending_events 0\n") != std::string::npos &&
               m.body.find("foothold_aggregator_checkpoint_seq 1\n") != std::string::npos;
      },
      std::chrono::seconds(30));
  REQUIRE(counted);
  CHECK(m.body.find("foothold_conversion_events_total{name=\"add_to_cart\",kind=\"micro\"} 1\n") != std::string::npos);
  CHECK(m.body.find("foothold_conversion_sessions_total{name=\"add_to_cart\",kind=\"micro\"} 1\n") != std::string::npos);
  CHECK(m.body.find("foothold_conversion_events_total{name=\"purchase\",kind=\"macro\"} 0\n") != std::string::npos);
  CHECK(m.body.find("foothold_aggregator_lag_seconds 0.000\n") != std::string::npos);
  CHECK(m.body.find("foothold_writer_group_events_count 1\n") != std::string::npos);
  CHECK(m.body.find("foothold_rocksdb_memtable_bytes ") != std::string::npos);
  CHECK(m.body.find("foothold_rocksdb_table_readers_bytes ") != std::string::npos);
  CHECK(m.header("content-type").rfind("text/plain; version=0.0.4", 0) == 0);
  CHECK(m.body.find("foothold_events_total{outcome=\"accepted\"} 1\n") != std::string::npos);
  CHECK(m.body.find("foothold_rejections_total{code=\"event_name_invalid\"} 1\n") != std::string::npos);
  CHECK(m.body.find("foothold_http_requests_total{route=\"collect\",code=\"200\"} 1\n") != std::string::npos);
  CHECK(m.body.find("foothold_writer_events_total 1\n") != std::string::npos);
  CHECK(m.body.find("foothold_store_healthy 1\n") != std::string::npos);

  // The exposition passes Prometheus's own linter (scripts/setup.sh test installs promtool).
  if (!ToolAvailable(std::system("command -v promtool >/dev/null 2>&1") == 0, "promtool")) return;
  const std::string path = dir.path() + "/metrics.txt";
  { std::ofstream(path) << m.body; }
  const std::string cmd = "promtool check metrics < " + path + " 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int rc = pclose(p);
  INFO(out);
  CHECK(rc == 0);
}

TEST_CASE("admin endpoints on their own listener behind a bearer token", "[integration]") {
  TempDir dir;
  ServerProcess server(dir.path() + "/data", {"--admin-listen", "127.0.0.1:0"}, {"FOOTHOLD_ADMIN__TOKEN=s3cret"});
  REQUIRE(server.started());
  REQUIRE(server.admin_port() != 0);
  HttpClient pub(server.port());
  HttpClient admin(server.admin_port());
  REQUIRE(pub.Post("/v1/collect", "{\"event\":\"a\",\"session_id\":\"adm\"}").status == 200);
  CHECK(pub.Get("/v1/sessions/adm").status == 404);       // not on the public listener
  CHECK(pub.Get("/metrics").status == 404);
  CHECK(admin.Post("/v1/collect", "{\"event\":\"a\",\"session_id\":\"adm\"}").status == 404);
  auto no_token = admin.Get("/v1/sessions/adm");
  CHECK(no_token.status == 401);
  CHECK(no_token.body.find("unauthorized") != std::string::npos);
  CHECK(admin.Get("/v1/sessions/adm", {{"Authorization", "Bearer wrong"}}).status == 403);
  CHECK(admin.Get("/v1/sessions/adm", {{"Authorization", "Bearer s3cret"}}).status == 200);
  CHECK(admin.Get("/metrics", {{"Authorization", "Bearer s3cret"}}).status == 200);
  CHECK(admin.Get("/healthz").status == 200);
  CHECK(pub.Get("/healthz").status == 200);
}

TEST_CASE("a client over its rate limit gets 429 with Retry-After", "[integration]") {
  TempDir dir;
  ServerProcess server(dir.path() + "/data", {}, {"FOOTHOLD_HTTP__RATE_LIMIT=1", "FOOTHOLD_HTTP__RATE_LIMIT_BURST=3"});
  REQUIRE(server.started());
  HttpClient c(server.port());
  int ok = 0, limited = 0;
  std::string retry_after;
  for (int i = 0; i < 6; ++i) {
    auto r = c.Post("/v1/collect", "{\"event\":\"a\",\"session_id\":\"rl\"}");
    if (r.status == 200) ++ok;
    if (r.status == 429) {
      ++limited;
      retry_after = r.header("retry-after");
      CHECK(r.body.find("rate_limited") != std::string::npos);
    }
  }
  CHECK(ok >= 3);
  CHECK(ok <= 4);  // the burst, plus at most one token refilled while we posted
  CHECK(limited >= 2);
  CHECK(!retry_after.empty());
  CHECK(std::stoi(retry_after) >= 1);
  CHECK(c.Get("/healthz").status == 200);  // health is never rate limited
}

TEST_CASE("connections over http.max_connections are closed, idle ones time out", "[integration]") {
  TempDir dir;
  ServerProcess server(dir.path() + "/data", {},
                       {"FOOTHOLD_HTTP__MAX_CONNECTIONS=2", "FOOTHOLD_HTTP__IDLE_TIMEOUT=400ms"});
  REQUIRE(server.started());
  HttpClient a(server.port()), b(server.port());
  REQUIRE(a.Get("/healthz").status == 200);
  REQUIRE(b.Get("/healthz").status == 200);
  // A third connection is accepted and closed at once: no response.
  CHECK(RawExchange(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 1000).empty());
  // After the idle timeout the first two are gone and new clients get through.
  CHECK(WaitUntil(
      [&] {
        HttpClient c(server.port());
        return c.Get("/healthz").status == 200;
      },
      std::chrono::seconds(10)));
}

TEST_CASE("a client that sends its body too slowly is disconnected", "[integration]") {
  TempDir dir;
  ServerProcess server(dir.path() + "/data", {}, {"FOOTHOLD_HTTP__BODY_TIMEOUT=300ms"});
  REQUIRE(server.started());
  auto start = std::chrono::steady_clock::now();
  // Complete headers promising 100 bytes, then 10 of them and silence.
  std::string got = RawExchange(server.port(),
                                "POST /v1/collect HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                "Content-Length: 100\r\n\r\n{\"event\":",
                                5000);
  auto waited = std::chrono::steady_clock::now() - start;
  CHECK(got.empty());
  CHECK(waited < std::chrono::milliseconds(4500));  // closed by the server, not by our 5 s limit
  HttpClient client(server.port());
  CHECK(client.Get("/healthz").status == 200);
}

TEST_CASE("a full writer queue answers 503 queue_full with Retry-After", "[integration]") {
  TempDir dir;
  // A queue as small as the configuration allows (storage.queue_capacity >=
  // limits.max_events) and one I/O thread: requests that arrive together are
  // appended before the writer is told to commit, so a burst of two-event
  // requests overflows it. Bursts repeat until one is refused (with a deadline).
  ServerProcess server(dir.path() + "/data", {},
                       {"FOOTHOLD_STORAGE__QUEUE_CAPACITY=2", "FOOTHOLD_LIMITS__MAX_EVENTS=2", "FOOTHOLD_THREADS=1"});
  REQUIRE(server.started());
  std::string refused, refused_sid;
  int n = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (refused.empty() && std::chrono::steady_clock::now() < deadline) {
    std::vector<std::string> sids, requests;
    for (int i = 0; i < 16; ++i, ++n) {
      sids.push_back("q" + std::to_string(n));
      std::string body = "[{\"event\":\"a\",\"session_id\":\"" + sids.back() + "\"},{\"event\":\"b\",\"session_id\":\"" +
                         sids.back() + "\"}]";
      requests.push_back("POST /v1/collect HTTP/1.1\r\nHost: x\r\nOrigin: https://shop.example\r\n"
                         "Content-Type: application/json\r\nConnection: close\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body);
    }
    std::vector<std::string> answers = RawBurst(server.port(), requests);
    for (size_t i = 0; i < answers.size(); ++i) {
      if (answers[i].find("\"queue_full\"") != std::string::npos) {
        refused = answers[i];
        refused_sid = sids[i];
        break;
      }
    }
  }
  REQUIRE(!refused.empty());
  CHECK(refused.rfind("HTTP/1.1 503", 0) == 0);
  CHECK(refused.find("Retry-After: 1\r\n") != std::string::npos);
  CHECK(refused.find("Access-Control-Allow-Origin: https://shop.example\r\n") != std::string::npos);
  CHECK(refused.find("Access-Control-Expose-Headers: ") != std::string::npos);  // a tracker reads Retry-After
  HttpClient c(server.port());
  CHECK(c.Get("/v1/sessions/" + refused_sid).status == 404);  // nothing of it was stored
  CHECK(c.Post("/v1/collect", "{\"event\":\"a\",\"session_id\":\"q\"}").status == 200);
  CHECK(c.Get("/metrics").body.find("foothold_rejections_total{code=\"queue_full\"} ") != std::string::npos);
}
