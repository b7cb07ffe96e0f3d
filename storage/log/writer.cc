#include "storage/log/writer.h"

#include <pthread.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <future>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <spdlog/spdlog.h>

#include <rocksdb/slice.h>
#include <rocksdb/write_batch.h>

#include "proto/record.h"
#include "storage/log/filters.h"
#include "storage/log/keys.h"

namespace foothold::storage {
namespace {

constexpr int64_t kDayMs = 24LL * 3600 * 1000;
// An idle, healthy writer still wakes this often to look at the free space,
// so readiness follows a disk that fills up from elsewhere.
constexpr std::chrono::milliseconds kIdleCheck{1000};

std::string Mib(uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

// Only ids the client chose can repeat: a retried beacon carries the same id.
// Server-assigned UUIDv7s are unique by construction, so looking them up
// would cost a read per event for nothing.
bool HasClientEventId(const proto::Event& e) {
  return (e.flags & proto::kFlagEventIdAssigned) == 0 && !e.event_id.empty();
}

// Fixed-size index keys built in place (no heap string an event), equal byte
// for byte to keys.h's SessionIndexKey and IdentitySessionKey; ordered as the
// memtable orders them (bytewise).
template <size_t N>
struct FixedKey {
  std::array<char, N> bytes;
  std::string_view view() const { return std::string_view(bytes.data(), N); }
  bool operator<(const FixedKey& o) const { return std::memcmp(bytes.data(), o.bytes.data(), N) < 0; }
  bool operator==(const FixedKey& o) const { return bytes == o.bytes; }
};
void StoreBe64(uint64_t v, char* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * (7 - i))) & 0xff);
}
// SessionIndexKey(session_id, event_time_ms, seq), given Hash64(session_id).
FixedKey<24> IndexKeyOf(uint64_t session_hash, int64_t event_time_ms, uint64_t seq) {
  FixedKey<24> k;
  StoreBe64(session_hash, k.bytes.data());
  StoreBe64(OffsetBinary(event_time_ms), k.bytes.data() + 8);
  StoreBe64(seq, k.bytes.data() + 16);
  return k;
}
// IdentitySessionKey(kind, id, session_id), given Hash64(session_id).
FixedKey<17> IdentityKeyOf(char kind, std::string_view id, uint64_t session_hash) {
  FixedKey<17> k;
  k.bytes[0] = kind;
  StoreBe64(Hash64(id), k.bytes.data() + 1);
  StoreBe64(session_hash, k.bytes.data() + 9);
  return k;
}

// The Writer whose thread this is (null on every other thread).
thread_local const Writer* tls_writer = nullptr;

std::string_view View(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

// Collects the first error of a series of WriteBatch operations, so each
// rocksdb::Status is checked without a branch after every Put.
class BatchBuilder {
 public:
  explicit BatchBuilder(rocksdb::WriteBatch* batch) : batch_(*batch) { batch_.Clear(); }
  void Put(rocksdb::ColumnFamilyHandle* cf, std::string_view key, std::string_view value) {
    Keep(batch_.Put(cf, rocksdb::Slice(key.data(), key.size()),
                    rocksdb::Slice(value.data(), value.size())));
  }
  rocksdb::WriteBatch* batch() { return &batch_; }
  const rocksdb::Status& status() const { return status_; }

 private:
  void Keep(const rocksdb::Status& s) {
    if (!s.ok() && status_.ok()) status_ = s;
  }
  rocksdb::WriteBatch& batch_;
  rocksdb::Status status_;
};

// Per group: what is known about each distinct client event id.
struct Seen {
  std::optional<DedupeEntry> stored;  // from the dedupe column family
  bool in_group = false;              // stored by an earlier event of this group
};
// Keys are views into the group's events, which outlive the map.
using SeenMap = std::unordered_map<std::string_view, Seen>;

// Per group: the state of each visitor to sessionize, as it evolves.
struct Visitor {
  std::optional<VisitorState> state;
  bool dirty = false;  // changed by this group: persist it
};
using VisitorMap = std::unordered_map<std::string, Visitor>;

// Fills *seen with the stored entry of every distinct client event id.
Status LookupDedupe(const Database& db, const std::vector<const proto::Event*>& events,
                    SeenMap* seen) {
  std::vector<rocksdb::Slice> keys;
  for (const proto::Event* e : events) {
    if (HasClientEventId(*e) && seen->try_emplace(e->event_id).second) keys.emplace_back(e->event_id);
  }
  if (keys.empty()) return Status::Ok();
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db.db()->MultiGet(rocksdb::ReadOptions(), db.dedupe(), keys.size(), keys.data(), values.data(),
                    statuses.data());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].ok()) {
      (*seen)[View(keys[i])].stored = DecodeDedupe(View(values[i]));
    } else if (!statuses[i].IsNotFound()) {
      return FromRocks(statuses[i], "read dedupe entries in " + db.dir());
    }
  }
  return Status::Ok();
}

