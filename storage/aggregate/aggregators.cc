#include "storage/aggregate/aggregators.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include "storage/aggregate/fingerprint.h"

namespace foothold::storage {

Aggregators::Aggregators(const StoreOptions& options, Database* db,
                         const std::atomic<uint64_t>* committed_next_seq)
    : options_(options),
      db_(db),
      committed_next_seq_(committed_next_seq),
      feed_(options.aggregate_feed_events > 0 ? std::make_unique<CommitFeed>(options.aggregate_feed_events)
                                              : nullptr) {}

Aggregators::~Aggregators() { StopRebuild(); }

Status Aggregators::Start() {
  fingerprint_ = DefinitionsFingerprint(options_.analytics, options_.session_timeout_ms);
  GenerationState st;
  Status s = ReadGenerationState(db_, &st);
  if (!s.ok()) return s;
  if (st.fingerprint.empty() && st.checkpoint == 0) {
    // Nothing counted yet: these definitions are the counters'.
    s = WriteFingerprint(db_, fingerprint_, options_.durability == config::Durability::kSync);
    if (!s.ok()) return s;
    st.fingerprint = fingerprint_;
  }
  const bool stale = st.fingerprint != fingerprint_;
  if (stale && options_.auto_rebuild) {
    s = PrepareRebuild(db_, fingerprint_, &rebuild_generation_);
    if (!s.ok()) return s;
    rebuild_floor_.store(0);  // retention waits for the rebuild from here on (StartRebuild)
  } else if (st.rebuilding) {
    s = AbandonRebuild(db_);  // its definitions are no longer wanted, or rebuilds are off
    if (!s.ok()) return s;
  }
  if (stale && !options_.auto_rebuild) {
    spdlog::warn("the counters in {} were counted under other definitions (fingerprint {}, now {}); "
                 "run `foothold rebuild` to recount the log", db_->dir(),
                 st.fingerprint.empty() ? "unknown" : st.fingerprint, fingerprint_);
  }
  stale_.store(stale);
  s = DropStaleGenerations(db_);
  if (!s.ok()) return s;
  std::unique_ptr<Aggregator> live = NewLive();
  s = live->Start();
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  live_ = std::move(live);
  return Status::Ok();
}

void Aggregators::EnableTicks(Aggregator::TickFn tick) {
  tick_ = std::move(tick);
  live()->EnableTicks(tick_);
}

Status Aggregators::StartRebuild() {
  if (rebuild_generation_ == 0) return Status::Ok();
  backfill_ = std::make_unique<Backfill>(options_, db_, committed_next_seq_, rebuild_generation_,
                                         [this](Aggregator* rebuild) { return Switch(rebuild); });
  backfill_->MirrorCheckpoint(&rebuild_floor_);
  return backfill_->Start();
}

void Aggregators::StopRebuild() {
  if (backfill_) backfill_->Stop();
}

Aggregator* Aggregators::live() {
  std::lock_guard<std::mutex> lock(mu_);
  return live_.get();
}

std::unique_ptr<Aggregator> Aggregators::NewLive() {
  auto a = std::make_unique<Aggregator>(options_, db_, committed_next_seq_);
  a->MirrorCheckpoint(&floor_);
  a->UseFeed(feed_.get());
  return a;
}

void Aggregators::Replace(std::unique_ptr<Aggregator> next) {
  if (tick_) next->EnableTicks(tick_);
  std::lock_guard<std::mutex> lock(mu_);
  retired_.push_back(std::move(live_));
  live_ = std::move(next);
}

// Runs once the rebuild is within a batch of the log's head. The live
// aggregator stops where it is; the rebuild catches up with it (every seq the
// live one counted, so retention, which waited for the live checkpoint,
// removed nothing the rebuild still needs); then the switch batch, and a new
// live aggregator from the rebuild's checkpoint.
Status Aggregators::Switch(Aggregator* rebuild) {
  Aggregator* old = live();
  old->Abandon();
  const uint64_t live_checkpoint = old->checkpoint()->load();
  auto restart_old = [&]() -> Status {
    // The store stays as it was: a live aggregator on the active generation.
    std::unique_ptr<Aggregator> again = NewLive();
    Status st = again->Start();
    if (!st.ok()) return st;
    Replace(std::move(again));
    return Status::Ok();
  };
  if (!rebuild->WaitFor(live_checkpoint + 1, 10000)) {
    Status st = restart_old();
    if (!st.ok()) return st;
    return Status::Busy("rebuild: not caught up with the live aggregator yet");
  }
  rebuild->Abandon();
  Status s = SwitchGeneration(db_, rebuild_generation_, fingerprint_,
                              options_.durability == config::Durability::kSync);
  if (!s.ok()) {
    Status st = restart_old();
    return st.ok() ? s : st;
  }
  std::unique_ptr<Aggregator> next = NewLive();
  s = next->Start();
  if (!s.ok()) return s;
  Replace(std::move(next));
  rebuild_floor_.store(UINT64_MAX);  // the rebuild's records are the live ones now
  stale_.store(false);
  completed_.fetch_add(1);
  return Status::Ok();
}

AggregatorStats Aggregators::stats() {
  AggregatorStats s = live()->stats();
  s.generation = db_->active_generation();
  s.definitions_stale = stale_.load();
  s.fingerprint = s.definitions_stale ? "" : fingerprint_;
  s.rebuilds_completed = completed_.load();
  if (backfill_) s.rebuild = backfill_->stats();
  return s;
}

bool Aggregators::WaitAggregated(uint64_t next_seq, int64_t timeout_ms) {
  // In slices: a switch may replace the live aggregator meanwhile.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    Aggregator* a = live();
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (a->WaitFor(next_seq, std::clamp<int64_t>(left.count(), 0, 100))) return true;
    if (a->stats().failed || std::chrono::steady_clock::now() >= deadline) return false;
  }
}

bool Aggregators::WaitRebuilt(int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (backfill_ && !backfill_->done()) {
    if (backfill_->stats().failed || std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polls a flag; no timing depends on it
  }
  return true;
}

}  // namespace foothold::storage
