// Funnel semantics (storage/README.md, PostHog's state machine) on the Rollup
// itself, one rule per case: restart on a new step 1, the window anchored at
// step 1 and inclusive, one event per step, ties broken by (event_time, seq),
// strict and any modes.
#include <catch2/catch.hpp>

#include "storage/aggregate/counter_keys.h"
#include "storage/aggregate/rollup.h"
#include "storage/aggregate/session_state.h"

namespace foothold::storage {
namespace {

constexpr int64_t kMin = 60 * 1000;
constexpr int64_t kT0 = 1763596800000 + 10 * 60 * kMin;  // 2025-11-20T10:00Z

config::MicroConversion Micro(const std::string& name) {
  return {name, config::MicroConversion::Kind::kEvent, config::Matcher{name, {}, ""}, {}};
}

// Feeds one session's events (name, event_time; seq in the given order) to a
// rollup with a funnel over `steps`, closes it, and returns the sessions
// reaching each step.
std::vector<int64_t> Reached(const std::vector<std::string>& steps, config::FunnelMode mode,
                             const std::vector<std::pair<std::string, int64_t>>& events,
                             int64_t* time_to_last_ms = nullptr) {
  AnalyticsDefs defs;
  for (const char* n : {"a", "b", "c", "x"}) defs.micro.push_back(Micro(n));
  defs.funnels.push_back({"f", steps, 10 * kMin, mode});
  Rollup rollup(defs, 30 * kMin);
  CounterDeltas d;
  uint64_t seq = 1;
  for (const auto& [name, t] : events) {
    proto::Event e;
    e.event = name;
    e.session_id = "s";
    e.event_time_ms = t;
    e.received_at_ms = kT0;
    e.seq = seq++;
    rollup.Apply(e, &d);
  }
  proto::Event tick;  // far later: its watermark closes "s"
  tick.event = "tick";
  tick.session_id = "tick";
  tick.event_time_ms = tick.received_at_ms = kT0 + 120 * kMin;
  tick.seq = seq;
  rollup.Apply(tick, &d);
  rollup.CloseDue(&d);
  rollup.DrainSeries(&d);
  REQUIRE(rollup.open_sessions() == 1);
  const int64_t day = BucketStart(kT0, kDayBucketMs);
  std::vector<int64_t> out;
  for (size_t k = 0; k < steps.size(); ++k) out.push_back(d[FunnelReachedKey("f", day, k)]);
  if (time_to_last_ms != nullptr) {
    *time_to_last_ms = -1;
    for (int bin = 0; bin < kTimeBins; ++bin) {
      if (d[FunnelTimeKey("f", day, steps.size() - 1, bin)] > 0) *time_to_last_ms = static_cast<int64_t>(TimeBinLowMs(bin));
    }
  }
  return out;
}

using V = std::vector<int64_t>;
const auto kOrdered = config::FunnelMode::kOrdered;

TEST_CASE("funnel: a new step 1 restarts the chain and anchors the window", "[storage]") {
  // The first a is too old for c; the second a starts a chain that completes.
  int64_t ttc = 0;
  CHECK(Reached({"a", "b", "c"}, kOrdered,
                {{"a", kT0}, {"b", kT0 + 2 * kMin}, {"a", kT0 + 20 * kMin}, {"b", kT0 + 25 * kMin},
                 {"c", kT0 + 29 * kMin}},
                &ttc) == V{1, 1, 1});
  // Reported time to convert is from the restarted step 1: 9 minutes.
  CHECK(ttc <= 9 * kMin);
  CHECK(ttc > 8 * kMin);
  // Without the second a the chain stays at step 2.
  CHECK(Reached({"a", "b", "c"}, kOrdered, {{"a", kT0}, {"b", kT0 + 2 * kMin}, {"c", kT0 + 29 * kMin}}) ==
        V{1, 1, 0});
}

TEST_CASE("funnel: the window is inclusive", "[storage]") {
  CHECK(Reached({"a", "b"}, kOrdered, {{"a", kT0}, {"b", kT0 + 10 * kMin}}) == V{1, 1});
  CHECK(Reached({"a", "b"}, kOrdered, {{"a", kT0}, {"b", kT0 + 10 * kMin + 1}}) == V{1, 0});
}

TEST_CASE("funnel: ties in event time are ordered by seq, and arrival order does not matter otherwise",
          "[storage]") {
  CHECK(Reached({"a", "b"}, kOrdered, {{"a", kT0}, {"b", kT0}}) == V{1, 1});
  CHECK(Reached({"a", "b"}, kOrdered, {{"b", kT0}, {"a", kT0}}) == V{1, 0});
  // b arrives first but happened later: event time decides.
  CHECK(Reached({"a", "b"}, kOrdered, {{"b", kT0 + kMin}, {"a", kT0}}) == V{1, 1});
}

TEST_CASE("funnel: one event fills at most one step", "[storage]") {
  CHECK(Reached({"a", "a"}, kOrdered, {{"a", kT0}}) == V{1, 0});
  CHECK(Reached({"a", "a"}, kOrdered, {{"a", kT0}, {"a", kT0 + kMin}}) == V{1, 1});
}

TEST_CASE("funnel: strict mode breaks on any other event, any mode ignores order", "[storage]") {
  const auto strict = config::FunnelMode::kStrict;
  CHECK(Reached({"a", "b"}, strict, {{"a", kT0}, {"b", kT0 + kMin}}) == V{1, 1});
  CHECK(Reached({"a", "b"}, strict, {{"a", kT0}, {"page_view", kT0 + 1}, {"b", kT0 + kMin}}) == V{1, 0});
  CHECK(Reached({"a", "b"}, kOrdered, {{"a", kT0}, {"page_view", kT0 + 1}, {"b", kT0 + kMin}}) == V{1, 1});
  const auto any = config::FunnelMode::kAny;
  CHECK(Reached({"a", "b", "c"}, any, {{"c", kT0}, {"a", kT0 + kMin}, {"b", kT0 + 2 * kMin}}) == V{1, 1, 1});
  CHECK(Reached({"a", "b", "c"}, any, {{"c", kT0}, {"a", kT0 + kMin}, {"b", kT0 + 11 * kMin}}) == V{1, 1, 0});
  CHECK(Reached({"a", "b", "c"}, kOrdered, {{"c", kT0}, {"a", kT0 + kMin}, {"b", kT0 + 2 * kMin}}) ==
        V{1, 1, 0});
}

TEST_CASE("session head and chunk rows survive their encoding byte for byte", "[storage]") {
  SessionState s;
  s.start_ms = -5;
  s.last_received_ms = kT0;
  s.events = 7;
  s.hits = 4096;
  s.hits_truncated = true;
  s.pending = {{kT0 + 2, 14, 1}, {kT0 - 1, 15, SessionState::kOther}};
  s.chunks = 2;
  s.first = {{1, kT0, 3}, {2, kT0 + 1, 9}};
  s.last = {{2, kT0 + 5, 12}};
  s.exposures = {{"exp", "b", kT0, 4}};
  s.pages = {{0, true, 181000, PagePathHash("/p/1")}};
  const std::string encoded = EncodeHead(s);
  SessionState back;
  REQUIRE(DecodeHead(encoded, &back).ok());
  CHECK(EncodeHead(back) == encoded);
  CHECK(back.first.size() == 2);
  CHECK(back.last[0].seq == 12);
  REQUIRE(back.pending.size() == 2);
  CHECK((back.pending[1].time_ms == kT0 - 1 && back.pending[1].seq == 15));
  CHECK(back.exposures[0].variant == "b");
  CHECK(back.pages[0].path_hash == PagePathHash("/p/1"));
  // Every truncation is refused, never misread.
  for (size_t n = 0; n < encoded.size(); ++n) {
    CHECK_FALSE(DecodeHead(encoded.substr(0, n), &back).ok());
  }

  const std::string row = EncodeHits({{kT0, 77, 1}, {kT0, 77, SessionState::kOther}, {kT0 - 5, 80, 2}});
  std::vector<SessionState::Hit> hits;
  REQUIRE(DecodeHits(row, &hits).ok());
  REQUIRE(hits.size() == 3);
  CHECK((hits[0].time_ms == kT0 && hits[0].seq == 77 && hits[0].conv == 1));
  CHECK((hits[1].seq == 77 && hits[1].conv == SessionState::kOther));
  CHECK((hits[2].time_ms == kT0 - 5 && hits[2].seq == 80 && hits[2].conv == 2));
  for (size_t n = 0; n < row.size(); ++n) {
    CHECK_FALSE(DecodeHits(row.substr(0, n), &hits).ok());
  }
}

TEST_CASE("session row keys name their session and kind", "[storage]") {
  std::string_view id;
  uint64_t seq = 0;
  const std::string head = SessionHeadKey("s-1");  // id views into the key
  CHECK(ParseSessionKey(head, &id, &seq) == SessionRowKind::kHead);
  CHECK(id == "s-1");
  const std::string chunk = SessionHitKey("s-1", 42);
  CHECK(ParseSessionKey(chunk, &id, &seq) == SessionRowKind::kHit);
  CHECK((id == "s-1" && seq == 42));
  std::string forged = head;
  forged[1] ^= 1;  // a hash that does not match the id
  CHECK(ParseSessionKey(forged, &id, &seq) == SessionRowKind::kUnknown);
  CHECK(SessionHitKey("s-1", 42).starts_with(SessionHitPrefix("s-1")));
  CHECK_FALSE(SessionHitKey("s-10", 42).starts_with(SessionHitPrefix("s-1")));
  CHECK(ParseSessionKey("s-1", &id, &seq) == SessionRowKind::kV1);  // a version 1 row
  CHECK(ParseSessionKey(std::string("\x02s\x00", 3), &id, &seq) == SessionRowKind::kUnknown);
}

}  // namespace
}  // namespace foothold::storage
