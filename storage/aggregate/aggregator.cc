#include "storage/aggregate/aggregator.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include <spdlog/spdlog.h>

#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include "proto/record.h"
#include "storage/aggregate/counter_keys.h"
#include "storage/log/filters.h"
#include "storage/log/keys.h"
#include "storage/aggregate/session_state.h"
#include "storage/aggregate/stats_query.h"

namespace foothold::storage {
namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) {
    if (!out.empty()) out.push_back('\n');
    out.append(n);
  }
  return out;
}

std::vector<std::string> SplitNames(std::string_view joined) {
  std::vector<std::string> out;
  while (!joined.empty()) {
    size_t nl = joined.find('\n');
    out.emplace_back(joined.substr(0, nl));
    if (nl == std::string_view::npos) break;
    joined.remove_prefix(nl + 1);
  }
  return out;
}

int64_t SteadyUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The session rows of a batch go into its WriteBatch.
class BatchSink : public SessionSink {
 public:
  BatchSink(rocksdb::WriteBatch* batch, rocksdb::ColumnFamilyHandle* cf) : batch_(batch), cf_(cf) {}
  void Put(const std::string& key, const std::string& value) override {
    ok_ = ok_ && batch_->Put(cf_, key, value).ok();
  }
  void Delete(const std::string& key) override { ok_ = ok_ && batch_->Delete(cf_, key).ok(); }
  bool ok() const { return ok_; }

 private:
  rocksdb::WriteBatch* batch_;
  rocksdb::ColumnFamilyHandle* cf_;
  bool ok_ = true;
};

}  // namespace

Status StoredSessions::ReadHead(const std::string& session_id, SessionState* out) {
  rocksdb::ReadOptions ro;
  rocksdb::Status s = db_->db()->Get(ro, cf_, SessionHeadKey(session_id), &value_);
  if (s.IsNotFound()) return Status::NotFound(session_id);
  if (!s.ok()) return FromRocks(s, "read session " + session_id);
  Status st = DecodeHead(value_, out);
  if (!st.ok()) return Status::Corruption("session " + session_id + ": " + st.message());
  return Status::Ok();
}

Status StoredSessions::ReadHits(const std::string& session_id, std::vector<SessionState::Hit>* out,
                                std::vector<uint64_t>* rows) {
  const std::string prefix = SessionHitPrefix(session_id);
  std::string end = prefix;
  end.back() = '\x01';  // just past every key with the prefix
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(ro, cf_));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    std::string_view id;
    uint64_t seq = 0;
    const std::string_view key(it->key().data(), it->key().size());
    if (ParseSessionKey(key, &id, &seq) != SessionRowKind::kHit || id != session_id) {
      return Status::Corruption("session " + session_id + ": malformed hit key");
    }
    Status st = DecodeHits(std::string_view(it->value().data(), it->value().size()), out);
    if (!st.ok()) return Status::Corruption("session " + session_id + ": " + st.message());
    rows->push_back(seq);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "read hits of session " + session_id);
  return Status::Ok();
}

AggregatorTarget LiveTarget(const Database& db) {
  AggregatorTarget t;
  t.counters = db.counters();
  t.sessions = db.sessions();
  return t;
}

Status ReadAggregatorCheckpoint(Database* db, uint64_t* seq, int64_t* watermark_ms,
                                std::vector<std::string>* names, const std::string& prefix) {
  *seq = 0;
  *watermark_ms = INT64_MIN;
  names->clear();
  std::string v;
  rocksdb::Status s = db->db()->Get(rocksdb::ReadOptions(), db->meta(), prefix + kMetaAggCheckpoint, &v);
  if (s.IsNotFound()) return Status::Ok();
  if (!s.ok()) return FromRocks(s, "read aggregator checkpoint in " + db->dir());
  if (v.size() != 8) return Status::Corruption("aggregator checkpoint in " + db->dir() + " is malformed");
  *seq = GetBe64(v);
  s = db->db()->Get(rocksdb::ReadOptions(), db->meta(), prefix + kMetaAggWatermark, &v);
  if (s.ok() && v.size() == 8) *watermark_ms = FromOffsetBinary(GetBe64(v));
  s = db->db()->Get(rocksdb::ReadOptions(), db->meta(), prefix + kMetaAggNames, &v);
  if (s.ok()) *names = SplitNames(v);
  return Status::Ok();
}

