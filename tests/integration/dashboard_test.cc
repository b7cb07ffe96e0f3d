// Integration tests of the dashboard's server side through the real binary: GET /dashboard and its
// embedded assets on the admin listener (no token needed for the page itself), and
// GET /v1/stats/definitions, the list of funnels, experiments and conversions the page reads.
#include <catch2/catch.hpp>

#include "tests/integration/harness.h"
#include "tests/integration/util.h"

using namespace foothold::testing;

namespace {
const std::string kConfig = std::string(FOOTHOLD_SOURCE_DIR) + "/config/foothold.toml";
}  // namespace

TEST_CASE("the dashboard is served from the binary on the admin listener", "[integration]") {
  TempDir dir;
  ServerProcess server(dir.path() + "/data", {"--config", kConfig, "--admin-listen", "127.0.0.1:0"},
                       {"FOOTHOLD_ADMIN__TOKEN=s3cret"});
  REQUIRE(server.started());
  HttpClient pub(server.port());
  HttpClient admin(server.admin_port());

  // The page asks for the token itself: it is served without one, the reports it reads are not.
  auto page = admin.Get("/dashboard");
  REQUIRE(page.status == 200);
  CHECK(page.header("content-type") == "text/html; charset=utf-8");
  CHECK(page.body.find("<title>Foothold dashboard</title>") != std::string::npos);
  CHECK(admin.Get("/dashboard/").body == page.body);
  auto js = admin.Get("/dashboard/app.js");
  CHECK(js.status == 200);
  CHECK(js.header("content-type") == "text/javascript; charset=utf-8");
  CHECK(admin.Get("/dashboard/vendor/uplot/uPlot.iife.min.js").status == 200);
  CHECK(admin.Get("/dashboard/style.css").header("content-type") == "text/css; charset=utf-8");
  CHECK(admin.Get("/v1/stats/definitions").status == 401);

  auto missing = admin.Get("/dashboard/nope.js");
  CHECK(missing.status == 404);
  CHECK(missing.body.find("\"not_found\"") != std::string::npos);
  // The shared asset handler: a strong ETag, 304 on revalidation, gzip when accepted.
  const std::string etag = js.header("etag");
  CHECK(!etag.empty());
  CHECK(admin.Get("/dashboard/app.js", {{"If-None-Match", etag}}).status == 304);
  CHECK(admin.Get("/dashboard/app.js", {{"Accept-Encoding", "gzip"}}).header("content-encoding") == "gzip");
  CHECK(js.header("cache-control") == "no-cache");
  auto post = admin.Post("/dashboard", "x", "text/plain");
  CHECK(post.status == 405);
  CHECK(post.header("allow") == "GET, HEAD");
  // Admin pages stay off the public listener when an admin listener is configured.
  CHECK(pub.Get("/dashboard").status == 404);
}

TEST_CASE("stats definitions list what the config defines", "[integration]") {
  TempDir dir;
  ServerProcess server(dir.path() + "/data", {"--config", kConfig}, {"FOOTHOLD_ADMIN__TOKEN=s3cret"});
  REQUIRE(server.started());
  HttpClient client(server.port());
  auto r = client.Get("/v1/stats/definitions", {{"Authorization", "Bearer s3cret"}});
  REQUIRE(r.status == 200);
  simdjson::dom::parser p;
  simdjson::dom::element d = ParseJson(p, r.body);
  simdjson::dom::array funnels = d["funnels"].get_array().value();
  REQUIRE(funnels.size() == 1);
  simdjson::dom::element funnel = funnels.at(0).value();
  CHECK(std::string_view(funnel["name"].get_string().value()) == "checkout");
  simdjson::dom::array steps = funnel["steps"].get_array().value();
  CHECK(steps.size() == 3);
  simdjson::dom::element experiment = d["experiments"].at(0).value();
  CHECK(std::string_view(experiment["name"].get_string().value()) == "video_autoplay");
  simdjson::dom::array variants = experiment["variants"].get_array().value();
  CHECK(variants.size() == 2);
  int macros = 0, micros = 0;
  simdjson::dom::array conversions = d["conversions"].get_array().value();
  for (simdjson::dom::element c : conversions) {
    std::string_view kind = c["kind"].get_string().value();
    (kind == "macro" ? macros : micros)++;
  }
  CHECK(macros == 1);
  CHECK(micros == 10);
  CHECK(d["aggregator"]["checkpoint_seq"].get_uint64().value() == 0);
}
