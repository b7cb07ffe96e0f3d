// Plain result types of the aggregator and of the counter queries that the
// stats endpoints are built from (storage/README.md, README.md "Analytics"). Every query reads
// counters only, in O(buckets): never the log. Times are ms since the epoch,
// buckets and days are UTC.
//
// Thread safety: value types.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace foothold::storage {

struct ConversionTotal {
  std::string name;
  bool macro = false;
  uint64_t events = 0;    // all time (aggregated so far)
  uint64_t sessions = 0;  // sessions in which it occurred
};

// A backfill in progress (storage/README.md "Backfill"): a second rollup
// recounting the retained log into a fresh counters generation.
struct RebuildStats {
  bool active = false;           // a rebuild is counting now
  uint64_t generation = 0;       // the counters generation it builds
  uint64_t from_seq = 0;         // where this run started (its checkpoint at start, or 0)
  uint64_t done_seq = 0;         // every seq up to this one is recounted
  uint64_t head_seq = 0;         // the newest committed seq
  uint64_t events = 0;           // records recounted by this run
  double busy_seconds = 0;       // CPU-bound time in its passes
  double events_per_s = 0;       // events over the run's wall time
  double progress_ratio = 0;     // (done - from) / (head - from), 1 when caught up
  bool failed = false;           // the rebuild stopped on an error (in failure)
  std::string failure;
};

struct AggregatorStats {
  uint64_t checkpoint_seq = 0;      // every seq up to this one is aggregated
  uint64_t pending_events = 0;      // committed but not aggregated yet
  int64_t lag_ms = 0;               // 0 when caught up, else the time since it last was (an upper bound)
  int64_t watermark_ms = 0;         // newest received_at minus the session timeout
  uint64_t events_aggregated = 0;   // records read since open (bots included)
  uint64_t events_from_feed = 0;    // of those, taken from the writer in memory, not read from the log
  uint64_t batches = 0;             // WriteBatches committed since open
  double busy_seconds = 0;          // time spent in passes that read records, since open
  uint64_t open_sessions = 0;
  uint64_t sessions_closed = 0;     // since open
  bool failed = false;              // a write or decode failed: the aggregator stopped
  std::string failure;              // why, when failed
  std::vector<ConversionTotal> conversions;  // in config order, micro then macro
  uint64_t generation = 0;          // the counters generation answering queries
  std::string fingerprint;          // the definitions those counters were counted with
  bool definitions_stale = false;   // they differ from the running configuration's (no rebuild yet)
  uint64_t rebuilds_completed = 0;  // switches since open
  RebuildStats rebuild;             // the backfill in progress, if any
};

// The ClickHouse exporter (storage/export/README.md). Counts are since open.
struct ExportStats {
  bool enabled = false;
  std::string node;                  // the `node` column of exported rows
  uint64_t checkpoint_seq = 0;       // every seq up to this one is in ClickHouse (or was skipped)
  uint64_t pending_records = 0;      // committed but not exported yet
  double lag_seconds = 0;            // age of the oldest unexported record; 0 when caught up
  bool overdue = false;              // lag over max_lag: retention no longer waits for the exporter
  uint64_t rows_inserted = 0;        // rows ClickHouse acknowledged (a retried batch counts again)
  uint64_t batches_inserted = 0;
  uint64_t bytes_sent = 0;           // INSERT bodies acknowledged
  uint64_t records_dropped = 0;      // deleted by retention before they were exported
  uint64_t erasure_pending = 0;      // erasure rewrites whose exported rows are not replaced yet
  uint64_t erasure_rows = 0;         // exported rows replaced by their redacted copies since open
  uint64_t erasure_batches = 0;      // erasure rewrites completed in ClickHouse since open
  // Failed INSERTs by kind (connect, timeout, io, protocol, http_4xx, http_5xx), every kind listed.
  std::vector<std::pair<std::string, uint64_t>> failures;
  std::string last_error;            // the latest failure, "" when none since open
};

// A half-open time range [from_ms, to_ms).
struct TimeRange {
  int64_t from_ms = 0;
  int64_t to_ms = 0;
};

struct ConversionSummary {
  std::string name;
  bool macro = false;
  uint64_t events = 0;    // occurrences with event_time in the range
  uint64_t sessions = 0;  // sessions whose first occurrence is in the range
};

struct Summary {
  TimeRange range;                  // as queried, rounded out to whole minutes
  uint64_t events = 0;              // every non-bot event in the range
  uint64_t sessions = 0;            // sessions that started in the range
  std::vector<ConversionSummary> conversions;
};

struct SeriesPoint {
  int64_t bucket_ms = 0;
  uint64_t events = 0;
  uint64_t sessions = 0;        // sessions with the first occurrence in the bucket
  uint64_t sessions_total = 0;  // sessions that started in the bucket
};

// Segments (README.md "Segments"): the sessions whose [[dimension]] has one
// value. Empty dimension: every session (the unsegmented counters).
struct SegmentFilter {
  std::string dimension;
  std::string value;
  bool all() const { return dimension.empty(); }
};

// Closed sessions of one segment that started on the days of the range.
struct SegmentSessions {
  uint64_t sessions = 0;  // closed sessions
  struct Conversion {
    std::string name;
    bool macro = false;
    uint64_t sessions = 0;  // closed sessions in which it occurred
  };
  std::vector<Conversion> conversions;  // config order, micro then macro
};

// Funnel counts over sessions that started on the days of the range.
struct FunnelCounts {
  std::vector<std::string> steps;
  std::vector<uint64_t> reached;  // per step: sessions that reached it
  // Per step (index 0 unused): histogram of the time from step 1 over
  // kFunnelTimeBins log-spaced bins (see FunnelTimeBinRange).
  std::vector<std::vector<uint64_t>> time_bins;
};

inline constexpr int kFunnelTimeBins = 128;
// The [lo, hi) ms of a time-to-convert bin: bin 0 is [0, 1 s), then four bins
// per doubling.
void FunnelTimeBinRange(int bin, double* lo_ms, double* hi_ms);

// The 2x2 cells for one micro-conversion against a target, over closed
// sessions that started on the days of the range.
struct LiftCells {
  std::string micro;
  uint64_t a = 0;  // did it before the target, converted
  uint64_t b = 0;  // did it, did not convert
  uint64_t c = 0;  // converted without it (before the target)
  uint64_t d = 0;  // neither
};

struct VariantCounts {
  std::string variant;
  uint64_t exposed = 0;
  uint64_t converted = 0;
};

// Experiment counts per day of session start, over closed sessions.
struct ExperimentDay {
  int64_t day_ms = 0;
  std::vector<VariantCounts> variants;  // config order; "$other" last when seen
};

}  // namespace foothold::storage
