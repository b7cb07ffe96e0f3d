// Segment-compatible ingestion against the real binary (README
// "Segment-compatible ingestion", "Sources and write keys"): endpoints,
// write keys, server vs browser sources, time rules, limits, dedupe, and a
// micro-conversion defined on a Segment event name.
#include <catch2/catch.hpp>

#include <csignal>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>

#include "tests/integration/harness.h"
#include "tests/integration/util.h"

using namespace foothold::testing;

namespace {

constexpr char kDesktopUa[] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36";

// "Basic base64(key:)"
std::string Basic(const std::string& key) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string in = key + ":";
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint8_t>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<uint8_t>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[n & 63] : '=';
  }
  return "Basic " + out;
}

std::string Iso(int64_t ms) {
  const time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

const char kConfig[] = R"(
[[source]]
name = "web"
write_key = "pk_web"

[[source]]
name = "backend"
write_key = "sk_backend"
kind = "server"

[[micro_conversion]]
name = "product_added"
event = "Product Added"

[[macro_conversion]]
name = "purchase"
event = "Order Completed"
)";

struct Fixture {
  TempDir dir;
  ServerProcess server;
  HttpClient client;
  explicit Fixture(const std::string& config, std::vector<std::string> env = {})
      : server(dir.path() + "/data", WriteConfig(dir, config), std::move(env)), client(server.port()) {
    if (!server.started()) FAIL("server did not start: " << server.Log());
  }
  static std::vector<std::string> WriteConfig(const TempDir& dir, const std::string& config) {
    if (config.empty()) return {};
    const std::string path = dir.path() + "/foothold.toml";
    std::ofstream(path) << config;
    return {"--config", path};
  }
  // The stored event with this id (GET /v1/events/{id}).
  HttpResult Stored(const std::string& event_id) { return client.Get("/v1/events/" + event_id); }
};

}  // namespace

TEST_CASE("segment: without sources any key is a browser source, time corrected with sentAt", "[integration]") {
  Fixture f("");
  const int64_t now = NowMs();
  // The client's clock is an hour behind; the event happened 5 s before it was sent.
  const int64_t skew = 3600 * 1000;
  const std::string body = R"({"event":"Product Added","anonymousId":"anon-1","messageId":"m-1",)"
                           R"("properties":{"sku":"G-32","price":18.99,"products":[{"id":"p1"}]},)"
                           R"("context":{"page":{"url":"https://shop.example/p/32","title":"Monopoly"}},)"
                           R"("timestamp":")" + Iso(now - skew - 5000) + R"(","sentAt":")" + Iso(now - skew) +
                           R"(","writeKey":"whatever"})";
  auto r = f.client.Post("/v1/track", body, "text/plain", {{"User-Agent", kDesktopUa}});
  REQUIRE(r.status == 200);
  CHECK(r.body == R"({"success":true,"accepted":1,"duplicates":0,"rejected":[]})");
  const int64_t after = NowMs();

  auto s = f.Stored("m-1");
  REQUIRE(s.status == 200);
  simdjson::dom::parser p;
  auto e = ParseJson(p, s.body)["event"].value();
  CHECK(Str(e, "event") == "Product Added");
  CHECK(Str(e, "anonymous_id") == "anon-1");
  CHECK(Str(e, "event_id") == "m-1");
  CHECK(Str(e, "url") == "https://shop.example/p/32");
  CHECK(Str(e, "title") == "Monopoly");
  CHECK(Str(e["props"], "sku") == "G-32");
  CHECK(Str(e["props"], "products") == R"([{"id":"p1"}])");
  CHECK(Str(e, "user_agent") == kDesktopUa);
  CHECK(bool(e["bot"]) == false);
  // received_at - (sentAt - timestamp) = received_at - 5 s.
  CHECK(Int(e, "event_time") == Int(e, "received_at") - 5000);
  CHECK(Int(e, "received_at") >= now);
  CHECK(Int(e, "received_at") <= after);
  CHECK(e["source"].error() == simdjson::NO_SUCH_FIELD);  // no [[source]]: unnamed
  CHECK(f.Stored("nope").status == 404);

  // The same messageId again (an SDK retry) is acknowledged and stored once.
  auto again = f.client.Post("/v1/t", body, "text/plain", {{"User-Agent", kDesktopUa}});
  REQUIRE(again.status == 200);
  CHECK(again.body == R"({"success":true,"accepted":0,"duplicates":1,"rejected":[]})");
}

