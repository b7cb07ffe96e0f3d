// Integration tests of the paged journey readback (README "Journey readback"):
// GET /v1/sessions/{id}?limit=&cursor= pages through a long session in order,
// each page bounded in events and bytes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/harness.h"
#include "tests/integration/util.h"

using namespace foothold::testing;

namespace {

const Headers kBrowser = {{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36"}};

// Posts `n` events into session `sid`, each with `pad` bytes of url, in
// batches that stay under limits.max_body_bytes.
void PostSession(HttpClient& c, const std::string& sid, int n, size_t pad) {
  const std::string url = "https://shop.test/" + std::string(pad, 'p');
  const int per_batch = static_cast<int>(std::min<size_t>(500, (900u << 10) / (pad + 150)));
  for (int done = 0; done < n;) {
    std::string body = "[";
    for (int k = 0; k < per_batch && done < n; ++k, ++done) {
      if (k) body += ',';
      body += "{\"event\":\"e\",\"session_id\":\"" + sid + "\",\"event_id\":\"" + sid + "-" + std::to_string(done) +
              "\",\"ts\":" + std::to_string(1700000000000LL + done % 97) + ",\"url\":\"" + url + "\"}";
    }
    body += "]";
    REQUIRE(c.Post("/v1/collect", body, "application/json", kBrowser).status == 200);
  }
}

struct Page {
  size_t events = 0;
  size_t body_bytes = 0;
  std::string next;  // "" when null
};

// Reads every page; `ids` collects event_ids in page order, `order` (event_time, seq).
std::vector<Page> ReadAll(HttpClient& c, const std::string& sid, const std::string& limit,
                          std::vector<std::string>* ids, std::vector<std::pair<int64_t, int64_t>>* order) {
  std::vector<Page> pages;
  std::string cursor;
  simdjson::dom::parser p;
  for (int guard = 0; guard < 1000; ++guard) {
    std::string target = "/v1/sessions/" + sid + (limit.empty() ? "?x=1" : "?limit=" + limit);
    if (!cursor.empty()) target += "&cursor=" + cursor;
    HttpResult r = c.Get(target);
    REQUIRE(r.status == 200);
    simdjson::dom::element doc = ParseJson(p, r.body);
    Page page;
    page.body_bytes = r.body.size();
    for (simdjson::dom::element e : doc["events"].get_array()) {
      ids->push_back(Str(e, "event_id"));
      order->emplace_back(Int(e, "event_time"), Int(e, "seq"));
      ++page.events;
    }
    std::string_view next;
    if (doc["next_cursor"].get(next) == simdjson::SUCCESS) page.next = std::string(next);
    pages.push_back(page);
    if (page.next.empty()) break;
    cursor = page.next;
  }
  return pages;
}

}  // namespace

TEST_CASE("readback pages: limit and cursor walk a long session in order, each event once", "[integration]") {
  TempDir dir;
  ServerProcess server(dir.path() + "/data");
  REQUIRE(server.started());
  HttpClient c(server.port());
  PostSession(c, "long", 2500, 10);

  std::vector<std::string> ids;
  std::vector<std::pair<int64_t, int64_t>> order;
  std::vector<Page> pages = ReadAll(c, "long", "", &ids, &order);  // the default limit: 1000
  REQUIRE(pages.size() == 3);
  CHECK(pages[0].events == 1000);
  CHECK(pages[1].events == 1000);
  CHECK(pages[2].events == 500);
  CHECK(pages[2].next.empty());
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 2500);
  CHECK(std::is_sorted(order.begin(), order.end()));

  ids.clear();
  order.clear();
  pages = ReadAll(c, "long", "7", &ids, &order);
  CHECK(pages.size() == 358);  // 357 full pages, then one of 1
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 2500);
  CHECK(std::is_sorted(order.begin(), order.end()));

  // A session that fits one page says so with a null cursor.
  PostSession(c, "short", 3, 10);
  HttpResult r = c.Get("/v1/sessions/short");
  CHECK(r.status == 200);
  CHECK(r.body.find("\"next_cursor\":null") != std::string::npos);

  for (const char* bad : {"0", "10001", "-1", "ten", ""}) {
    INFO(bad);
    HttpResult b = c.Get(std::string("/v1/sessions/long?limit=") + bad);
    CHECK(b.status == 400);
    CHECK(b.body.find("limit_invalid") != std::string::npos);
  }
  for (const char* bad : {"zz", "0123456789abcdef0123456789abcdeg", "00"}) {
    INFO(bad);
    HttpResult b = c.Get(std::string("/v1/sessions/long?cursor=") + bad);
    CHECK(b.status == 400);
    CHECK(b.body.find("cursor_invalid") != std::string::npos);
  }
  CHECK(c.Get("/v1/sessions/nobody?limit=5").status == 404);
}

TEST_CASE("readback pages stop after about 4 MiB of records whatever the limit", "[integration]") {
  TempDir dir;
  ServerProcess server(dir.path() + "/data");
  REQUIRE(server.started());
  HttpClient c(server.port());
  PostSession(c, "big", 3000, 2000);  // ~2 KiB a record, ~6 MiB in all

  std::vector<std::string> ids;
  std::vector<std::pair<int64_t, int64_t>> order;
  std::vector<Page> pages = ReadAll(c, "big", "10000", &ids, &order);
  REQUIRE(pages.size() >= 2);
  CHECK(pages[0].events < 3000);
  CHECK(pages[0].body_bytes < (6u << 20));
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 3000);
  CHECK(std::is_sorted(order.begin(), order.end()));
}

TEST_CASE("session.max_events: a session's events past the cap are stored and counted, not indexed, "
          "other sessions are unaffected",
          "[integration]") {
  TempDir dir;
  ServerProcess server(dir.path() + "/data", {}, {"FOOTHOLD_SESSION__MAX_EVENTS=50"});
  REQUIRE(server.started());
  HttpClient c(server.port());
  PostSession(c, "abusive", 80, 10);  // every event acknowledged (200)
  PostSession(c, "normal", 20, 10);

  std::vector<std::string> ids;
  std::vector<std::pair<int64_t, int64_t>> order;
  ReadAll(c, "abusive", "", &ids, &order);
  CHECK(ids.size() == 50);
  ids.clear();
  ReadAll(c, "normal", "", &ids, &order);
  CHECK(ids.size() == 20);
  HttpResult m = c.Get("/metrics");
  CHECK(m.body.find("foothold_session_overflow_events_total 30") != std::string::npos);
  CHECK(m.body.find("foothold_writer_events_total 100") != std::string::npos);  // all stored
}