Aggregator::Aggregator(const StoreOptions& options, Database* db,
                       const std::atomic<uint64_t>* committed_next_seq)
    : Aggregator(options, db, committed_next_seq, LiveTarget(*db)) {}

Aggregator::Aggregator(const StoreOptions& options, Database* db,
                       const std::atomic<uint64_t>* committed_next_seq, AggregatorTarget target)
    : options_(options),
      db_(db),
      target_(std::move(target)),
      committed_next_seq_(committed_next_seq),
      source_(db, target_.sessions),
      rollup_(options.analytics, options.session_timeout_ms, &source_, options.session_cache),
      names_joined_(JoinNames(rollup_.conversion_names())) {}

struct Aggregator::PendingBatch {
  rocksdb::WriteBatch batch;
  uint64_t last = 0;  // the last seq it aggregates
  size_t read = 0;    // records it aggregates
};

Aggregator::~Aggregator() { Stop(); }

Status Aggregator::Start() {
  uint64_t seq = 0;
  int64_t watermark = INT64_MIN;
  std::vector<std::string> names;
  Status st = ReadAggregatorCheckpoint(db_, &seq, &watermark, &names, target_.meta_prefix);
  if (!st.ok()) return st;
  if (names.empty()) names = rollup_.conversion_names();
  rollup_.set_watermark_ms(watermark);
  st = LoadSessions(names);
  if (!st.ok()) return Status::Corruption("aggregator state in " + db_->dir() + ": " + st.message());
  std::vector<std::pair<std::string, std::string>> dimension_values;  // the segments' cap (rollup.h)
  st = ReadAllDimensionValues(*db_, &dimension_values, target_.counters);
  if (!st.ok()) return st;
  rollup_.LoadDimensionValues(dimension_values);
  checkpoint_.store(seq);
  if (mirror_ != nullptr) mirror_->store(seq);
  watermark_ms_.store(watermark);
  open_sessions_.store(rollup_.open_sessions());
  caught_up_at_ms_.store(SteadyMs());
  st = LoadTotals();
  if (!st.ok()) return st;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), target_.thread_name);  // for top -H, perf --per-thread
    Run();
  });
  return Status::Ok();
}

// Rebuilds the closing wheel from the stored heads; first converts version 1
// states, and states written under other conversion names, in one WriteBatch
// (storage/README.md, "Session state").
Status Aggregator::LoadSessions(const std::vector<std::string>& names) {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  bool has_v1 = false;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(ro, target_.sessions));
    it->Seek(std::string(1, '\x20'));  // version 1 keys are bare printable ids
    has_v1 = it->Valid();
    if (!it->status().ok()) return FromRocks(it->status(), "scan sessions");
  }
  const bool renamed = names != rollup_.conversion_names();
  if (has_v1 || renamed) {
    Status st = Migrate(names, renamed);
    if (!st.ok()) return st;
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(ro, target_.sessions));
  const std::string end(1, kSessionHitTag);
  SessionState s;
  for (it->Seek(std::string(1, kSessionHeadTag)); it->Valid() && it->key().compare(end) < 0; it->Next()) {
    std::string_view id;
    uint64_t seq = 0;
    const std::string_view key(it->key().data(), it->key().size());
    if (ParseSessionKey(key, &id, &seq) != SessionRowKind::kHead) return Status::Corruption("malformed session key");
    Status st = DecodeHead(std::string_view(it->value().data(), it->value().size()), &s);
    if (!st.ok()) return Status::Corruption("session " + std::string(id) + ": " + st.message());
    rollup_.AddStoredSession(id, s.last_received_ms);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scan sessions");
  return Status::Ok();
}

