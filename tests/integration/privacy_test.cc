// README.md "Privacy" against the real binary: the erasure endpoints on the
// admin listener (token, bad input, idempotence, the erasure log), suppression
// counted in /metrics, and an erasure in the middle of heavy ingest followed by
// kill -9: after the restart the erasure has happened, and `foothold verify`
// recounts the redacted log to the stored counters.
#include <catch2/catch.hpp>

#include <signal.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness.h"
#include "tests/integration/util.h"

using namespace foothold::testing;

namespace {

const std::string kConfig = std::string(FOOTHOLD_SOURCE_DIR) + "/config/foothold.toml";
const Headers kUa = {{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"}};
const Headers kAuth = {{"Authorization", "Bearer s3cret"}};

std::string Visit(const std::string& sid, const std::string& anon, const std::string& user, int n) {
  std::string body = "[";
  for (int i = 0; i < n; ++i) {
    if (i) body += ",";
    body += R"({"event":")" + std::string(i + 1 == n ? "purchase" : "page_view") + R"(","session_id":")" + sid +
            R"(","anonymous_id":")" + anon + "\"" + (user.empty() ? "" : R"(,"user_id":")" + user + "\"") +
            R"(,"url":"https://shop.example/p/lamp?email=x%40y","props":{"sku":"lamp"}})";
  }
  return body + "]";
}

int64_t Metric(HttpClient& admin, const std::string& name) {
  HttpResult r = admin.Get("/metrics", kAuth);
  size_t at = r.body.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(r.body.substr(at + name.size() + 2));
}

}  // namespace

TEST_CASE("erasure endpoints: admin only, counts, idempotent, bad input, erasure log, suppression", "[integration]") {
  TempDir dir;
  ServerProcess server(dir.path() + "/data", {"--admin-listen", "127.0.0.1:0"}, {"FOOTHOLD_ADMIN__TOKEN=s3cret"});
  REQUIRE(server.started());
  HttpClient pub(server.port());
  HttpClient admin(server.admin_port());
  REQUIRE(pub.Post("/v1/collect", Visit("s-ann", "ann", "u-ann", 3), "application/json", kUa).status == 200);
  REQUIRE(pub.Post("/v1/collect", Visit("s-ann-2", "ann-2", "u-ann", 2), "application/json", kUa).status == 200);
  REQUIRE(pub.Post("/v1/collect", Visit("s-bob", "bob", "", 2), "application/json", kUa).status == 200);
  REQUIRE(pub.Post("/v1/collect", R"({"event":"signup","session_id":"s-ann","anonymous_id":"ann","event_id":"ann-eid-1"})",
                   "application/json", kUa).status == 200);
  REQUIRE(admin.Get("/v1/sessions/s-ann", kAuth).status == 200);
  REQUIRE(admin.Get("/v1/events/ann-eid-1", kAuth).status == 200);

  // Where it is not.
  CHECK(pub.Request("POST", "/v1/privacy/erase?anonymous_id=ann", "", kAuth).status == 404);
  CHECK(admin.Request("POST", "/v1/privacy/erase?anonymous_id=ann").status == 401);
  HttpResult wrong = admin.Request("GET", "/v1/privacy/erase?anonymous_id=ann", "", kAuth);
  CHECK(wrong.status == 405);
  // Malformed: 400 identity_invalid, nothing erased.
  for (const char* q : {"", "?anonymous_id=", "?anonymous_id=a&user_id=b", "?email=a", "?user_id=%01x",
                        "?session_id=a&suppress=maybe"}) {
    INFO(q);
    HttpResult r = admin.Request("POST", std::string("/v1/privacy/erase") + q, "", kAuth);
    CHECK(r.status == 400);
    CHECK(r.body.find("\"identity_invalid\"") != std::string::npos);
  }
  std::string long_id(129, 'x');
  CHECK(admin.Request("POST", "/v1/privacy/erase?user_id=" + long_id, "", kAuth).status == 400);
  CHECK(admin.Get("/v1/sessions/s-ann", kAuth).status == 200);

  simdjson::dom::parser p;
  HttpResult r = admin.Request("POST", "/v1/privacy/erase?anonymous_id=ann&suppress=true", "", kAuth);
  REQUIRE(r.status == 200);
  auto j = ParseJson(p, r.body);
  CHECK(Int(j, "events_erased") == 6);  // s-ann and, through u-ann, s-ann-2
  CHECK(Int(j, "sessions_erased") == 2);
  CHECK(Str(j, "kind") == "anonymous_id");
  CHECK(admin.Get("/v1/sessions/s-ann", kAuth).status == 404);
  CHECK(admin.Get("/v1/sessions/s-ann-2", kAuth).status == 404);
  CHECK(admin.Get("/v1/sessions/s-bob", kAuth).status == 200);
  CHECK(admin.Get("/v1/events/ann-eid-1", kAuth).status == 404);  // the readback by event id too
  // A retry of an erased event is still a duplicate (its dedupe entry holds no personal data).
  r = pub.Post("/v1/collect", R"({"event":"signup","session_id":"s-new","anonymous_id":"other","event_id":"ann-eid-1"})",
               "application/json", kUa);
  CHECK(Int(ParseJson(p, r.body), "duplicates") == 1);
  // Again, and an identity never seen: 0 erased, not an error.
  r = admin.Request("POST", "/v1/privacy/erase?anonymous_id=ann", "", kAuth);
  REQUIRE(r.status == 200);
  CHECK(Int(ParseJson(p, r.body), "events_erased") == 0);
  r = admin.Request("POST", "/v1/privacy/erase?user_id=nobody%20at%20all", "", kAuth);
  REQUIRE(r.status == 200);
  CHECK(Int(ParseJson(p, r.body), "events_erased") == 0);

  // The suppressed visitor's open tab keeps sending: acknowledged, dropped, counted.
  r = pub.Post("/v1/collect", Visit("s-ann-3", "ann", "", 2), "application/json", kUa);
  CHECK(r.status == 200);
  CHECK(Int(ParseJson(p, r.body), "accepted") == 2);
  CHECK(admin.Get("/v1/sessions/s-ann-3", kAuth).status == 404);
  CHECK(Metric(admin, "foothold_suppressed_events_total") == 2);
  CHECK(Metric(admin, "foothold_erased_events_total") == 6);

  // The erasure log: what, when, how many; no personal data.
  r = admin.Get("/v1/privacy/erasures", kAuth);
  REQUIRE(r.status == 200);
  CHECK(r.body.find("ann") == std::string::npos);
  auto entries = ParseJson(p, r.body)["erasures"].get_array();
  REQUIRE(entries.size() == 3);
  CHECK(Int(entries.at(0), "events_erased") == 6);
  CHECK(Str(entries.at(0), "identity").starts_with("a:"));
  CHECK(Str(entries.at(2), "identity").starts_with("u:"));
  CHECK(admin.Get("/v1/privacy/erasures?limit=0", kAuth).status == 400);
  CHECK(admin.Get("/v1/privacy/nothing", kAuth).status == 404);
}

