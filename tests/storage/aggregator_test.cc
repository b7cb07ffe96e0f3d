// The aggregator (storage/README.md) over a hand-made dataset whose every count is
// worked out below: a dwell crossing, bots, sessions spanning buckets,
// out-of-order event times, sessionized visitors, funnels in all three modes,
// lift cells and experiment exposure. The same expectations hold however the
// input is split across restarts, and `verify` agrees with the counters.
#include <chrono>
#include <map>
#include <thread>

#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include "proto/coding.h"
#include "storage/aggregate/session_state.h"
#include "storage/log/db.h"
#include "storage/verify.h"
#include "tests/storage/test_util.h"

namespace foothold::storage {
namespace {

using testing::AppendSync;
using testing::MakeEvent;
using testing::OpenStore;
using testing::TempDir;
using testing::TestOptions;
using testing::VisitorEvent;

constexpr int64_t kMin = 60 * 1000;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kDayStart = 1763596800000;  // 2025-11-20T00:00:00Z

int64_t At(int h, int m, int s = 0) { return kDayStart + h * kHour + m * kMin + s * 1000; }

config::Matcher Match(std::string event) { return config::Matcher{std::move(event), {}, ""}; }

AnalyticsDefs Defs() {
  AnalyticsDefs d;
  d.micro.push_back({"signup", config::MicroConversion::Kind::kEvent, Match("newsletter_signup"), {}});
  config::Matcher demo = Match("video_play");
  demo.where.push_back({"props.kind", std::string("demo")});
  d.micro.push_back({"demo_video", config::MicroConversion::Kind::kEvent, demo, {}});
  d.micro.push_back({"dwell", config::MicroConversion::Kind::kDwell, {}, {"/p/", 180000}});
  d.micro.push_back({"add_to_cart", config::MicroConversion::Kind::kEvent, Match("add_to_cart"), {}});
  d.macro.push_back({"purchase", Match("purchase")});
  d.funnels.push_back({"checkout", {"add_to_cart", "purchase"}, 30 * kMin, config::FunnelMode::kOrdered});
  d.funnels.push_back({"strict_f", {"demo_video", "add_to_cart"}, 30 * kMin, config::FunnelMode::kStrict});
  d.funnels.push_back({"any_f", {"purchase", "add_to_cart"}, 30 * kMin, config::FunnelMode::kAny});
  d.experiments.push_back({"exp", "purchase", {"control", "b"}, {1, 1}});
  return d;
}

proto::Event With(proto::Event e, std::string url, int64_t engaged_ms = 0) {
  e.url = std::move(url);
  if (engaged_ms > 0) e.engaged_ms = engaged_ms;
  return e;
}

proto::Event Prop(proto::Event e, std::string key, std::string value) {
  proto::Prop p;
  p.key = std::move(key);
  p.type = proto::PropType::kString;
  p.str = std::move(value);
  e.props.push_back(std::move(p));
  return e;
}

proto::Event Exposed(proto::Event e, std::string variant) {
  e.experiments.emplace_back("exp", std::move(variant));
  return e;
}

// The dataset, in arrival (seq) order. Event time = received time unless said.
std::vector<std::vector<proto::Event>> Dataset() {
  std::vector<std::vector<proto::Event>> requests;
  // s1: starts 10:59:30 (hour 10), dwell on /p/1 crosses 180 s at 11:01:00,
  // demo video (exposed to b) before add_to_cart and purchase.
  requests.push_back({
      With(MakeEvent("page_view", "s1", At(10, 59, 30)), "https://shop.example/p/1?ref=x"),
      With(MakeEvent("engagement", "s1", At(11, 0, 30)), "https://shop.example/p/1", 100000),
      With(MakeEvent("engagement", "s1", At(11, 1)), "https://shop.example/p/1#top", 90000),
      With(MakeEvent("engagement", "s1", At(11, 2)), "https://shop.example/p/1", 50000),
  });
  requests.push_back({
      Exposed(Prop(MakeEvent("video_play", "s1", At(11, 3)), "kind", "demo"), "b"),
      Prop(MakeEvent("video_play", "s1", At(11, 4)), "kind", "other"),  // not demo: breaks strict_f
      MakeEvent("add_to_cart", "s1", At(11, 5)),
      MakeEvent("purchase", "s1", At(11, 10)),
  });
  // A bot's purchase: counted nowhere.
  proto::Event bot = MakeEvent("purchase", "bot1", At(11, 20));
  bot.bot = true;
  requests.push_back({bot});
  // s2: out of order. The signup at 11:50 arrives last, moving the session
  // start (12:05 -> 11:50) and signup's first occurrence (12:10 -> 11:50).
  requests.push_back({Exposed(MakeEvent("add_to_cart", "s2", At(12, 5)), "control"),
                      MakeEvent("newsletter_signup", "s2", At(12, 10))});
  requests.push_back({MakeEvent("newsletter_signup", "s2", At(11, 50), At(12, 15))});
  // Visitor a4, sessionized by the store: 14:00 and 14:10 are one session,
  // 14:50 (40 min later) another. Each signs up.
  proto::Event v1 = VisitorEvent("a4", At(14, 0));
  v1.event = "newsletter_signup";
  proto::Event v2 = VisitorEvent("a4", At(14, 10));
  proto::Event v3 = VisitorEvent("a4", At(14, 50));
  v3.event = "newsletter_signup";
  requests.push_back({v1, v2});
  requests.push_back({v3});
  // s5: two page views of /p/2, each reaching 180 s: dwell fires twice.
  requests.push_back({With(MakeEvent("page_view", "s5", At(16, 0)), "/p/2", 200000),
                      With(MakeEvent("page_view", "s5", At(16, 1)), "/p/2", 180000)});
  // A late tick: its watermark (17:00 - 30 min) closes every session above.
  requests.push_back({MakeEvent("tick", "tick", At(17, 0))});
  return requests;
}

void CheckCounts(EventStore& store) {
  REQUIRE(store.WaitAggregated(30000));
  const AggregatorStats agg = store.aggregator_stats();
  CHECK(agg.open_sessions == 1);  // the tick's
  CHECK(agg.pending_events == 0);

  Summary sum;
  REQUIRE(store.QuerySummary({kDayStart, kDayStart + kDay}, &sum).ok());
  CHECK(sum.events == 17);   // 8 + 3 + 3 + 2 + 1, no bot
  CHECK(sum.sessions == 6);  // s1, s2, two for a4, s5, tick
  std::map<std::string, std::pair<uint64_t, uint64_t>> got;
  for (const ConversionSummary& c : sum.conversions) got[c.name] = {c.events, c.sessions};
  CHECK(got["signup"] == std::pair<uint64_t, uint64_t>{4, 3});
  CHECK(got["demo_video"] == std::pair<uint64_t, uint64_t>{1, 1});
  CHECK(got["dwell"] == std::pair<uint64_t, uint64_t>{3, 2});  // s1 once, s5 twice
  CHECK(got["add_to_cart"] == std::pair<uint64_t, uint64_t>{2, 2});
  CHECK(got["purchase"] == std::pair<uint64_t, uint64_t>{1, 1});  // the bot's is not counted

  // A range with ragged minute edges: 10:59 to 11:03 holds s1's start, its
  // dwell crossing (11:01) and none of its later events.
  REQUIRE(store.QuerySummary({At(10, 59), At(11, 3)}, &sum).ok());
  CHECK(sum.events == 4);
  CHECK(sum.sessions == 1);

  // Hourly signup series: s2's first occurrence moved to 11:00; 14:00 has a4's two.
  std::vector<SeriesPoint> points;
  REQUIRE(store.QueryTimeseries("signup", kHour, {At(11, 0), At(15, 0)}, &points).ok());
  REQUIRE(points.size() == 4);
  CHECK(points[0].bucket_ms == At(11, 0));
  CHECK((points[0].events == 1 && points[0].sessions == 1));
  CHECK((points[1].events == 1 && points[1].sessions == 0));  // 12:10 is no longer the first
  CHECK((points[2].events == 0 && points[2].sessions == 0));
  CHECK((points[3].events == 2 && points[3].sessions == 2));
  // sessions_total by start hour: s2 started at 11:50 after the move, none at 12.
  CHECK(points[0].sessions_total == 1);
  CHECK(points[1].sessions_total == 0);
  CHECK(points[3].sessions_total == 2);
  // Minute buckets: the dwell crossing is at 11:01.
  REQUIRE(store.QueryTimeseries("dwell", kMin, {At(11, 0), At(11, 3)}, &points).ok());
  REQUIRE(points.size() == 3);
  CHECK(points[1].events == 1);
  CHECK(points[0].events + points[2].events == 0);
  REQUIRE(store.QueryTimeseries("dwell", kDay, {kDayStart, kDayStart + 1}, &points).ok());
  REQUIRE(points.size() == 1);
  CHECK((points[0].events == 3 && points[0].sessions == 2 && points[0].sessions_total == 6));

  // Lift over the 5 closed sessions (s1, s2, a4 x2, s5), target purchase.
  std::vector<LiftCells> lift;
  REQUIRE(store.QueryLift("purchase", {kDayStart, kDayStart + kDay}, &lift).ok());
  std::map<std::string, std::vector<uint64_t>> cells;
  for (const LiftCells& c : lift) cells[c.micro] = {c.a, c.b, c.c, c.d};
  CHECK(cells["signup"] == std::vector<uint64_t>{0, 3, 1, 1});
  CHECK(cells["demo_video"] == std::vector<uint64_t>{1, 0, 0, 4});
  CHECK(cells["dwell"] == std::vector<uint64_t>{1, 1, 0, 3});
  CHECK(cells["add_to_cart"] == std::vector<uint64_t>{1, 1, 0, 3});

  FunnelCounts funnel;
  const AnalyticsDefs& defs = store.analytics();
  REQUIRE(store.QueryFunnel(defs.funnels[0], {kDayStart, kDayStart + kDay}, &funnel).ok());
  CHECK(funnel.reached == std::vector<uint64_t>{2, 1});  // s1 buys 5 min after its cart; s2 does not
  uint64_t binned = 0;
  for (int bin = 0; bin < kFunnelTimeBins; ++bin) {
    if (funnel.time_bins[1][static_cast<size_t>(bin)] == 0) continue;
    double lo = 0, hi = 0;
    FunnelTimeBinRange(bin, &lo, &hi);
    CHECK(lo <= 5 * kMin);
    CHECK(5 * kMin < hi);
    binned += funnel.time_bins[1][static_cast<size_t>(bin)];
  }
  CHECK(binned == 1);
  REQUIRE(store.QueryFunnel(defs.funnels[1], {kDayStart, kDayStart + kDay}, &funnel).ok());
  CHECK(funnel.reached == std::vector<uint64_t>{1, 0});  // the non-demo video breaks the strict chain
  REQUIRE(store.QueryFunnel(defs.funnels[2], {kDayStart, kDayStart + kDay}, &funnel).ok());
  CHECK(funnel.reached == std::vector<uint64_t>{2, 1});  // any order: s1 has both, s2 one

  std::vector<ExperimentDay> days;
  REQUIRE(store.QueryExperiment(defs.experiments[0], {kDayStart, kDayStart + kDay}, &days).ok());
  REQUIRE(days.size() == 1);
  CHECK(days[0].day_ms == kDayStart);
  REQUIRE(days[0].variants.size() == 2);
  CHECK(days[0].variants[0].variant == "control");
  CHECK((days[0].variants[0].exposed == 1 && days[0].variants[0].converted == 0));
  CHECK(days[0].variants[1].variant == "b");
  CHECK((days[0].variants[1].exposed == 1 && days[0].variants[1].converted == 1));

  // Nothing on the next day.
  REQUIRE(store.QuerySummary({kDayStart + kDay, kDayStart + 2 * kDay}, &sum).ok());
  CHECK(sum.events == 0);
}

StoreOptions Options(const TempDir& dir) {
  StoreOptions o = TestOptions(dir.path());
  o.analytics = Defs();
  o.retention_days = 0;  // the dataset is years old by the wall clock
  return o;
}

TEST_CASE("aggregator counts a hand-made dataset exactly", "[storage]") {
  TempDir dir;
  StoreOptions options = Options(dir);
  {
    auto store = OpenStore(options);
    for (auto& request : Dataset()) REQUIRE(AppendSync(*store, std::move(request)).status.ok());
    CheckCounts(*store);
  }
  VerifyReport report;
  REQUIRE(Verify(options, &report).ok());
  INFO((report.differences.empty() ? "" : report.differences[0]));
  CHECK(report.ok());
  CHECK(report.records == 18);  // bot included: it is in the log, just not counted
  CHECK(report.sessions_checked == 1);
  CHECK(report.counters_checked > 50);
}

TEST_CASE("aggregator counts the same across restarts between every request", "[storage]") {
  TempDir dir;
  StoreOptions options = Options(dir);
  options.aggregate_live = false;  // each batch is aggregated at Close, then restored state continues
  for (auto& request : Dataset()) {
    auto store = OpenStore(options);
    REQUIRE(AppendSync(*store, std::move(request)).status.ok());
  }
  options.aggregate_live = true;
  auto store = OpenStore(options);
  CheckCounts(*store);
}

TEST_CASE("verify reports counters that differ from a recount", "[storage]") {
  TempDir dir;
  StoreOptions options = Options(dir);
  {
    auto store = OpenStore(options);
    for (auto& request : Dataset()) REQUIRE(AppendSync(*store, std::move(request)).status.ok());
    REQUIRE(store->WaitAggregated(30000));
  }
  // Recounting with another definition of "signup" cannot match what was stored.
  options.analytics.micro[0].match.event = "add_to_cart";
  VerifyReport report;
  REQUIRE(Verify(options, &report).ok());
  CHECK_FALSE(report.ok());
  CHECK(report.mismatches > 0);
  REQUIRE_FALSE(report.differences.empty());
  CHECK(report.differences[0].find("signup") != std::string::npos);
}

TEST_CASE("on an idle store, clock ticks close sessions, count nothing, and replay in verify", "[storage]") {
  TempDir dir;
  StoreOptions options = Options(dir);
  options.clock_ticks = true;
  options.session_timeout_ms = 1000;
  const int64_t now = testing::NowMs();
  {
    auto store = OpenStore(options);
    REQUIRE(AppendSync(*store, {MakeEvent("purchase", "idle", now, now)}).status.ok());
    // No more traffic: only a tick can move the watermark past the session.
    REQUIRE(testing::WaitUntil([&] { return store->aggregator_stats().sessions_closed == 1; },
                               std::chrono::seconds(30)));
    REQUIRE(store->WaitAggregated(30000));
    CHECK(store->aggregator_stats().open_sessions == 0);
    Summary sum;
    REQUIRE(store->QuerySummary({now - kDay, now + kDay}, &sum).ok());
    CHECK(sum.events == 1);    // ticks are not events of anyone's
    CHECK(sum.sessions == 1);
    std::vector<LiftCells> lift;
    REQUIRE(store->QueryLift("purchase", {now - kDay, now + kDay}, &lift).ok());
    CHECK(lift[0].c + lift[0].a == 1);  // the closed session converted
    std::vector<proto::Event> ticks;
    REQUIRE(store->ReadSession("foothold.clock", &ticks).ok());
    REQUIRE_FALSE(ticks.empty());
    CHECK((ticks[0].flags & proto::kFlagClockTick) != 0);
  }
  VerifyReport report;
  REQUIRE(Verify(options, &report).ok());
  CHECK(report.ok());
  CHECK(report.records >= 2);
}

TEST_CASE("with a session cache of one, sessions read back from the store count the same", "[storage]") {
  TempDir dir;
  StoreOptions options = Options(dir);
  options.session_cache = 1;  // nearly every event and every close reads its session back
  {
    auto store = OpenStore(options);
    for (auto& request : Dataset()) {
      REQUIRE(AppendSync(*store, std::move(request)).status.ok());
      REQUIRE(store->WaitAggregated(30000));  // one pass per request: states go to the store between
    }
    CheckCounts(*store);
  }
  VerifyReport report;
  REQUIRE(Verify(options, &report).ok());
  INFO((report.differences.empty() ? "" : report.differences[0]));
  CHECK(report.ok());
  CHECK(report.sessions_checked == 1);
}

// Lingering (StoreOptions::aggregate_linger_ms): after a large pass that
// touched about a session per record, the aggregator waits for four records
// per touched session before its next pass. The wait ends when they are
// there, and Close cuts it short; nothing is left uncounted either way.
TEST_CASE("a lingering aggregator ends its wait once enough records are committed, or at Close", "[storage]") {
  TempDir dir;
  StoreOptions options = Options(dir);
  options.aggregate_linger_ms = 600000;  // never runs out within this test: only records or Close end it
  auto batch = [](int first, int n, int sessions) {
    std::vector<proto::Event> events;
    for (int i = first; i < first + n; ++i) {
      events.push_back(MakeEvent("page_view", "linger-" + std::to_string(i % sessions), At(10, 0) + i));
    }
    return events;
  };
  uint64_t appended = 0;
  {
    auto store = OpenStore(options);
    // 2 000 records on 2 000 sessions: the next pass waits for 8 000 records.
    REQUIRE(AppendSync(*store, batch(0, 2000, 2000)).status.ok());
    REQUIRE(store->WaitAggregated(60000));
    REQUIRE(AppendSync(*store, batch(2000, 10, 2000)).status.ok());
    REQUIRE(AppendSync(*store, batch(2010, 8000, 2000)).status.ok());
    REQUIRE(store->WaitAggregated(60000));  // 8 010 committed: the wait is over
    CHECK(store->aggregator_stats().events_aggregated == 10010);
    // That pass was dense again: these 10 wait, until Close.
    REQUIRE(AppendSync(*store, batch(10010, 10, 2000)).status.ok());
    appended = 10020;
    REQUIRE(store->Close().ok());
  }
  VerifyReport report;
  REQUIRE(Verify(options, &report).ok());
  INFO((report.differences.empty() ? "" : report.differences[0]));
  CHECK(report.ok());
  CHECK(report.records == appended);
  CHECK(report.sessions_checked == 2000);
}

TEST_CASE("a long session's hits sealed in chunks and read back at close count like a recount", "[storage]") {
  TempDir dir;
  StoreOptions options = Options(dir);
  options.session_cache = 1;
  // 30 requests of 7 events for "long" (every event a hit of the strict
  // funnel), each followed by another session's event so "long" is evicted
  // between passes. Only its first two events complete the strict funnel
  // (demo video, then add_to_cart): the count needs the first chunk back.
  const char* kinds[] = {"page_view", "add_to_cart", "purchase"};
  int n = 0;
  {
    auto store = OpenStore(options);
    for (int r = 0; r < 30; ++r) {
      std::vector<proto::Event> request;
      for (int i = 0; i < 7; ++i, ++n) {
        proto::Event e = MakeEvent(n == 0 ? "video_play" : n == 1 ? "add_to_cart" : kinds[n % 3], "long",
                                   At(10, 0, n));
        if (n == 0) e = Prop(std::move(e), "kind", "demo");
        request.push_back(std::move(e));
      }
      REQUIRE(AppendSync(*store, std::move(request)).status.ok());
      REQUIRE(store->WaitAggregated(30000));
      REQUIRE(AppendSync(*store, {MakeEvent("page_view", "other-" + std::to_string(r), At(10, 0, n))}).status.ok());
      REQUIRE(store->WaitAggregated(30000));
    }
  }
  VerifyReport open_report;  // while open: head and chunk rows byte for byte
  REQUIRE(Verify(options, &open_report).ok());
  INFO((open_report.differences.empty() ? "" : open_report.differences[0]));
  CHECK(open_report.ok());
  CHECK(open_report.sessions_checked == 31);
  {
    auto store = OpenStore(options);
    REQUIRE(AppendSync(*store, {MakeEvent("tick", "tick", At(12, 0))}).status.ok());
    REQUIRE(store->WaitAggregated(30000));
    CHECK(store->aggregator_stats().open_sessions == 1);
    FunnelCounts funnel;
    REQUIRE(store->QueryFunnel(store->analytics().funnels[0], {kDayStart, kDayStart + kDay}, &funnel).ok());
    CHECK(funnel.reached == std::vector<uint64_t>{1, 1});  // checkout: cart then purchase
    REQUIRE(store->QueryFunnel(store->analytics().funnels[1], {kDayStart, kDayStart + kDay}, &funnel).ok());
    CHECK(funnel.reached == std::vector<uint64_t>{1, 1});  // strict: the first two events
  }
  VerifyReport report;
  REQUIRE(Verify(options, &report).ok());
  INFO((report.differences.empty() ? "" : report.differences[0]));
  CHECK(report.ok());
  CHECK(report.sessions_checked == 1);
}

// Rewrites every session of a closed store in the version 1 format (one row
// per session, all recorded hits inside), as the aggregator before the head /
// hit rows split wrote them.
void DowngradeToV1(const StoreOptions& options) {
  std::unique_ptr<Database> db;
  REQUIRE(Database::Open(options, &db).ok());
  std::map<std::string, std::pair<SessionState, std::vector<SessionState::Hit>>> sessions;
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(db->db()->NewIterator(rocksdb::ReadOptions(), db->sessions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view id;
    uint64_t seq = 0;
    const std::string key = it->key().ToString();
    const std::string value = it->value().ToString();
    const SessionRowKind kind = ParseSessionKey(key, &id, &seq);
    auto& [state, hits] = sessions[std::string(id)];
    if (kind == SessionRowKind::kHead) {
      REQUIRE(DecodeHead(value, &state).ok());
    } else {
      REQUIRE(kind == SessionRowKind::kHit);  // chunks come after every head: key order
      REQUIRE(DecodeHits(value, &hits).ok());
    }
    REQUIRE(batch.Delete(db->sessions(), key).ok());
  }
  REQUIRE(it->status().ok());
  it.reset();
  auto var = [](uint64_t v, std::string* out) { proto::PutVarint64(out, v); };
  auto sig = [](int64_t v, std::string* out) { proto::PutVarsigned64(out, v); };
  auto str = [](const std::string& v, std::string* out) { proto::PutLengthPrefixed(out, v); };
  for (const auto& [id, session] : sessions) {
    auto [s, hits] = session;
    hits.insert(hits.end(), s.pending.begin(), s.pending.end());
    REQUIRE(s.hits == hits.size());  // a strict funnel: every recorded hit is kept
    std::string v(1, '\x01');
    sig(s.start_ms, &v);
    sig(s.last_received_ms, &v);
    var(s.events, &v);
    var(s.hits_truncated ? 1 : 0, &v);
    var(s.first.size(), &v);
    for (const auto& f : s.first) {
      var(f.conv, &v);
      sig(f.time_ms, &v);
      var(f.seq, &v);
    }
    var(hits.size(), &v);
    for (const auto& h : hits) {
      var(h.conv, &v);
      sig(h.time_ms, &v);
      var(h.seq, &v);
    }
    var(s.exposures.size(), &v);
    for (const auto& x : s.exposures) {
      str(x.experiment, &v);
      str(x.variant, &v);
      sig(x.time_ms, &v);
      var(x.seq, &v);
    }
    var(s.pages.size(), &v);
    for (const auto& p : s.pages) {
      var(p.conv, &v);
      var(p.fired ? 1 : 0, &v);
      sig(p.engaged_ms, &v);
      // Version 1 kept the path itself: the dataset's paths are these.
      std::string path;
      for (const char* candidate : {"/p/1", "/p/2"}) {
        if (PagePathHash(candidate) == p.path_hash) path = candidate;
      }
      REQUIRE_FALSE(path.empty());
      str(path, &v);
    }
    REQUIRE(batch.Put(db->sessions(), id, v).ok());
  }
  REQUIRE(db->db()->Write(rocksdb::WriteOptions(), &batch).ok());
  REQUIRE(db->Close().ok());
}

TEST_CASE("a store with version 1 session states converts them at start and counts the same", "[storage]") {
  TempDir dir;
  StoreOptions options = Options(dir);
  std::vector<std::vector<proto::Event>> requests = Dataset();
  const size_t half = 2;  // s1 complete (dwell, exposure, funnel hits) and still open at the switch
  {
    auto store = OpenStore(options);
    for (size_t i = 0; i < half; ++i) REQUIRE(AppendSync(*store, std::move(requests[i])).status.ok());
    REQUIRE(store->WaitAggregated(30000));
    CHECK(store->aggregator_stats().open_sessions == 1);
  }
  DowngradeToV1(options);
  {
    auto store = OpenStore(options);
    CHECK(store->aggregator_stats().open_sessions == 1);
    for (size_t i = half; i < requests.size(); ++i) {
      REQUIRE(AppendSync(*store, std::move(requests[i])).status.ok());
    }
    CheckCounts(*store);
  }
  VerifyReport report;
  REQUIRE(Verify(options, &report).ok());
  INFO((report.differences.empty() ? "" : report.differences[0]));
  CHECK(report.ok());
}

TEST_CASE("verify refuses a directory without a store", "[storage]") {
  TempDir dir;
  StoreOptions options = Options(dir);
  options.data_dir = dir.Sub("nothing");
  VerifyReport report;
  CHECK(Verify(options, &report).code() == Status::Code::kNotFound);
}

}  // namespace
}  // namespace foothold::storage