Status Aggregator::Migrate(const std::vector<std::string>& names, bool renamed) {
  rocksdb::WriteBatch batch;
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(ro, target_.sessions));
  SessionState s;
  std::vector<SessionState::Hit> hits;
  uint64_t converted = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view id;
    uint64_t seq = 0;
    const std::string_view key(it->key().data(), it->key().size());
    const std::string_view value(it->value().data(), it->value().size());
    const SessionRowKind kind = ParseSessionKey(key, &id, &seq);
    Status st;
    if (kind == SessionRowKind::kV1) {
      st = DecodeV1(value, &s, &hits);
      if (st.ok()) {
        for (auto& h : hits) h.conv = rollup_.RemapConv(h.conv, names);
        rollup_.RemapHead(&s, names);
        for (const auto& [hit_seq, row] : rollup_.UpgradeV1Hits(&s, hits)) {
          batch.Put(target_.sessions, SessionHitKey(id, hit_seq), row);
        }
        batch.Put(target_.sessions, SessionHeadKey(id), EncodeHead(s));
        batch.Delete(target_.sessions, it->key());
        ++converted;
      }
    } else if (kind == SessionRowKind::kHead && renamed) {
      st = DecodeHead(value, &s);
      if (st.ok()) {
        rollup_.RemapHead(&s, names);
        batch.Put(target_.sessions, it->key(), EncodeHead(s));
      }
    } else if (kind == SessionRowKind::kHit && renamed) {
      hits.clear();
      st = DecodeHits(value, &hits);
      if (st.ok()) {
        for (auto& h : hits) h.conv = rollup_.RemapConv(h.conv, names);
        batch.Put(target_.sessions, it->key(), EncodeHits(hits));
      }
    } else if (kind == SessionRowKind::kUnknown) {
      st = Status::Corruption("malformed session key");
    }
    if (!st.ok()) return Status::Corruption("session " + std::string(id) + ": " + st.message());
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scan sessions");
  batch.Put(db_->meta(), target_.meta_prefix + kMetaAggNames, names_joined_);
  rocksdb::WriteOptions wo;
  wo.sync = options_.durability == config::Durability::kSync;
  rocksdb::Status w = db_->db()->Write(wo, &batch);
  if (!w.ok()) return FromRocks(w, "convert session states");
  (void)converted;
  return Status::Ok();
}

// The all-time totals per conversion, summed from the day buckets once, so
// the metrics start from what the counters hold, not from zero.
Status Aggregator::LoadTotals() {
  const std::vector<std::string>& names = rollup_.conversion_names();
  std::vector<uint64_t> events(names.size()), sessions(names.size());
  std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(rocksdb::ReadOptions(), target_.counters));
  for (size_t i = 0; i < names.size(); ++i) {
    for (char field : {'e', 's'}) {
      const std::string prefix = SeriesPrefix(names[i], field, Gran::kDay);
      uint64_t sum = 0;
      for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        sum += DecodeCounter(std::string_view(it->value().data(), it->value().size()));
      }
      (field == 'e' ? events : sessions)[i] = sum;
    }
  }
  if (!it->status().ok()) return FromRocks(it->status(), "load counters in " + db_->dir());
  std::lock_guard<std::mutex> lock(mu_);
  conv_events_ = std::move(events);
  conv_sessions_ = std::move(sessions);
  last_events_.assign(names.size(), 0);
  last_sessions_.assign(names.size(), 0);
  return Status::Ok();
}

void Aggregator::Run() {
  if (!options_.aggregate_live) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return stopping_; });
  }
  int64_t stop_deadline = 0;
  for (;;) {
    const int64_t started = SteadyMs();
    const int64_t started_us = SteadyUs();
    size_t read = 0;
    Status s = pending_ ? CommitPending() : Pass(&read);
    if (!s.ok() && pending_ && s.code() != Status::Code::kCorruption) {
      if (!retrying_) spdlog::error("{}; retrying every {} ms", s.ToString(), options_.recovery_interval_ms);
      retrying_ = true;
      std::unique_lock<std::mutex> lock(mu_);
      if (stopping_) return;  // nothing of the batch was written: a restart replays it
      cv_.wait_for(lock, std::chrono::milliseconds(options_.recovery_interval_ms), [this] { return stopping_; });
      continue;
    }
    if (retrying_ && s.ok()) {
      retrying_ = false;
      spdlog::info("aggregator: writes resumed");
    }
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      failure_ = s.ToString();
      failed_.store(true);
      cv_.notify_all();
      return;
    }
    if (read > 0) busy_us_.fetch_add(static_cast<uint64_t>(SteadyUs() - started_us));
    const bool caught_up = read < kMaxBatchEvents;
    if (caught_up) caught_up_at_ms_.store(started);
    std::unique_lock<std::mutex> lock(mu_);
    cv_.notify_all();  // WaitFor callers
    if (caught_up && !stopping_ && tick_) {
      const int64_t now = WallClockMs();
      if (now > rollup_.NextCloseMs() && now - last_tick_ms_ >= 1000) {
        last_tick_ms_ = now;
        TickFn tick = tick_;
        lock.unlock();
        tick(now);  // appends through the writer; the next pass reads it
        lock.lock();
      }
    }
    if (stopping_) {
      if (abandon_) return;
      if (stop_deadline == 0) stop_deadline = SteadyMs() + options_.aggregator_stop_ms;
      // A pass fed from memory may have stopped at a gap in the feed: look
      // once more (the log, or nothing left) before calling it caught up.
      if ((caught_up && !last_pass_fed_) || SteadyMs() >= stop_deadline) return;
      continue;
    }
    if (!caught_up) continue;
    cv_.wait_for(lock, std::chrono::milliseconds(options_.aggregate_interval_ms),
                 [this] { return stopping_; });
    // Lingering: every session a pass touches costs one head row (encoded,
    // inserted into the memtable, flushed, compacted) however few of its
    // events the pass holds, so when a large pass touched about a session
    // per record, waiting (briefly: the lag stays well under a second) for
    // more records per session spreads that cost. Counting does not depend
    // on how the log is split into passes (rollup.h).
    const uint64_t target = LingerTarget(read);
    const int64_t linger_until = SteadyMs() + options_.aggregate_linger_ms;
    while (target > 0 && !stopping_ && SteadyMs() < linger_until) {
      const uint64_t next = committed_next_seq_->load(std::memory_order_acquire);
      if (next > checkpoint_.load() + target) break;  // next - checkpoint - 1 >= target
      cv_.wait_for(lock, std::chrono::milliseconds(options_.aggregate_interval_ms),
                   [this] { return stopping_; });
    }
  }
}

