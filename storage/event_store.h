// EventStore: the durable per-session journey log (storage/README.md) in an
// embedded RocksDB. Callers see this header only; RocksDB stays inside
// storage/.
//
// Writes go through one writer thread: Append() enqueues into a bounded queue
// and returns at once; the writer takes everything queued (up to
// max_group_events), assigns seqs, sessionizes, deduplicates, and commits the
// whole group as ONE WriteBatch (WAL on; fsynced per group with kSync). Only
// then is each request's callback invoked. So a callback reporting success
// means the events reached the WAL.
//
// Thread safety: Append, ReadSession, Erase, ReadErasureLog, stats and
// healthy are safe from any thread concurrently. Close must not race with Open's caller destroying the
// object; after Close, Append returns Unavailable.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "proto/event.h"
#include "proto/status.h"
#include "storage/stats.h"

namespace foothold::storage {

// The analytics definitions the aggregator counts (config/README.md).
struct AnalyticsDefs {
  std::vector<config::MicroConversion> micro;
  std::vector<config::MacroConversion> macro;
  std::vector<config::Funnel> funnels;
  std::vector<config::Experiment> experiments;
  std::vector<config::Dimension> dimensions;  // segments: what closed sessions are also counted by
};

// The ClickHouse exporter (storage/export/README.md): a thread that tails the
// log from its own checkpoint and INSERTs batches over ClickHouse's HTTP
// interface. Off while url is "".
struct ExportOptions {
  std::string url;                    // "http://HOST:PORT"; "" = no exporter
  std::string database = "foothold";
  std::string table = "events";
  std::string user = "default";
  std::string password;
  std::string node;                   // the `node` column; "" = the hostname
  size_t batch_rows = 10000;          // most records per INSERT
  int64_t linger_ms = 1000;           // wait this long for a full batch
  int64_t max_lag_ms = 7LL * 24 * 3600 * 1000;  // past it retention stops waiting; 0 = never
  int64_t timeout_ms = 10000;         // one HTTP call's deadline
  int64_t retry_initial_ms = 200;     // backoff after the first failure, doubling...
  int64_t retry_max_ms = 10000;       // ...up to this
  int64_t poll_ms = 50;               // a caught-up exporter looks for new records this often
};

struct StoreOptions {
  std::string data_dir = "./data";                          // created when missing
  config::Durability durability = config::Durability::kWal; // kSync: fsync the WAL per group
  size_t queue_capacity_events = 100000;  // events queued for the writer; beyond: Append -> Busy
  size_t max_group_events = 10000;        // at most this many events in one WriteBatch
  // When fewer than max_group_events are queued, the writer waits this long
  // (µs) for more before committing: fewer, larger groups and far fewer
  // thread switches, for at most this much added latency. 0 = commit at once.
  int64_t group_commit_us = 200;
  int64_t session_timeout_ms = 30 * 60 * 1000;  // inactivity timeout for server sessionization
  // Events of one session indexed for readback; later ones get
  // kFlagSessionOverflow: stored and aggregated, not indexed. Counted per
  // session since open (a restart re-arms the cap); 0 = no cap.
  uint64_t session_max_events = 100000;
  int64_t dedupe_window_ms = 24LL * 3600 * 1000; // an event_id seen this recently is a duplicate
  int retention_days = 90;                      // log + index entries older than this are removed
  int64_t retention_interval_ms = 3600 * 1000;  // how often the retention pass runs (and at open)
  size_t block_cache_bytes = 32 << 20;
  // Below this many free bytes on data_dir's filesystem the writer refuses
  // appends (NoSpace) and healthy() is false; 0 = never. Checked with one
  // statvfs at most every space_check_ms.
  uint64_t min_free_bytes = uint64_t{256} << 20;
  int64_t space_check_ms = 100;
  // After a write failure (or while below min_free_bytes) the writer retries
  // RocksDB's Resume this often; appends are refused until it succeeds.
  int64_t recovery_interval_ms = 1000;
  // SST files RocksDB keeps open (its table cache); -1 = all of them.
  int max_open_files = 1000;
  AnalyticsDefs analytics;                      // what the aggregator counts
  // Open sessions the aggregator keeps in memory; the others are read back
  // from the `sessions` column family when an event or the close needs them.
  // ~1 KiB each with the shipped definitions: 65 536 of them were a quarter
  // of the RSS under batch load (scripts/README.md, "Memory with 10 k idle
  // connections under batch load").
  size_t session_cache = 32768;
  // When idle, write a clock tick into the log once the wall clock would
  // close an open session, so sessions close without traffic (the watermark
  // is the newest received_at, storage/README.md; ticks keep it moving).
  bool clock_ticks = true;
  // When the counters were counted under other definitions (their stored
  // fingerprint differs), recount the retained log into a fresh generation
  // in the background and switch to it (storage/README.md "Backfill").
  bool auto_rebuild = true;
  bool rebuild_switch = true;  // false: a rebuild counts but never switches (tests hold it there)
  bool aggregate_live = true;                   // false: the aggregator runs only at Close (tests)
  int64_t aggregate_interval_ms = 20;           // a caught-up aggregator looks for new records this often
  // After a large pass (>= 500 records) that touched more sessions than
  // half its records (long-lived sessions interleaved: one head row written
  // per touched session), a caught-up aggregator waits up to this long for
  // four records per session it touched, so the next pass spreads its head
  // writes over more records (storage/README.md "Aggregator"). 0: never waits.
  int64_t aggregate_linger_ms = 200;
  int64_t aggregator_stop_ms = 2000;            // Close lets the aggregator catch up this long at most
  // The writer hands each committed group's events to the live aggregator
  // in memory, through a queue of at most this many events; the aggregator
  // reads the log back only for what the queue missed (full, restart, a
  // rebuild). 0: it always reads the log (storage/README.md "Commit feed").
  size_t aggregate_feed_events = 8192;
  ExportOptions export_clickhouse;              // the ClickHouse exporter; off by default
};

// Builds StoreOptions from the process configuration.
StoreOptions StoreOptionsFromConfig(const config::Config& config);

// kSuppressed: the event names an identity on the suppression list (README.md
// "Privacy"): acknowledged to the client, never stored.
enum class AppendOutcome : uint8_t { kStored, kDuplicate, kSuppressed };

// ---- Erasure (README.md "Privacy", storage/README.md "Erasure"). ----
enum class IdentityKind : uint8_t { kAnonymousId = 0, kUserId = 1, kSessionId = 2 };

struct ErasureRequest {
  IdentityKind kind = IdentityKind::kAnonymousId;
  std::string id;         // 1..128 bytes (the wire rule); the caller validates
  bool suppress = false;  // also drop events still arriving for this identity
};

struct ErasureResult {
  uint64_t erasure_id = 0;       // its entry in the erasure log
  uint64_t events_erased = 0;    // records redacted by this call (0 when unknown or done before)
  uint64_t sessions_erased = 0;  // distinct sessions they belonged to
  // Sessions still open in the aggregator: their records are redacted and
  // unreadable now; their session id becomes an opaque hash once they close.
  uint64_t sessions_pending = 0;
};

// One line of the erasure log: what was erased when, never who. `identity`
// is "a:", "u:" or "s:" followed by a keyed hash of the id (the instance secret
// is the key), so a repeated request can be recognised and nothing personal
// is kept.
struct ErasureLogEntry {
  uint64_t erasure_id = 0;
  int64_t at_ms = 0;
  std::string identity;
  uint64_t events_erased = 0;
  uint64_t sessions_erased = 0;
  bool suppressed = false;
  // The rows the exporter sent to ClickHouse are not replaced by their
  // redacted copies yet (status "pending_export"; "done" otherwise).
  bool export_pending = false;
  // Some erased session is still open in the aggregator: its id is replaced
  // by the opaque hash when it closes (status "pending_close").
  bool sessions_open = false;
};

struct SessionPage {
  std::vector<proto::Event> events;
  std::string next_cursor;  // "" on the last page
};

struct AppendResult {
  // Not ok: the group's WriteBatch failed; none of these events were written.
  Status status;
  // One per event given to Append, same order (empty when !status.ok()).
  std::vector<AppendOutcome> outcomes;
  // The stored seq of each event (for a duplicate: 0).
  std::vector<uint64_t> seqs;
};

// Invoked exactly once, on the writer thread: keep it short (post elsewhere).
// It must not throw, and must not call Close or RunRetentionForTest: both
// wait for the writer thread, which is the thread running the callback.
using AppendCallback = std::function<void(AppendResult&&)>;

// Upper bounds of the group-commit size histogram (events per WriteBatch).
inline constexpr std::array<uint64_t, 12> kGroupSizeBounds = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000};