// Fills *visitors with the state of every visitor to sessionize: from the
// cache, else from the visitors column family.
Status LookupVisitors(const Database& db, const std::vector<const proto::Event*>& events,
                      VisitorCache* cache, VisitorMap* visitors) {
  std::vector<std::string> missing;
  for (const proto::Event* e : events) {
    if (!e->session_id.empty()) continue;
    std::string key = VisitorKey(*e);
    if (key.empty() || visitors->contains(key)) continue;
    if (const VisitorState* cached = cache->Find(key)) {
      (*visitors)[key].state = *cached;
    } else {
      (*visitors)[key];
      missing.push_back(std::move(key));
    }
  }
  if (missing.empty()) return Status::Ok();
  std::vector<rocksdb::Slice> keys(missing.begin(), missing.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db.db()->MultiGet(rocksdb::ReadOptions(), db.visitors(), keys.size(), keys.data(), values.data(),
                    statuses.data());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].ok()) {
      // Unreadable state counts as none: the visitor starts a new session.
      (*visitors)[missing[i]].state = DecodeVisitor(View(values[i]));
    } else if (!statuses[i].IsNotFound()) {
      return FromRocks(statuses[i], "read visitor states in " + db.dir());
    }
  }
  return Status::Ok();
}

}  // namespace

uint64_t SessionCounts::Add(const std::string& session_id, uint64_t n) {
  auto it = index_.find(session_id);
  if (it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second += n;
  }
  lru_.emplace_front(session_id, n);
  index_.emplace(lru_.front().first, lru_.begin());
  if (lru_.size() > kCapacity) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return n;
}

Writer::Writer(const StoreOptions& options, Database* db, uint64_t next_seq,
               StoreCounters* counters, RetentionFloor retention_floor, std::string secret)
    : options_(options),
      db_(db),
      counters_(counters),
      next_seq_(next_seq),
      group_batch_(std::make_unique<rocksdb::WriteBatch>()),
      retention_(db, retention_floor),
      next_retention_(std::chrono::steady_clock::now()),  // first pass right after open
      eraser_(options, db, std::move(secret)),
      next_erasure_tick_(std::chrono::steady_clock::now()) {
  counters_->next_seq.store(next_seq_, std::memory_order_relaxed);
  // The suppression list, then any erasure a crash interrupted, before the
  // thread starts: no suppressed event slips in, and when Open returns an
  // interrupted erasure has completed (storage/privacy/erasure.h).
  Status loaded = eraser_.Load();
  if (loaded.ok()) loaded = eraser_.ResumeJobs();
  if (!loaded.ok()) MarkFailed(loaded);
  counters_->erasure_jobs_pending.store(eraser_.renames_pending() ? 1 : 0, std::memory_order_relaxed);
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "fh-writer");  // for top -H, perf --per-thread
    tls_writer = this;
    Run();
  });
}

Writer::~Writer() { Stop(); }

Status Writer::Append(std::vector<proto::Event> events, AppendCallback&& done, bool defer_commit) {
  if (events.empty()) return Status::InvalidArgument("append: no events");
  const size_t n = events.size();
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Status::Unavailable("store is closed");
    if (failed_) return Refusal(failure_);
    if (low_space()) return Refusal(Status::Ok());
    if (queued_events_ + n > options_.queue_capacity_events) {
      return Status::Busy("writer queue full: " + std::to_string(queued_events_) + " of " +
                          std::to_string(options_.queue_capacity_events) + " events queued");
    }
    queue_.push_back(Request{std::move(events), std::move(done), {}});
    queued_events_ += n;
    counters_->queue_depth_events.store(queued_events_, std::memory_order_relaxed);
    wake = (idle_ && !defer_commit) || (lingering_ && queued_events_ >= options_.max_group_events);
  }
  if (wake) cv_.notify_one();
  return Status::Ok();
}

