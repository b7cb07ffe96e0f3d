// Private to storage/: backfill (storage/README.md "Backfill"). A rebuild
// recounts the retained journey log with the running definitions into a
// fresh counters generation (column families `counters.g<N>` and
// `sessions.g<N>`, log/db.h), with a second Aggregator whose meta records
// carry the prefix "rebuild/". The live aggregator and the queries keep
// using the active generation meanwhile. When the rebuild has caught up, one
// synced WriteBatch makes its generation active (agg_generation, and its
// checkpoint, watermark, names and fingerprint as the live ones), the
// handles are swapped, a new live aggregator continues from that checkpoint,
// and the old generation is dropped. A crash before that batch resumes the
// rebuild from its own checkpoint at the next start (when the definitions
// are still the same; otherwise it starts over); a crash after it finds the
// old generation and drops it.
//
// Thread safety: the free functions are called while nothing else writes
// the aggregator's meta records (at open, or by the one thread running a
// switch). Backfill: Start, Stop and stats from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "proto/status.h"
#include "storage/aggregate/aggregator.h"
#include "storage/event_store.h"
#include "storage/log/db.h"
#include "storage/rebuild.h"
#include "storage/stats.h"

namespace foothold::storage {

// What the store's meta says about the counters' definitions.
struct GenerationState {
  std::string fingerprint;          // meta agg_fingerprint; "" when never written
  uint64_t checkpoint = 0;          // the live aggregator's
  bool rebuilding = false;          // meta rebuild/generation exists
  uint64_t rebuild_generation = 0;
  std::string rebuild_fingerprint;  // what that rebuild counts
};
Status ReadGenerationState(Database* db, GenerationState* out);

// Writes meta agg_fingerprint (synced): for a store nothing was aggregated in yet.
Status WriteFingerprint(Database* db, const std::string& fingerprint, bool sync);

// Returns the generation a rebuild for `fingerprint` counts into: the one in
// progress when it counts the same definitions (resumed from its
// checkpoint), else a fresh one (the stale rebuild dropped first).
Status PrepareRebuild(Database* db, const std::string& fingerprint, uint64_t* generation);

// Drops a rebuild in progress (its generation and meta records).
Status AbandonRebuild(Database* db);

// Drops every generation that is neither active nor being rebuilt: what a
// crash between a switch and its drop left behind.
Status DropStaleGenerations(Database* db);

// The switch: one synced WriteBatch making `generation` active with the
// rebuild's checkpoint, watermark and names, meta agg_fingerprint =
// `fingerprint`, and the rebuild records deleted; then the handles are
// swapped and the previous generation is dropped. REQUIRES: neither the
// live nor the rebuild aggregator is running.
Status SwitchGeneration(Database* db, uint64_t generation, const std::string& fingerprint, bool sync);

// True when the rebuild in progress (as of `ro`'s snapshot) is done with a
// session whose records all have seq <= max_seq: its checkpoint passed them
// and it holds no open row for `session_id`. True when no rebuild runs.
// Erasure renames a session's id only then (storage/README.md "Erasure").
Status RebuildDoneWith(const Database& db, const rocksdb::ReadOptions& ro, const std::string& session_id,
                       uint64_t max_seq, bool* done);

// The rebuild thread of a running server: starts the rebuild Aggregator,
// watches it, and once it is within one batch of the committed log calls
// `switch_fn` (the store stops the live aggregator, runs SwitchGeneration,
// starts a new one). A switch that returns Busy is retried.
class Backfill {
 public:
  using SwitchFn = std::function<Status(Aggregator* rebuild)>;
  Backfill(const StoreOptions& options, Database* db, const std::atomic<uint64_t>* committed_next_seq,
           uint64_t generation, SwitchFn switch_fn);
  ~Backfill();  // Stop()s
  Backfill(const Backfill&) = delete;
  Backfill& operator=(const Backfill&) = delete;

  // Also stores the rebuild's every checkpoint into *mirror (a retention
  // floor: records the rebuild has yet to count are not deleted). Call
  // before Start.
  void MirrorCheckpoint(std::atomic<uint64_t>* mirror) { mirror_ = mirror; }
  Status Start();
  // Stops the rebuild where it is (it resumes at the next start); waits for
  // a switch in progress. Idempotent.
  void Stop();
  // Progress; inactive once switched (or stopped).
  RebuildStats stats() const;
  bool done() const { return done_.load(); }

 private:
  void Run();

  const StoreOptions options_;
  Database* const db_;
  const std::atomic<uint64_t>* const committed_next_seq_;
  const uint64_t generation_;
  const SwitchFn switch_fn_;
  std::unique_ptr<Aggregator> rebuild_;
  std::atomic<uint64_t>* mirror_ = nullptr;
  uint64_t from_seq_ = 0;
  int64_t started_ms_ = 0;  // steady clock
  std::atomic<bool> done_{false};
  std::atomic<bool> failed_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::string failure_;    // guarded by mu_
  std::thread thread_;
};


}  // namespace foothold::storage