struct StoreStats {
  uint64_t queue_depth_events = 0;    // events waiting for the writer now
  uint64_t groups_committed = 0;
  uint64_t events_committed = 0;      // stored (not counting duplicates)
  uint64_t duplicates = 0;
  uint64_t last_group_events = 0;
  uint64_t write_failures = 0;
  uint64_t next_seq = 0;
  uint64_t retention_deleted = 0;     // log records removed by retention, since open
  uint64_t free_bytes = 0;            // on data_dir's filesystem at the last check (0: not checked)
  bool low_space = false;             // free_bytes < min_free_bytes: appends refused
  uint64_t recoveries = 0;            // write failures recovered from without a restart
  uint64_t session_overflow_events = 0;  // stored past session_max_events (not indexed)
  uint64_t suppressed = 0;            // events dropped for a suppressed identity, since open
  uint64_t erasures = 0;              // erasure requests executed, since open
  uint64_t erased_events = 0;         // records redacted by them, since open
  bool erasure_pending = false;       // an erased session is still open: its id is hashed when it closes
  // Groups committed by size: [i] counts groups of <= kGroupSizeBounds[i]
  // events (and > the bound before); the last slot is everything bigger.
  std::array<uint64_t, kGroupSizeBounds.size() + 1> group_sizes{};
  // RocksDB figures (0 once closed).
  uint64_t sst_bytes = 0;                 // total size of the SST files
  uint64_t memtable_bytes = 0;            // all memtables, every column family
  uint64_t pending_compaction_bytes = 0;  // estimate
  uint64_t running_compactions = 0;
  uint64_t block_cache_bytes = 0;         // in use
  // Table readers' memory outside the block cache: the filters and indexes of the
  // point-lookup families (storage/README.md "Compaction and filters"). Grows with
  // their keys, e.g. dedupe's one key per event of the last dedupe.window.
  uint64_t table_readers_bytes = 0;
};

