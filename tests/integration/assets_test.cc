// Integration tests of the browser assets the binary serves (the tracker at /foothold.js and
// tracker.script_path, the demo shop), of tracker.collect_path aliases, and of CORS as browsers
// need it (server/web/README.md "Serving", README "Browser tracker"). The browser half of these
// contracts is in tests/js/tracker*.test.mjs.
#include <catch2/catch.hpp>

#include <string>

#include "tests/integration/harness.h"

using namespace foothold::testing;

namespace {

struct Fixture {
  TempDir dir;
  ServerProcess server;
  HttpClient client;
  explicit Fixture(std::vector<std::string> env = {})
      : server(dir.path() + "/data", {}, std::move(env)), client(server.port()) {
    if (!server.started()) FAIL("server did not start: " << server.Log());
  }
};

}  // namespace

TEST_CASE("the tracker is served with ETag, Cache-Control and gzip", "[integration]") {
  Fixture f;
  auto plain = f.client.Get("/foothold.js");
  REQUIRE(plain.status == 200);
  CHECK(plain.header("content-type") == "text/javascript; charset=utf-8");
  CHECK(plain.header("cache-control") == "public, max-age=3600, must-revalidate");
  CHECK(plain.header("vary") == "Accept-Encoding");
  CHECK(plain.header("content-encoding").empty());
  CHECK(plain.header("access-control-allow-origin") == "*");  // <script crossorigin integrity=...> from any site
  const std::string etag = plain.header("etag");
  REQUIRE(etag.size() == 18);  // a strong tag: quoted 16 hex digits
  CHECK(etag.front() == '"');
  CHECK(plain.body.find("foothold") != std::string::npos);

  auto gz = f.client.Get("/foothold.js", {{"Accept-Encoding", "gzip, deflate, br"}});
  REQUIRE(gz.status == 200);
  CHECK(gz.header("content-encoding") == "gzip");
  CHECK(gz.body.substr(0, 2) == "\x1f\x8b");  // the gzip magic; the browser tests decode it
  CHECK(gz.body.size() < plain.body.size());
  CHECK(gz.body.size() <= 3072);  // the tracker's budget: 3 KB gzipped
  CHECK(gz.header("etag") != etag);  // a strong ETag names one encoding
  auto refused = f.client.Get("/foothold.js", {{"Accept-Encoding", "gzip;q=0, identity"}});
  CHECK(refused.header("content-encoding").empty());

  auto not_modified = f.client.Get("/foothold.js", {{"If-None-Match", etag}});
  CHECK(not_modified.status == 304);
  CHECK(not_modified.body.empty());
  CHECK(not_modified.header("etag") == etag);
  auto listed = f.client.Get("/foothold.js", {{"If-None-Match", "\"other\", W/" + etag}});
  CHECK(listed.status == 304);
  auto stale = f.client.Get("/foothold.js", {{"If-None-Match", "\"0000000000000000\""}});
  CHECK(stale.status == 200);

  auto head = f.client.Request("HEAD", "/foothold.js");
  CHECK(head.status == 200);
  auto post = f.client.Post("/foothold.js", "x");
  CHECK(post.status == 405);
  CHECK(post.body.find("method_not_allowed") != std::string::npos);
  CHECK(f.client.Get("/demo/").status == 404);  // the demo shop is off by default
}

TEST_CASE("operator-chosen script and collect paths", "[integration]") {
  Fixture f({"FOOTHOLD_TRACKER__SCRIPT_PATH=/s/app.js,/lib/x.js", "FOOTHOLD_TRACKER__COLLECT_PATH=/e,/api/ev"});
  auto script = f.client.Get("/s/app.js");
  CHECK(script.status == 200);
  CHECK(script.body == f.client.Get("/foothold.js").body);
  CHECK(f.client.Get("/lib/x.js").status == 200);

  auto post = f.client.Post("/e?sid=s-alias", R"({"event":"a","session_id":"s-alias"})", "text/plain");
  CHECK(post.status == 200);
  CHECK(post.body.find("\"accepted\":1") != std::string::npos);
  auto pixel = f.client.Get("/api/ev?e=b&sid=s-alias");
  CHECK(pixel.status == 200);
  CHECK(pixel.header("content-type") == "image/gif");
  auto pre = f.client.Request("OPTIONS", "/e", "", {{"Origin", "https://a.example"}});
  CHECK(pre.status == 204);
  auto journey = f.client.Get("/v1/sessions/s-alias");
  CHECK(journey.status == 200);
  CHECK(journey.body.find("\"event\":\"b\"") != std::string::npos);
}

