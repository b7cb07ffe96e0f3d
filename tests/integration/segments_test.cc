// Issue 13 end to end: scripts/loadgen.py --segments plants segment effects
// (utm_source=paid buys 2x as often as the rest; mobile's begin_checkout ->
// purchase step leaks far more than desktop's; a third of visitors return)
// and posts them through the real server with the shipped config
// (config/foothold.toml: utm_source, device and visitor dimensions). The
// segmented reports must match the generator's per-segment truth count for
// count, recover the planted effects within their intervals, default the
// opportunities' reach to a best segment's, refuse bad by=/where=, and
// `foothold verify` must recount every segment counter.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <map>

#include "tests/integration/harness.h"
#include "tests/integration/util.h"

using namespace foothold::testing;

namespace {

const std::string kSource = FOOTHOLD_SOURCE_DIR;

double Num(simdjson::dom::element e, const char* key) {
  double v = 0;
  if (e[key].get(v)) throw std::runtime_error(std::string("no number field ") + key);
  return v;
}

std::pair<double, double> Interval(simdjson::dom::element e, const char* key) {
  simdjson::dom::array a = e[key].get_array().value();
  return {a.at(0).get_double().value(), a.at(1).get_double().value()};
}

// The block of `value` in a by= report's segments.
simdjson::dom::element Segment(simdjson::dom::element report, const std::string& value) {
  simdjson::dom::array segments = report["segments"].get_array().value();
  for (simdjson::dom::element s : segments) {
    if (Str(s, "value") == value) return s;
  }
  throw std::runtime_error("no segment " + value);
}

simdjson::dom::element Conversion(simdjson::dom::element block, const std::string& name) {
  simdjson::dom::array conversions = block["conversions"].get_array().value();
  for (simdjson::dom::element c : conversions) {
    if (Str(c, "name") == name) return c;
  }
  throw std::runtime_error("no conversion " + name);
}

}  // namespace