void Writer::CommitNow() {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.empty()) return;  // nothing to commit: keep the writer asleep
    kicked_ = true;
    wake = idle_ || lingering_;
  }
  if (wake) cv_.notify_one();
}

void Writer::SetGroupCallbacksDone(std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(hook_mu_);
  group_callbacks_done_ = std::move(hook);
}

bool Writer::OnWriterThread() const { return tls_writer == this; }

uint64_t Writer::RunRetention(int64_t now_ms) {
  if (options_.retention_days <= 0) return 0;
  const int64_t cutoff = now_ms - options_.retention_days * kDayMs;
  std::promise<uint64_t> result;
  std::future<uint64_t> deleted = result.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || failed_) return 0;
    queue_.push_back(Request{{}, {}, [this, cutoff, &result] {
                               uint64_t n = 0;
                               if (!failed()) {
                                 Status s = retention_.Run(
                                     cutoff, options_.durability == config::Durability::kSync, &n);
                                 counters_->retention_deleted.fetch_add(n, std::memory_order_relaxed);
                                 if (!s.ok() && s.code() != Status::Code::kCorruption) MarkFailed(s);
                               }
                               result.set_value(n);
                             }});
  }
  cv_.notify_one();
  return deleted.get();
}

Status Writer::Erase(const ErasureRequest& request, int64_t now_ms, ErasureResult* out) {
  // The erasure runs in steps (storage/privacy/erasure.h: Begin, then Step),
  // each a task between two groups that queues the next one behind the
  // appends that arrived meanwhile: ingestion goes on while it runs.
  struct Call {
    const ErasureRequest* request;
    int64_t now_ms;
    ErasureResult* out;
    std::promise<Status> result;
    bool begun = false;
  };
  struct Stepper {
    Writer* w;
    std::shared_ptr<Call> call;
    void operator()() const {
      Eraser& eraser = w->eraser_;
      Status s = w->failed() ? Status::Unavailable("store failed") : Status::Ok();
      bool finished = false;
      if (s.ok() && !call->begun) {
        if (eraser.busy()) {  // another erasure is running: this one after it
          Requeue();
          return;
        }
        call->begun = true;
        s = eraser.Begin(*call->request, call->now_ms);
      }
      if (s.ok()) s = eraser.Step(call->out, &finished);
      if (s.ok() && !finished) {
        Requeue();
        return;
      }
      if (s.ok()) {
        w->counters_->erasures.fetch_add(1, std::memory_order_relaxed);
        w->counters_->erased_events.fetch_add(call->out->events_erased, std::memory_order_relaxed);
      } else {
        if (call->begun) eraser.Abandon();  // its job record stays: resumed at the next open
        if (s.code() != Status::Code::kInvalidArgument && s.code() != Status::Code::kUnavailable) {
          w->MarkFailed(s);  // an I/O error on the store
        }
      }
      w->counters_->erasure_jobs_pending.store(eraser.renames_pending() ? 1 : 0, std::memory_order_relaxed);
      call->result.set_value(s);
    }
    void Requeue() const {
      {
        std::lock_guard<std::mutex> lock(w->mu_);
        w->queue_.push_back(Request{{}, {}, Stepper{w, call}});
      }
      w->cv_.notify_one();
    }
  };
  auto call = std::make_shared<Call>();
  call->request = &request;
  call->now_ms = now_ms;
  call->out = out;
  std::future<Status> done = call->result.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Status::Unavailable("store is closed");
    if (failed_) return Status::Unavailable("store failed: " + failure_.message());
    queue_.push_back(Request{{}, {}, Stepper{this, call}});
  }
  cv_.notify_one();
  return done.get();
}

