// Integration tests: the real foothold binary on port 0 with a temp data dir,
// spoken to over real HTTP (server/README.md, proto/README.md).
#include <catch2/catch.hpp>

#include <string>

#include "storage/log/sessionizer.h"
#include "tests/integration/harness.h"
#include "tests/integration/util.h"

using namespace foothold::testing;

namespace {

std::string Event(const std::string& name, const std::string& sid, const std::string& extra = "") {
  return "{\"event\":\"" + name + "\",\"session_id\":\"" + sid + "\"" + (extra.empty() ? "" : "," + extra) + "}";
}

struct Fixture {
  TempDir dir;
  ServerProcess server;
  HttpClient client;
  explicit Fixture(std::vector<std::string> args = {}, std::vector<std::string> env = {})
      : server(dir.path() + "/data", std::move(args), std::move(env)), client(server.port()) {
    if (!server.started()) FAIL("server did not start: " << server.Log());
  }
};

}  // namespace

TEST_CASE("a single beacon is acknowledged and read back with its enrichment", "[integration]") {
  Fixture f;
  const int64_t ts = NowMs() - 5000;
  auto r = f.client.Post("/v1/collect",
                         Event("video_play", "sess-1",
                               "\"ts\":" + std::to_string(ts) +
                                   ",\"url\":\"https://shop.example/p/1\",\"props\":{\"kind\":\"demo\",\"n\":3}"),
                         "application/json", {{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"}});
  REQUIRE(r.status == 200);
  REQUIRE(r.body == "{\"accepted\":1,\"duplicates\":0,\"rejected\":[]}");
  REQUIRE(r.header("access-control-allow-origin") == "*");

  auto s = f.client.Get("/v1/sessions/sess-1");
  REQUIRE(s.status == 200);
  simdjson::dom::parser p;
  auto doc = ParseJson(p, s.body);
  REQUIRE(Str(doc, "session_id") == "sess-1");
  simdjson::dom::array events = doc["events"].get_array();
  REQUIRE(events.size() == 1);
  auto e = events.at(0).value();
  CHECK(Str(e, "event") == "video_play");
  CHECK(Int(e, "event_time") == ts);
  CHECK(Int(e, "seq") >= 1);
  CHECK(Int(e, "received_at") >= ts);
  CHECK(Str(e, "event_id").size() == 36);      // server-assigned UUIDv7
  CHECK(Str(e, "event_id")[14] == '7');
  CHECK(Str(e, "ip") == "127.0.0.0");           // ip_mode = truncate (default): IPv4 /24
  CHECK(Str(e, "user_agent") == "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0");
  CHECK(bool(e["bot"]) == false);
  CHECK(Str(e["props"], "kind") == "demo");
}

TEST_CASE("every body shape and content type is accepted", "[integration]") {
  Fixture f;
  SECTION("array") {
    auto r = f.client.Post("/v1/collect", "[" + Event("a", "s-arr") + "," + Event("b", "s-arr") + "]");
    CHECK(r.status == 200);
    CHECK(r.body == "{\"accepted\":2,\"duplicates\":0,\"rejected\":[]}");
  }
  SECTION("sent_at envelope corrects the client clock") {
    const int64_t now = NowMs();
    // The client clock runs one hour fast: sent_at and ts are both an hour ahead.
    const int64_t skew = 3600 * 1000;
    std::string body = "{\"sent_at\":" + std::to_string(now + skew) + ",\"batch\":[" +
                       Event("a", "s-env", "\"ts\":" + std::to_string(now + skew - 10000)) + "]}";
    auto r = f.client.Post("/v1/collect", body, "text/plain;charset=UTF-8");
    REQUIRE(r.status == 200);
    simdjson::dom::parser p;
    auto e = ParseJson(p, f.client.Get("/v1/sessions/s-env").body)["events"].at(0).value();
    const int64_t received = Int(e, "received_at");
    CHECK(Int(e, "event_time") == received - 10000);
  }
  SECTION("ndjson with a bad line stores the rest and names the line") {
    std::string body = Event("a", "s-nd") + "\n{\"event\":\"b\"}\n" + Event("c", "s-nd") + "\n";
    auto r = f.client.Post("/v1/collect", body, "application/x-ndjson");
    REQUIRE(r.status == 200);
    simdjson::dom::parser p;
    auto doc = ParseJson(p, r.body);
    CHECK(Int(doc, "accepted") == 2);
    auto rej = doc["rejected"].at(0).value();
    CHECK(Int(rej, "index") == 1);
    CHECK(Str(rej, "code") == "identity_missing");
  }
  SECTION("gzip") {
    auto r = f.client.Post("/v1/collect", Gzip(Event("a", "s-gz")), "application/json", {{"Content-Encoding", "gzip"}});
    CHECK(r.status == 200);
    CHECK(f.client.Get("/v1/sessions/s-gz").status == 200);
  }
}

TEST_CASE("bad requests get a clear status and a stable code", "[integration]") {
  Fixture f({}, {"FOOTHOLD_LIMITS__MAX_EVENTS=10"});
  simdjson::dom::parser p;
  auto code_of = [&](const HttpResult& r) { return Str(ParseJson(p, r.body)["error"], "code"); };

  auto r = f.client.Post("/v1/collect", "{\"event\":\"a\",\"session_id\":");
  CHECK(r.status == 400);
  CHECK(code_of(r) == "json_invalid");

  r = f.client.Post("/v1/collect", "[{\"event\":\"a\"},{\"session_id\":\"x\"}]");
  CHECK(r.status == 400);
  auto doc = ParseJson(p, r.body);
  CHECK(Int(doc, "accepted") == 0);
  CHECK(Str(doc["rejected"].at(0).value(), "code") == "identity_missing");
  CHECK(Str(doc["rejected"].at(1).value(), "code") == "event_missing");

  r = f.client.Post("/v1/collect", Event("a", "s"), "image/png");
  CHECK(r.status == 415);
  CHECK(code_of(r) == "content_type_unsupported");
  r = f.client.Post("/v1/collect", Event("a", "s"), "text/plain; charset=ISO-8859-1");
  CHECK(r.status == 415);
  CHECK(code_of(r) == "charset_unsupported");
  r = f.client.Post("/v1/collect", Event("a", "s"), "application/json", {{"Content-Encoding", "br"}});
  CHECK(r.status == 415);
  CHECK(code_of(r) == "content_encoding_unsupported");
  r = f.client.Post("/v1/collect", "not gzip at all", "application/json", {{"Content-Encoding", "gzip"}});
  CHECK(r.status == 400);
  CHECK(code_of(r) == "gzip_invalid");

  std::string many = "[";
  for (int i = 0; i < 11; ++i) many += (i ? "," : "") + Event("a", "s");
  many += "]";
  r = f.client.Post("/v1/collect", many);
  CHECK(r.status == 413);
  CHECK(code_of(r) == "too_many_events");

  // 9 MiB of spaces compress to a few KiB: under the 1 MiB wire limit, over the 8 MiB decompressed one.
  std::string bomb = Gzip(Event("a", "s") + std::string(9 << 20, ' '));
  REQUIRE(bomb.size() < (1 << 20));
  r = f.client.Post("/v1/collect", bomb, "application/json", {{"Content-Encoding", "gzip"}});
  CHECK(r.status == 413);
  CHECK(code_of(r) == "body_too_large");

  HttpClient fresh(f.server.port());
  r = fresh.Post("/v1/collect", std::string((1 << 20) + 10, ' '));
  CHECK(r.status == 413);
  CHECK(code_of(r) == "body_too_large");

  HttpClient fresh2(f.server.port());
  r = fresh2.Get("/healthz", {{"X-Big", std::string(9000, 'x')}});
  CHECK(r.status == 413);
  CHECK(code_of(r) == "headers_too_large");

  r = f.client.Request("DELETE", "/v1/collect");
  CHECK(r.status == 405);
  CHECK(code_of(r) == "method_not_allowed");
  CHECK(r.header("allow") == "GET, POST, OPTIONS");
  r = f.client.Get("/nope");
  CHECK(r.status == 404);
  CHECK(code_of(r) == "not_found");
  r = f.client.Get("/v1/sessions/never-seen");
  CHECK(r.status == 404);

  // Invalid UTF-8 inside a string.
  r = f.client.Post("/v1/collect", "{\"event\":\"a\",\"session_id\":\"s\",\"title\":\"\xff\xfe\"}");
  CHECK(r.status == 400);
  CHECK(r.body.find("utf8_invalid") != std::string::npos);

  // Deep nesting and garbage HTTP never take the server down.
  r = f.client.Post("/v1/collect", std::string(100000, '['));
  CHECK(r.status == 400);
  std::string garbage = RawExchange(f.server.port(), "BLAH\r\n\r\n\r\n");
  CHECK(garbage.rfind("HTTP/1.1 400", 0) == 0);
  CHECK(f.client.Get("/healthz").status == 200);
}

TEST_CASE("duplicates by event_id are acknowledged and stored once", "[integration]") {
  Fixture f;
  std::string ev = Event("purchase", "s-dup", "\"event_id\":\"order-42\"");
  auto r1 = f.client.Post("/v1/collect", ev);
  auto r2 = f.client.Post("/v1/collect", "[" + ev + "," + Event("x", "s-dup", "\"event_id\":\"other\"") + "]");
  CHECK(r1.body == "{\"accepted\":1,\"duplicates\":0,\"rejected\":[]}");
  CHECK(r2.status == 200);
  CHECK(r2.body == "{\"accepted\":1,\"duplicates\":1,\"rejected\":[]}");
  auto only_dups = f.client.Post("/v1/collect", ev);
  CHECK(only_dups.status == 200);
  CHECK(only_dups.body == "{\"accepted\":0,\"duplicates\":1,\"rejected\":[]}");
  simdjson::dom::parser p;
  auto events = ParseJson(p, f.client.Get("/v1/sessions/s-dup").body)["events"].get_array();
  CHECK(events.value().size() == 2);
}

TEST_CASE("the journey is read back ordered by event time", "[integration]") {
  Fixture f;
  const int64_t t0 = NowMs() - 60000;
  f.client.Post("/v1/collect", Event("third", "s-ord", "\"ts\":" + std::to_string(t0 + 3000)));
  f.client.Post("/v1/collect", "[" + Event("first", "s-ord", "\"ts\":" + std::to_string(t0 + 1000)) + "," +
                                   Event("second", "s-ord", "\"ts\":" + std::to_string(t0 + 2000)) + "]");
  simdjson::dom::parser p;
  auto events = ParseJson(p, f.client.Get("/v1/sessions/s-ord").body)["events"].get_array().value();
  REQUIRE(events.size() == 3);
  CHECK(Str(events.at(0).value(), "event") == "first");
  CHECK(Str(events.at(1).value(), "event") == "second");
  CHECK(Str(events.at(2).value(), "event") == "third");
}

TEST_CASE("visitors without session_id are sessionized by inactivity", "[integration]") {
  Fixture f;
  const int64_t t0 = NowMs() - 3 * 3600 * 1000;
  auto ev = [&](const char* name, int64_t t) {
    return std::string("{\"event\":\"") + name + "\",\"anonymous_id\":\"visitor-9\",\"ts\":" + std::to_string(t) + "}";
  };
  // Two events 10 minutes apart, then one after a 2-hour gap: two sessions.
  REQUIRE(f.client.Post("/v1/collect", ev("a", t0)).status == 200);
  REQUIRE(f.client.Post("/v1/collect", ev("b", t0 + 600000)).status == 200);
  REQUIRE(f.client.Post("/v1/collect", ev("c", t0 + 600000 + 7200000)).status == 200);
  const std::string s1 = foothold::storage::DeriveSessionId("a:visitor-9", t0);
  const std::string s2 = foothold::storage::DeriveSessionId("a:visitor-9", t0 + 600000 + 7200000);
  simdjson::dom::parser p;
  auto first = ParseJson(p, f.client.Get("/v1/sessions/" + s1).body)["events"].get_array().value();
  CHECK(first.size() == 2);
  auto second = f.client.Get("/v1/sessions/" + s2);
  REQUIRE(second.status == 200);
  CHECK(second.body.find("\"event\":\"c\"") != std::string::npos);
}

TEST_CASE("the pixel stores a GET beacon and answers a GIF", "[integration]") {
  Fixture f;
  auto r = f.client.Get("/v1/collect?e=wishlist_add&sid=s-px&u=%2Fp%2F7&p.color=red&x.autoplay=on");
  REQUIRE(r.status == 200);
  CHECK(r.header("content-type") == "image/gif");
  CHECK(r.header("cache-control") == "no-store");
  CHECK(r.body.size() == 43);
  CHECK(r.body.rfind("GIF89a", 0) == 0);
  auto s = f.client.Get("/v1/sessions/s-px");
  REQUIRE(s.status == 200);
  CHECK(s.body.find("\"url\":\"/p/7\"") != std::string::npos);
  CHECK(s.body.find("\"color\":\"red\"") != std::string::npos);

  // HEAD answers like GET but stores nothing.
  auto head = f.client.Request("HEAD", "/v1/collect?e=head_probe&sid=s-head");
  CHECK(head.status == 200);
  CHECK(head.header("content-type") == "image/gif");
  CHECK(f.client.Get("/v1/sessions/s-head").status == 404);

  auto bad = f.client.Get("/v1/collect?sid=s-px");
  CHECK(bad.status == 400);
  CHECK(bad.body.size() == 43);
  CHECK(bad.header("x-foothold-rejected") == "event_missing");
}

TEST_CASE("CORS preflight and origin checks", "[integration]") {
  SECTION("default allows any origin") {
    Fixture f;
    auto r = f.client.Request("OPTIONS", "/v1/collect", "", {{"Origin", "https://a.example"},
                                                             {"Access-Control-Request-Method", "POST"}});
    CHECK(r.status == 204);
    CHECK(r.header("access-control-allow-origin") == "https://a.example");  // echoed, never "*"
    CHECK(r.header("access-control-allow-methods") == "GET, POST, OPTIONS");
    CHECK(r.header("access-control-allow-headers") == "Content-Type, Content-Encoding, Authorization, X-Retry-Count");
    CHECK(r.header("access-control-max-age") == "86400");
  }
  SECTION("a named list") {
    Fixture f({}, {"FOOTHOLD_CORS__ALLOWED_ORIGINS=https://shop.example"});
    auto ok = f.client.Post("/v1/collect", Event("a", "s-c"), "text/plain", {{"Origin", "https://shop.example"}});
    CHECK(ok.status == 200);
    CHECK(ok.header("access-control-allow-origin") == "https://shop.example");
    auto pre = f.client.Request("OPTIONS", "/v1/collect", "", {{"Origin", "https://evil.example"}});
    CHECK(pre.status == 403);
    auto bad = f.client.Post("/v1/collect", Event("a", "s-c"), "text/plain", {{"Origin", "https://evil.example"}});
    CHECK(bad.status == 403);
    CHECK(bad.body.find("origin_forbidden") != std::string::npos);
  }
}

TEST_CASE("client IP through trusted proxies and ip_mode", "[integration]") {
  SECTION("untrusted peer: X-Forwarded-For is ignored") {
    Fixture f({}, {"FOOTHOLD_PRIVACY__IP_MODE=full"});
    f.client.Post("/v1/collect", Event("a", "s-ip"), "application/json", {{"X-Forwarded-For", "9.9.9.9"}});
    CHECK(f.client.Get("/v1/sessions/s-ip").body.find("\"ip\":\"127.0.0.1\"") != std::string::npos);
  }
  SECTION("trusted peer: the right-most untrusted entry, not the forgeable left-most") {
    Fixture f({}, {"FOOTHOLD_PRIVACY__IP_MODE=full", "FOOTHOLD_TRUSTED_PROXIES=127.0.0.0/8,10.0.0.0/8"});
    f.client.Post("/v1/collect", Event("a", "s-ip"), "application/json",
                  {{"X-Forwarded-For", "6.6.6.6, 203.0.113.7, 10.1.2.3"}});
    CHECK(f.client.Get("/v1/sessions/s-ip").body.find("\"ip\":\"203.0.113.7\"") != std::string::npos);
    // Several X-Forwarded-For fields are one list, in the order sent.
    f.client.Post("/v1/collect", Event("a", "s-ip2"), "application/json",
                  {{"X-Forwarded-For", "6.6.6.6, 198.51.100.9"}, {"User-Agent", "Mozilla/5.0 (X11) Firefox/125.0"},
                   {"x-forwarded-for", "10.1.2.3"}});
    CHECK(f.client.Get("/v1/sessions/s-ip2").body.find("\"ip\":\"198.51.100.9\"") != std::string::npos);
  }
  SECTION("none stores no address") {
    Fixture f({}, {"FOOTHOLD_PRIVACY__IP_MODE=none"});
    f.client.Post("/v1/collect", Event("a", "s-ip"));
    CHECK(f.client.Get("/v1/sessions/s-ip").body.find("\"ip\":\"\"") != std::string::npos);
  }
}

TEST_CASE("bots are flagged", "[integration]") {
  Fixture f;
  f.client.Post("/v1/collect", Event("a", "s-bot"), "application/json",
                {{"User-Agent", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}});
  CHECK(f.client.Get("/v1/sessions/s-bot").body.find("\"bot\":true") != std::string::npos);
}