class EventStore {
 public:
  // Opens (creating when missing) the store in options.data_dir and starts
  // the writer thread. Fails with a Status naming the directory on error.
  static Status Open(const StoreOptions& options, std::unique_ptr<EventStore>* out);

  ~EventStore();  // Close()s
  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;

  // Enqueues `events` (client fields, event_id, received_at_ms, event_time_ms
  // and enrichment already set; seq is assigned here; session_id is derived
  // here when empty). Returns at once:
  //  - ok: `done` will be called exactly once, after the write (or its failure);
  //  - Busy: the queue is full; NoSpace: free space is below min_free_bytes
  //    (or the last write met a full disk); Unavailable: closed or failed.
  //    `done` is never called then, nor moved from (the caller may answer
  //    through it), and nothing was written.
  // Group commit: unless defer_commit, an idle writer is woken now; it then
  // lingers up to group_commit_us for more appends (or a CommitNow). With
  // defer_commit the caller promises a CommitNow() soon (the HTTP server
  // calls it once per batch of ready requests), which saves a thread wake-up
  // per request.
  // REQUIRES: 1 <= events.size().
  Status Append(std::vector<proto::Event> events, AppendCallback&& done, bool defer_commit = false);

  // Ends the writer's linger: what is queued is committed now. Thread-safe, cheap.
  void CommitNow();

  // `hook` runs on the writer thread after the AppendCallbacks of each group
  // (committed or failed), so a caller that parks its completions can hand
  // them over once a group instead of once a request (the HTTP server wakes
  // each I/O thread once). Set it before appending; nullptr removes it.
  // Thread-safe; the hook must not call back into the store.
  void SetGroupCallbacksDone(std::function<void()> hook);
  // True on the writer thread: inside an AppendCallback, SetGroupCallbacksDone's hook follows.
  bool OnWriterThread() const;

  // The stored events of a session ordered by (event_time, seq). NotFound when
  // the session has no stored events. Holds the whole session in memory: for
  // tests and small sessions; the HTTP readback pages with ReadSessionPage.
  Status ReadSession(std::string_view session_id, std::vector<proto::Event>* out) const;

  // One page of a session's events in (event_time, seq) order, starting after
  // `cursor` ("" = the first event): at most `limit` events and, past the
  // first event, at most about `max_bytes` of stored records, so a page's
  // memory is bounded whatever the session's length. out->next_cursor is ""
  // on the last page, else the opaque cursor (32 hex chars: event_time and
  // seq of the page's last event) to pass next. NotFound when `cursor` is ""
  // and the session has no events; InvalidArgument for a malformed cursor.
  Status ReadSessionPage(std::string_view session_id, std::string_view cursor, size_t limit,
                         size_t max_bytes, SessionPage* out) const;

