// Private to storage/: Rollup, the deterministic heart of the aggregator
// (contract in storage/README.md; what it counts in README.md,
// "Analytics"). It consumes stored events in seq order and produces counter
// deltas (counter_keys.h) plus per-session state (session_state.h). It does
// no I/O of its own: open sessions it does not hold come from a
// SessionSource, and Persist hands the changed session rows to a SessionSink.
// The Aggregator commits those rows, the counter deltas and the checkpoint in
// one WriteBatch; `foothold verify` runs a fresh Rollup (no source:
// everything in memory) over the whole log to recount. Same events in, same
// counters and session rows out, however the input was split into batches
// and whatever crashes happened between them: that is what makes the rollup
// exactly-once.
//
// Cost and memory: an event costs O(1) whatever the length of its session
// (the head row is O(conversions + exposures + pages), hits are sealed into
// chunk rows written once). With a source, at most `cache_sessions` sessions
// stay in memory (least recently used evicted after each Persist); the
// closing wheel keeps only ids, packed, per second.
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
//    steps reached with the time from step 1 (over the first kMaxHits hits in
//    arrival order, sorted by (event_time, seq), one event's hits in the
//    order recorded); experiment exposure (first exposure wins, by
//    (event_time, seq)) and conversion (a target event at or after the
//    exposure: its first occurrence, or its newest among the recorded hits).
//
// Thread safety: none; one thread owns a Rollup.
#pragma once

#include <cstdint>
#include <list>
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
#include "storage/aggregate/session_state.h"

namespace foothold::storage {

// Counter key -> signed delta, summed over a batch.
using CounterDeltas = std::unordered_map<std::string, int64_t>;

// Where a Rollup finds the open sessions it does not hold in memory: the
// aggregator reads the `sessions` column family; verify's recount has none
// (it keeps every session in memory).
class SessionSource {
 public:
  virtual ~SessionSource() = default;
  // NotFound when the session has no stored head.
  virtual Status ReadHead(const std::string& session_id, SessionState* out) = 0;
  // Appends the hits of the stored chunks in seq order, and each chunk's key seq to *rows.
  virtual Status ReadHits(const std::string& session_id, std::vector<SessionState::Hit>* out,
                          std::vector<uint64_t>* rows) = 0;
};

// Receives the `sessions` rows a batch changed (session_state.h).
class SessionSink {
 public:
  virtual ~SessionSink() = default;
  virtual void Put(const std::string& key, const std::string& value) = 0;
  virtual void Delete(const std::string& key) = 0;
};

class Rollup {
 public:
  static constexpr size_t kMaxHits = 4096;   // per session, for funnels
  static constexpr size_t kMaxPages = 64;    // dwell page views tracked per session

  // `source` (may be null: everything stays in memory) must outlive the
  // Rollup. With a source, Evict keeps at most `cache_sessions` in memory.
  Rollup(AnalyticsDefs defs, int64_t session_timeout_ms, SessionSource* source = nullptr,
         size_t cache_sessions = 0);

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

  // Not ok once reading from the source failed: the rollup's state is then
  // wrong and must not be persisted (the aggregator stops; a restart replays).
  const Status& status() const { return status_; }

  // Hands the rows changed since the last Persist to `sink`, sorted by key:
  // deletes of the sessions closed, the heads and new chunk rows of the
  // sessions touched. all = true: every open session's head and chunk rows
  // instead (verify's expected rows; REQUIRES no source).
  void Persist(SessionSink* sink, bool all = false);
  // After the persisted rows are committed: drops least recently used
  // sessions beyond cache_sessions (with a source only).
  void Evict();
  // Something for Persist to write.
  bool has_changes() const { return !dirty_.empty() || !closed_.empty(); }
  // Sessions whose rows changed since the last Persist (a head row each).
  size_t dirty_sessions() const { return dirty_.size(); }

