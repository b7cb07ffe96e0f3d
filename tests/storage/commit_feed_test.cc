// The commit feed (storage/aggregate/commit_feed.h, storage/README.md "Commit
// feed"): the writer's committed groups handed to the live aggregator in
// memory. The queue itself (contiguity, overflow, stale groups), then the same
// load counted with the feed, without it, and with groups overflowing it in the
// middle: the counters and session rows must be byte-identical, and verify's
// recount from the log must agree with each.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <rocksdb/iterator.h>

#include "storage/aggregate/commit_feed.h"
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

// A group of `n` events with consecutive seqs from `first`, as the writer hands it over.
std::vector<proto::Event> Group(uint64_t first, size_t n) {
  std::vector<proto::Event> g(n);
  for (size_t i = 0; i < n; ++i) {
    g[i].seq = first + i;
    g[i].event = "e" + std::to_string(first + i);
  }
  return g;
}

void Push(CommitFeed& feed, std::vector<proto::Event>& group) {
  std::vector<proto::Event*> ptrs;
  for (proto::Event& e : group) ptrs.push_back(&e);
  feed.Push(ptrs);
}

std::vector<uint64_t> Seqs(const CommitFeed::Groups& groups) {
  std::vector<uint64_t> out;
  for (const auto& g : groups) {
    for (const proto::Event& e : g) out.push_back(e.seq);
  }
  return out;
}

TEST_CASE("the commit feed hands over whole groups that continue the seq asked for", "[storage][feed]") {
  CommitFeed feed(10);
  auto g1 = Group(1, 3), g2 = Group(4, 4), g3 = Group(8, 4), g4 = Group(12, 2);
  CHECK(feed.head_seq() == 0);
  Push(feed, g1);
  CHECK(feed.head_seq() == 1);
  Push(feed, g2);
  Push(feed, g3);  // 3 + 4 + 4 > 10: dropped whole
  CHECK(feed.dropped_groups() == 1);
  CHECK(g1[0].event.empty());     // moved from
  CHECK(g3[0].event == "e8");     // left alone
  CommitFeed::Groups out;
  CHECK(feed.Take(2, 100, &out) == 0);  // the head starts at 1, not 2
  CHECK(out.empty());
  CHECK(feed.Take(1, 5, &out) == 3);    // the second group would pass 5: next time
  CHECK(Seqs(out) == std::vector<uint64_t>{1, 2, 3});
  REQUIRE(out.size() == 1);
  CHECK(out[0][2].event == "e3");
  CHECK(feed.Take(4, 1, &out) == 4);    // at least one group, whatever max_events
  CHECK(Seqs(out) == std::vector<uint64_t>{4, 5, 6, 7});
  CHECK(feed.head_seq() == 0);
  CHECK(feed.Take(8, 100, &out) == 0);  // 8..11 were dropped: the aggregator reads the log
  Push(feed, g4);
  CHECK(feed.Take(12, 100, &out) == 2);
  CHECK(Seqs(out) == std::vector<uint64_t>{12, 13});

  // Groups below the seq asked for were read from the log meanwhile: dropped.
  auto g5 = Group(14, 2), g6 = Group(16, 2), g7 = Group(18, 2);
  Push(feed, g5);
  Push(feed, g6);
  Push(feed, g7);
  CHECK(feed.Take(16, 100, &out) == 4);
  CHECK(Seqs(out) == std::vector<uint64_t>{16, 17, 18, 19});
  CHECK(out.size() == 2);  // whole groups
  CHECK(feed.Take(20, 100, &out) == 0);
  CHECK(feed.dropped_groups() == 1);
}

constexpr int64_t kMin = 60 * 1000;
constexpr int64_t kStart = 1763596800000;  // 2025-11-20T00:00:00Z

AnalyticsDefs Defs() {
  AnalyticsDefs d;
  auto match = [](std::string event) { return config::Matcher{std::move(event), {}, ""}; };
  d.micro.push_back({"signup", config::MicroConversion::Kind::kEvent, match("newsletter_signup"), {}});
  d.micro.push_back({"dwell", config::MicroConversion::Kind::kDwell, {}, {"/p/", 60000}});
  d.micro.push_back({"add_to_cart", config::MicroConversion::Kind::kEvent, match("add_to_cart"), {}});
  d.macro.push_back({"purchase", match("purchase")});
  d.funnels.push_back({"checkout", {"add_to_cart", "purchase"}, 30 * kMin, config::FunnelMode::kOrdered});
  d.funnels.push_back({"strict_f", {"signup", "add_to_cart"}, 30 * kMin, config::FunnelMode::kStrict});
  d.experiments.push_back({"exp", "purchase", {"control", "b"}, {1, 1}});
  return d;
}

