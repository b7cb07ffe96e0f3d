// Private to storage/: the aggregator thread (storage/README.md).
// It tails the `log` column family from its checkpoint, feeds each record to
// a Rollup, and commits the counter deltas, the changed session rows and the
// new checkpoint in ONE WriteBatch. A crash anywhere loses at most the batch in
// progress, which the next start replays from the checkpoint: counters always
// equal a recount of the log up to the checkpoint.
//
// Thread safety: Start, Stop, WaitFor, stats and checkpoint are safe from any
// thread; everything else runs on the aggregator thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proto/status.h"
#include "storage/log/db.h"
#include "storage/event_store.h"
#include "storage/aggregate/commit_feed.h"
#include "storage/aggregate/rollup.h"

namespace foothold::storage {

inline constexpr char kMetaAggCheckpoint[] = "agg_checkpoint";  // be64: last aggregated seq
inline constexpr char kMetaAggWatermark[] = "agg_watermark";    // be64(ob(ms))
inline constexpr char kMetaAggNames[] = "agg_names";            // conversion names, '\n'-joined

inline constexpr char kMetaAggFingerprint[] = "agg_fingerprint";  // the definitions counted (fingerprint.h)
// A rebuild's aggregator keeps the same records under this prefix
// ("rebuild/agg_checkpoint", ...) plus kMetaRebuildGeneration.
inline constexpr char kMetaRebuildPrefix[] = "rebuild/";
inline constexpr char kMetaRebuildGeneration[] = "rebuild/generation";  // be64

// Reads an aggregator's checkpoint (0 when nothing was aggregated yet); the
// live one's with prefix "", a rebuild's with kMetaRebuildPrefix.
Status ReadAggregatorCheckpoint(Database* db, uint64_t* seq, int64_t* watermark_ms,
                                std::vector<std::string>* names, const std::string& prefix = "");

// Where an Aggregator counts: one generation's column families and the
// prefix of its meta records (storage/README.md "Backfill").
struct AggregatorTarget {
  rocksdb::ColumnFamilyHandle* counters = nullptr;
  rocksdb::ColumnFamilyHandle* sessions = nullptr;
  std::string meta_prefix;                 // "" for the live aggregator, kMetaRebuildPrefix for a rebuild
  const char* thread_name = "fh-aggregator";
};
// The active generation, meta prefix "": the live aggregator's target.
AggregatorTarget LiveTarget(const Database& db);

// The aggregator's SessionSource: a `sessions` column family.
// Thread safety: aggregator thread only.
class StoredSessions : public SessionSource {
 public:
  StoredSessions(Database* db, rocksdb::ColumnFamilyHandle* cf) : db_(db), cf_(cf) {}
  Status ReadHead(const std::string& session_id, SessionState* out) override;
  Status ReadHits(const std::string& session_id, std::vector<SessionState::Hit>* out,
                  std::vector<uint64_t>* rows) override;

 private:
  Database* const db_;
  rocksdb::ColumnFamilyHandle* const cf_;
  std::string value_;  // reused
};

class Aggregator {
 public:
  // Records read per WriteBatch: bounds the batch's memory and how much a
  // crash makes the next start replay.
  static constexpr size_t kMaxBatchEvents = 20000;
  // A pass this large whose touched sessions outnumber half its records
  // makes the next one linger (StoreOptions::aggregate_linger_ms).
  static constexpr size_t kLingerMinEvents = 500;

  // `db` and `committed_next_seq` (the writer's next seq: every seq below it
  // is committed) must outlive the Aggregator.
  // `target` defaults to LiveTarget(*db).
  Aggregator(const StoreOptions& options, Database* db,
             const std::atomic<uint64_t>* committed_next_seq);
  Aggregator(const StoreOptions& options, Database* db,
             const std::atomic<uint64_t>* committed_next_seq, AggregatorTarget target);
  ~Aggregator();  // Stop()s
  Aggregator(const Aggregator&) = delete;
  Aggregator& operator=(const Aggregator&) = delete;

  // Loads the checkpoint and the open sessions, then starts the thread.
  Status Start();

  // Catches up with what is committed (for at most options.aggregator_stop_ms),
  // commits, and joins. Call after the writer stopped. Idempotent.
  void Stop();
  // Stops after the batch in progress without catching up, and joins: what
  // it committed is consistent (batch and checkpoint commit together).
  // Idempotent; Stop after it returns at once.
  void Abandon();