void Writer::ErasureTick() {
  if (!eraser_.renames_pending() || failed()) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_erasure_tick_) return;
  next_erasure_tick_ = now + std::chrono::seconds(1);
  Status s = eraser_.ResumeJobs();
  linked_identities_.clear();  // renamed sessions drop their identity keys
  if (!s.ok() && s.code() != Status::Code::kCorruption) MarkFailed(s);
  counters_->erasure_jobs_pending.store(eraser_.renames_pending() ? 1 : 0, std::memory_order_relaxed);
}

void Writer::Stop() {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Writer::RetentionDue() const {
  if (options_.retention_days <= 0 || options_.retention_interval_ms <= 0 || failed_) return false;
  return retention_cutoff_.has_value() || std::chrono::steady_clock::now() >= next_retention_;
}

void Writer::Run() {
  std::vector<Request> group;
  for (;;) {
    group.clear();
    Maintain();
    bool stopping = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (queue_.empty() && !stopping_ && !RetentionDue() && !ErasureDue()) {
        idle_ = true;
        cv_.wait_until(lock, IdleDeadline());
        idle_ = false;
        // Woken by the clock only: look at the disk (Maintain) and sleep again.
        if (queue_.empty() && !stopping_ && !RetentionDue() && !ErasureDue()) continue;
      }
      // Group commit: linger briefly for more appends unless the group is
      // already full (or a task or Close is waiting). On a shared core this
      // lets the I/O threads finish their ready requests before we commit.
      if (!queue_.empty() && !stopping_ && !kicked_ && options_.group_commit_us > 0 && !queue_.front().task &&
          queued_events_ < options_.max_group_events) {
        lingering_ = true;
        cv_.wait_for(lock, std::chrono::microseconds(options_.group_commit_us), [this] {
          return stopping_ || kicked_ || queued_events_ >= options_.max_group_events;
        });
        lingering_ = false;
      }
      kicked_ = false;
      stopping = stopping_;
      if (queue_.empty() && stopping) break;
      // Whole requests only, so a callback sees all its events in one commit.
      // A request bigger than max_group_events still goes, alone.
      size_t taken = 0;
      while (!queue_.empty()) {
        Request& next = queue_.front();
        if (next.task) {
          if (group.empty()) {
            group.push_back(std::move(next));
            queue_.pop_front();
          }
          break;
        }
        if (!group.empty() && taken + next.events.size() > options_.max_group_events) break;
        taken += next.events.size();
        group.push_back(std::move(next));
        queue_.pop_front();
      }
      queued_events_ -= taken;
      counters_->queue_depth_events.store(queued_events_, std::memory_order_relaxed);
    }
    if (!group.empty()) {
      if (group.front().task) {
        group.front().task();
        linked_identities_.clear();  // a retention run or an erasure step may delete identity keys
      } else {
        CommitGroup(&group);
        // Every callback of the group ran (CommitGroup calls each exactly once, on every path).
        std::lock_guard<std::mutex> lock(hook_mu_);
        if (group_callbacks_done_) group_callbacks_done_();
      }
    }
    // Closing drains appends; a retention batch would only delay it.
    if (!stopping) RetentionTick();
    if (!stopping) ErasureTick();
  }
}

void Writer::RetentionTick() {
  if (options_.retention_days <= 0 || options_.retention_interval_ms <= 0 || failed()) return;
  const auto now = std::chrono::steady_clock::now();
  if (!retention_cutoff_) {
    if (now < next_retention_) return;
    retention_cutoff_ = WallClockMs() - options_.retention_days * kDayMs;
  }
  uint64_t n = 0;
  bool done = false;
  Status s = retention_.Step(*retention_cutoff_, options_.durability == config::Durability::kSync,
                             &n, &done);
  counters_->retention_deleted.fetch_add(n, std::memory_order_relaxed);
  if (n > 0 || !s.ok()) linked_identities_.clear();  // deleted with their sessions' last records
  if (!s.ok()) {
    // A record that does not decode stops this pass but is no reason to stop
    // accepting events; an I/O error on the store is.
    if (s.code() != Status::Code::kCorruption) MarkFailed(s);
    done = true;
  }
  if (done) {
    retention_cutoff_.reset();
    next_retention_ = now + std::chrono::milliseconds(options_.retention_interval_ms);
  }
}

