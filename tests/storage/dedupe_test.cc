// Dedupe on client event ids (storage/README.md): an event_id seen within the
// window is acknowledged as a duplicate and stored once, within a group,
// across groups, across restarts; expiry is measured on received_at.
#include <atomic>

#include "storage/log/filters.h"
#include "storage/log/keys.h"
#include "storage/log/sessionizer.h"
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

proto::Event WithId(std::string id, std::string name, int64_t received_at) {
  proto::Event e = MakeEvent(std::move(name), "dd", received_at, received_at);
  e.event_id = std::move(id);
  return e;
}

TEST_CASE("a repeated event_id in one request is stored once", "[storage]") {
  TempDir dir;
  auto store = OpenStore(TestOptions(dir.path()));
  const int64_t now = NowMs();
  AppendResult r = AppendSync(*store, {WithId("id-1", "first", now), WithId("id-2", "other", now),
                                       WithId("id-1", "retry", now)});
  REQUIRE(r.status.ok());
  CHECK(r.outcomes == std::vector<AppendOutcome>{AppendOutcome::kStored, AppendOutcome::kStored,
                                                 AppendOutcome::kDuplicate});
  CHECK(r.seqs == std::vector<uint64_t>{1, 2, 0});
  auto events = ReadOk(*store, "dd");
  REQUIRE(events.size() == 2);
  CHECK(events[0].event == "first");
  CHECK(store->stats().duplicates == 1);
  CHECK(store->stats().events_committed == 2);
  CHECK(store->stats().next_seq == 3);  // a duplicate takes no seq
}

TEST_CASE("a repeated event_id across requests of one group is stored once", "[storage]") {
  TempDir dir;
  auto store = OpenStore(TestOptions(dir.path()));
  const int64_t now = NowMs();
  testing::CallbackLatch latch;
  AppendResult a, b;
  {
    testing::WriterGate gate(*store);  // both requests land in the same group
    REQUIRE(store->Append({WithId("same", "a", now)}, [&](AppendResult&& r) {
                    a = std::move(r);
                    latch.Arrive();
                  }).ok());
    REQUIRE(store->Append({WithId("same", "b", now)}, [&](AppendResult&& r) {
                    b = std::move(r);
                    latch.Arrive();
                  }).ok());
    gate.Release();
    latch.Wait(2);
  }
  CHECK(store->stats().groups_committed == 2);  // the gate's and this one
  CHECK(a.outcomes == std::vector<AppendOutcome>{AppendOutcome::kStored});
  CHECK(b.outcomes == std::vector<AppendOutcome>{AppendOutcome::kDuplicate});
  auto events = ReadOk(*store, "dd");
  REQUIRE(events.size() == 1);
  CHECK(events[0].event == "a");
}

TEST_CASE("a repeated event_id is a duplicate in a later group and after reopen", "[storage]") {
  TempDir dir;
  const int64_t now = NowMs();
  {
    auto store = OpenStore(TestOptions(dir.path()));
    CHECK(AppendSync(*store, {WithId("x1", "a", now)}).outcomes ==
          std::vector<AppendOutcome>{AppendOutcome::kStored});
    AppendResult again = AppendSync(*store, {WithId("x1", "a-retry", now + 10)});
    CHECK(again.outcomes == std::vector<AppendOutcome>{AppendOutcome::kDuplicate});
    CHECK(again.seqs == std::vector<uint64_t>{0});
  }
  auto store = OpenStore(TestOptions(dir.path()));
  AppendResult r = AppendSync(*store, {WithId("x1", "a-after-restart", now + 20),
                                       WithId("x2", "b", now + 20)});
  CHECK(r.outcomes == std::vector<AppendOutcome>{AppendOutcome::kDuplicate, AppendOutcome::kStored});
  CHECK(r.seqs == std::vector<uint64_t>{0, 2});
  auto events = ReadOk(*store, "dd");
  REQUIRE(events.size() == 2);
  CHECK(events[0].event == "a");
  CHECK(events[1].event == "b");
}

TEST_CASE("a dedupe entry expires after the window, measured on received_at", "[storage]") {
  TempDir dir;
  StoreOptions options = TestOptions(dir.path());
  options.dedupe_window_ms = 1000;
  auto store = OpenStore(options);
  const int64_t t = NowMs();
  auto outcome = [&](int64_t received_at) {
    AppendResult r = AppendSync(*store, {WithId("w", "e", received_at)});
    REQUIRE(r.status.ok());
    return r.outcomes.at(0);
  };
  CHECK(outcome(t) == AppendOutcome::kStored);
  CHECK(outcome(t + 999) == AppendOutcome::kDuplicate);   // inside the window
  CHECK(outcome(t + 1000) == AppendOutcome::kStored);     // window elapsed: stored again
  CHECK(outcome(t + 1500) == AppendOutcome::kDuplicate);  // measured from the new copy
  CHECK(outcome(t + 2000) == AppendOutcome::kStored);
  CHECK(ReadOk(*store, "dd").size() == 3);
}