  int64_t watermark_ms() const { return watermark_ms_; }
  void set_watermark_ms(int64_t w) { watermark_ms_ = w; }
  size_t open_sessions() const { return open_sessions_; }
  size_t cached_sessions() const { return sessions_.size(); }
  uint64_t sessions_closed() const { return sessions_closed_; }
  // Per conversion id, since construction: occurrences, and sessions with a
  // first occurrence (a session moving its first occurrence counts once).
  const std::vector<uint64_t>& conversion_events() const { return conv_events_; }
  const std::vector<uint64_t>& conversion_sessions() const { return conv_sessions_; }
  size_t micro_count() const { return micro_count_; }

  // A lower bound of the received_at that would close the oldest open
  // session (INT64_MAX when none is open): the aggregator writes a clock tick
  // once the wall clock passes it.
  int64_t NextCloseMs() const;

  // At start: the dimension values already counted ('V' counters; pairs of
  // dimension name, value). Values of dimensions no longer defined are ignored.
  void LoadDimensionValues(const std::vector<std::pair<std::string, std::string>>& values);

  // At start: a session stored open (its head was read from storage; the
  // rollup loads it from the source when it needs it).
  void AddStoredSession(std::string_view session_id, int64_t last_received_ms);

  // Stored states written under other conversion names (`stored_names`, see
  // conversion_names()) or in version 1: rewrites them for these
  // definitions. A conversion that no longer exists is dropped.
  void RemapHead(SessionState* s, const std::vector<std::string>& stored_names) const;
  uint16_t RemapConv(uint16_t conv, const std::vector<std::string>& stored_names) const;
  // A version 1 state's recorded hits (arrival order, ids already remapped):
  // fills s->last and returns the hit rows to store, (seq, row).
  std::vector<std::pair<uint64_t, std::string>> UpgradeV1Hits(
      SessionState* s, const std::vector<SessionState::Hit>& hits) const;

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
  // An open session in memory.
  struct Entry {
    SessionState state;
    // Chunks sealed since the last Persist (without a source: all of them).
    std::vector<std::vector<SessionState::Hit>> new_chunks;
    bool dirty = false;
    std::list<const std::string*>::iterator lru;  // with a source only
  };
  using Sessions = std::unordered_map<std::string, Entry>;

  // The open session `id`, from memory or the source; nullptr when not open.
  Entry* Lookup(const std::string& id);
  Sessions::iterator Insert(const std::string& id, SessionState state);
  void Erase(Sessions::iterator it);
  void MarkDirty(const std::string& id, Entry* en);

  void Open(SessionState* s, const proto::Event& e);
  void Occur(Entry* en, uint16_t conv, int64_t time_ms, uint64_t seq);
  // Records a hit if the session still has room (kMaxHits), keeping it when
  // a funnel needs it.
  void RecordHit(Entry* en, uint16_t conv, int64_t time_ms, uint64_t seq) const;
  // What a hit of `conv` is kept as, or nullopt-like kDrop when no funnel needs it.
  static constexpr uint32_t kDrop = 0x10000;
  uint32_t KeptAs(uint16_t conv) const;
  // Series deltas are summed in series_, keyed by a compact cell rather than
  // the counter key string (building and hashing those strings was the
  // aggregator's top cost), and only per minute: DrainSeries turns each
  // minute cell into its minute, hour and day counter keys.
  void AddSeries(uint16_t name, char field, int64_t t_ms, int64_t delta);
  void MoveSeries(uint16_t name, char field, int64_t from_ms, int64_t to_ms);
  void Dwell(Entry* en, const proto::Event& e);
  void Close(const std::string& id, Entry* en, CounterDeltas* d);
  // REQUIRES: hits sorted by (event_time, seq). Appends the keys to count once.
  void CloseFunnel(const Funnel& f, const std::vector<SessionState::Hit>& hits, int64_t day,
                   std::vector<std::string>* keys) const;
  // Segments (rollup_segments.cc): the landing-event values of a session
  // opened by `e`; the prop values `e` sets; the segment counters of a
  // closing session, given the unsegmented close-time keys it counted.
  void OpenSegments(SessionState* s, const proto::Event& e, CounterDeltas* d);
  void PropSegments(SessionState* s, const proto::Event& e, CounterDeltas* d);
  void CloseSegments(const SessionState& s, const std::vector<std::string>& keys, int64_t day,
                     CounterDeltas* d) const;
  // The value a session is counted under: `value` when it is (or now becomes)
  // one of the dimension's counted values, else "(other)".
  std::string Admit(size_t dim, std::string value, CounterDeltas* d);
  bool Matches(const config::Matcher& m, const proto::Event& e) const;
  // Files `id` in the closing wheel under second `sec`.
  void File(int64_t sec, std::string_view id);
  struct Row {
    std::string key;
    std::string value;
    bool erase;
  };
  // en's head row and its new chunk rows.
  void PutRows(const std::string& id, const Entry& en, std::vector<Row>* rows) const;
  // Moves the pending hits into a new chunk.
  void Seal(Entry* en) const;

