// Private to storage/: the single writer thread of an EventStore. Append
// pushes onto a bounded queue under a short mutex and returns; the writer
// takes everything queued (up to max_group_events, whole requests), dedupes,
// assigns seqs, sessionizes, and commits the group as ONE WriteBatch, then
// invokes the callbacks. Between groups it runs the periodic retention pass
// in bounded batches.
//
// Thread safety: Append, RunRetention, Erase, Stop and failed are safe from any
// thread (Stop must not be called from a callback: it joins the writer).
// Everything else is writer-thread state.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "proto/event.h"
#include "proto/status.h"
#include "storage/log/db.h"
#include "storage/event_store.h"
#include "storage/log/retention.h"
#include "storage/log/sessionizer.h"
#include "storage/privacy/erasure.h"

namespace rocksdb {
class WriteBatch;
}  // namespace rocksdb

namespace foothold::storage {

// The live counters behind StoreStats. Written by the writer (queue depth
// also by Append, under the queue mutex), read by anyone.
struct StoreCounters {
  std::atomic<uint64_t> queue_depth_events{0};
  std::atomic<uint64_t> groups_committed{0};
  std::atomic<uint64_t> events_committed{0};
  std::atomic<uint64_t> duplicates{0};
  std::atomic<uint64_t> last_group_events{0};
  std::array<std::atomic<uint64_t>, kGroupSizeBounds.size() + 1> group_sizes{};
  std::atomic<uint64_t> write_failures{0};
  std::atomic<uint64_t> next_seq{0};
  std::atomic<uint64_t> retention_deleted{0};
  std::atomic<uint64_t> free_bytes{0};      // on the data dir's filesystem, at the last check
  std::atomic<bool> low_space{false};       // free_bytes < min_free_bytes
  std::atomic<uint64_t> recoveries{0};      // write failures recovered from without a restart
  std::atomic<uint64_t> session_overflow_events{0};  // stored past session_max_events
  std::atomic<uint64_t> suppressed{0};
  std::atomic<uint64_t> erasures{0};
  std::atomic<uint64_t> erased_events{0};
  std::atomic<uint64_t> erasure_jobs_pending{0};  // 1 while some erased session waits to close
};

// Events per session seen by this writer, for session_max_events: the most
// recently used kCapacity sessions (a long session stays hot).
class SessionCounts {
 public:
  static constexpr size_t kCapacity = 1 << 16;
  // The count after adding `n` events to `session_id`.
  uint64_t Add(const std::string& session_id, uint64_t n);

 private:
  using Entry = std::pair<std::string, uint64_t>;
  std::list<Entry> lru_;  // front = most recently used
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;  // views into lru_
};

class Writer {
 public:
  // Visitor states kept in memory; beyond it they are read back from the
  // visitors column family (one MultiGet per group for the misses).
  static constexpr size_t kVisitorCacheEntries = 1 << 16;

  // `db`, `counters` and what `retention_floor` points to (the checkpoints
  // retention never deletes past) must outlive the Writer. Starts the thread.
  // `secret` keys the hashes of the erasure log and suppression list.
  Writer(const StoreOptions& options, Database* db, uint64_t next_seq, StoreCounters* counters,
         RetentionFloor retention_floor, std::string secret);
  ~Writer();  // Stop()s
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // See EventStore::Append and EventStore::CommitNow.
  Status Append(std::vector<proto::Event> events, AppendCallback&& done, bool defer_commit);
  void CommitNow();
  // See EventStore::SetGroupCallbacksDone and EventStore::OnWriterThread.
  void SetGroupCallbacksDone(std::function<void()> hook);
  bool OnWriterThread() const;

  // One full retention pass with cutoff now_ms - retention_days, executed on
  // the writer thread; waits for it. 0 when stopped, failed or disabled.
  uint64_t RunRetention(int64_t now_ms);

  // An erasure (storage/privacy/erasure.h), executed on the writer thread
  // between groups; waits for it. Unavailable when stopped or failed.
  Status Erase(const ErasureRequest& request, int64_t now_ms, ErasureResult* out);

  // Stops accepting, drains the queue (committing it), joins. Idempotent.
  void Stop();

  // Called on the writer thread once a group's WriteBatch is written, before
  // the callbacks, with the group's stored events in seq order (seq, session
  // id and flags filled in: what their log records hold); it may move from
  // them. Set before the first Append (the live aggregator's commit feed).
  using CommittedFn = std::function<void(const std::vector<proto::Event*>&)>;
  void set_on_committed(CommittedFn fn) { on_committed_ = std::move(fn); }