TEST_CASE("segment: write keys by Basic auth, body or query, unknown keys are 401", "[integration]") {
  Fixture f(kConfig);
  const std::string track = R"({"event":"x","userId":"u"})";
  auto none = f.client.Post("/v1/track", track);
  CHECK(none.status == 401);
  CHECK(none.body.find("\"write_key_missing\"") != std::string::npos);
  auto wrong = f.client.Post("/v1/track", track, "application/json", {{"Authorization", Basic("sk_nope")}});
  CHECK(wrong.status == 401);
  CHECK(wrong.body.find("\"write_key_invalid\"") != std::string::npos);
  CHECK(f.client.Post("/v1/track", R"({"event":"x","userId":"u","writeKey":"nope"})").status == 401);
  CHECK(f.client.Post("/v1/track?writeKey=nope", track).status == 401);

  CHECK(f.client.Post("/v1/track", R"({"event":"x","userId":"u","messageId":"k1"})", "application/json",
                      {{"Authorization", Basic("pk_web")}})
            .status == 200);
  CHECK(f.client.Post("/v1/track", R"({"event":"x","userId":"u","messageId":"k2","writeKey":"pk_web"})").status ==
        200);
  // RudderStack's beacon: text/plain with the key in the query.
  CHECK(f.client.Post("/beacon/v1/batch?writeKey=pk_web",
                      R"({"batch":[{"type":"track","event":"x","userId":"u","messageId":"k3"}]})", "text/plain")
            .status == 200);
  for (const char* id : {"k1", "k2", "k3"}) {
    auto s = f.Stored(id);
    REQUIRE(s.status == 200);
    simdjson::dom::parser p;
    CHECK(Str(ParseJson(p, s.body)["event"].value(), "source") == "web");
  }

  auto m = f.client.Get("/metrics");
  CHECK(m.body.find("foothold_rejections_total{code=\"write_key_missing\"} 1\n") != std::string::npos);
  CHECK(m.body.find("foothold_rejections_total{code=\"write_key_invalid\"} 3\n") != std::string::npos);
}