uint64_t Aggregator::LingerTarget(size_t read) const {
  if (options_.aggregate_linger_ms <= 0 || read < kLingerMinEvents || touched_ * 2 <= read) return 0;
  return std::min<uint64_t>(4 * static_cast<uint64_t>(touched_), kMaxBatchEvents);
}

Status Aggregator::Pass(size_t* read) {
  *read = 0;
  last_pass_fed_ = false;
  const uint64_t from = checkpoint_.load() + 1;
  // Nothing committed past the checkpoint: nothing to read, and the
  // watermark (hence CloseDue) only moves with new records. Saves an
  // iterator and a seek over every memtable and L0 file per idle poll.
  if (committed_next_seq_->load(std::memory_order_acquire) <= from) return Status::Ok();
  uint64_t last = from - 1;
  CounterDeltas deltas;
  // The writer's groups in memory when they continue the checkpoint: the
  // same events the log holds, without reading and decoding them back.
  if (feed_ != nullptr && (*read = feed_->Take(from, kMaxBatchEvents, &fed_)) > 0) {
    for (auto& group : fed_) {
      for (const proto::Event& e : group) rollup_.Apply(e, &deltas);
      last = group.back().seq;
      group = {};  // freed now, not held until the next pass
    }
    events_from_feed_.fetch_add(*read, std::memory_order_relaxed);
    last_pass_fed_ = true;
  }
  // Then the log, for what the feed does not hold: every group is queued
  // before its seqs are published, so a committed seq that is not at the
  // feed's head was dropped (the queue was full) or precedes this process.
  // Otherwise the next pass takes it from the feed.
  if (*read < kMaxBatchEvents && committed_next_seq_->load(std::memory_order_acquire) > last + 1 &&
      (feed_ == nullptr || feed_->head_seq() != last + 1)) {
    Status s = ApplyFromLog(last + 1, &deltas, read, &last);
    if (!s.ok()) return s;
  }
  rollup_.CloseDue(&deltas);
  rollup_.DrainSeries(&deltas);
  if (!rollup_.status().ok()) {
    return Status::Corruption("aggregator: read sessions in " + db_->dir() + ": " +
                              rollup_.status().message());
  }
  if (*read == 0 && deltas.empty() && !rollup_.has_changes()) return Status::Ok();

  rocksdb::WriteBatch batch;
  for (const auto& [key, delta] : deltas) {
    if (delta == 0) continue;
    // Two's complement: uint64add wraps, so a negative delta subtracts.
    batch.Merge(target_.counters, key, EncodeCounter(static_cast<uint64_t>(delta)));
  }
  BatchSink sink(&batch, target_.sessions);
  touched_ = rollup_.dirty_sessions();
  rollup_.Persist(&sink);
  if (!sink.ok()) return Status::IoError("aggregator: session rows do not fit a WriteBatch in " + db_->dir());
  std::string v;
  PutBe64(last, &v);
  batch.Put(db_->meta(), target_.meta_prefix + kMetaAggCheckpoint, v);
  v.clear();
  PutBe64(OffsetBinary(rollup_.watermark_ms()), &v);
  batch.Put(db_->meta(), target_.meta_prefix + kMetaAggWatermark, v);
  batch.Put(db_->meta(), target_.meta_prefix + kMetaAggNames, names_joined_);
  pending_ = std::make_unique<PendingBatch>(PendingBatch{std::move(batch), last, *read});
  return CommitPending();
}

