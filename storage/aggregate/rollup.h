// Private to storage/: Rollup, the deterministic heart of the aggregator
// (storage/README.md "The aggregator: exactly once"). It consumes stored
// events in seq order and produces counter deltas
// (storage/aggregate/counter_keys.h) plus per-session state. It does no I/O: the
// Aggregator persists what it produces (deltas, dirty session states and the
// checkpoint in one WriteBatch), and `foothold verify` runs a fresh Rollup over
// the whole log to recount. Same events in, same counters out, however the
// input was split into batches and whatever crashes happened between them:
// that is what makes the rollup exactly-once.
//
// Semantics, per non-bot event (bots and clock ticks only move the watermark):
//  - A session is its session_id. It is *closed* once the watermark (the
//    newest received_at seen minus the session timeout) passes the
//    received_at of its newest event. An event for a closed session opens a
//    new one under the same id.
//  - Series counters (minute, hour, day of event_time): events per
//    conversion, and sessions with their first occurrence of the conversion
//    in the bucket (by event time: an earlier out-of-order event moves it).
//    "$all" counts every event, and sessions by their start (earliest event).
//  - Dwell conversions fire once per page view (a page view of a url path
//    starts at a `page_view` event, or at the first event carrying it) when
//    the engaged_ms summed over its events reaches the threshold; the firing
//    time is the event_time of the event that crossed it.
//  - At close, by the day of session start: "$closed" sessions; the lift
//    cells of every micro-conversion for every macro-conversion; the funnel
//    steps reached with the time from step 1; experiment exposure (first
//    exposure wins, by (event_time, seq)) and conversion (a target event at
//    or after the exposure).
//
// Thread safety: none; one thread owns a Rollup.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "config/config.h"
#include "proto/event.h"
#include "proto/status.h"
#include "storage/event_store.h"

namespace foothold::storage {

// Counter key -> signed delta, summed over a batch.
using CounterDeltas = std::unordered_map<std::string, int64_t>;

// The state of one open session (persisted in the `sessions` column family).
struct SessionState {
  static constexpr uint16_t kOther = 0xffff;  // a hit of an event matching no conversion
  struct Hit {          // a conversion occurrence (or, for strict funnels, any event)
    int64_t time_ms;
    uint64_t seq;
    uint16_t conv;
  };
  struct First {        // the earliest occurrence of a conversion, by (time, seq)
    uint16_t conv;
    int64_t time_ms;
    uint64_t seq;
  };
  struct Exposure {     // the first exposure to a configured experiment
    std::string experiment;  // its name (names survive edits of the definitions)
    std::string variant;
    int64_t time_ms;
    uint64_t seq;
  };
  struct PageView {     // dwell accumulation on one url path
    uint16_t conv;
    bool fired;
    int64_t engaged_ms;
    std::string path;
  };
  int64_t start_ms = 0;          // earliest event_time
  int64_t last_received_ms = 0;  // newest received_at
  uint64_t events = 0;
  bool hits_truncated = false;   // more than kMaxHits hits: funnels use the first kMaxHits
  std::vector<First> first;
  std::vector<Hit> hits;
  std::vector<Exposure> exposures;
  std::vector<PageView> pages;
};

class Rollup {
 public:
  static constexpr size_t kMaxHits = 4096;   // per session, for funnels
  static constexpr size_t kMaxPages = 64;    // dwell page views tracked per session

  Rollup(AnalyticsDefs defs, int64_t session_timeout_ms);

  // Conversion names by id (micro first, then macro): persisted with the
  // session states so a restart with edited definitions can remap ids.
  const std::vector<std::string>& conversion_names() const { return names_; }

  // REQUIRES: events in strictly increasing seq order across calls.
  void Apply(const proto::Event& e, CounterDeltas* deltas);

  // Closes every session the watermark has passed. Call before persisting:
  // a stored state is then never one that was already due.
  void CloseDue(CounterDeltas* deltas);

  // Apply and CloseDue add the lift, funnel and experiment deltas to the
  // caller's map at once, and sum the series deltas (minute/hour/day) inside:
  // this moves those into `deltas` too. Call before persisting.
  void DrainSeries(CounterDeltas* deltas);

  int64_t watermark_ms() const { return watermark_ms_; }
  void set_watermark_ms(int64_t w) { watermark_ms_ = w; }
  size_t open_sessions() const { return sessions_.size(); }
  uint64_t sessions_closed() const { return sessions_closed_; }
  // Per conversion id, since construction: occurrences, and sessions with a
  // first occurrence (a session moving its first occurrence counts once).
  const std::vector<uint64_t>& conversion_events() const { return conv_events_; }
  const std::vector<uint64_t>& conversion_sessions() const { return conv_sessions_; }
  size_t micro_count() const { return micro_count_; }