TEST_CASE("segment: a server source takes context.ip/userAgent and its SDK is no bot", "[integration]") {
  Fixture f(kConfig, {"FOOTHOLD_SHUTDOWN__DRAIN_DELAY=0s"});
  const int64_t now = NowMs();
  const int64_t two_hours_ago = now - 2 * 3600 * 1000;
  const std::string batch =
      R"({"batch":[)"
      R"({"type":"track","event":"Order Completed","userId":"u-9","messageId":"srv-1","timestamp":")" +
      Iso(two_hours_ago) + R"(","context":{"ip":"203.0.113.77","userAgent":")" + kDesktopUa + R"("}},)"
      R"({"type":"track","event":"Product Added","userId":"u-9","messageId":"srv-2"},)"
      R"({"type":"identify","userId":"u-9","messageId":"srv-3","traits":{"plan":"pro","address":{"city":"Lyon"}}})"
      R"(],"sentAt":")" + Iso(now) + R"("})";
  auto r = f.client.Post("/v1/batch", batch, "application/json",
                         {{"Authorization", Basic("sk_backend")}, {"User-Agent", "okhttp/4.9.3"}});
  REQUIRE(r.status == 200);
  CHECK(r.body.find("\"accepted\":3") != std::string::npos);

  simdjson::dom::parser p;
  auto s1 = f.Stored("srv-1");
  REQUIRE(s1.status == 200);
  auto e1 = ParseJson(p, s1.body)["event"].value();
  CHECK(Str(e1, "source") == "backend");
  CHECK(Str(e1, "ip") == "203.0.113.0");  // the end user's, truncated (ip_mode default)
  CHECK(Str(e1, "user_agent") == kDesktopUa);
  CHECK(bool(e1["bot"]) == false);
  CHECK(Int(e1, "event_time") == two_hours_ago);  // an explicit timestamp is kept as sent
  auto s2 = f.Stored("srv-2");
  REQUIRE(s2.status == 200);
  auto e2 = ParseJson(p, s2.body)["event"].value();
  CHECK(Str(e2, "user_agent") == "");  // no end-user UA: a backend event
  CHECK(bool(e2["bot"]) == false);     // okhttp is the SDK, not the user
  CHECK(Str(e2, "ip") == "127.0.0.0");
  auto s3 = f.Stored("srv-3");
  REQUIRE(s3.status == 200);
  auto e3 = ParseJson(p, s3.body)["event"].value();
  CHECK(Str(e3, "event") == "identify");
  CHECK(Str(e3["props"], "address.city") == "Lyon");

  // The same SDK User-Agent on a browser key is a bot, as on /v1/collect.
  REQUIRE(f.client.Post("/v1/track", R"({"event":"Product Added","userId":"u-8","messageId":"web-1"})",
                        "application/json", {{"Authorization", Basic("pk_web")}, {"User-Agent", "okhttp/4.9.3"}})
              .status == 200);
  auto s4 = f.Stored("web-1");
  REQUIRE(s4.status == 200);
  CHECK(bool(ParseJson(p, s4.body)["event"]["bot"]) == true);

  // "Product Added" counts as the micro-conversion product_added: the server
  // source's event, not the browser-keyed bot one.
  HttpResult m;
  for (int i = 0; i < 3000; ++i) {  // until the aggregator caught up (no timing assertion)
    m = f.client.Get("/metrics");
    if (m.body.find("foothold_aggregator_pending_events 0\n") != std::string::npos &&
        m.body.find("foothold_aggregator_checkpoint_seq 4\n") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(m.body.find("foothold_conversion_events_total{name=\"product_added\",kind=\"micro\"} 1\n") != std::string::npos);
  CHECK(m.body.find("foothold_conversion_events_total{name=\"purchase\",kind=\"macro\"} 1\n") != std::string::npos);

  // The stats API filtered by source: each source's (non-bot) events per bucket.
  const std::string range = "&bucket=day&from=" + std::to_string(now - 86400000) + "&to=" + std::to_string(now + 86400000);
  auto events_of = [&](const std::string& source) {
    auto ts = f.client.Get("/v1/stats/timeseries?source=" + source + range);
    REQUIRE(ts.status == 200);
    simdjson::dom::parser tp;
    auto doc = ParseJson(tp, ts.body);
    CHECK(Str(doc, "source") == source);
    int64_t total = 0;
    for (auto point : doc["points"].get_array()) total += Int(point, "events");
    return total;
  };
  CHECK(events_of("backend") == 3);
  CHECK(events_of("web") == 0);  // its one event is a bot
  CHECK(f.client.Get("/v1/stats/timeseries?source=nope" + range).status == 404);
  CHECK(f.client.Get("/v1/stats/timeseries?source=web&name=purchase" + range).status == 400);

  // The per-source series are part of the exactly-once contract: a recount of the log agrees.
  f.server.Signal(SIGTERM);
  REQUIRE(f.server.WaitExit() == 0);
  std::string out;
  CHECK(RunBinary({"verify", "--config", f.dir.path() + "/foothold.toml", "--data-dir", f.dir.path() + "/data"},
                  &out) == 0);
  INFO(out);
  CHECK(out.find("ok: recounted") != std::string::npos);
}

TEST_CASE("segment: limits, gzip, preflight, methods, per-message results", "[integration]") {
  Fixture f("", {"FOOTHOLD_SEGMENT__MAX_MESSAGE_BYTES=1000", "FOOTHOLD_SEGMENT__MAX_BATCH_BYTES=4000"});
  const std::string big(1200, 'x');
  auto single = f.client.Post("/v1/track", R"({"event":"x","userId":"u","properties":{"p":")" + big + "\"}}");
  CHECK(single.status == 413);
  CHECK(single.body.find("\"message_too_large\"") != std::string::npos);
  std::string many = R"({"batch":[)";
  for (int i = 0; i < 120; ++i) many += std::string(i ? "," : "") + R"({"type":"track","event":"x","userId":"u"})";
  many += "]}";
  auto batch = f.client.Post("/v1/batch", many);
  CHECK(batch.status == 413);
  CHECK(batch.body.find("\"body_too_large\"") != std::string::npos);

  // One bad message of a batch: the rest is stored, the answer is still 200.
  auto mixed = f.client.Post(
      "/v1/b", R"({"batch":[{"type":"track","event":"x","userId":"u","properties":{"p":")" + big +
                   R"("}},{"type":"page","anonymousId":"a","messageId":"ok-1"},{"type":"track","event":"x"}]})",
      "text/plain");
  REQUIRE(mixed.status == 200);
  CHECK(mixed.body.find("\"success\":true,\"accepted\":1") != std::string::npos);
  CHECK(mixed.body.find(R"({"index":0,"code":"message_too_large")") != std::string::npos);
  CHECK(mixed.body.find(R"({"index":2,"code":"identity_missing")") != std::string::npos);
  // Nothing usable: 400, which the SDKs do not retry.
  auto bad = f.client.Post("/v1/batch", R"({"batch":[{"type":"nope","userId":"u"}]})");
  CHECK(bad.status == 400);
  CHECK(bad.body.find("\"success\":false") != std::string::npos);
  CHECK(f.client.Post("/v1/batch", "{not json").status == 400);

  auto gz = f.client.Request("POST", "/v1/p", Gzip(R"({"anonymousId":"a","messageId":"gz-1","name":"Home"})"),
                             {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}});
  CHECK(gz.status == 200);
  auto s = f.Stored("gz-1");
  REQUIRE(s.status == 200);
  simdjson::dom::parser p;
  CHECK(Str(ParseJson(p, s.body)["event"].value(), "event") == "page_view");

  auto pre = f.client.Request("OPTIONS", "/v1/batch", "",
                              {{"Origin", "https://shop.example"}, {"Access-Control-Request-Method", "POST"},
                               {"Access-Control-Request-Headers", "authorization,content-type,x-retry-count"}});
  CHECK(pre.status == 204);
  CHECK(pre.header("access-control-allow-headers").find("Authorization, X-Retry-Count") != std::string::npos);
  auto get = f.client.Get("/v1/track");
  CHECK(get.status == 405);
  CHECK(get.header("allow") == "POST, OPTIONS");
}

