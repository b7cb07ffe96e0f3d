// Erasure (README.md "Privacy", storage/privacy/erasure.h) on a real store: the
// records of a visitor and the identities linked to it are redacted in place,
// their sessions answer NotFound, every counter stays as it was and `verify`
// recounts the redacted log to the same numbers; suppression drops later
// events; an erasure interrupted by a crash is resumed at the next open.
#include <algorithm>
#include <cstdio>
#include <atomic>
#include <map>
#include <thread>
#include <set>
#include <string>

#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include "proto/coding.h"
#include "proto/record.h"
#include "proto/siphash.h"
#include "storage/log/db.h"
#include "storage/log/keys.h"
#include "storage/verify.h"
#include "tests/storage/test_util.h"

namespace foothold::storage {
namespace {

using testing::AppendSync;
using testing::MakeEvent;
using testing::OpenStore;
using testing::TempDir;
using testing::TestOptions;

constexpr int64_t kMin = 60 * 1000;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kT0 = 1763596800000 + 10 * kHour;  // 2025-11-20T10:00:00Z

AnalyticsDefs Defs() {
  AnalyticsDefs d;
  config::Matcher demo{"video_play", {}, ""};
  demo.where.push_back({"props.kind", std::string("demo")});
  d.micro.push_back({"demo_video", config::MicroConversion::Kind::kEvent, demo, {}});
  d.micro.push_back({"product_view", config::MicroConversion::Kind::kEvent, {"page_view", {}, "/p/"}, {}});
  d.micro.push_back({"dwell", config::MicroConversion::Kind::kDwell, {}, {"/p/", 60000}});
  d.micro.push_back({"add_to_cart", config::MicroConversion::Kind::kEvent, {"add_to_cart", {}, ""}, {}});
  d.macro.push_back({"purchase", {"purchase", {}, ""}});
  d.funnels.push_back({"checkout", {"add_to_cart", "purchase"}, 30 * kMin, config::FunnelMode::kOrdered});
  d.experiments.push_back({"exp", "purchase", {"control", "b"}, {1, 1}});
  return d;
}

StoreOptions Options(const TempDir& dir) {
  StoreOptions o = TestOptions(dir.path());
  o.analytics = Defs();
  o.retention_days = 0;  // the dataset is in the past by the wall clock
  return o;
}

// One visitor's event with every personal field set.
proto::Event Personal(std::string name, std::string session, std::string anon, std::string user, int64_t t) {
  proto::Event e = MakeEvent(std::move(name), std::move(session), t);
  e.anonymous_id = std::move(anon);
  e.user_id = std::move(user);
  e.event_id = "eid-" + e.session_id + "-" + std::to_string(t);
  e.url = "https://shop.example/p/lamp?email=ann%40example.com#top";
  e.referrer = "https://mail.example/inbox/ann";
  e.title = "Lamp for Ann";
  e.ip = "203.0.113.0";
  e.user_agent = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120 Ann";
  e.engaged_ms = 40000;
  proto::Prop kind{"kind", proto::PropType::kString, false, 0, "demo"};
  proto::Prop email{"email", proto::PropType::kString, false, 0, "ann@example.com"};
  e.props = {kind, email};
  e.experiments.emplace_back("exp", "b");
  return e;
}

// Ann browses in two sessions: anonymously as "ann-phone" (s-ann-1), and as
// "ann-laptop" (s-ann-2) where she logs in as user "u-ann"; s-ann-1 also
// carries u-ann once, which links both devices. Bob is someone else.
void AppendDataset(EventStore& store) {
  REQUIRE(AppendSync(store, {Personal("page_view", "s-ann-1", "ann-phone", "", kT0),
                             Personal("video_play", "s-ann-1", "ann-phone", "", kT0 + kMin),
                             Personal("add_to_cart", "s-ann-1", "ann-phone", "u-ann", kT0 + 2 * kMin)})
              .status.ok());
  REQUIRE(AppendSync(store, {Personal("page_view", "s-ann-2", "ann-laptop", "", kT0 + 3 * kMin),
                             Personal("purchase", "s-ann-2", "ann-laptop", "u-ann", kT0 + 4 * kMin)})
              .status.ok());
  REQUIRE(AppendSync(store, {Personal("page_view", "s-bob", "bob", "", kT0 + 5 * kMin),
                             Personal("purchase", "s-bob", "bob", "u-bob", kT0 + 6 * kMin)})
              .status.ok());
}

void AppendTick(EventStore& store, int64_t t) {
  REQUIRE(AppendSync(store, {MakeEvent("tick", "tick", t)}).status.ok());
}

// Every figure the reports read, as one comparable string.
std::string Figures(EventStore& store) {
  REQUIRE(store.WaitAggregated(30000));
  std::string out;
  Summary sum;
  REQUIRE(store.QuerySummary({kT0 - kHour, kT0 + 24 * kHour}, &sum).ok());
  out += "events=" + std::to_string(sum.events) + " sessions=" + std::to_string(sum.sessions);
  for (const ConversionSummary& c : sum.conversions) {
    out += " " + c.name + "=" + std::to_string(c.events) + "/" + std::to_string(c.sessions);
  }
  FunnelCounts f;
  REQUIRE(store.QueryFunnel(store.analytics().funnels[0], {kT0 - kHour, kT0 + 24 * kHour}, &f).ok());
  for (uint64_t n : f.reached) out += " funnel=" + std::to_string(n);
  std::vector<ExperimentDay> days;
  REQUIRE(store.QueryExperiment(store.analytics().experiments[0], {kT0 - kHour, kT0 + 24 * kHour}, &days).ok());
  for (const auto& d : days) {
    for (const auto& v : d.variants) {
      out += " " + v.variant + "=" + std::to_string(v.exposed) + "/" + std::to_string(v.converted);
    }
  }
  return out;
}

// Every record of the log, read with the store closed.
std::vector<proto::Event> ReadLog(const StoreOptions& options) {
  std::unique_ptr<Database> db;
  REQUIRE(Database::Open(options, &db).ok());
  std::vector<proto::Event> out;
  std::unique_ptr<rocksdb::Iterator> it(db->db()->NewIterator(rocksdb::ReadOptions(), db->log()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    proto::Event e;
    REQUIRE(proto::DecodeRecord(std::string_view(it->value().data(), it->value().size()), &e).ok());
    out.push_back(std::move(e));
  }
  REQUIRE(it->status().ok());
  return out;
}

void CheckVerify(const StoreOptions& options) {
  VerifyReport report;
  REQUIRE(Verify(options, &report).ok());
  INFO((report.differences.empty() ? std::string() : report.differences[0]));
  CHECK(report.ok());
  CHECK(report.records > 0);
}

TEST_CASE("erasure redacts a visitor and the identities linked to it, counts and verify unchanged",
          "[storage][privacy]") {
  TempDir dir;
  const StoreOptions options = Options(dir);
  std::string before;
  {
    auto store = OpenStore(options);
    AppendDataset(*store);
    AppendTick(*store, kT0 + 3 * kHour);  // closes every session above
    before = Figures(*store);
    CHECK(before.find("purchase=2/2") != std::string::npos);

    ErasureResult r;
    REQUIRE(store->Erase({IdentityKind::kAnonymousId, "ann-phone", false}, kT0 + 4 * kHour, &r).ok());
    CHECK(r.events_erased == 5);  // both of Ann's sessions, linked through u-ann
    CHECK(r.sessions_erased == 2);
    CHECK(r.sessions_pending == 0);
    std::vector<proto::Event> events;
    CHECK(store->ReadSession("s-ann-1", &events).code() == Status::Code::kNotFound);
    CHECK(store->ReadSession("s-ann-2", &events).code() == Status::Code::kNotFound);
    CHECK(testing::ReadOk(*store, "s-bob").size() == 2);
    CHECK(Figures(*store) == before);

    // Idempotent, and unknown identities are no error.
    REQUIRE(store->Erase({IdentityKind::kUserId, "u-ann", false}, kT0 + 5 * kHour, &r).ok());
    CHECK(r.events_erased == 0);
    REQUIRE(store->Erase({IdentityKind::kSessionId, "never-seen", false}, kT0 + 5 * kHour, &r).ok());
    CHECK(r.events_erased == 0);
    CHECK(store->Erase({IdentityKind::kUserId, "", false}, kT0, &r).code() == Status::Code::kInvalidArgument);

    std::vector<ErasureLogEntry> log;
    REQUIRE(store->ReadErasureLog(100, &log).ok());
    REQUIRE(log.size() == 3);
    CHECK(log[0].events_erased == 5);
    CHECK(log[0].sessions_erased == 2);
    CHECK(log[0].identity.starts_with("a:"));
    CHECK(log[0].identity.find("ann") == std::string::npos);
    CHECK(log[1].identity.starts_with("u:"));
    CHECK(store->stats().erased_events == 5);
    CHECK(store->stats().erasures == 3);
  }
  CheckVerify(options);

  // What is left of Ann: nothing personal, everything the counts were made of.
  size_t redacted = 0;
  for (const proto::Event& e : ReadLog(options)) {
    if (e.session_id == "s-bob" || e.session_id == "tick") continue;
    ++redacted;
    CHECK(e.session_id.starts_with("erased-"));
    CHECK(e.anonymous_id.empty());
    CHECK(e.user_id.empty());
    CHECK(e.event_id.empty());
    CHECK(e.ip.empty());
    CHECK(e.user_agent.empty());
    CHECK(e.referrer.empty());
    CHECK(e.title.empty());
    CHECK(e.url == "https://shop.example/p/lamp");
    REQUIRE(e.props.size() == 1);  // kind=demo is what demo_video compares; email goes
    CHECK(e.props[0].key == "kind");
    CHECK(e.experiments.size() == 1);
    CHECK(e.engaged_ms == 40000);
  }
  CHECK(redacted == 5);
}

TEST_CASE("an open session is redacted now and loses its session id once it closes", "[storage][privacy]") {
  TempDir dir;
  StoreOptions options = Options(dir);
  options.session_timeout_ms = 30 * kMin;
  std::string before;
  {
    auto store = OpenStore(options);
    AppendDataset(*store);
    before = Figures(*store);  // every session still open
    ErasureResult r;
    REQUIRE(store->Erase({IdentityKind::kUserId, "u-ann", true}, kT0 + kHour, &r).ok());
    CHECK(r.events_erased == 5);
    CHECK(r.sessions_pending == 2);
    CHECK(store->stats().erasure_pending);
    std::vector<proto::Event> events;
    CHECK(store->ReadSession("s-ann-1", &events).code() == Status::Code::kNotFound);
    CHECK(Figures(*store) == before);
  }
  CheckVerify(options);  // open sessions compare equal: their records kept the session id
  {
    auto store = OpenStore(options);
    AppendTick(*store, kT0 + 3 * kHour);  // the sessions close; the writer renames them
    REQUIRE(store->WaitAggregated(30000));
    REQUIRE(testing::WaitUntil([&] { return !store->stats().erasure_pending; }, std::chrono::seconds(30)));
  }
  CheckVerify(options);
  std::set<std::string> sessions;
  for (const proto::Event& e : ReadLog(options)) sessions.insert(e.session_id);
  CHECK(!sessions.contains("s-ann-1"));
  CHECK(!sessions.contains("s-ann-2"));
  CHECK(sessions.size() == 4);  // two opaque ids, s-bob, tick
}

TEST_CASE("a suppressed identity's later events are acknowledged, counted and never stored", "[storage][privacy]") {
  TempDir dir;
  const StoreOptions options = Options(dir);
  {
    auto store = OpenStore(options);
    AppendDataset(*store);
    ErasureResult r;
    REQUIRE(store->Erase({IdentityKind::kAnonymousId, "bob", true}, kT0 + kHour, &r).ok());
    CHECK(r.events_erased == 2);
    // A tab left open keeps sending, under the anonymous id, the user id or the session id.
    AppendResult a = AppendSync(*store, {Personal("page_view", "s-bob-2", "bob", "", kT0 + 2 * kHour),
                                         Personal("page_view", "s-x", "someone", "u-bob", kT0 + 2 * kHour),
                                         Personal("page_view", "s-carl", "carl", "", kT0 + 2 * kHour)});
    REQUIRE(a.status.ok());
    CHECK(a.outcomes == std::vector<AppendOutcome>{AppendOutcome::kSuppressed, AppendOutcome::kSuppressed,
                                                   AppendOutcome::kStored});
    CHECK(store->stats().suppressed == 2);
    std::vector<proto::Event> events;
    CHECK(store->ReadSession("s-bob-2", &events).code() == Status::Code::kNotFound);
    CHECK(testing::ReadOk(*store, "s-carl").size() == 1);
  }
  // The list survives a restart.
  auto store = OpenStore(options);
  AppendResult a = AppendSync(*store, {Personal("page_view", "s-bob-3", "bob", "", kT0 + 3 * kHour)});
  CHECK(a.outcomes == std::vector<AppendOutcome>{AppendOutcome::kSuppressed});
}

TEST_CASE("an erasure interrupted by a crash is resumed at the next open", "[storage][privacy]") {
  TempDir dir;
  const StoreOptions options = Options(dir);
  std::string before;
  {
    auto store = OpenStore(options);
    AppendDataset(*store);
    AppendTick(*store, kT0 + 3 * kHour);
    before = Figures(*store);
  }
  // What Erase writes (and syncs) before it rewrites anything, as a process
  // killed right then leaves it: the job record, state "running"
  // (storage/README.md "Erasure" documents the format).
  {
    std::unique_ptr<Database> db;
    REQUIRE(Database::Open(options, &db).ok());
    std::string job;
    job.push_back(1);  // running
    job.push_back(static_cast<char>(IdentityKind::kAnonymousId));
    job.push_back(0);  // no suppression
    proto::PutVarsigned64(&job, kT0 + 4 * kHour);
    proto::PutVarint64(&job, 0);
    proto::PutVarint64(&job, 0);
    proto::PutLengthPrefixed(&job, "ann-laptop");
    proto::PutVarint64(&job, 0);
    std::string key = kMetaErasureJob;
    PutBe64(1, &key);
    REQUIRE(db->db()->Put(rocksdb::WriteOptions(), db->meta(), key, job).ok());
    REQUIRE(db->Close().ok());
  }
  {
    auto store = OpenStore(options);
    std::vector<proto::Event> events;
    CHECK(store->ReadSession("s-ann-1", &events).code() == Status::Code::kNotFound);
    CHECK(store->ReadSession("s-ann-2", &events).code() == Status::Code::kNotFound);
    std::vector<ErasureLogEntry> log;
    REQUIRE(store->ReadErasureLog(10, &log).ok());
    REQUIRE(log.size() == 1);
    CHECK(log[0].erasure_id == 1);
    CHECK(log[0].events_erased == 5);
    CHECK(Figures(*store) == before);
    // The next erasure gets the next id.
    ErasureResult r;
    REQUIRE(store->Erase({IdentityKind::kAnonymousId, "bob", false}, kT0 + 5 * kHour, &r).ok());
    CHECK(r.erasure_id == 2);
  }
  CheckVerify(options);
}

TEST_CASE("an erasure runs in chunks between groups, and what the visitor sends meanwhile is erased or suppressed, never half",
          "[storage][privacy]") {
  TempDir dir;
  const StoreOptions options = Options(dir);
  std::string before;
  {
    auto store = OpenStore(options);
    // 3 500 events of one visitor in 35 sessions: the erasure takes four chunks of 1 000.
    for (int s = 0; s < 35; ++s) {
      std::vector<proto::Event> batch;
      for (int i = 0; i < 100; ++i) {
        batch.push_back(Personal("page_view", "s-big-" + std::to_string(s), "big", "u-big", kT0 + s * kMin + i));
        batch.back().event_id = "big-" + std::to_string(s) + "-" + std::to_string(i);
      }
      REQUIRE(AppendSync(*store, std::move(batch)).status.ok());
    }
    // Meanwhile the same visitor and others keep sending, many appends in flight.
    std::atomic<bool> stop{false};
    std::atomic<int> stored_during{0};
    std::thread load([&] {
      for (int i = 0; !stop.load(); ++i) {
        AppendResult r = AppendSync(*store, {Personal("page_view", "s-big-late-" + std::to_string(i % 3), "big", "",
                                                      kT0 + kHour + i),
                                             Personal("page_view", "s-other-" + std::to_string(i), "other", "",
                                                      kT0 + kHour + i)});
        if (r.status.ok() && r.outcomes[0] == AppendOutcome::kStored) stored_during.fetch_add(1);
      }
    });
    ErasureResult r;
    REQUIRE(store->Erase({IdentityKind::kAnonymousId, "big", true}, kT0 + 2 * kHour, &r).ok());
    // After the last batch the list suppresses: whatever was stored before it was erased.
    AppendResult after = AppendSync(*store, {Personal("page_view", "s-big-after", "big", "", kT0 + 3 * kHour)});
    CHECK(after.outcomes == std::vector<AppendOutcome>{AppendOutcome::kSuppressed});
    stop.store(true);
    load.join();
    INFO("appends stored while the erasure ran: " << stored_during.load());  // 4 here: one per step
    // Every event of "big" the writer stored before the last batch, the ones sent during the erasure included.
    CHECK(r.events_erased == 3500 + static_cast<uint64_t>(stored_during.load()));
  }
  for (const proto::Event& e : ReadLog(options)) {
    INFO(e.seq);
    CHECK(e.anonymous_id != "big");
    CHECK(e.user_id != "u-big");
  }
  CheckVerify(options);
}

// The only record linking "a1" to "u1" (and so to "b1") is in the first
// chunk: the last step's discovery, which starts again from the identities
// followed before, must still reach "b1"'s session after it is redacted.
TEST_CASE("a chunked erasure keeps following identities whose linking records an earlier chunk redacted",
          "[storage][privacy]") {
  TempDir dir;
  const StoreOptions options = Options(dir);
  {
    auto store = OpenStore(options);
    for (int s = 0; s < 15; ++s) {
      std::vector<proto::Event> batch;
      for (int i = 0; i < 100; ++i) {
        const bool link = s == 0 && i == 0;
        batch.push_back(Personal("page_view", "s-a-" + std::to_string(s), "a1", link ? "u1" : "", kT0 + s * kMin + i));
        batch.back().event_id = "a-" + std::to_string(s) + "-" + std::to_string(i);
      }
      REQUIRE(AppendSync(*store, std::move(batch)).status.ok());
    }
    std::vector<proto::Event> other;
    for (int i = 0; i < 10; ++i) other.push_back(Personal("page_view", "s-b", "b1", "u1", kT0 + kHour + i));
    REQUIRE(AppendSync(*store, std::move(other)).status.ok());
    ErasureResult r;
    REQUIRE(store->Erase({IdentityKind::kAnonymousId, "a1", true}, kT0 + 2 * kHour, &r).ok());
    CHECK(r.events_erased == 1510);
    CHECK(r.sessions_erased == 16);
  }
  for (const proto::Event& e : ReadLog(options)) {
    INFO(e.seq);
    CHECK(e.anonymous_id != "a1");
    CHECK(e.anonymous_id != "b1");
    CHECK(e.user_id != "u1");
  }
  CheckVerify(options);
}

// The identities column family's keys, read with the store closed.
std::vector<std::string> IdentityKeys(const StoreOptions& options) {
  std::unique_ptr<Database> db;
  REQUIRE(Database::Open(options, &db).ok());
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(db->db()->NewIterator(rocksdb::ReadOptions(), db->identities()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) out.emplace_back(it->key().data(), it->key().size());
  REQUIRE(it->status().ok());
  return out;
}

TEST_CASE("the identity index holds one key per (identity, session), and retention removes it with the session",
          "[storage][privacy]") {
  TempDir dir;
  StoreOptions options = Options(dir);
  options.retention_days = 1;
  options.retention_interval_ms = 0;  // only when the test runs it
  {
    auto store = OpenStore(options);
    AppendDataset(*store);
    // Many more events of the same visitor and session: still one key each.
    std::vector<proto::Event> more;
    for (int i = 0; i < 50; ++i) more.push_back(Personal("page_view", "s-bob", "bob", "u-bob", kT0 + 7 * kMin + i));
    REQUIRE(AppendSync(*store, std::move(more)).status.ok());
  }
  const std::set<std::string> expected = {
      IdentitySessionKey(kIdentityAnonymousSession, "ann-phone", "s-ann-1"),
      IdentitySessionKey(kIdentityUserSession, "u-ann", "s-ann-1"),
      IdentitySessionKey(kIdentityAnonymousSession, "ann-laptop", "s-ann-2"),
      IdentitySessionKey(kIdentityUserSession, "u-ann", "s-ann-2"),
      IdentitySessionKey(kIdentityAnonymousSession, "bob", "s-bob"),
      IdentitySessionKey(kIdentityUserSession, "u-bob", "s-bob")};
  const std::vector<std::string> keys = IdentityKeys(options);
  CHECK(std::set<std::string>(keys.begin(), keys.end()) == expected);
  CHECK(keys.size() == expected.size());
  {
    auto store = OpenStore(options);
    REQUIRE(store->WaitAggregated(30000));
    CHECK(store->RunRetentionForTest(kT0 + 30 * 24 * kHour) == 57);
  }
  CHECK(IdentityKeys(options).empty());
}

// The writer skips the Put of an (identity, session) key it committed lately;
// once retention deleted the key with the session's records, a later event of
// that session must write it again, or an erasure would miss the session.
TEST_CASE("an identity key deleted by retention is written again by the session's next event",
          "[storage][privacy]") {
  TempDir dir;
  StoreOptions options = Options(dir);
  options.retention_days = 1;
  options.retention_interval_ms = 0;  // only when the test runs it
  const std::string key = IdentitySessionKey(kIdentityAnonymousSession, "carl", "s-carl");
  {
    auto store = OpenStore(options);
    REQUIRE(AppendSync(*store, {Personal("page_view", "s-carl", "carl", "", kT0)}).status.ok());
    REQUIRE(AppendSync(*store, {Personal("page_view", "s-carl", "carl", "", kT0 + kMin)}).status.ok());
    REQUIRE(store->WaitAggregated(30000));
    CHECK(store->RunRetentionForTest(kT0 + 30 * 24 * kHour) == 2);
    // The same visitor and session again, after the cutoff.
    REQUIRE(AppendSync(*store, {Personal("page_view", "s-carl", "carl", "", kT0 + 40 * 24 * kHour)}).status.ok());
  }
  const std::vector<std::string> keys = IdentityKeys(options);
  CHECK(std::count(keys.begin(), keys.end(), key) == 1);
}

TEST_CASE("a store with per-record identity keys (the older shape) still erases every linked session",
          "[storage][privacy]") {
  TempDir dir;
  const StoreOptions options = Options(dir);
  {
    auto store = OpenStore(options);
    AppendDataset(*store);
  }
  // Rewrite the index as an older version wrote it: one key per record.
  {
    std::unique_ptr<Database> db;
    REQUIRE(Database::Open(options, &db).ok());
    rocksdb::WriteBatch batch;
    {
      std::unique_ptr<rocksdb::Iterator> ids(db->db()->NewIterator(rocksdb::ReadOptions(), db->identities()));
      for (ids->SeekToFirst(); ids->Valid(); ids->Next()) REQUIRE(batch.Delete(db->identities(), ids->key()).ok());
      REQUIRE(ids->status().ok());
    }
    std::unique_ptr<rocksdb::Iterator> it(db->db()->NewIterator(rocksdb::ReadOptions(), db->log()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      proto::Event e;
      REQUIRE(proto::DecodeRecord(std::string_view(it->value().data(), it->value().size()), &e).ok());
      const uint64_t seq = GetBe64(std::string_view(it->key().data(), it->key().size()));
      if (!e.anonymous_id.empty()) REQUIRE(batch.Put(db->identities(), IdentityKey(kIdentityAnonymous, e.anonymous_id, seq), "").ok());
      if (!e.user_id.empty()) REQUIRE(batch.Put(db->identities(), IdentityKey(kIdentityUser, e.user_id, seq), "").ok());
    }
    it.reset();
    REQUIRE(db->db()->Write(rocksdb::WriteOptions(), &batch).ok());
    REQUIRE(db->Close().ok());
  }
  {
    auto store = OpenStore(options);
    ErasureResult r;
    REQUIRE(store->Erase({IdentityKind::kAnonymousId, "ann-phone", false}, kT0 + kHour, &r).ok());
    CHECK(r.events_erased == 5);  // s-ann-1, and s-ann-2 through u-ann
    CHECK(r.sessions_erased == 2);
  }
  for (const proto::Event& e : ReadLog(options)) {
    CHECK(e.anonymous_id.rfind("ann", 0) != 0);
    CHECK(e.user_id != "u-ann");
  }
  // Only bob's keys are left (in the old shape, as written).
  for (const std::string& k : IdentityKeys(options)) {
    INFO(k.substr(0, 1));
    CHECK((k.starts_with(IdentityPrefix(kIdentityAnonymous, "bob")) || k.starts_with(IdentityPrefix(kIdentityUser, "u-bob"))));
  }
}

std::string Hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

TEST_CASE("suppression entries are keyed SipHash, and entries of older stores (unkeyed Hash64) still suppress",
          "[storage][privacy]") {
  TempDir dir;
  const StoreOptions options = Options(dir);
  std::string secret;
  {
    auto store = OpenStore(options);
    secret = store->instance_secret();
    ErasureResult r;
    REQUIRE(store->Erase({IdentityKind::kAnonymousId, "new-visitor", true}, kT0, &r).ok());
  }
  REQUIRE(secret.size() == 64);
  // The entry the erasure wrote: "a:" + SipHash-2-4 of "a" ‖ id keyed with the secret's first 128 bits,
  // marked with the value 0x02.
  proto::internal::SipKey key{};
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(std::stoi(secret.substr(2 * i, 2), nullptr, 16));
  const std::string data = "anew-visitor";
  const std::string expected = "a:" + Hex16(proto::internal::SipHash24(key, data.data(), data.size()));
  {
    std::unique_ptr<Database> db;
    REQUIRE(Database::Open(options, &db).ok());
    std::string v;
    REQUIRE(db->db()->Get(rocksdb::ReadOptions(), db->meta(), std::string(kMetaSuppress) + expected, &v).ok());
    CHECK(v == "\x02");
    // What a store written before SipHash holds: Hash64(secret ‖ kind ‖ id), empty value.
    const std::string legacy = "a:" + Hex16(Hash64(secret + "a" + "old-visitor"));
    REQUIRE(db->db()->Put(rocksdb::WriteOptions(), db->meta(), std::string(kMetaSuppress) + legacy, "").ok());
    const std::string legacy_user = "u:" + Hex16(Hash64(secret + "u" + "old-user"));
    REQUIRE(db->db()->Put(rocksdb::WriteOptions(), db->meta(), std::string(kMetaSuppress) + legacy_user, "").ok());
    REQUIRE(db->Close().ok());
  }
  auto store = OpenStore(options);
  AppendResult a = AppendSync(*store, {Personal("page_view", "s-1", "new-visitor", "", kT0 + kHour),
                                       Personal("page_view", "s-2", "old-visitor", "", kT0 + kHour),
                                       Personal("page_view", "s-3", "someone", "old-user", kT0 + kHour),
                                       Personal("page_view", "s-4", "someone-else", "", kT0 + kHour)});
  REQUIRE(a.status.ok());
  CHECK(a.outcomes == std::vector<AppendOutcome>{AppendOutcome::kSuppressed, AppendOutcome::kSuppressed,
                                                 AppendOutcome::kSuppressed, AppendOutcome::kStored});
  // The erasure log names the identity by the same keyed hash.
  std::vector<ErasureLogEntry> log;
  REQUIRE(store->ReadErasureLog(10, &log).ok());
  REQUIRE(log.size() == 1);
  CHECK(log[0].identity == expected);
}

}  // namespace
}  // namespace foothold::storage
