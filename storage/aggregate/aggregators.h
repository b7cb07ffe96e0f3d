// Private to storage/: the store's aggregators — the live one, and a rebuild
// (storage/README.md "Backfill") with the switch that replaces the live one.
// At Start it compares the stored definitions fingerprint with the
// configuration's, decides whether a rebuild runs, and starts the live
// aggregator on the active counters generation.
//
// Thread safety: live(), stats(), WaitAggregated and WaitRebuilt are safe from
// any thread; Start, EnableTicks, StartRebuild and StopRebuild are called by
// the store's Open and Close only. A switch replaces the live aggregator
// under a mutex; the replaced one stays alive (stopped) until destruction,
// so a pointer from live() stays valid.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "proto/status.h"
#include "storage/aggregate/aggregator.h"
#include "storage/aggregate/commit_feed.h"
#include "storage/aggregate/rebuild.h"
#include "storage/event_store.h"
#include "storage/log/db.h"
#include "storage/stats.h"

namespace foothold::storage {

class Aggregators {
 public:
  // `db` and `committed_next_seq` must outlive this.
  Aggregators(const StoreOptions& options, Database* db, const std::atomic<uint64_t>* committed_next_seq);
  ~Aggregators();  // stops the rebuild; the live aggregators stop in their destructors
  Aggregators(const Aggregators&) = delete;
  Aggregators& operator=(const Aggregators&) = delete;

  // The fingerprint check and the rebuild decision, then the live aggregator.
  Status Start();
  // See Aggregator::EnableTicks; kept for the aggregators a switch starts.
  void EnableTicks(Aggregator::TickFn tick);
  // Starts the rebuild Start decided on, if any (after the writer exists).
  Status StartRebuild();
  // Stops a rebuild where it is (it resumes at the next start). Idempotent.
  void StopRebuild();

  Aggregator* live();
  // The writer's committed groups for whichever aggregator is live (null
  // when StoreOptions::aggregate_feed_events is 0): the writer pushes into it.
  CommitFeed* feed() const { return feed_.get(); }
  // The live aggregator's checkpoint across switches: the retention floor.
  const std::atomic<uint64_t>* checkpoint() const { return &floor_; }
  // A rebuild's checkpoint while one runs (UINT64_MAX otherwise): retention
  // must not delete what the rebuild has yet to count either.
  const std::atomic<uint64_t>* rebuild_checkpoint() const { return &rebuild_floor_; }
  AggregatorStats stats();
  bool WaitAggregated(uint64_t next_seq, int64_t timeout_ms);
  // True once the rebuild decided at Start has switched (at once when none).
  bool WaitRebuilt(int64_t timeout_ms);

 private:
  std::unique_ptr<Aggregator> NewLive();
  // Replaces live_ by `next` (started), keeping the old one in retired_.
  void Replace(std::unique_ptr<Aggregator> next);
  // The rebuild's switch, on the rebuild thread.
  Status Switch(Aggregator* rebuild);

  const StoreOptions options_;
  Database* const db_;
  const std::atomic<uint64_t>* const committed_next_seq_;
  // May be null. Declared before the aggregators: outlives their Stop.
  const std::unique_ptr<CommitFeed> feed_;
  std::string fingerprint_;  // of options_.analytics and the session timeout
  std::atomic<uint64_t> floor_{0};
  std::atomic<uint64_t> rebuild_floor_{UINT64_MAX};
  std::atomic<bool> stale_{false};  // the active counters were counted under other definitions
  std::atomic<uint64_t> completed_{0};
  uint64_t rebuild_generation_ = 0;  // 0: no rebuild
  Aggregator::TickFn tick_;          // set before any switch can run

  std::mutex mu_;
  std::unique_ptr<Aggregator> live_;                // guarded by mu_
  std::vector<std::unique_ptr<Aggregator>> retired_;  // guarded by mu_
  std::unique_ptr<Backfill> backfill_;              // set once, before the rebuild thread starts
};

}  // namespace foothold::storage