TEST_CASE("sources.require_write_key guards /v1/collect too", "[integration]") {
  Fixture f(std::string(kConfig) + "\n[sources]\nrequire_write_key = true\n");
  const std::string ev = R"({"event":"x","session_id":"s-rk","event_id":"c-1"})";
  auto none = f.client.Post("/v1/collect", ev);
  CHECK(none.status == 401);
  CHECK(none.body.find("\"write_key_missing\"") != std::string::npos);
  CHECK(f.client.Post("/v1/collect?writeKey=bad", ev).status == 401);
  auto ok = f.client.Post("/v1/collect?writeKey=pk_web", ev, "text/plain", {{"User-Agent", kDesktopUa}});
  REQUIRE(ok.status == 200);
  auto s = f.Stored("c-1");
  REQUIRE(s.status == 200);
  simdjson::dom::parser p;
  CHECK(Str(ParseJson(p, s.body)["event"].value(), "source") == "web");
  auto pixel = f.client.Get("/v1/collect?e=x&sid=s&eid=px-1");
  CHECK(pixel.status == 401);
  CHECK(pixel.header("x-foothold-rejected") == "write_key_missing");
  CHECK(f.client.Get("/v1/collect?e=x&sid=s&eid=px-2&writeKey=pk_web", {{"User-Agent", kDesktopUa}}).status == 200);
}

TEST_CASE("segment: over the rate limit the SDKs get 429 with Retry-After", "[integration]") {
  Fixture f("", {"FOOTHOLD_HTTP__RATE_LIMIT=0.5", "FOOTHOLD_HTTP__RATE_LIMIT_BURST=1"});
  const std::string track = R"({"event":"x","userId":"u","messageId":"rl-1"})";
  REQUIRE(f.client.Post("/v1/t", track, "text/plain").status == 200);
  auto limited = f.client.Post("/v1/t", track, "text/plain", {{"Origin", "https://shop.example"}});
  CHECK(limited.status == 429);
  CHECK(limited.body.find("\"rate_limited\"") != std::string::npos);
  CHECK_FALSE(limited.header("retry-after").empty());
  // A cross-origin SDK can read it: the origin headers and Retry-After are exposed.
  CHECK(limited.header("access-control-allow-origin") == "https://shop.example");
  CHECK(limited.header("access-control-expose-headers").find("Retry-After") != std::string::npos);
}
