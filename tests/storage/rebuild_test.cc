// Backfill (storage/README.md "Backfill"): a definition added later is
// counted over the whole retained log by a rebuild into a fresh counters
// generation, which then equals a store that had the definition from the
// start, byte for byte; reads answer the old counters until the switch; a
// restart mid-rebuild resumes it, a second change starts it over; `foothold
// rebuild` does the same offline; an erasure before or during a rebuild keeps
// `verify` passing.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <rocksdb/iterator.h>

#include "storage/aggregate/aggregator.h"
#include "storage/aggregate/fingerprint.h"
#include "storage/log/db.h"
#include "storage/log/keys.h"
#include "storage/rebuild.h"
#include "storage/verify.h"
#include "tests/storage/test_util.h"

namespace foothold::storage {
namespace {

using testing::AppendSync;
using testing::MakeEvent;
using testing::OpenStore;
using testing::TempDir;
using testing::TestOptions;
using testing::WaitUntil;

constexpr int64_t kMin = 60 * 1000;
constexpr int64_t kDay = 24 * 60 * kMin;
constexpr int64_t kT0 = 1763596800000;  // 2025-11-20T00:00:00Z
constexpr int kSessions = 600;
constexpr std::chrono::seconds kDeadline{120};

config::Matcher Match(std::string event) { return config::Matcher{std::move(event), {}, ""}; }

// Definitions A: what the store starts with.
AnalyticsDefs DefsA() {
  AnalyticsDefs d;
  d.micro.push_back({"add_to_cart", config::MicroConversion::Kind::kEvent, Match("add_to_cart"), {}});
  d.macro.push_back({"purchase", Match("purchase")});
  d.funnels.push_back({"checkout", {"add_to_cart", "purchase"}, 30 * kMin, config::FunnelMode::kOrdered});
  return d;
}

// B: A plus a micro-conversion added later, and a funnel using it.
AnalyticsDefs DefsB() {
  AnalyticsDefs d = DefsA();
  config::Matcher demo = Match("video_play");
  demo.where.push_back({"props.kind", std::string("demo")});
  d.micro.push_back({"demo_video", config::MicroConversion::Kind::kEvent, demo, {}});
  d.funnels.push_back({"video", {"demo_video", "purchase"}, 30 * kMin, config::FunnelMode::kOrdered});
  return d;
}

// C: B plus a dwell conversion.
AnalyticsDefs DefsC() {
  AnalyticsDefs d = DefsB();
  d.micro.push_back({"dwell", config::MicroConversion::Kind::kDwell, {}, {"/p/", 60000}});
  return d;
}

proto::Event Ev(std::string name, int i, int64_t t) {
  proto::Event e = MakeEvent(std::move(name), "s" + std::to_string(i), t, t);
  e.url = "https://shop.example/p/" + std::to_string(i % 7);
  e.anonymous_id = "v" + std::to_string(i);
  e.event_id = e.session_id + "-" + e.event + "-" + std::to_string(t);  // as the server assigns one
  e.engaged_ms = 20000;
  return e;
}

proto::Prop DemoProp() {
  proto::Prop p;
  p.key = "kind";
  p.type = proto::PropType::kString;
  p.str = "demo";
  return p;
}

// kSessions sessions, one request each; every third watches the demo video.
// A last request two hours later closes them all.
std::vector<std::vector<proto::Event>> Dataset() {
  std::vector<std::vector<proto::Event>> out;
  for (int i = 0; i < kSessions; ++i) {
    const int64_t t = kT0 + static_cast<int64_t>(i) * 37000;
    std::vector<proto::Event> r;
    r.push_back(Ev("page_view", i, t));
    if (i % 3 == 0) {
      proto::Event v = Ev("video_play", i, t + 10000);
      v.props.push_back(DemoProp());
      r.push_back(std::move(v));
    }
    if (i % 4 == 0) r.push_back(Ev("add_to_cart", i, t + 20000));
    if (i % 5 == 0 || i % 6 == 0) r.push_back(Ev("purchase", i, t + 30000));
    out.push_back(std::move(r));
  }
  const int64_t end = kT0 + static_cast<int64_t>(kSessions) * 37000 + 2 * 60 * kMin;
  out.push_back({Ev("page_view", kSessions, end)});
  return out;
}

constexpr uint64_t kDemoVideos = (kSessions + 2) / 3;
// Sessions with i % 5 == 0 or i % 6 == 0.
constexpr uint64_t kPurchases = (kSessions + 4) / 5 + (kSessions + 5) / 6 - (kSessions + 29) / 30;

StoreOptions Options(const TempDir& dir, AnalyticsDefs defs) {
  StoreOptions o = TestOptions(dir.path());
  o.analytics = std::move(defs);
  o.retention_days = 0;  // the dataset is old by the wall clock
  return o;
}

void Ingest(EventStore& store) {
  for (auto& r : Dataset()) REQUIRE(AppendSync(store, std::move(r)).status.ok());
  REQUIRE(store.WaitAggregated(60000));
}

uint64_t ConversionEvents(const EventStore& store, const std::string& name) {
  Summary sum;
  REQUIRE(store.QuerySummary({kT0 - kDay, kT0 + 2 * kDay}, &sum).ok());
  for (const ConversionSummary& c : sum.conversions) {
    if (c.name == name) return c.events;
  }
  FAIL("no conversion " << name);
  return 0;
}

// The active generation's counters and session rows of a closed store.
struct Dump {
  uint64_t generation = 0;
  std::vector<uint64_t> generations;
  std::map<std::string, std::string> counters;
  std::map<std::string, std::string> sessions;
  std::map<std::string, std::string> meta;  // the aggregator's records only
};

Dump Read(const StoreOptions& options) {
  std::unique_ptr<Database> db;
  REQUIRE(Database::Open(options, &db).ok());
  Dump d;
  d.generation = db->active_generation();
  d.generations = db->generations();
  auto all = [&](rocksdb::ColumnFamilyHandle* cf, std::map<std::string, std::string>* out) {
    std::unique_ptr<rocksdb::Iterator> it(db->db()->NewIterator(rocksdb::ReadOptions(), cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) (*out)[it->key().ToString()] = it->value().ToString();
    REQUIRE(it->status().ok());
  };
  all(db->counters(), &d.counters);
  all(db->sessions(), &d.sessions);
  std::map<std::string, std::string> meta;
  all(db->meta(), &meta);
  for (auto& [k, v] : meta) {
    if (k.starts_with("agg_") || k.starts_with(kMetaRebuildPrefix)) d.meta[k] = v;
  }
  REQUIRE(db->Close().ok());
  return d;
}

// Equal maps; otherwise the first difference is printed.
bool SameRows(const std::map<std::string, std::string>& got, const std::map<std::string, std::string>& want) {
  auto g = got.begin();
  auto w = want.begin();
  for (; g != got.end() && w != want.end(); ++g, ++w) {
    if (g->first != w->first || g->second != w->second) {
      UNSCOPED_INFO("first difference at key " << (g->first < w->first ? g->first : w->first).size()
                                               << " bytes long, rows " << got.size() << " vs " << want.size());
      return false;
    }
  }
  UNSCOPED_INFO("rows " << got.size() << " vs " << want.size());
  return g == got.end() && w == want.end();
}

void RequireVerified(const StoreOptions& options) {
  VerifyReport report;
  REQUIRE(Verify(options, &report).ok());
  INFO((report.differences.empty() ? "" : report.differences[0]));
  CHECK(report.ok());
  CHECK(report.counters_checked > 0);
}

// A store that had definitions `defs` from the start, for comparison.
Dump Fresh(AnalyticsDefs defs) {
  TempDir dir;
  StoreOptions o = Options(dir, std::move(defs));
  {
    auto store = OpenStore(o);
    Ingest(*store);
  }
  return Read(o);
}

TEST_CASE("definitions fingerprint: stable, and moved by anything that changes the counts", "[storage]") {
  const std::string a = DefinitionsFingerprint(DefsA(), 30 * kMin);
  CHECK(a.size() == 16);
  CHECK(a == DefinitionsFingerprint(DefsA(), 30 * kMin));
  CHECK(a != DefinitionsFingerprint(DefsB(), 30 * kMin));
  CHECK(a != DefinitionsFingerprint(DefsA(), 31 * kMin));
  AnalyticsDefs d = DefsC();
  const std::string c = DefinitionsFingerprint(d, 30 * kMin);
  d.micro.back().dwell.min_engaged_ms += 1000;
  CHECK(c != DefinitionsFingerprint(d, 30 * kMin));
  d = DefsA();
  d.funnels[0].mode = config::FunnelMode::kStrict;
  CHECK(a != DefinitionsFingerprint(d, 30 * kMin));
  d = DefsA();
  d.experiments.push_back({"exp", "purchase", {"control", "b"}, {1, 1}});
  const std::string x = DefinitionsFingerprint(d, 30 * kMin);
  d.experiments[0].weights = {1, 2};
  CHECK(x != DefinitionsFingerprint(d, 30 * kMin));
  d = DefsA();
  d.micro[0].match.where.push_back({"props.kind", 1.0});
  const std::string w = DefinitionsFingerprint(d, 30 * kMin);
  d.micro[0].match.where[0].value = std::string("1");
  CHECK(w != DefinitionsFingerprint(d, 30 * kMin));
}

TEST_CASE("a definition added later gets its history from a rebuild equal to a fresh count", "[storage]") {
  TempDir dir;
  {
    auto store = OpenStore(Options(dir, DefsA()));
    Ingest(*store);
    CHECK(store->aggregator_stats().generation == 0);
  }
  const StoreOptions b = Options(dir, DefsB());
  {
    auto store = OpenStore(b);
    REQUIRE(store->WaitRebuilt(kDeadline.count() * 1000));
    REQUIRE(store->WaitAggregated(60000));
    const AggregatorStats s = store->aggregator_stats();
    CHECK(s.generation == 1);
    CHECK(s.rebuilds_completed == 1);
    CHECK_FALSE(s.rebuild.active);
    CHECK_FALSE(s.definitions_stale);
    CHECK(s.fingerprint == DefinitionsFingerprint(b.analytics, b.session_timeout_ms));
    CHECK(ConversionEvents(*store, "demo_video") == kDemoVideos);
    CHECK(ConversionEvents(*store, "add_to_cart") == (kSessions + 3) / 4);
  }
  RequireVerified(b);
  const Dump rebuilt = Read(b);
  const Dump fresh = Fresh(DefsB());
  CHECK(rebuilt.generations == std::vector<uint64_t>{1});  // generation 0 dropped
  CHECK(SameRows(rebuilt.counters, fresh.counters));
  CHECK(SameRows(rebuilt.sessions, fresh.sessions));
  CHECK(rebuilt.meta.count(std::string(kMetaRebuildPrefix) + kMetaAggCheckpoint) == 0);

  // Same definitions again: nothing to rebuild.
  {
    auto store = OpenStore(b);
    CHECK_FALSE(store->aggregator_stats().rebuild.active);
    CHECK(store->aggregator_stats().generation == 1);
  }
}

TEST_CASE("during a rebuild reads answer the old counters, a restart resumes it, the switch counts once",
          "[storage]") {
  TempDir dir;
  {
    auto store = OpenStore(Options(dir, DefsA()));
    Ingest(*store);
  }
  StoreOptions b = Options(dir, DefsB());
  b.rebuild_switch = false;  // hold the rebuild before its switch
  const int64_t late = kT0 + 3 * 60 * kMin;
  {
    auto store = OpenStore(b);
    auto head = [&] { return store->stats().next_seq - 1; };
    REQUIRE(WaitUntil([&] { return store->aggregator_stats().rebuild.done_seq >= head(); }, kDeadline));
    AggregatorStats s = store->aggregator_stats();
    CHECK(s.rebuild.active);
    CHECK(s.rebuild.generation == 1);
    CHECK(s.rebuild.progress_ratio == 1.0);
    CHECK(s.rebuild.events > 0);
    CHECK(s.generation == 0);
    CHECK(s.definitions_stale);
    // The old counters: no history for the new conversion.
    CHECK(ConversionEvents(*store, "demo_video") == 0);
    CHECK(ConversionEvents(*store, "add_to_cart") == (kSessions + 3) / 4);
    // Ingest goes on: the live aggregator counts it into the old counters,
    // the rebuild into the new ones.
    proto::Event v = Ev("video_play", kSessions + 1, late);
    v.props.push_back(DemoProp());
    REQUIRE(AppendSync(*store, {Ev("page_view", kSessions + 1, late), v}).status.ok());
    REQUIRE(store->WaitAggregated(60000));
    CHECK(ConversionEvents(*store, "demo_video") == 1);
    REQUIRE(WaitUntil([&] { return store->aggregator_stats().rebuild.done_seq >= head(); }, kDeadline));
  }
  // Stopped mid-rebuild (before the switch): its checkpoint is kept.
  Dump held = Read(b);
  CHECK(held.generation == 0);
  CHECK(held.generations == std::vector<uint64_t>{0, 1});
  REQUIRE(held.meta.count(kMetaRebuildGeneration) == 1);
  const std::string cp_key = std::string(kMetaRebuildPrefix) + kMetaAggCheckpoint;
  REQUIRE(held.meta.count(cp_key) == 1);
  uint64_t records = 2;  // the two appended during the rebuild
  for (const auto& r : Dataset()) records += r.size();
  CHECK(GetBe64(held.meta[cp_key]) == records);  // every record, seqs from 1

  b.rebuild_switch = true;
  {
    auto store = OpenStore(b);
    REQUIRE(store->WaitRebuilt(kDeadline.count() * 1000));
    REQUIRE(store->WaitAggregated(60000));
    CHECK(store->aggregator_stats().generation == 1);  // resumed into the same generation
    CHECK(ConversionEvents(*store, "demo_video") == kDemoVideos + 1);
  }
  RequireVerified(b);
}

TEST_CASE("definitions changed again mid-rebuild start it over into a new generation", "[storage]") {
  TempDir dir;
  {
    auto store = OpenStore(Options(dir, DefsA()));
    Ingest(*store);
  }
  StoreOptions b = Options(dir, DefsB());
  b.rebuild_switch = false;
  {
    auto store = OpenStore(b);
    REQUIRE(WaitUntil([&] { return store->aggregator_stats().rebuild.done_seq > 0; }, kDeadline));
  }
  const StoreOptions c = Options(dir, DefsC());
  {
    auto store = OpenStore(c);
    REQUIRE(store->WaitRebuilt(kDeadline.count() * 1000));
    CHECK(store->aggregator_stats().generation == 2);
    CHECK(ConversionEvents(*store, "demo_video") == kDemoVideos);
  }
  RequireVerified(c);
  const Dump d = Read(c);
  CHECK(d.generations == std::vector<uint64_t>{2});
  CHECK(SameRows(d.counters, Fresh(DefsC()).counters));
}

TEST_CASE("with auto_rebuild off the counters stay and say they are stale", "[storage]") {
  TempDir dir;
  {
    auto store = OpenStore(Options(dir, DefsA()));
    Ingest(*store);
  }
  StoreOptions b = Options(dir, DefsB());
  b.auto_rebuild = false;
  auto store = OpenStore(b);
  const AggregatorStats s = store->aggregator_stats();
  CHECK(s.definitions_stale);
  CHECK(s.fingerprint.empty());
  CHECK_FALSE(s.rebuild.active);
  CHECK(s.generation == 0);
}

TEST_CASE("foothold rebuild recounts offline into a fresh generation and verify passes", "[storage]") {
  TempDir dir;
  {
    auto store = OpenStore(Options(dir, DefsA()));
    Ingest(*store);
  }
  const StoreOptions b = Options(dir, DefsB());
  VerifyReport before;
  REQUIRE(Verify(b, &before).ok());
  CHECK_FALSE(before.ok());  // the new definition's counts are missing
  RebuildReport report;
  REQUIRE(RebuildOffline(b, &report).ok());
  CHECK(report.generation == 1);
  CHECK(report.records == before.records);
  CHECK(report.checkpoint_seq == before.checkpoint_seq);
  RequireVerified(b);
  CHECK(SameRows(Read(b).counters, Fresh(DefsB()).counters));
  // Unconditional: a second run recounts again, into generation 2.
  REQUIRE(RebuildOffline(b, &report).ok());
  CHECK(report.generation == 2);
  RequireVerified(b);
  {
    auto store = OpenStore(b);  // the fingerprint matches: no rebuild at start
    CHECK_FALSE(store->aggregator_stats().rebuild.active);
    CHECK(store->aggregator_stats().rebuilds_completed == 0);
  }
  TempDir none;
  CHECK(RebuildOffline(Options(none, DefsB()), &report).code() == Status::Code::kNotFound);
}

TEST_CASE("a rebuild after and during erasures recounts the redacted log and verify passes", "[storage]") {
  TempDir dir;
  {
    auto store = OpenStore(Options(dir, DefsA()));
    Ingest(*store);
    ErasureResult r;
    REQUIRE(store->Erase({IdentityKind::kAnonymousId, "v6", false}, kT0 + kDay, &r).ok());
    CHECK(r.events_erased == 3);  // page_view, video_play, purchase
    CHECK(r.sessions_pending == 0);  // closed: its session id is replaced at once
  }
  StoreOptions b = Options(dir, DefsB());
  b.rebuild_switch = false;
  {
    auto store = OpenStore(b);
    REQUIRE(WaitUntil([&] { return store->aggregator_stats().rebuild.done_seq >= store->stats().next_seq - 1; },
                      kDeadline));
    // During the rebuild: an erasure of a session the rebuild is done with.
    ErasureResult r;
    REQUIRE(store->Erase({IdentityKind::kAnonymousId, "v12", false}, kT0 + kDay, &r).ok());
    CHECK(r.events_erased == 4);  // page_view, video_play, add_to_cart, purchase
    CHECK(r.sessions_pending == 0);
  }
  b.rebuild_switch = true;
  {
    auto store = OpenStore(b);
    REQUIRE(store->WaitRebuilt(kDeadline.count() * 1000));
    // v6 was erased under definitions A, which read no props: its props
    // went with the erasure, so demo_video (added later) cannot see its
    // video. v12 was erased under B: its props.kind, which B reads, stayed.
    CHECK(ConversionEvents(*store, "demo_video") == kDemoVideos - 1);
    CHECK(ConversionEvents(*store, "add_to_cart") == (kSessions + 3) / 4);
    CHECK(ConversionEvents(*store, "purchase") == kPurchases);
  }
  RequireVerified(b);
}

// The segments' value cap ('V' registry, storage/README.md "Segments") of a
// resumed rebuild comes from its own generation, not the live one: here the
// live counters admitted one utm_source value, the rebuild three.
TEST_CASE("a resumed rebuild keeps its own segment value registry", "[storage]") {
  auto landing = [](size_t max_values) {
    config::Dimension d;
    d.name = "landing";
    d.kind = config::DimensionKind::kUtmSource;
    d.max_values = max_values;
    return d;
  };
  AnalyticsDefs a = DefsA();
  a.dimensions.push_back(landing(1));
  AnalyticsDefs b = DefsB();
  b.dimensions.push_back(landing(3));
  auto tagged = [](std::vector<std::vector<proto::Event>> requests) {
    for (auto& r : requests) {
      for (auto& e : r) e.url += "?utm_source=src" + std::to_string(std::hash<std::string>()(e.session_id) % 3);
    }
    return requests;
  };
  const int64_t late = kT0 + 3 * 60 * kMin;
  auto late_requests = [&] {
    std::vector<std::vector<proto::Event>> out;
    for (int i = 0; i < 6; ++i) {
      out.push_back({Ev("page_view", kSessions + 10 + i, late + i), Ev("purchase", kSessions + 10 + i, late + i + 1)});
    }
    out.push_back({Ev("page_view", kSessions + 100, late + 3 * 60 * kMin)});  // closes them
    return tagged(out);
  };
  auto ingest = [&](EventStore& store, std::vector<std::vector<proto::Event>> requests) {
    for (auto& r : requests) REQUIRE(AppendSync(store, std::move(r)).status.ok());
    REQUIRE(store.WaitAggregated(60000));
  };
  TempDir dir;
  {
    auto store = OpenStore(Options(dir, a));
    ingest(*store, tagged(Dataset()));
  }
  StoreOptions held = Options(dir, b);
  held.rebuild_switch = false;
  for (int round = 0; round < 2; ++round) {  // the second open resumes the rebuild, then more events come
    auto store = OpenStore(held);
    auto caught_up = [&] { return store->aggregator_stats().rebuild.done_seq >= store->stats().next_seq - 1; };
    REQUIRE(WaitUntil(caught_up, kDeadline));
    if (round == 1) {
      ingest(*store, late_requests());
      REQUIRE(WaitUntil(caught_up, kDeadline));
    }
  }
  StoreOptions go = Options(dir, b);
  {
    auto store = OpenStore(go);
    REQUIRE(store->WaitRebuilt(kDeadline.count() * 1000));
  }
  RequireVerified(go);
  TempDir fresh_dir;
  const StoreOptions fresh = Options(fresh_dir, b);
  {
    auto store = OpenStore(fresh);
    ingest(*store, tagged(Dataset()));
    ingest(*store, late_requests());
  }
  CHECK(SameRows(Read(go).counters, Read(fresh).counters));
}

}  // namespace
}  // namespace foothold::storage