Status Aggregator::ApplyFromLog(uint64_t from, CounterDeltas* deltas, size_t* read, uint64_t* last) {
  proto::Event e;
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // each record is read once: keep the cache for lookups and readers
  std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(ro, db_->log()));
  for (it->Seek(LogKey(from)); it->Valid() && *read < kMaxBatchEvents; it->Next()) {
    auto seq = ParseLogKey(std::string_view(it->key().data(), it->key().size()));
    if (!seq) return Status::Corruption("aggregator: malformed log key in " + db_->dir());
    Status s = proto::DecodeRecord(std::string_view(it->value().data(), it->value().size()), &e);
    if (!s.ok()) {
      return Status::Corruption("aggregator: log record " + std::to_string(*seq) + " in " +
                                db_->dir() + ": " + s.message());
    }
    e.seq = *seq;
    rollup_.Apply(e, deltas);
    *last = *seq;
    ++*read;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "aggregator: scan log in " + db_->dir());
  return Status::Ok();
}

// The rollup already holds the pending batch: after a failed write (a full
// disk, a RocksDB background error) it is ahead of the store, so the same
// batch is retried until it commits (or Stop gives up: then nothing of it
// was written and a restart replays from the checkpoint).
Status Aggregator::CommitPending() {
  rocksdb::WriteOptions wo;
  wo.sync = options_.durability == config::Durability::kSync;
  rocksdb::Status w = db_->db()->Write(wo, &pending_->batch);
  if (!w.ok()) return FromRocks(w, "aggregator: write in " + db_->dir());
  const uint64_t last = pending_->last;
  const size_t read = pending_->read;
  pending_.reset();

  rollup_.Evict();
  checkpoint_.store(last);
  if (mirror_ != nullptr) mirror_->store(last);
  events_aggregated_.fetch_add(read);
  batches_.fetch_add(1);
  open_sessions_.store(rollup_.open_sessions());
  sessions_closed_.store(rollup_.sessions_closed());
  watermark_ms_.store(rollup_.watermark_ms());
  std::lock_guard<std::mutex> lock(mu_);
  const auto& ev = rollup_.conversion_events();
  const auto& se = rollup_.conversion_sessions();
  for (size_t i = 0; i < conv_events_.size(); ++i) {
    conv_events_[i] += ev[i] - last_events_[i];
    conv_sessions_[i] += se[i] - last_sessions_[i];
  }
  last_events_ = ev;
  last_sessions_ = se;
  return Status::Ok();
}

void Aggregator::EnableTicks(TickFn tick) {
  std::lock_guard<std::mutex> lock(mu_);
  tick_ = std::move(tick);
}

void Aggregator::Abandon() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    abandon_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Aggregator::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Aggregator::WaitFor(uint64_t next_seq, int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
    return failed_.load() || checkpoint_.load() + 1 >= next_seq;
  }) && !failed_.load();
}

AggregatorStats Aggregator::stats() const {
  AggregatorStats s;
  s.checkpoint_seq = checkpoint_.load();
  const uint64_t committed = committed_next_seq_->load(std::memory_order_relaxed);
  s.pending_events = committed > s.checkpoint_seq + 1 ? committed - s.checkpoint_seq - 1 : 0;
  s.lag_ms = s.pending_events == 0 ? 0 : std::max<int64_t>(0, SteadyMs() - caught_up_at_ms_.load());
  s.watermark_ms = watermark_ms_.load();
  s.events_aggregated = events_aggregated_.load();
  s.events_from_feed = events_from_feed_.load(std::memory_order_relaxed);
  s.batches = batches_.load();
  s.busy_seconds = static_cast<double>(busy_us_.load()) / 1e6;
  s.open_sessions = open_sessions_.load();
  s.sessions_closed = sessions_closed_.load();
  s.failed = failed_.load();
  const std::vector<std::string>& names = rollup_.conversion_names();  // immutable after construction
  std::lock_guard<std::mutex> lock(mu_);
  s.failure = failure_;
  for (size_t i = 0; i < names.size(); ++i) {
    s.conversions.push_back(
        {names[i], i >= rollup_.micro_count(), conv_events_[i], conv_sessions_[i]});
  }
  return s;
}

}  // namespace foothold::storage