  AnalyticsDefs defs_;
  int64_t timeout_ms_;
  SessionSource* const source_;
  const size_t cache_sessions_;
  std::vector<std::string> names_;                // conversion id -> name
  std::vector<const config::Matcher*> matchers_;  // conversion id -> matcher (null for dwell)
  std::vector<int64_t> dwell_min_ms_;             // conversion id -> threshold (0: not dwell)
  std::vector<uint16_t> dwell_ids_;
  std::vector<bool> funnel_step_;                 // conversion id -> some funnel has it as a step
  std::vector<bool> experiment_target_;           // conversion id -> some experiment targets it
  size_t micro_count_ = 0;
  std::unordered_map<std::string, std::vector<uint16_t>> by_event_;  // event name -> conversion ids
  std::unordered_map<std::string, uint16_t> experiment_ids_;
  std::vector<Funnel> funnels_;
  std::vector<Experiment> experiments_;
  bool record_all_hits_ = false;  // some funnel is strict

  struct Dim {
    const config::Dimension* def;
    std::unordered_set<std::string> values;  // counted as themselves (at most def->max_values new ones)
  };
  std::vector<Dim> dims_;  // defs_.dimensions, in order
  bool prop_dims_ = false;  // some dimension is of kind prop

  // Series of the events of one [[source]] ("$source:<name>", 'e' only), ids
  // kSourceBase + i in order of first appearance in the log; at most
  // kMaxSources names (events of later ones are counted nowhere by source).
  static constexpr uint16_t kSourceBase = 0x8000;
  static constexpr size_t kMaxSources = 1024;
  std::unordered_map<std::string, uint16_t> source_ids_;
  std::vector<std::string> source_series_;       // kSourceBase + i -> "$source:<name>"
  static constexpr uint16_t kAllId = 0xfffe;     // series "$all"
  static constexpr uint16_t kClosedId = 0xfffd;  // series "$closed"
  struct SeriesCell {
    uint16_t name;  // conversion id, a source series id, kAllId or kClosedId
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
  Status status_;
  Sessions sessions_;                      // open sessions in memory
  std::list<const std::string*> lru_;      // keys of sessions_, most recent first (with a source)
  size_t open_sessions_ = 0;               // in memory or stored
  // Open sessions filed by a second at or before their newest received_at,
  // for CloseDue (which refiles those that moved on): per second, the ids
  // packed as (varint length, bytes). Entries of closed sessions are skipped
  // when reached.
  std::map<int64_t, std::string> by_second_;
  std::vector<std::string> dirty_;         // ids whose rows changed since Persist
  // Closed since Persist (with a source): their stored hit rows' seqs.
  std::vector<std::pair<std::string, std::vector<uint64_t>>> closed_;
  std::unordered_set<std::string> closed_now_;  // ids in closed_: not to be read from the source
  uint64_t sessions_closed_ = 0;
  std::vector<uint64_t> conv_events_;
  std::vector<uint64_t> conv_sessions_;
};

}  // namespace foothold::storage