// The load, in requests: long-lived sessions interleaved (a pool of 40, past
// session_max_events so later events carry kFlagSessionOverflow), fresh
// visits, sessionized visitors, repeated event ids (deduplicated, never
// stored), bots, dwell and experiment exposures, and time moving on so
// sessions close in the middle. Request sizes vary; every tenth is 300 events.
std::vector<std::vector<proto::Event>> Load() {
  const char* names[] = {"page_view", "engagement", "add_to_cart", "purchase", "newsletter_signup", "video_play"};
  std::vector<std::vector<proto::Event>> requests;
  int n = 0;
  for (int r = 0; r < 60; ++r) {
    std::vector<proto::Event> req;
    const int size = r % 10 == 9 ? 300 : 20 + (r * 37) % 90;
    for (int i = 0; i < size; ++i, ++n) {
      const int64_t t = kStart + static_cast<int64_t>(n) * 700;  // ~4.5 h over the load
      proto::Event e;
      if (n % 7 == 3) {
        e = VisitorEvent("visitor-" + std::to_string(n % 23), t);
      } else if (n % 3 == 0) {
        e = MakeEvent(names[n % 6], "visit-" + std::to_string(n / 12), t);
      } else {
        e = MakeEvent(names[(n / 5) % 6], "pool-" + std::to_string(n % 40), t);
      }
      e.url = "https://shop.example/p/" + std::to_string(n % 9);
      if (e.event == "engagement") e.engaged_ms = 20000 + (n % 5) * 10000;
      if (n % 31 == 0) e.experiments.emplace_back("exp", n % 2 ? "b" : "control");
      if (n % 53 == 0) e.bot = true;
      if (n % 11 < 2) e.event_id = "id-" + std::to_string(n / 11);  // 11k and 11k+1: the second is a duplicate
      req.push_back(std::move(e));
    }
    requests.push_back(std::move(req));
  }
  return requests;
}

StoreOptions Options(const TempDir& dir, size_t feed_events) {
  StoreOptions o = TestOptions(dir.path());
  o.analytics = Defs();
  o.retention_days = 0;
  o.session_max_events = 50;  // the pool's sessions pass it: kFlagSessionOverflow, set at commit
  o.aggregate_feed_events = feed_events;
  return o;
}

// Every key and value of a column family, merge operands resolved. A counter
// whose deltas summed to zero is left out: whether its key exists depends on
// how the log was split into passes (a zero delta is not written).
std::map<std::string, std::string> Dump(const StoreOptions& options, bool counters) {
  std::unique_ptr<Database> db;
  REQUIRE(Database::Open(options, &db).ok());
  std::map<std::string, std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db->db()->NewIterator(rocksdb::ReadOptions(), counters ? db->counters() : db->sessions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (counters && it->value().ToString() == std::string(8, '\0')) continue;
    out[it->key().ToString()] = it->value().ToString();
  }
  REQUIRE(it->status().ok());
  return out;
}

struct Counted {
  AggregatorStats stats;
  std::map<std::string, std::string> counters, sessions;
};

Counted CountLoad(size_t feed_events) {
  TempDir dir;
  const StoreOptions options = Options(dir, feed_events);
  Counted c;
  {
    auto store = OpenStore(options);
    for (auto& request : Load()) REQUIRE(AppendSync(*store, std::move(request)).status.ok());
    REQUIRE(store->WaitAggregated(30000));
    c.stats = store->aggregator_stats();
    CHECK(store->stats().session_overflow_events > 500);
    CHECK(store->stats().duplicates > 100);
  }
  VerifyReport report;
  REQUIRE(Verify(options, &report).ok());
  INFO((report.differences.empty() ? "" : report.differences[0]));
  CHECK(report.ok());
  CHECK(report.sessions_checked > 0);
  c.counters = Dump(options, true);
  c.sessions = Dump(options, false);
  return c;
}

TEST_CASE("the same load counts byte for byte the same fed in memory, from the log, or both", "[storage][feed]") {
  const Counted log = CountLoad(0);
  CHECK(log.stats.events_from_feed == 0);
  REQUIRE(log.stats.events_aggregated > 4000);
  CHECK(log.counters.size() > 100);
  CHECK(log.sessions.size() > 10);  // the pool's and the last visits' rows are open at the end

  // Every group goes into the feed before the aggregator can see it
  // committed: with room for all, every event comes from memory.
  const Counted fed = CountLoad(1 << 20);
  CHECK(fed.stats.events_aggregated == log.stats.events_aggregated);
  CHECK(fed.stats.events_from_feed == fed.stats.events_aggregated);
  CHECK(fed.counters == log.counters);
  CHECK(fed.sessions == log.sessions);

  // Room for 250: every 300-event request overflows it and is read back from
  // the log, and the first request (fed before anything else) comes from memory.
  const Counted mixed = CountLoad(250);
  CHECK(mixed.stats.events_aggregated == log.stats.events_aggregated);
  CHECK(mixed.stats.events_from_feed > 0);
  CHECK(mixed.stats.events_from_feed < mixed.stats.events_aggregated);
  CHECK(mixed.counters == log.counters);
  CHECK(mixed.sessions == log.sessions);
}

TEST_CASE("after a restart the feed continues from the stored checkpoint", "[storage][feed]") {
  TempDir dir;
  StoreOptions options = Options(dir, 0);
  auto load = Load();
  options.aggregate_live = false;  // the first half is counted at Close, from the log
  {
    auto store = OpenStore(options);
    for (size_t r = 0; r < 30; ++r) REQUIRE(AppendSync(*store, std::move(load[r])).status.ok());
  }
  options.aggregate_live = true;
  options.aggregate_feed_events = 1 << 20;
  {
    auto store = OpenStore(options);
    for (size_t r = 30; r < load.size(); ++r) REQUIRE(AppendSync(*store, std::move(load[r])).status.ok());
    REQUIRE(store->WaitAggregated(30000));
    const AggregatorStats stats = store->aggregator_stats();
    CHECK(stats.events_aggregated > 1000);
    CHECK(stats.events_from_feed == stats.events_aggregated);
  }
  VerifyReport report;
  REQUIRE(Verify(options, &report).ok());
  INFO((report.differences.empty() ? "" : report.differences[0]));
  CHECK(report.ok());
  const Counted log = CountLoad(0);
  CHECK(Dump(options, true) == log.counters);
  CHECK(Dump(options, false) == log.sessions);
}

}  // namespace
}  // namespace foothold::storage
