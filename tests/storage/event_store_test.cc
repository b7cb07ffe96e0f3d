// EventStore basics: append and read back, ordering, seq continuity, the
// instance secret, lifecycle (Close, Append after Close, Close draining),
// back-pressure (Busy), durability modes.
#include <algorithm>
#include <fstream>
#include <map>
#include <thread>

#include <rocksdb/db.h>

#include "tests/storage/test_util.h"

namespace foothold::storage {
namespace {

using testing::AppendSync;
using testing::MakeEvent;
using testing::NowMs;
using testing::OpenStore;
using testing::ReadOk;
using testing::TempDir;
using testing::TestOptions;

proto::Event FullEvent(int64_t now) {
  proto::Event e = MakeEvent("add_to_cart", "sess-full", now - 1500, now);
  e.anonymous_id = "anon-1";
  e.user_id = "user-1";
  e.event_id = "evt-full-1";
  e.ts_ms = now - 1600;
  e.url = "https://shop.example/p/42?x=1";
  e.referrer = "https://search.example/?q=shoes";
  e.title = "Shoes \xE2\x80\x94 42";
  e.engaged_ms = 12345;
  e.experiments = {{"video_autoplay", "autoplay"}, {"checkout", "control"}};
  e.props = {{"sku", proto::PropType::kString, false, 0, "SKU-42"},
             {"qty", proto::PropType::kNumber, false, 2.5, ""},
             {"gift", proto::PropType::kBool, true, 0, ""},
             {"coupon", proto::PropType::kNull, false, 0, ""}};
  e.ip = "203.0.113.0";
  e.user_agent = "Mozilla/5.0 (X11; Linux x86_64)";
  e.bot = false;
  e.flags = proto::kFlagSkewCorrected;
  return e;
}

TEST_CASE("appended events read back with every field", "[storage]") {
  TempDir dir;
  auto store = OpenStore(TestOptions(dir.path()));
  const int64_t now = NowMs();
  proto::Event in = FullEvent(now);

  AppendResult r = AppendSync(*store, {in});
  REQUIRE(r.status.ok());
  REQUIRE(r.outcomes == std::vector<AppendOutcome>{AppendOutcome::kStored});
  REQUIRE(r.seqs == std::vector<uint64_t>{1});

  auto events = ReadOk(*store, "sess-full");
  REQUIRE(events.size() == 1);
  testing::CheckSameClientFields(events[0], in);
  CHECK(events[0].seq == 1);
  CHECK(events[0].session_id == "sess-full");
  CHECK(events[0].flags == proto::kFlagSkewCorrected);  // client session: no derived flag
}

TEST_CASE("a session reads back ordered by (event_time, seq)", "[storage]") {
  TempDir dir;
  auto store = OpenStore(TestOptions(dir.path()));
  const int64_t now = NowMs();
  // Appended out of event-time order, with a tie and a pre-1970 time, across
  // two appends (two groups).
  std::vector<proto::Event> first = {MakeEvent("a", "s1", 300, now), MakeEvent("b", "s1", 100, now),
                                     MakeEvent("c", "s1", 200, now)};
  std::vector<proto::Event> second = {MakeEvent("d", "s1", 100, now),
                                      MakeEvent("e", "s1", -5000, now)};
  REQUIRE(AppendSync(*store, first).status.ok());
  REQUIRE(AppendSync(*store, second).status.ok());

  auto events = ReadOk(*store, "s1");
  std::vector<std::string> names;
  std::vector<uint64_t> seqs;
  for (const auto& e : events) {
    names.push_back(e.event);
    seqs.push_back(e.seq);
  }
  CHECK(names == std::vector<std::string>{"e", "b", "d", "c", "a"});
  CHECK(seqs == std::vector<uint64_t>{5, 2, 4, 3, 1});
}

TEST_CASE("sessions are isolated, also when one id prefixes another", "[storage]") {
  TempDir dir;
  auto store = OpenStore(TestOptions(dir.path()));
  const int64_t now = NowMs();
  REQUIRE(AppendSync(*store, {MakeEvent("x", "ab", now), MakeEvent("y", "abc", now),
                              MakeEvent("z", "a", now)})
              .status.ok());
  auto ab = ReadOk(*store, "ab");
  REQUIRE(ab.size() == 1);
  CHECK(ab[0].event == "x");
  auto abc = ReadOk(*store, "abc");
  REQUIRE(abc.size() == 1);
  CHECK(abc[0].event == "y");

  std::vector<proto::Event> out;
  CHECK(store->ReadSession("nope", &out).code() == Status::Code::kNotFound);
  CHECK(out.empty());
  CHECK(store->ReadSession("", &out).code() == Status::Code::kNotFound);
}

TEST_CASE("seq continues across close and reopen", "[storage]") {
  TempDir dir;
  const int64_t now = NowMs();
  {
    auto store = OpenStore(TestOptions(dir.path()));
    AppendResult r = AppendSync(*store, {MakeEvent("a", "s", now), MakeEvent("b", "s", now),
                                         MakeEvent("c", "s", now)});
    CHECK(r.seqs == std::vector<uint64_t>{1, 2, 3});
    CHECK(store->stats().next_seq == 4);
    REQUIRE(store->Close().ok());
  }
  {
    auto store = OpenStore(TestOptions(dir.path()));
    CHECK(store->stats().next_seq == 4);
    AppendResult r = AppendSync(*store, {MakeEvent("d", "s", now), MakeEvent("e", "s", now)});
    CHECK(r.seqs == std::vector<uint64_t>{4, 5});
    // No Close: the destructor closes.
  }
  {
    auto store = OpenStore(TestOptions(dir.path()));
    CHECK(AppendSync(*store, {MakeEvent("f", "s", now)}).seqs == std::vector<uint64_t>{6});
    CHECK(ReadOk(*store, "s").size() == 6);
  }
}

TEST_CASE("the instance secret is 32 random bytes, stable per data dir", "[storage]") {
  TempDir dir;
  std::string secret;
  {
    auto store = OpenStore(TestOptions(dir.Sub("one")));
    secret = store->instance_secret();
  }
  REQUIRE(secret.size() == 64);
  CHECK(secret.find_first_not_of("0123456789abcdef") == std::string::npos);
  auto again = OpenStore(TestOptions(dir.Sub("one")));
  CHECK(again->instance_secret() == secret);
  auto other = OpenStore(TestOptions(dir.Sub("two")));
  CHECK(other->instance_secret() != secret);
}

TEST_CASE("Append after Close is Unavailable and never calls back", "[storage]") {
  TempDir dir;
  auto store = OpenStore(TestOptions(dir.path()));
  CHECK(store->healthy());
  REQUIRE(store->Close().ok());
  CHECK_FALSE(store->healthy());
  CHECK(store->Close().ok());  // idempotent

  bool called = false;
  Status s = store->Append({MakeEvent("a", "s", NowMs())}, [&](AppendResult&&) { called = true; });
  CHECK(s.code() == Status::Code::kUnavailable);
  CHECK_FALSE(called);
  std::vector<proto::Event> out;
  CHECK(store->ReadSession("s", &out).code() == Status::Code::kUnavailable);
  CHECK(store->RunRetentionForTest(NowMs()) == 0);
}

TEST_CASE("Append rejects an empty batch", "[storage]") {
  TempDir dir;
  auto store = OpenStore(TestOptions(dir.path()));
  CHECK(store->Append({}, [](AppendResult&&) {}).code() == Status::Code::kInvalidArgument);
}

TEST_CASE("Close commits everything already queued and calls every callback", "[storage]") {
  TempDir dir;
  const int64_t now = NowMs();
  constexpr int kRequests = 50;
  // Written only by callbacks (the writer thread, one at a time); read after
  // the closing thread is joined.
  std::map<int, AppendResult> results;
  testing::CallbackLatch latch;
  int accepted = 0;
  {
    auto store = OpenStore(TestOptions(dir.path()));
    testing::WriterGate gate(*store);
    auto append = [&](int i) {
      return store->Append({MakeEvent("e" + std::to_string(i), "drain", now + i)},
                           [&, i](AppendResult&& r) {
                             results[i] = std::move(r);
                             latch.Arrive();
                           });
    };
    for (int i = 0; i < kRequests; ++i) {
      REQUIRE(append(i).ok());
      ++accepted;
    }
    // Close from another thread: it must wait for the queue behind the gate.
    Status close_status;
    std::thread closer([&] { close_status = store->Close(); });
    while (store->healthy()) std::this_thread::yield();  // Close has begun
    // From here on appends are refused (at most a few slip in before the
    // writer is told to stop; those are committed like the rest).
    Status refused;
    for (int i = kRequests; refused.ok(); ++i) {
      refused = append(i);
      if (refused.ok()) ++accepted;
    }
    CHECK(refused.code() == Status::Code::kUnavailable);
    CHECK(latch.count() == 0);  // nothing was committed while the writer was held
    gate.Release();
    closer.join();
    CHECK(close_status.ok());
    CHECK(latch.count() == static_cast<size_t>(accepted));
  }
  REQUIRE(results.size() == static_cast<size_t>(accepted));
  for (const auto& [i, r] : results) {
    INFO("request " << i);
    CHECK(r.status.ok());
    CHECK(r.outcomes == std::vector<AppendOutcome>{AppendOutcome::kStored});
  }
  auto store = OpenStore(TestOptions(dir.path()));
  CHECK(ReadOk(*store, "drain").size() == static_cast<size_t>(accepted));
}

TEST_CASE("a full queue answers Busy and recovers once drained", "[storage]") {
  TempDir dir;
  StoreOptions options = TestOptions(dir.path());
  options.queue_capacity_events = 4;
  auto store = OpenStore(options);
  const int64_t now = NowMs();
  testing::CallbackLatch latch;
  std::atomic<int> failed{0};  // callbacks run on the writer: no Catch2 asserts there
  auto cb = [&](AppendResult&& r) {
    if (!r.status.ok()) ++failed;
    latch.Arrive();
  };
  {
    testing::WriterGate gate(*store);  // the gate's event has left the queue
    REQUIRE(store->Append({MakeEvent("a", "busy", now), MakeEvent("b", "busy", now)}, cb).ok());
    REQUIRE(store->Append({MakeEvent("c", "busy", now)}, cb).ok());
    CHECK(store->stats().queue_depth_events == 3);
    // 3 queued + 2 > 4: the whole request is refused, nothing of it queued.
    CHECK(store->Append({MakeEvent("x", "busy", now), MakeEvent("y", "busy", now)}, cb).code() ==
          Status::Code::kBusy);
    REQUIRE(store->Append({MakeEvent("d", "busy", now)}, cb).ok());
    CHECK(store->Append({MakeEvent("z", "busy", now)}, cb).code() == Status::Code::kBusy);
    CHECK(store->stats().queue_depth_events == 4);
    CHECK(store->healthy());  // Busy is back-pressure, not a failure
    gate.Release();
    latch.Wait(3);
  }
  CHECK(failed == 0);
  CHECK(store->stats().queue_depth_events == 0);
  REQUIRE(AppendSync(*store, {MakeEvent("e", "busy", now)}).status.ok());
  auto events = ReadOk(*store, "busy");
  std::vector<std::string> names;
  for (const auto& e : events) names.push_back(e.event);
  CHECK(names == std::vector<std::string>{"a", "b", "c", "d", "e"});
  // A request larger than the whole queue can never fit.
  std::vector<proto::Event> big(5, MakeEvent("big", "busy", now));
  CHECK(store->Append(big, cb).code() == Status::Code::kBusy);
}

TEST_CASE("durability sync commits and reads back after reopen", "[storage]") {
  TempDir dir;
  StoreOptions options = TestOptions(dir.path());
  options.durability = config::Durability::kSync;
  const int64_t now = NowMs();
  {
    auto store = OpenStore(options);
    for (int i = 0; i < 5; ++i) {
      AppendResult r = AppendSync(*store, {MakeEvent("e" + std::to_string(i), "sync", now + i)});
      REQUIRE(r.status.ok());
      CHECK(r.seqs == std::vector<uint64_t>{static_cast<uint64_t>(i + 1)});
    }
    CHECK(store->stats().groups_committed == 5);
  }
  auto store = OpenStore(options);
  CHECK(ReadOk(*store, "sync").size() == 5);
}

TEST_CASE("Open reports an unusable data dir by name", "[storage]") {
  TempDir dir;
  const std::string file = dir.Sub("not-a-dir");
  std::ofstream(file) << "x";
  std::unique_ptr<EventStore> store;
  Status s = EventStore::Open(TestOptions(file), &store);
  CHECK_FALSE(s.ok());
  CHECK(s.message().find(file) != std::string::npos);
  CHECK(store == nullptr);
}

TEST_CASE("a data dir already open elsewhere is refused by name", "[storage]") {
  TempDir dir;
  auto first = OpenStore(TestOptions(dir.path()));
  std::unique_ptr<EventStore> second;
  Status s = EventStore::Open(TestOptions(dir.path()), &second);
  CHECK_FALSE(s.ok());
  CHECK(s.message().find(dir.path()) != std::string::npos);
  CHECK(first->healthy());
}

TEST_CASE("a store written by another schema is refused, not misread", "[storage]") {
  const char* version = GENERATE("\x01", "\x03");  // an older and a newer layout
  TempDir dir;
  { auto store = OpenStore(TestOptions(dir.path())); }
  {
    // Rewrite meta/schema_version behind the store's back, as another build would.
    std::vector<std::string> names;
    REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.path(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    REQUIRE(rocksdb::DB::Open(rocksdb::DBOptions(), dir.path(), cfs, &handles, &db).ok());
    size_t meta = static_cast<size_t>(std::find(names.begin(), names.end(), "meta") - names.begin());
    REQUIRE(meta < names.size());
    std::string v(7, '\0');
    v.push_back(version[0]);
    CHECK(db->Put(rocksdb::WriteOptions(), handles[meta], "schema_version", v).ok());
    for (auto* h : handles) CHECK(db->DestroyColumnFamilyHandle(h).ok());
    CHECK(db->Close().ok());
    delete db;
  }
  std::unique_ptr<EventStore> store;
  Status s = EventStore::Open(TestOptions(dir.path()), &store);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message().find("schema version " + std::to_string(int(version[0]))) != std::string::npos);
}

TEST_CASE("StoreOptionsFromConfig maps the storage, session and dedupe keys", "[storage]") {
  config::Config c;
  c.data_dir = "/var/lib/foothold";
  c.storage.durability = config::Durability::kSync;
  c.storage.retention_days = 7;
  c.storage.queue_capacity = 1234;
  c.storage.max_group_events = 56;
  c.storage.block_cache_mb = 3;
  c.session.timeout_ms = 60000;
  c.dedupe.window_ms = 5000;
  StoreOptions o = StoreOptionsFromConfig(c);
  CHECK(o.data_dir == "/var/lib/foothold");
  CHECK(o.durability == config::Durability::kSync);
  CHECK(o.retention_days == 7);
  CHECK(o.queue_capacity_events == 1234);
  CHECK(o.max_group_events == 56);
  CHECK(o.block_cache_bytes == 3u << 20);
  CHECK(o.session_timeout_ms == 60000);
  CHECK(o.dedupe_window_ms == 5000);
}

TEST_CASE("sessions sharing the index keyspace are read back apart, in time order", "[storage]") {
  // session_index is keyed by Hash64(session_id); readback must keep to the
  // prefix and filter by the id itself.
  TempDir dir;
  auto store = OpenStore(TestOptions(dir.path()));
  std::vector<proto::Event> events;
  for (int i = 0; i < 50; ++i) {
    // Newest first, so index order (not arrival order) must sort them.
    events.push_back(MakeEvent("tick", "sess-" + std::to_string(i % 5), 1'700'000'000'000 + (50 - i)));
  }
  AppendSync(*store, std::move(events));
  for (int s = 0; s < 5; ++s) {
    auto out = ReadOk(*store, "sess-" + std::to_string(s));
    REQUIRE(out.size() == 10);
    for (size_t k = 0; k < out.size(); ++k) {
      CHECK(out[k].session_id == "sess-" + std::to_string(s));
      if (k) CHECK(out[k - 1].event_time_ms < out[k].event_time_ms);
    }
  }
  std::vector<proto::Event> none;
  CHECK(store->ReadSession("sess-5", &none).code() == Status::Code::kNotFound);
}

TEST_CASE("deferred appends wait for CommitNow and go out as one group", "[storage]") {
  TempDir dir;
  StoreOptions o = TestOptions(dir.path());
  o.group_commit_us = 60'000'000;  // linger "forever": only CommitNow ends it
  auto store = OpenStore(o);
  const uint64_t groups_before = store->stats().groups_committed;
  std::vector<std::future<AppendResult>> results;
  std::vector<std::promise<AppendResult>> promises(8);
  for (int i = 0; i < 8; ++i) {
    results.push_back(promises[i].get_future());
    std::vector<proto::Event> one{MakeEvent("tick", "deferred", 1'700'000'000'000 + i)};
    REQUIRE(store->Append(std::move(one), [&promises, i](AppendResult&& r) { promises[i].set_value(std::move(r)); },
                          /*defer_commit=*/true).ok());
  }
  store->CommitNow();
  for (auto& f : results) CHECK(f.get().status.ok());
  CHECK(store->stats().groups_committed == groups_before + 1);
  CHECK(ReadOk(*store, "deferred").size() == 8);
}

}  // namespace
}  // namespace foothold::storage