  // The stored event with this event_id, found through the dedupe index, so
  // only within dedupe.window of its arrival (and never with dedupe off).
  // NotFound otherwise.
  Status ReadEvent(std::string_view event_id, proto::Event* out) const;

  // Stops accepting, commits everything already queued (calling callbacks),
  // stops the writer, flushes and closes the database. Idempotent.
  Status Close();

  // False while writes are failing (until recovered), while free space is
  // below min_free_bytes, and after Close; readiness follows it.
  bool healthy() const;
  // True while free space on data_dir's filesystem is below min_free_bytes,
  // or while writes are stopped by a full disk (ENOSPC that raced the check).
  bool low_space() const;
  StoreStats stats() const;

  // A random per-data-dir secret, created at first open and persisted
  // (used as the ip_mode=hash key when privacy.hash_secret is not set).
  const std::string& instance_secret() const;

  // ---- Aggregator (storage/README.md) and the counter queries of the stats API. ----
  AggregatorStats aggregator_stats() const;
  // Waits until every event committed before the call is aggregated. False
  // on timeout or when the aggregator has failed.
  bool WaitAggregated(int64_t timeout_ms);
  // Waits until a rebuild started at open (storage/README.md "Backfill") has
  // switched; true at once when none runs. False on timeout or failure.
  bool WaitRebuilt(int64_t timeout_ms);
  const AnalyticsDefs& analytics() const;
  // Counter reads (storage/stats.h): O(buckets), safe from any thread;
  // Unavailable once closed. bucket_ms is 60000, 3600000 or 86400000.
  Status QuerySummary(TimeRange range, Summary* out) const;
  Status QueryTimeseries(std::string_view name, int64_t bucket_ms, TimeRange range,
                         std::vector<SeriesPoint>* out) const;
  // With a segment (not all()): the counts of its sessions only (README.md "Segments").
  Status QueryFunnel(const config::Funnel& funnel, TimeRange range, FunnelCounts* out,
                     const SegmentFilter& segment = {}) const;
  Status QueryLift(std::string_view target, TimeRange range, std::vector<LiftCells>* out,
                   const SegmentFilter& segment = {}) const;
  Status QueryExperiment(const config::Experiment& experiment, TimeRange range,
                         std::vector<ExperimentDay>* out, const SegmentFilter& segment = {}) const;
  // REQUIRES !segment.all(): closed sessions of the segment and those with each conversion.
  Status QuerySegmentSessions(const SegmentFilter& segment, TimeRange range, SegmentSessions* out) const;
  // The values of `dimension` counted as themselves so far (at most its
  // max_values, plus any a larger earlier cap admitted), sorted by bytes.
  Status QueryDimensionValues(std::string_view dimension, std::vector<std::string>* out) const;

  // The ClickHouse exporter's figures (enabled = false when it is off).
  ExportStats export_stats() const;
  // Waits until every event committed before the call is exported (or
  // skipped as a clock tick). False on timeout or when the exporter is off.
  bool WaitExported(int64_t timeout_ms);

  // Erases a visitor (README.md "Privacy"): finds the records of the identity
  // through the identity and session indexes, widened to every session they
  // touch and to the ids linked in those records (an anonymous id that
  // identified as a user covers that user's events, and back), and rewrites
  // each redacted in place. Idempotent: a second call erases 0. Runs on the
  // writer thread in steps between groups (ingestion goes on; the last step
  // takes what arrived meanwhile); durable: a job record is written first
  // and a crash resumes it at the next open.
  // InvalidArgument for an empty id; Unavailable when closed or failed.
  Status Erase(const ErasureRequest& request, int64_t now_ms, ErasureResult* out);
  // The erasure log, oldest first (at most `limit` newest entries).
  Status ReadErasureLog(size_t limit, std::vector<ErasureLogEntry>* out) const;

  // Runs one retention pass now (normally periodic on the writer thread).
  // `now_ms` is the clock to measure retention_days from. Returns records removed.
  // Thread-safe: it is executed on the writer thread and waits for it.
  uint64_t RunRetentionForTest(int64_t now_ms);

 private:
  struct Impl;
  template <typename Fn>
  Status WithDatabase(Fn&& query) const;
  explicit EventStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace foothold::storage