  // True after a write (or write-path read) failure, until recovered.
  bool failed() const { return failed_flag_.load(std::memory_order_acquire); }
  // True while free space is below min_free_bytes.
  bool low_space() const { return counters_->low_space.load(std::memory_order_relaxed); }
  // True while failed because the disk was full (the watermark was raced).
  bool failed_no_space() const { return failed_no_space_.load(std::memory_order_acquire); }
  // True once any write failed since the store was opened (even if recovered).
  bool ever_failed() const { return ever_failed_.load(std::memory_order_acquire); }

 private:
  // An Append, or a task (retention on demand) to run on the writer thread.
  struct Request {
    std::vector<proto::Event> events;
    AppendCallback done;
    std::function<void()> task;
  };

  void Run();
  // REQUIRES: mu_ held. Whether the writer has retention work to do now.
  bool RetentionDue() const;
  void CommitGroup(std::vector<Request>* group);
  void FailGroup(std::vector<Request>* group, const Status& status);
  void MarkFailed(const Status& status);
  void RetentionTick();
  // Between groups: the free-space check and, while failed, a recovery attempt.
  void Maintain();
  void CheckSpace();
  void TryRecover();
  // REQUIRES: mu_ held. How long an idle writer sleeps before Maintain.
  std::chrono::steady_clock::time_point IdleDeadline() const;
  // The refusal for an append (or a queued group) while failed or low on space.
  Status Refusal(const Status& failure) const;
  // Renames the sessions of finished erasures once they closed (polled).
  void ErasureTick();
  // REQUIRES: mu_ held. An erased session may have closed: time for ErasureTick.
  bool ErasureDue() const;

  const StoreOptions options_;
  Database* const db_;
  StoreCounters* const counters_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Request> queue_;    // guarded by mu_
  size_t queued_events_ = 0;     // guarded by mu_
  bool stopping_ = false;        // guarded by mu_
  // The writer sleeps on cv_ for an empty queue (idle) or for a fuller group
  // (lingering); Append wakes it only when that wait should end, so a burst
  // of small appends costs one wake-up, not one per request.
  bool idle_ = false;            // guarded by mu_
  bool lingering_ = false;       // guarded by mu_
  bool kicked_ = false;          // guarded by mu_; CommitNow since the last group
  bool failed_ = false;          // guarded by mu_
  Status failure_;               // guarded by mu_
  std::atomic<bool> failed_flag_{false};
  std::atomic<bool> ever_failed_{false};
  std::atomic<bool> failed_no_space_{false};

  // Writer-thread state.
  uint64_t next_seq_;
  // Every group's WriteBatch, cleared and reused: a 100-event request is ~35 KB
  // of batch, and growing a fresh one per group cost a copy per doubling and
  // large allocations. Keeps the capacity of the largest group seen.
  std::unique_ptr<rocksdb::WriteBatch> group_batch_;
  static constexpr size_t kKeepBatchBytes = 8 << 20;  // a larger one is replaced at the next group
  VisitorCache visitors_{kVisitorCacheEntries};
  // (identity, session) keys this writer committed lately (storage/README.md,
  // the identities family): a session's later events skip the Put of a key
  // that is there already, one memtable insert an event less. Emptied when
  // full and whenever retention or an erasure may have deleted such keys.
  static constexpr size_t kLinkedIdentities = 1 << 16;
  struct ViewHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_set<std::string, ViewHash, std::equal_to<>> linked_identities_;
  SessionCounts session_counts_;
  Retention retention_;
  std::optional<int64_t> retention_cutoff_;  // a periodic pass in progress
  std::chrono::steady_clock::time_point next_retention_;
  std::chrono::steady_clock::time_point next_space_check_;
  std::chrono::steady_clock::time_point next_recovery_;
  uint64_t recovery_attempts_ = 0;  // since the last failure
  Eraser eraser_;
  std::chrono::steady_clock::time_point next_erasure_tick_;
  CommittedFn on_committed_;  // set before the first Append

  std::mutex hook_mu_;  // guards group_callbacks_done_ (taken once a group)
  std::function<void()> group_callbacks_done_;

  std::mutex stop_mu_;  // serializes Stop callers
  std::thread thread_;  // last: started after everything above is ready
};

}  // namespace foothold::storage