TEST_CASE("an erasure during heavy ingest, then kill -9: it happened, and verify passes", "[integration]") {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  const std::vector<std::string> args = {"--config", kConfig, "--admin-listen", "127.0.0.1:0"};
  auto server = std::make_unique<ServerProcess>(data, args);
  REQUIRE(server->started());
  {
    HttpClient pub(server->port());
    HttpClient admin(server->admin_port());
    for (int v = 0; v < 5; ++v) {
      const std::string id = "victim-" + std::to_string(v);
      REQUIRE(pub.Post("/v1/collect", Visit("s-" + id, id, "u-victim", 4), "application/json", kUa).status == 200);
    }
    // Other visitors post as fast as they can while the erasure runs.
    std::atomic<bool> stop{false};
    std::atomic<int> posted{0};
    std::vector<std::thread> load;
    for (int t = 0; t < 2; ++t) {
      load.emplace_back([&, t] {
        HttpClient c(server->port());
        for (int i = 0; !stop.load(); ++i) {
          const std::string id = "load-" + std::to_string(t) + "-" + std::to_string(i);
          if (c.Post("/v1/collect", Visit("s-" + id, id, "", 5), "application/json", kUa).status == 200) ++posted;
        }
      });
    }
    REQUIRE(WaitUntil([&] { return posted.load() >= 20; }, std::chrono::seconds(30)));
    HttpResult r = admin.Request("POST", "/v1/privacy/erase?user_id=u-victim", "", {});
    REQUIRE(r.status == 200);
    simdjson::dom::parser p;
    CHECK(Int(ParseJson(p, r.body), "events_erased") == 20);
    const int at_erasure = posted.load();
    REQUIRE(WaitUntil([&] { return posted.load() >= at_erasure + 20; }, std::chrono::seconds(30)));
    server->Kill9();  // mid-ingest
    stop.store(true);
    for (auto& t : load) t.join();
  }
  server = std::make_unique<ServerProcess>(data, args);
  REQUIRE(server->started());
  HttpClient admin(server->admin_port());
  for (int v = 0; v < 5; ++v) CHECK(admin.Get("/v1/sessions/s-victim-" + std::to_string(v)).status == 404);
  CHECK(admin.Get("/v1/sessions/s-load-0-0").status == 200);
  HttpResult log = admin.Get("/v1/privacy/erasures");
  REQUIRE(log.status == 200);
  CHECK(log.body.find("\"events_erased\":20") != std::string::npos);
  server->Signal(SIGTERM);
  REQUIRE(server->WaitExit() == 0);
  std::string out;
  CHECK(RunBinary({"verify", "--config", kConfig, "--data-dir", data}, &out) == 0);
  INFO(out);
  CHECK(out.find("ok: recounted") != std::string::npos);
}