TEST_CASE("tracker paths are validated at load", "[integration]") {
  std::string out;
  CHECK(RunBinary({"--data-dir", "/nonexistent"}, &out, {"FOOTHOLD_TRACKER__SCRIPT_PATH=/v1/collect"}) == 2);
  CHECK(out.find("tracker.script_path") != std::string::npos);
  CHECK(RunBinary({}, &out, {"FOOTHOLD_TRACKER__COLLECT_PATH=no-slash"}) == 2);
  CHECK(out.find("tracker.collect_path") != std::string::npos);
  CHECK(RunBinary({}, &out, {"FOOTHOLD_TRACKER__COLLECT_PATH=/foothold.js"}) == 2);
  CHECK(RunBinary({}, &out, {"FOOTHOLD_TRACKER__COLLECT_PATH=/x", "FOOTHOLD_TRACKER__SCRIPT_PATH=/x"}) == 2);
  CHECK(out.find("both name \"/x\"") != std::string::npos);
  CHECK(RunBinary({}, &out, {"FOOTHOLD_DEMO__ENABLED=maybe"}) == 2);
  CHECK(out.find("demo.enabled") != std::string::npos);
}

TEST_CASE("the demo shop is served when enabled", "[integration]") {
  Fixture f({"FOOTHOLD_DEMO__ENABLED=true"});
  auto index = f.client.Get("/demo/");
  REQUIRE(index.status == 200);
  CHECK(index.header("content-type") == "text/html; charset=utf-8");
  CHECK(index.header("cache-control") == "no-cache");
  CHECK(index.header("access-control-allow-origin").empty());
  CHECK(index.body.find("/foothold.js") != std::string::npos);
  // Single-page routes answer the index; a missing file stays 404.
  CHECK(f.client.Get("/p/desk-lamp").body == index.body);
  CHECK(f.client.Get("/demo/cart").body == index.body);
  CHECK(f.client.Get("/demo/missing.css").status == 404);
  CHECK(f.client.Get("/demo/manual.pdf").header("content-type") == "application/pdf");
}

TEST_CASE("CORS: origins are echoed with credentials, exposed headers, pixels checked by Referer",
          "[integration]") {
  SECTION("every origin allowed: still echoed, never *") {
    Fixture f;
    auto pre = f.client.Request("OPTIONS", "/v1/collect", "",
                                {{"Origin", "https://a.example"}, {"Access-Control-Request-Method", "POST"},
                                 {"Access-Control-Request-Headers", "content-type"}});
    CHECK(pre.status == 204);
    CHECK(pre.header("access-control-allow-origin") == "https://a.example");
    CHECK(pre.header("access-control-allow-credentials") == "true");
    CHECK(pre.header("vary") == "Origin");
    CHECK(pre.header("access-control-allow-headers") == "Content-Type, Content-Encoding, Authorization, X-Retry-Count");
    auto post = f.client.Post("/v1/collect", R"({"event":"a","session_id":"s-cors"})", "application/json",
                              {{"Origin", "https://a.example"}});
    CHECK(post.status == 200);
    CHECK(post.header("access-control-allow-origin") == "https://a.example");
    CHECK(post.header("access-control-allow-credentials") == "true");
    CHECK(post.header("access-control-expose-headers").find("Retry-After") != std::string::npos);
  }
  SECTION("a named list: pixels by Referer") {
    Fixture f({"FOOTHOLD_CORS__ALLOWED_ORIGINS=https://shop.example,http://localhost:3000"});
    auto ok = f.client.Get("/v1/collect?e=a&sid=s-ref", {{"Referer", "https://shop.example/p/lamp?x=1"}});
    CHECK(ok.status == 200);
    auto port = f.client.Get("/v1/collect?e=a&sid=s-ref", {{"Referer", "http://LOCALHOST:3000/"}});
    CHECK(port.status == 200);
    auto bad = f.client.Get("/v1/collect?e=a&sid=s-ref", {{"Referer", "https://evil.example/shop.example"}});
    CHECK(bad.status == 403);
    CHECK(bad.header("content-type") == "image/gif");
    CHECK(bad.header("x-foothold-rejected") == "origin_forbidden");
    auto none = f.client.Get("/v1/collect?e=a&sid=s-ref");  // no Referer (a server, a no-referrer page)
    CHECK(none.status == 200);
    auto post = f.client.Post("/v1/collect", R"({"event":"a","session_id":"s-ref"})", "text/plain",
                              {{"Origin", "https://evil.example"}});
    CHECK(post.status == 403);
  }
}