void Writer::MarkFailed(const Status& status) {
  bool first = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failed_) {
      failed_ = true;
      failure_ = status;
      first = true;
    }
  }
  if (first) failed_no_space_.store(status.code() == Status::Code::kNoSpace, std::memory_order_release);
  failed_flag_.store(true, std::memory_order_release);
  ever_failed_.store(true, std::memory_order_release);
  counters_->write_failures.fetch_add(1, std::memory_order_relaxed);
  if (first) {
    spdlog::error("store: writes stopped: {}; collect answers 503 and the store retries every {} ms",
                  status.ToString(), options_.recovery_interval_ms);
    recovery_attempts_ = 0;
    next_recovery_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.recovery_interval_ms);
  }
}

Status Writer::Refusal(const Status& failure) const {
  if (!failure.ok()) {
    if (failure.code() == Status::Code::kNoSpace) return Status::NoSpace("store failed: " + failure.message());
    return Status::Unavailable("store failed: " + failure.message());
  }
  return Status::NoSpace("free space in " + db_->dir() + " is " +
                         Mib(counters_->free_bytes.load(std::memory_order_relaxed)) +
                         ", below storage.min_free_bytes (" + Mib(options_.min_free_bytes) + ")");
}

std::chrono::steady_clock::time_point Writer::IdleDeadline() const {
  auto deadline = std::chrono::steady_clock::now() +
                  (failed_ || low_space() ? std::chrono::milliseconds(options_.space_check_ms) : kIdleCheck);
  if (options_.retention_days > 0 && options_.retention_interval_ms > 0 && !failed_) {
    deadline = std::min(deadline, next_retention_);
  }
  if (eraser_.renames_pending() && !failed_) deadline = std::min(deadline, next_erasure_tick_);
  return deadline;
}

bool Writer::ErasureDue() const {
  return eraser_.renames_pending() && !failed_ && std::chrono::steady_clock::now() >= next_erasure_tick_;
}

void Writer::Maintain() {
  const auto now = std::chrono::steady_clock::now();
  if (options_.min_free_bytes > 0 && now >= next_space_check_) {
    next_space_check_ = now + std::chrono::milliseconds(options_.space_check_ms);
    CheckSpace();
  }
  if (failed() && now >= next_recovery_) {
    next_recovery_ = now + std::chrono::milliseconds(options_.recovery_interval_ms);
    TryRecover();
  }
}

void Writer::CheckSpace() {
  uint64_t free = 0;
  Status s = db_->FreeBytes(&free);
  if (!s.ok()) return;  // no figure: keep the last verdict (RocksDB's own errors still count)
  counters_->free_bytes.store(free, std::memory_order_relaxed);
  const bool low = free < options_.min_free_bytes;
  if (low == low_space()) return;
  counters_->low_space.store(low, std::memory_order_relaxed);
  if (low) {
    spdlog::warn("store: {} free in {}, below storage.min_free_bytes ({}): collect answers 503 storage_full",
                 Mib(free), db_->dir(), Mib(options_.min_free_bytes));
  } else {
    spdlog::info("store: {} free in {} again: accepting events", Mib(free), db_->dir());
  }
}

void Writer::TryRecover() {
  // Resume flushes the memtables: pointless (and failing) without room.
  if (low_space()) return;
  ++recovery_attempts_;
  Status s = db_->Resume();
  if (!s.ok()) {
    if (recovery_attempts_ == 1 || recovery_attempts_ % 30 == 0) {
      spdlog::warn("store: recovery attempt {} failed: {}", recovery_attempts_, s.ToString());
    }
    return;
  }
  Status was;
  {
    std::lock_guard<std::mutex> lock(mu_);
    failed_ = false;
    was = failure_;
    failure_ = Status::Ok();
  }
  failed_flag_.store(false, std::memory_order_release);
  failed_no_space_.store(false, std::memory_order_release);
  counters_->recoveries.fetch_add(1, std::memory_order_relaxed);
  spdlog::info("store: writes resumed after {} attempt(s); the failure was: {}", recovery_attempts_,
               was.ToString());
}

void Writer::FailGroup(std::vector<Request>* group, const Status& status) {
  for (Request& r : *group) {
    if (r.done) r.done(AppendResult{status, {}, {}});
  }
}