  // Writes one clock tick (a record with kFlagClockTick and received_at =
  // now_ms) into the journey log. See EnableTicks.
  using TickFn = std::function<void(int64_t now_ms)>;
  // From now on, when the aggregator is caught up and the wall clock has
  // passed the time that would close the oldest open session, it calls `tick`
  // (at most once a second): the tick's received_at moves the watermark, so
  // sessions close on an idle server too, and a recount replays the same
  // ticks from the log.
  void EnableTicks(TickFn tick);

  // Waits until everything below `next_seq` is aggregated; false on timeout
  // or when the aggregator failed.
  bool WaitFor(uint64_t next_seq, int64_t timeout_ms);

  // The last aggregated seq: retention never deletes past it.
  const std::atomic<uint64_t>* checkpoint() const { return &checkpoint_; }
  // Also stores every new checkpoint into *mirror (the store's retention
  // floor, which outlives a switch of aggregators). Call before Start.
  void MirrorCheckpoint(std::atomic<uint64_t>* mirror) { mirror_ = mirror; }
  // Takes the writer's committed groups from `feed` (commit_feed.h) when
  // they continue its checkpoint, reading the log otherwise. Null: always
  // the log (a rebuild). Call before Start; `feed` must outlive this.
  void UseFeed(CommitFeed* feed) { feed_ = feed; }
  const std::vector<std::string>& conversion_names() const { return rollup_.conversion_names(); }

  AggregatorStats stats() const;

 private:
  void Run();
  // Aggregates up to kMaxBatchEvents records and commits them. *read gets
  // how many records were read.
  Status Pass(size_t* read);
  // Applies the records from `from` on, read back from the log, to the
  // rollup: up to kMaxBatchEvents. *last gets the last seq applied.
  Status ApplyFromLog(uint64_t from, CounterDeltas* deltas, size_t* read, uint64_t* last);
  Status LoadTotals();
  Status LoadSessions(const std::vector<std::string>& names);
  Status Migrate(const std::vector<std::string>& names, bool renamed);
  // Writes pending_ and, once written, moves the checkpoint and the totals.
  Status CommitPending();
  // How many committed records the next pass should wait for (0: none),
  // given the last pass; see StoreOptions::aggregate_linger_ms.
  uint64_t LingerTarget(size_t read) const;

  const StoreOptions options_;
  Database* const db_;
  const AggregatorTarget target_;
  std::atomic<uint64_t>* mirror_ = nullptr;
  const std::atomic<uint64_t>* const committed_next_seq_;
  StoredSessions source_;
  Rollup rollup_;  // aggregator-thread state after Start
  const std::string names_joined_;  // the meta record of conversion names, written with every batch

  std::atomic<uint64_t> checkpoint_{0};
  std::atomic<uint64_t> events_aggregated_{0};
  std::atomic<uint64_t> events_from_feed_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> busy_us_{0};  // time in passes that read records
  std::atomic<uint64_t> open_sessions_{0};
  std::atomic<uint64_t> sessions_closed_{0};
  std::atomic<int64_t> watermark_ms_{0};
  std::atomic<int64_t> caught_up_at_ms_{0};  // steady clock: the last pass that read everything
  std::atomic<bool> failed_{false};

  mutable std::mutex mu_;
  std::condition_variable cv_;        // wakes the thread (stop) and WaitFor callers (progress)
  bool stopping_ = false;             // guarded by mu_
  bool abandon_ = false;              // guarded by mu_: stop without catching up
  std::vector<uint64_t> conv_events_;    // guarded by mu_: per conversion id, all time
  std::vector<uint64_t> conv_sessions_;  // guarded by mu_
  std::vector<uint64_t> last_events_;    // aggregator thread: the rollup's counts at the last batch
  std::vector<uint64_t> last_sessions_;
  std::string failure_;                  // guarded by mu_
  TickFn tick_;                          // guarded by mu_
  int64_t last_tick_ms_ = 0;             // aggregator thread
  struct PendingBatch;
  std::unique_ptr<PendingBatch> pending_;  // aggregator thread: built, not yet written
  bool retrying_ = false;                  // aggregator thread: pending_ failed at least once
  size_t touched_ = 0;                     // aggregator thread: sessions the last pass wrote a head for
  CommitFeed* feed_ = nullptr;
  CommitFeed::Groups fed_;         // aggregator thread: the groups of the current pass, from feed_
  bool last_pass_fed_ = false;     // aggregator thread: the last pass took its records from feed_
  std::thread thread_;
};

}  // namespace foothold::storage