TEST_CASE("segment reports recover the planted segment effects of the shopper simulator", "[integration]") {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  const std::string config = kSource + "/config/foothold.toml";
  auto server = std::make_unique<ServerProcess>(data, std::vector<std::string>{"--config", config},
                                                std::vector<std::string>{"FOOTHOLD_SESSION__TIMEOUT=2s"});
  REQUIRE(server->started());
  const std::string truth_path = dir.path() + "/truth.json";
  const std::string cmd = "python3 " + kSource + "/scripts/loadgen.py --url http://127.0.0.1:" +
                          std::to_string(server->port()) +
                          " --sessions 20000 --seed 11 --segments --connections 2 --print-truth --tick-after 3 > " +
                          truth_path + " 2> " + dir.path() + "/loadgen.log";
  pid_t pid = Spawn({"/bin/sh", "-c", cmd}, {}, dir.path() + "/spawn.log");
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  INFO(ReadFile(dir.path() + "/loadgen.log"));
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);

  simdjson::dom::parser tp;
  const std::string truth_text = ReadFile(truth_path);
  simdjson::dom::element truth = ParseJson(tp, truth_text)["segments"].value();
  simdjson::dom::element planted = truth["planted"].value();
  HttpClient client(server->port());
  simdjson::dom::parser p;
  const int64_t now = NowMs();
  const std::string range = "from=" + std::to_string(now - 26 * 3600000LL) + "&to=" + std::to_string(now + 60000);

  // Every session closed, the tick's too (the server's clock ticks close it):
  // it counts as utm_source (none), device desktop, visitor (unknown).
  std::string body;
  REQUIRE(WaitUntil(
      [&] {
        auto r = client.Get("/v1/stats/summary?by=utm_source&" + range);
        REQUIRE(r.status == 200);
        body = r.body;
        simdjson::dom::element agg = ParseJson(p, body)["aggregator"].value();
        return Int(agg, "pending_events") == 0 && Int(agg, "open_sessions") == 0;
      },
      std::chrono::seconds(60)));

  // 1. utm_source: exact counts; paid buys 2x: each planted rate inside its
  // interval, and the intervals apart. (Asked again: the waiting answer's
  // counters may have been read just before its aggregator block.)
  {
    auto r = client.Get("/v1/stats/summary?by=utm_source&" + range);
    REQUIRE(r.status == 200);
    body = r.body;
    simdjson::dom::element s = ParseJson(p, body);
    simdjson::dom::element paid = Segment(s, "paid"), organic = Segment(s, "(none)");
    CHECK(Int(paid, "sessions") == Int(truth["utm_source"]["paid"].value(), "sessions"));
    CHECK(Int(organic, "sessions") == Int(truth["utm_source"]["(none)"].value(), "sessions") + 1);
    CHECK(Int(Conversion(paid, "purchase"), "sessions") == Int(truth["utm_source"]["paid"].value(), "purchase"));
    CHECK(Int(Conversion(organic, "purchase"), "sessions") ==
          Int(truth["utm_source"]["(none)"].value(), "purchase"));
    auto [paid_lo, paid_hi] = Interval(Conversion(paid, "purchase"), "rate_ci95");
    auto [org_lo, org_hi] = Interval(Conversion(organic, "purchase"), "rate_ci95");
    const double want_paid = Num(planted["purchase_rate"].value(), "paid");
    const double want_org = Num(planted["purchase_rate"].value(), "(none)");
    CHECK(paid_lo <= want_paid);
    CHECK(want_paid <= paid_hi);
    CHECK(org_lo <= want_org);
    CHECK(want_org <= org_hi);
    CHECK(paid_lo > org_hi);
    CHECK(s["segments"].get_array().size() == 2);
  }

  // 2. device: exact funnel steps; mobile's checkout step leaks: each planted
  // begin_checkout -> purchase rate inside its interval, the intervals apart.
  {
    auto r = client.Get("/v1/stats/funnels/checkout?by=device&" + range);
    REQUIRE(r.status == 200);
    simdjson::dom::element f = ParseJson(p, r.body);
    CHECK(Str(f, "by") == "device");
    std::map<std::string, std::pair<double, double>> step3;
    for (const char* device : {"mobile", "desktop"}) {
      INFO(device);
      simdjson::dom::array steps = Segment(f, device)["steps"].get_array().value();
      simdjson::dom::array want = truth["device"][device]["funnel_reached"].get_array().value();
      REQUIRE(steps.size() == want.size());
      for (size_t k = 0; k < steps.size(); ++k) {
        CHECK(Int(steps.at(k).value(), "sessions") == want.at(k).get_int64().value());
      }
      step3[device] = Interval(steps.at(2).value(), "conversion_from_previous_ci95");
      const double planted_rate = Num(planted["checkout_to_purchase"].value(), device);
      CHECK(step3[device].first <= planted_rate);
      CHECK(planted_rate <= step3[device].second);
    }
    CHECK(step3["mobile"].second < step3["desktop"].first);
  }

  // 3. visitor: new and returning exactly, the tick as (unknown).
  {
    auto r = client.Get("/v1/stats/summary?by=visitor&" + range);
    REQUIRE(r.status == 200);
    simdjson::dom::element s = ParseJson(p, r.body);
    for (const char* v : {"new", "returning"}) {
      INFO(v);
      CHECK(Int(Segment(s, v), "sessions") == Int(truth["visitor"][v].value(), "sessions"));
    }
    CHECK(Int(Segment(s, "(unknown)"), "sessions") == 1);
  }

  // 4. where= filters lift and the summary to one segment; lift?by= splits it.
  {
    auto r = client.Get("/v1/stats/lift?target=purchase&where=utm_source:paid&" + range);
    REQUIRE(r.status == 200);
    simdjson::dom::element l = ParseJson(p, r.body);
    CHECK(Str(l["where"].value(), "value") == "paid");
    CHECK(Int(l, "sessions") == Int(truth["utm_source"]["paid"].value(), "sessions"));
    CHECK(Int(l, "sessions_converted") == Int(truth["utm_source"]["paid"].value(), "purchase"));
    r = client.Get("/v1/stats/summary?where=device:mobile&" + range);
    REQUIRE(r.status == 200);
    CHECK(Int(ParseJson(p, r.body), "sessions") == Int(truth["device"]["mobile"].value(), "sessions"));
    r = client.Get("/v1/stats/lift?target=purchase&by=device&" + range);
    REQUIRE(r.status == 200);
    simdjson::dom::element by = ParseJson(p, r.body);
    CHECK(Int(Segment(by, "mobile"), "sessions") == Int(truth["device"]["mobile"].value(), "sessions"));
    CHECK(Int(Segment(by, "desktop"), "sessions") == Int(truth["device"]["desktop"].value(), "sessions") + 1);
  }

  // 5. Opportunities: the default reach is each micro-conversion's best segment's.
  {
    auto r = client.Get("/v1/stats/opportunities?target=purchase&" + range);
    REQUIRE(r.status == 200);
    simdjson::dom::element o = ParseJson(p, r.body);
    CHECK_THAT(Str(o, "reach_basis"), Catch::Contains("best segment"));
    simdjson::dom::array micros = o["micro_conversions"].get_array().value();
    for (simdjson::dom::element m : micros) {
      INFO(Str(m, "name"));
      simdjson::dom::element best = m["best_segment"].value();
      if (best.is_null()) continue;
      CHECK(Num(m, "at_reach") == Approx(std::max(Num(m, "reach"), Num(best, "reach"))));
      CHECK(Num(best, "reach") >= 0);
    }
  }

  // 6. Bad parameters: stable codes.
  auto unknown = client.Get("/v1/stats/summary?by=browser&" + range);
  CHECK(unknown.status == 400);
  CHECK_THAT(unknown.body, Catch::Contains("unknown_dimension"));
  auto bad = client.Get("/v1/stats/funnels/checkout?where=device&" + range);
  CHECK(bad.status == 400);
  CHECK_THAT(bad.body, Catch::Contains("bad_where"));
  CHECK(client.Get("/v1/stats/lift?where=nope:x&" + range).status == 400);
  CHECK(client.Get("/v1/stats/timeseries?name=purchase&by=device&" + range).status == 400);

  // 7. A recount of the log gives every segment counter byte for byte.
  server->Signal(SIGTERM);
  REQUIRE(server->WaitExit() == 0);
  std::string out;
  CHECK(RunBinary({"verify", "--config", config, "--data-dir", data}, &out, {"FOOTHOLD_SESSION__TIMEOUT=2s"}) == 0);
  INFO(out);
  CHECK(out.find("ok: recounted") != std::string::npos);
}