void Writer::CommitGroup(std::vector<Request>* group) {
  if (failed()) {
    Status failure;
    {
      std::lock_guard<std::mutex> lock(mu_);
      failure = failure_;
    }
    // Accepted before the failure; nothing of it was written.
    FailGroup(group, Refusal(failure));
    return;
  }
  if (low_space()) {
    FailGroup(group, Refusal(Status::Ok()));  // queued before the watermark was crossed
    return;
  }
  rocksdb::DB* db = db_->db();

  std::vector<const proto::Event*> events;
  for (const Request& r : *group) {
    for (const proto::Event& e : r.events) events.push_back(&e);
  }
  // 1-2. Read what the decisions depend on, one MultiGet per family.
  SeenMap seen;
  VisitorMap visitors;
  Status read = LookupDedupe(*db_, events, &seen);
  if (read.ok()) read = LookupVisitors(*db_, events, &visitors_, &visitors);
  if (!read.ok()) {
    MarkFailed(read);
    FailGroup(group, read);
    return;
  }

  // 3. Decide every event in order and build the one WriteBatch.
  // A burst of large events can grow the reused batch to hundreds of MiB
  // (max_group_events x max_event_bytes); do not keep that for good.
  if (group_batch_->Data().capacity() > kKeepBatchBytes) group_batch_ = std::make_unique<rocksdb::WriteBatch>();
  BatchBuilder batch(group_batch_.get());
  uint64_t seq = next_seq_;
  uint64_t stored = 0;
  uint64_t duplicates = 0;
  uint64_t suppressed = 0;
  uint64_t group_events = 0;
  uint64_t overflowed = 0;
  std::vector<std::string> dirty;
  // Random-key families are put after the log, each sorted by key: the
  // memtable skiplist inserts a sorted run near its previous insert instead
  // of searching from the top for every key (the log is sequential already).
  // Order inside a batch has no meaning here: no key is written twice.
  std::vector<FixedKey<24>> index_keys;
  std::vector<FixedKey<17>> identity_keys;
  std::vector<std::pair<std::string_view, DedupeEntry>> dedupe_puts;
  std::string buf;
  std::vector<AppendResult> results(group->size());
  std::vector<proto::Event*> committed;  // for on_committed_
  for (size_t i = 0; i < group->size(); ++i) {
    AppendResult& result = results[i];
    std::vector<proto::Event>& request_events = (*group)[i].events;
    result.outcomes.reserve(request_events.size());
    result.seqs.reserve(request_events.size());
    group_events += request_events.size();
    for (proto::Event& e : request_events) {
      if (eraser_.Suppressed(e)) {  // acknowledged, never stored (README.md "Privacy")
        result.outcomes.push_back(AppendOutcome::kSuppressed);
        result.seqs.push_back(0);
        ++suppressed;
        continue;
      }
      if (HasClientEventId(e)) {
        Seen& s = seen[e.event_id];
        if (s.in_group || (s.stored && DedupeLive(s.stored->received_at_ms, e.received_at_ms,
                                                  options_.dedupe_window_ms))) {
          result.outcomes.push_back(AppendOutcome::kDuplicate);
          result.seqs.push_back(0);
          ++duplicates;
          continue;
        }
        s.in_group = true;
        dedupe_puts.emplace_back(e.event_id, DedupeEntry{seq, e.received_at_ms});
      }
      e.seq = seq++;
      if (e.session_id.empty()) {
        std::string key = VisitorKey(e);
        if (key.empty()) {
          // No identity to follow (the decoder requires one, so only a
          // direct caller gets here): the event is a session of its own.
          e.session_id = DeriveSessionId("q:" + std::to_string(e.seq), e.event_time_ms);
        } else {
          Visitor& v = visitors[key];
          e.session_id = AdvanceSession(key, e.event_time_ms, options_.session_timeout_ms, &v.state);
          if (!v.dirty) {
            v.dirty = true;
            dirty.push_back(std::move(key));
          }
        }
        e.flags |= proto::kFlagSessionDerived;
      }
      // One session past session_max_events: the rest is stored and
      // aggregated, but no longer indexed, so its readback and its index
      // stop growing (ticks are not counted: they are not beacons).
      const bool overflow = options_.session_max_events > 0 && (e.flags & proto::kFlagClockTick) == 0 &&
                            session_counts_.Add(e.session_id, 1) > options_.session_max_events;
      if (overflow) {
        e.flags |= proto::kFlagSessionOverflow;
        ++overflowed;
      }
      buf.clear();
      proto::EncodeRecord(e, &buf);
      batch.Put(db_->log(), LogKey(e.seq), buf);
      const uint64_t session_hash = Hash64(e.session_id);
      if (!overflow) index_keys.push_back(IndexKeyOf(session_hash, e.event_time_ms, e.seq));
      if (!e.anonymous_id.empty()) {
        const FixedKey<17> key = IdentityKeyOf(kIdentityAnonymousSession, e.anonymous_id, session_hash);
        if (!linked_identities_.contains(key.view())) identity_keys.push_back(key);
      }
      if (!e.user_id.empty()) {
        const FixedKey<17> key = IdentityKeyOf(kIdentityUserSession, e.user_id, session_hash);
        if (!linked_identities_.contains(key.view())) identity_keys.push_back(key);
      }
      result.outcomes.push_back(AppendOutcome::kStored);
      result.seqs.push_back(e.seq);
      ++stored;
      if (on_committed_) committed.push_back(&e);
    }
  }
  std::sort(index_keys.begin(), index_keys.end());
  for (const FixedKey<24>& key : index_keys) batch.Put(db_->session_index(), key.view(), {});
  std::sort(identity_keys.begin(), identity_keys.end());
  identity_keys.erase(std::unique(identity_keys.begin(), identity_keys.end()), identity_keys.end());  // one per (identity, session)
  for (const FixedKey<17>& key : identity_keys) batch.Put(db_->identities(), key.view(), {});
  std::sort(dedupe_puts.begin(), dedupe_puts.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [id, entry] : dedupe_puts) batch.Put(db_->dedupe(), id, EncodeDedupe(entry));
  std::sort(dirty.begin(), dirty.end());
  for (const std::string& key : dirty) {
    batch.Put(db_->visitors(), key, EncodeVisitor(*visitors[key].state));
  }
  if (seq != next_seq_) {
    std::string v;
    PutBe64(seq, &v);
    batch.Put(db_->meta(), kMetaNextSeq, v);
  }

  // 4. One write for the whole group, then the callbacks.
  rocksdb::Status w = batch.status();
  if (w.ok() && batch.batch()->Count() > 0) {
    rocksdb::WriteOptions wo;
    wo.sync = options_.durability == config::Durability::kSync;
    w = db->Write(wo, batch.batch());
  }
  if (!w.ok()) {
    Status s = FromRocks(w, "write group in " + db_->dir());
    // The failed group's seqs are never reused: its WAL record may be whole
    // on disk and replayed at the next open, and must not shadow a later event.
    next_seq_ = seq;
    MarkFailed(s);
    FailGroup(group, s);
    return;
  }
  next_seq_ = seq;
  for (const std::string& key : dirty) visitors_.Put(key, *visitors[key].state);
  if (linked_identities_.size() + identity_keys.size() > kLinkedIdentities) linked_identities_.clear();
  for (const FixedKey<17>& key : identity_keys) linked_identities_.emplace(key.view());
  counters_->groups_committed.fetch_add(1, std::memory_order_relaxed);
  counters_->events_committed.fetch_add(stored, std::memory_order_relaxed);
  counters_->duplicates.fetch_add(duplicates, std::memory_order_relaxed);
  counters_->session_overflow_events.fetch_add(overflowed, std::memory_order_relaxed);
  counters_->suppressed.fetch_add(suppressed, std::memory_order_relaxed);
  counters_->last_group_events.store(group_events, std::memory_order_relaxed);
  const size_t slot = static_cast<size_t>(
      std::lower_bound(kGroupSizeBounds.begin(), kGroupSizeBounds.end(), group_events) - kGroupSizeBounds.begin());
  counters_->group_sizes[slot].fetch_add(1, std::memory_order_relaxed);
  if (on_committed_) on_committed_(committed);  // before the aggregator can see next_seq
  counters_->next_seq.store(next_seq_, std::memory_order_release);  // after the feed's Push
  for (size_t i = 0; i < group->size(); ++i) {
    if ((*group)[i].done) (*group)[i].done(std::move(results[i]));
  }
}

}  // namespace foothold::storage