TEST_CASE("server-assigned event ids are not deduplicated", "[storage]") {
  TempDir dir;
  auto store = OpenStore(TestOptions(dir.path()));
  const int64_t now = NowMs();
  proto::Event e = WithId("0190d6f2-0000-7000-8000-000000000000", "e", now);
  e.flags |= proto::kFlagEventIdAssigned;
  AppendResult r = AppendSync(*store, {e, e});
  CHECK(r.outcomes == std::vector<AppendOutcome>{AppendOutcome::kStored, AppendOutcome::kStored});
  // ... and a server-assigned id leaves no entry a client id could hit.
  proto::Event client = WithId(e.event_id, "client", now);
  CHECK(AppendSync(*store, {client}).outcomes == std::vector<AppendOutcome>{AppendOutcome::kStored});
  CHECK(ReadOk(*store, "dd").size() == 3);
}

TEST_CASE("a duplicate does not advance the visitor's session", "[storage]") {
  TempDir dir;
  StoreOptions options = TestOptions(dir.path());
  options.session_timeout_ms = 1000;
  auto store = OpenStore(options);
  const int64_t t = NowMs();
  proto::Event first = testing::VisitorEvent("v", t);
  first.event_id = "dup";
  REQUIRE(AppendSync(*store, {first}).status.ok());
  // The retry comes much later by event time; were it counted, the next
  // event would still be in the session's reach.
  proto::Event retry = testing::VisitorEvent("v", t + 900);
  retry.event_id = "dup";
  CHECK(AppendSync(*store, {retry}).outcomes == std::vector<AppendOutcome>{AppendOutcome::kDuplicate});
  proto::Event later = testing::VisitorEvent("v", t + 1500);
  REQUIRE(AppendSync(*store, {later}).status.ok());
  // 1500 ms after the only stored event: a new session. (Had the duplicate
  // moved the visitor's clock to t+900, it would have joined the first.)
  auto first_session = ReadOk(*store, DeriveSessionId("a:v", t));
  REQUIRE(first_session.size() == 1);
  CHECK(first_session[0].event_time_ms == t);
  auto second_session = ReadOk(*store, DeriveSessionId("a:v", t + 1500));
  REQUIRE(second_session.size() == 1);
  CHECK(second_session[0].event_time_ms == t + 1500);
  CHECK(store->stats().duplicates == 1);
  CHECK(store->stats().events_committed == 2);
}

TEST_CASE("the dedupe compaction filter drops only entries past the window", "[storage]") {
  std::atomic<int64_t> clock{1'000'000};
  DedupeExpiryFilter filter(1000, [&] { return clock.load(); });
  std::string new_value;
  bool changed = false;
  auto drops = [&](int64_t received_at) {
    std::string v = EncodeDedupe({42, received_at});
    return filter.Filter(0, "id", v, &new_value, &changed);
  };
  CHECK_FALSE(drops(1'000'000));      // just seen
  CHECK_FALSE(drops(999'001));        // 999 ms old
  CHECK(drops(999'000));              // 1000 ms old: expired
  CHECK_FALSE(drops(2'000'000));      // from the future (clock step): kept
  CHECK(filter.Filter(0, "id", "garbage", &new_value, &changed));
  clock = 5'000'000;
  CHECK(drops(1'000'000));
  CHECK_FALSE(changed);
}

TEST_CASE("the visitors compaction filter drops states idle past the horizon", "[storage]") {
  VisitorExpiryFilter filter(10'000, [] { return int64_t{100'000}; });
  std::string new_value;
  bool changed = false;
  auto drops = [&](int64_t last_event_time) {
    std::string v = EncodeVisitor({"s-x-1", last_event_time});
    return filter.Filter(0, "a:v", v, &new_value, &changed);
  };
  CHECK_FALSE(drops(95'000));
  CHECK_FALSE(drops(90'000));
  CHECK(drops(89'999));
  CHECK(drops(-5'000'000));
  CHECK_FALSE(drops(200'000));
}

}  // namespace
}  // namespace foothold::storage