  // Sessions touched since the last TakeTouched (present: put its state;
  // absent from open sessions: delete it).
  std::vector<std::string> TakeTouched();
  // A lower bound of the received_at that would close the oldest open
  // session (INT64_MAX when none is open): the aggregator writes a clock tick
  // once the wall clock passes it.
  int64_t NextCloseMs() const;
  // nullptr when the session is not open.
  const SessionState* Find(const std::string& session_id) const;

  // Restores an open session loaded from storage. `stored_names` are the
  // conversion names the state's ids refer to (see conversion_names()).
  Status Restore(std::string session_id, std::string_view encoded,
                 const std::vector<std::string>& stored_names);

  static std::string EncodeState(const SessionState& s);
  static Status DecodeState(std::string_view in, SessionState* out);

 private:
  struct Funnel {
    std::string name;
    std::vector<uint16_t> steps;
    int64_t window_ms;
    config::FunnelMode mode;
  };
  struct Experiment {
    std::string name;
    uint16_t target;
    std::vector<std::string> variants;
  };

  void Open(SessionState* s, const proto::Event& e);
  void Occur(SessionState* s, uint16_t conv, int64_t time_ms, uint64_t seq);
  // Series deltas are summed in series_, keyed by a compact cell rather than
  // the counter key string (building and hashing those strings was the
  // aggregator's top cost); DrainSeries turns them into counter keys.
  void AddSeries(uint16_t name, char field, int64_t t_ms, int64_t delta);
  void MoveSeries(uint16_t name, char field, int64_t from_ms, int64_t to_ms);
  void Dwell(SessionState* s, const proto::Event& e);
  void Close(const std::string& id, const SessionState& s, CounterDeltas* d);
  // REQUIRES: hits sorted by (event_time, seq).
  void CloseFunnel(const Funnel& f, const std::vector<SessionState::Hit>& hits, int64_t day,
                   CounterDeltas* d) const;
  bool Matches(const config::Matcher& m, const proto::Event& e) const;
  void Track(const std::string& id, int64_t old_received_ms, const SessionState& s);

  AnalyticsDefs defs_;
  int64_t timeout_ms_;
  std::vector<std::string> names_;                // conversion id -> name
  std::vector<const config::Matcher*> matchers_;  // conversion id -> matcher (null for dwell)
  std::vector<int64_t> dwell_min_ms_;             // conversion id -> threshold (0: not dwell)
  std::vector<uint16_t> dwell_ids_;
  size_t micro_count_ = 0;
  std::unordered_map<std::string, std::vector<uint16_t>> by_event_;  // event name -> conversion ids
  std::unordered_map<std::string, uint16_t> experiment_ids_;
  std::vector<Funnel> funnels_;
  std::vector<Experiment> experiments_;
  bool record_all_hits_ = false;  // some funnel is strict

  static constexpr uint16_t kAllId = 0xfffe;     // series "$all"
  static constexpr uint16_t kClosedId = 0xfffd;  // series "$closed"
  struct SeriesCell {
    uint16_t name;  // conversion id, kAllId or kClosedId
    char field;
    char gran;
    int64_t bucket_ms;
    bool operator==(const SeriesCell&) const = default;
  };
  struct SeriesCellHash {
    size_t operator()(const SeriesCell& c) const {
      uint64_t h = static_cast<uint64_t>(c.bucket_ms) * 0x9e3779b97f4a7c15ULL;
      h ^= (static_cast<uint64_t>(c.name) << 16 | static_cast<uint64_t>(static_cast<uint8_t>(c.field)) << 8 |
            static_cast<uint8_t>(c.gran)) * 0xc2b2ae3d27d4eb4fULL;
      return static_cast<size_t>(h ^ (h >> 29));
    }
  };
  std::unordered_map<SeriesCell, int64_t, SeriesCellHash> series_;

  int64_t watermark_ms_ = INT64_MIN;
  std::unordered_map<std::string, SessionState> sessions_;
  // Open sessions filed by a second at or before their newest received_at,
  // for CloseDue (which refiles those that moved on). Entries of closed
  // sessions are skipped when reached.
  std::map<int64_t, std::vector<std::string>> by_second_;
  std::unordered_set<std::string> touched_;
  uint64_t sessions_closed_ = 0;
  std::vector<uint64_t> conv_events_;
  std::vector<uint64_t> conv_sessions_;
};

}  // namespace foothold::storage
