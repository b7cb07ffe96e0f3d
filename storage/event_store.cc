// EventStore: the public face (storage/event_store.h) over the private parts:
// Database (RocksDB and its column families, storage/log/db.h), Writer (queue,
// writer thread, group commit, storage/log/writer.h) and the readback path here.
#include "storage/event_store.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <utility>

#include <rocksdb/iterator.h>
#include <rocksdb/slice.h>
#include <rocksdb/snapshot.h>

#include "proto/enrich.h"
#include "proto/record.h"
#include "storage/log/db.h"
#include "storage/log/keys.h"
#include "storage/log/writer.h"
#include "storage/privacy/erasure.h"
#include "storage/aggregate/aggregators.h"
#include "storage/aggregate/stats_query.h"
#include "storage/export/exporter.h"

namespace foothold::storage {

StoreOptions StoreOptionsFromConfig(const config::Config& config) {
  StoreOptions o;
  o.data_dir = config.data_dir;
  o.durability = config.storage.durability;
  o.queue_capacity_events = config.storage.queue_capacity;
  o.max_group_events = config.storage.max_group_events;
  o.group_commit_us = static_cast<int64_t>(config.storage.group_commit_us);
  o.session_timeout_ms = config.session.timeout_ms;
  o.session_max_events = config.session.max_events;
  o.dedupe_window_ms = config.dedupe.window_ms;
  o.retention_days = config.storage.retention_days;
  o.block_cache_bytes = config.storage.block_cache_mb << 20;
  o.min_free_bytes = config.storage.min_free_bytes;
  o.auto_rebuild = config.aggregator.auto_rebuild;
  o.aggregate_feed_events = config.aggregator.feed_events;
  o.analytics = AnalyticsDefs{config.micro_conversions, config.macro_conversions, config.funnels,
                              config.experiments, config.dimensions};
  const config::Config::ExportClickHouse& x = config.export_clickhouse;
  o.export_clickhouse.url = x.url;
  o.export_clickhouse.database = x.database;
  o.export_clickhouse.table = x.table;
  o.export_clickhouse.user = x.user;
  o.export_clickhouse.password = x.password;
  o.export_clickhouse.node = x.node;
  o.export_clickhouse.batch_rows = x.batch_rows;
  o.export_clickhouse.linger_ms = x.linger_ms;
  o.export_clickhouse.max_lag_ms = x.max_lag_ms;
  o.export_clickhouse.timeout_ms = x.timeout_ms;
  // retention_interval_ms has no config key: the default (hourly) stands.
  return o;
}

struct EventStore::Impl {
  StoreOptions options;
  StoreCounters counters;  // outlives writer (declared before it)
  std::string instance_secret;
  std::unique_ptr<Database> db;
  // The live aggregator and a rebuild (storage/aggregate/aggregators.h);
  // before writer: retention reads its checkpoint.
  std::unique_ptr<Aggregators> aggregators;
  std::unique_ptr<Exporter> exporter;      // likewise; null when export is off
  std::unique_ptr<Writer> writer;

  // Readers hold it shared while they use db; Close takes it exclusively to
  // tear the database down, so no read runs on a closed DB.
  mutable std::shared_mutex db_mu;
  std::mutex close_mu;  // serializes Close callers
  std::atomic<bool> closing{false};  // Close has begun: no longer healthy
  std::atomic<bool> closed{false};   // the database is gone
  Status close_status;  // guarded by close_mu
};

EventStore::EventStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EventStore::~EventStore() { (void)Close(); }

Status EventStore::Open(const StoreOptions& options, std::unique_ptr<EventStore>* out) {
  if (options.max_group_events == 0 || options.queue_capacity_events == 0) {
    return Status::InvalidArgument("store options: queue_capacity_events and max_group_events must be >= 1");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  Status s = Database::Open(options, &impl->db);
  if (!s.ok()) return s;
  StoreMeta meta;
  s = impl->db->LoadMeta(&meta);
  if (!s.ok()) return s;  // ~Database closes it
  impl->instance_secret = std::move(meta.instance_secret);
  impl->counters.next_seq.store(meta.next_seq);
  impl->aggregators = std::make_unique<Aggregators>(options, impl->db.get(), &impl->counters.next_seq);
  s = impl->aggregators->Start();
  if (!s.ok()) return s;
  RetentionFloor floor(impl->aggregators->checkpoint());
  floor.rebuilding_through = impl->aggregators->rebuild_checkpoint();
  if (!options.export_clickhouse.url.empty()) {
    impl->exporter = std::make_unique<Exporter>(options, impl->db.get(), &impl->counters.next_seq);
    s = impl->exporter->Start();
    if (!s.ok()) return s;
    floor.exported_through = impl->exporter->checkpoint();
    floor.export_overdue = impl->exporter->overdue();
  }
  impl->writer = std::make_unique<Writer>(options, impl->db.get(), meta.next_seq, &impl->counters, floor,
                                          impl->instance_secret);
  if (CommitFeed* feed = impl->aggregators->feed()) {
    impl->writer->set_on_committed([feed](const std::vector<proto::Event*>& events) { feed->Push(events); });
  }
  if (options.clock_ticks) {
    Writer* writer = impl->writer.get();  // stopped before the aggregator, in Close
    impl->aggregators->EnableTicks([writer](int64_t now_ms) {
      proto::Event tick;
      tick.event = "foothold.clock_tick";
      tick.session_id = "foothold.clock";
      tick.event_id = proto::NewEventId(now_ms);
      tick.received_at_ms = tick.event_time_ms = now_ms;
      tick.flags = proto::kFlagClockTick | proto::kFlagEventIdAssigned | proto::kFlagNoClientTime;
      std::vector<proto::Event> events;
      events.push_back(std::move(tick));
      // Busy (queue full) or closed: there is traffic or shutdown; no tick needed.
      (void)writer->Append(std::move(events), [](AppendResult&&) {}, /*defer_commit=*/false);
    });
  }
  s = impl->aggregators->StartRebuild();
  if (!s.ok()) return s;
  out->reset(new EventStore(std::move(impl)));
  return Status::Ok();
}

Status EventStore::Append(std::vector<proto::Event> events, AppendCallback&& done, bool defer_commit) {
  return impl_->writer->Append(std::move(events), std::move(done), defer_commit);
}

void EventStore::CommitNow() {
  if (impl_->writer) impl_->writer->CommitNow();
}

void EventStore::SetGroupCallbacksDone(std::function<void()> hook) {
  if (impl_->writer) impl_->writer->SetGroupCallbacksDone(std::move(hook));
}

bool EventStore::OnWriterThread() const { return impl_->writer && impl_->writer->OnWriterThread(); }

Status EventStore::ReadEvent(std::string_view event_id, proto::Event* out) const {
  *out = proto::Event{};
  std::shared_lock<std::shared_mutex> lock(impl_->db_mu);
  const Database* d = impl_->db.get();
  if (impl_->closed.load() || d == nullptr) return Status::Unavailable("store is closed");
  rocksdb::DB* db = d->db();
  const rocksdb::Snapshot* snap = db->GetSnapshot();
  struct SnapshotRelease {
    rocksdb::DB* db;
    const rocksdb::Snapshot* snap;
    ~SnapshotRelease() { db->ReleaseSnapshot(snap); }
  } release{db, snap};
  rocksdb::ReadOptions ro;
  ro.snapshot = snap;
  std::string value;
  rocksdb::Status rs = db->Get(ro, d->dedupe(), rocksdb::Slice(event_id.data(), event_id.size()), &value);
  if (rs.IsNotFound()) return Status::NotFound("no event with this id in the dedupe window");
  if (!rs.ok()) return FromRocks(rs, "read dedupe in " + d->dir());
  const std::optional<DedupeEntry> entry = DecodeDedupe(value);
  if (!entry) return Status::Corruption("dedupe: malformed value in " + d->dir());
  rs = db->Get(ro, d->log(), LogKey(entry->seq), &value);
  // Retention may have removed the record while the dedupe entry lives on.
  if (rs.IsNotFound()) return Status::NotFound("the event's record is gone (retention)");
  if (!rs.ok()) return FromRocks(rs, "read log in " + d->dir());
  Status s = proto::DecodeRecord(value, out);
  if (!s.ok()) {
    return Status::Corruption("log record " + std::to_string(entry->seq) + " in " + d->dir() + ": " + s.message());
  }
  // An erased record has no event_id (README.md "Privacy"); its dedupe entry
  // lives on so a retry of it is still a duplicate, but it is not readable.
  if (out->event_id != event_id) return Status::NotFound("the event was erased");
  return Status::Ok();
}

Status EventStore::ReadSession(std::string_view session_id, std::vector<proto::Event>* out) const {
  out->clear();
  SessionPage page;
  std::string cursor;
  do {
    Status s = ReadSessionPage(session_id, cursor, SIZE_MAX, SIZE_MAX, &page);
    if (!s.ok()) {
      out->clear();
      return s;
    }
    for (proto::Event& e : page.events) out->push_back(std::move(e));
    cursor = std::move(page.next_cursor);
  } while (!cursor.empty());
  if (out->empty()) return Status::NotFound("session " + std::string(session_id) + " has no events");
  return Status::Ok();
}

namespace {

// A cursor is the 16 bytes after the session prefix of a session_index key
// (event_time, seq), as 32 lowercase hex chars.
std::string EncodeCursor(std::string_view index_key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : index_key.substr(8)) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

bool DecodeCursor(std::string_view cursor, std::string* bytes) {
  if (cursor.size() != 32) return false;
  bytes->clear();
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < 32; i += 2) {
    int hi = nibble(cursor[i]), lo = nibble(cursor[i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes->push_back(static_cast<char>(hi << 4 | lo));
  }
  return true;
}

// Records are fetched this many at a time: bounded memory per chunk (at most
// kChunk records of limits.max_event_bytes) and one MultiGet per chunk.
constexpr size_t kChunk = 128;

}  // namespace

Status EventStore::ReadSessionPage(std::string_view session_id, std::string_view cursor, size_t limit,
                                   size_t max_bytes, SessionPage* out) const {
  out->events.clear();
  out->next_cursor.clear();
  std::shared_lock<std::shared_mutex> lock(impl_->db_mu);
  const Database* d = impl_->db.get();
  if (impl_->closed.load() || d == nullptr) return Status::Unavailable("store is closed");
  if (session_id.empty()) return Status::NotFound("session: empty id");
  if (limit == 0) return Status::InvalidArgument("limit must be >= 1");
  const std::string lower = SessionIndexPrefix(session_id);
  std::string start = lower;
  if (!cursor.empty()) {
    std::string bytes;
    if (!DecodeCursor(cursor, &bytes)) return Status::InvalidArgument("cursor must be 32 hex characters");
    start += bytes;
    start.push_back('\0');  // the first key after the cursor's (keys are fixed-length)
  }
  rocksdb::DB* db = d->db();

  // One snapshot for the index scan and the record reads: retention deletes
  // both in one batch, so within a snapshot every index entry has its record.
  const rocksdb::Snapshot* snap = db->GetSnapshot();
  struct SnapshotRelease {
    rocksdb::DB* db;
    const rocksdb::Snapshot* snap;
    ~SnapshotRelease() { db->ReleaseSnapshot(snap); }
  } release{db, snap};

  const std::optional<std::string> upper = SessionIndexPrefixEnd(lower);
  rocksdb::Slice upper_slice(upper ? *upper : std::string_view());
  rocksdb::ReadOptions ro;
  ro.snapshot = snap;
  if (upper) ro.iterate_upper_bound = &upper_slice;
  rocksdb::ReadOptions get_ro;
  get_ro.snapshot = snap;

  // Index order is (event_time, seq): exactly the order readback promises.
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, d->session_index()));
  it->Seek(start);
  size_t bytes = 0;
  bool full = false;
  std::string last_key;  // index key of the page's last event
  std::vector<std::string> index_keys, log_keys;
  while (!full && it->Valid() && it->key().starts_with(lower)) {
    index_keys.clear();
    log_keys.clear();
    for (; it->Valid() && it->key().starts_with(lower) && index_keys.size() < kChunk; it->Next()) {
      std::string_view key(it->key().data(), it->key().size());
      auto seq = SessionIndexSeq(key);
      if (!seq) return Status::Corruption("session_index: malformed key in " + d->dir());
      index_keys.emplace_back(key);
      log_keys.push_back(LogKey(*seq));
    }
    std::vector<rocksdb::Slice> slices(log_keys.begin(), log_keys.end());
    std::vector<rocksdb::PinnableSlice> values(slices.size());
    std::vector<rocksdb::Status> statuses(slices.size());
    db->MultiGet(get_ro, d->log(), slices.size(), slices.data(), values.data(), statuses.data());
    for (size_t i = 0; i < slices.size(); ++i) {
      if (full) {
        // More index entries follow the page (maybe only another session's
        // whose id hashes alike: then the next page is empty and last).
        out->next_cursor = EncodeCursor(last_key);
        break;
      }
      if (!statuses[i].ok()) {
        out->events.clear();
        if (statuses[i].IsNotFound()) {
          return Status::Corruption("session_index entry without log record (seq " +
                                    std::to_string(GetBe64(log_keys[i])) + ") in " + d->dir());
        }
        return FromRocks(statuses[i], "read log in " + d->dir());
      }
      proto::Event e;
      Status s = proto::DecodeRecord(std::string_view(values[i].data(), values[i].size()), &e);
      if (!s.ok()) {
        out->events.clear();
        return Status::Corruption("log record " + std::to_string(GetBe64(log_keys[i])) + " in " + d->dir() +
                                  ": " + s.message());
      }
      // Another session whose id hashes alike shares the prefix: skip its events.
      if (e.session_id != session_id) continue;
      bytes += values[i].size();
      out->events.push_back(std::move(e));
      last_key = index_keys[i];
      full = out->events.size() >= limit || bytes >= max_bytes;
    }
  }
  if (full && out->next_cursor.empty() && it->Valid() && it->key().starts_with(lower)) {
    out->next_cursor = EncodeCursor(last_key);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scan session_index in " + d->dir());
  if (out->events.empty() && cursor.empty()) {
    return Status::NotFound("session " + std::string(session_id) + " has no events");
  }
  return Status::Ok();
}

Status EventStore::Close() {
  std::lock_guard<std::mutex> close_lock(impl_->close_mu);
  if (impl_->closed.load()) return impl_->close_status;
  impl_->closing.store(true);
  // A rebuild stops where it is (it resumes at the next start); a switch in
  // progress finishes first.
  impl_->aggregators->StopRebuild();
  // Drain first: every accepted event is committed and its callback called
  // before the database goes away.
  impl_->writer->Stop();
  // Then let the aggregator count what the writer committed, and checkpoint.
  impl_->aggregators->live()->Stop();
  // And give the exporter one bounded chance to ship the tail.
  if (impl_->exporter) impl_->exporter->Stop();
  std::unique_lock<std::shared_mutex> lock(impl_->db_mu);
  impl_->closed.store(true);
  // No WAL sync after any failed write, even a recovered one: see Database::Close.
  impl_->close_status = impl_->db->Close(/*flush=*/!impl_->writer->ever_failed());
  return impl_->close_status;
}

bool EventStore::healthy() const {
  return !impl_->closing.load() && !impl_->writer->failed() && !impl_->writer->low_space();
}

bool EventStore::low_space() const {
  return impl_->writer->low_space() || impl_->writer->failed_no_space();
}

StoreStats EventStore::stats() const {
  const StoreCounters& c = impl_->counters;
  StoreStats s;
  s.queue_depth_events = c.queue_depth_events.load(std::memory_order_relaxed);
  s.groups_committed = c.groups_committed.load(std::memory_order_relaxed);
  s.events_committed = c.events_committed.load(std::memory_order_relaxed);
  s.duplicates = c.duplicates.load(std::memory_order_relaxed);
  s.last_group_events = c.last_group_events.load(std::memory_order_relaxed);
  s.write_failures = c.write_failures.load(std::memory_order_relaxed);
  s.next_seq = c.next_seq.load(std::memory_order_relaxed);
  s.retention_deleted = c.retention_deleted.load(std::memory_order_relaxed);
  s.free_bytes = c.free_bytes.load(std::memory_order_relaxed);
  s.low_space = c.low_space.load(std::memory_order_relaxed);
  s.recoveries = c.recoveries.load(std::memory_order_relaxed);
  s.session_overflow_events = c.session_overflow_events.load(std::memory_order_relaxed);
  s.suppressed = c.suppressed.load(std::memory_order_relaxed);
  s.erasures = c.erasures.load(std::memory_order_relaxed);
  s.erased_events = c.erased_events.load(std::memory_order_relaxed);
  s.erasure_pending = c.erasure_jobs_pending.load(std::memory_order_relaxed) != 0;
  for (size_t i = 0; i < s.group_sizes.size(); ++i) {
    s.group_sizes[i] = c.group_sizes[i].load(std::memory_order_relaxed);
  }
  std::shared_lock<std::shared_mutex> lock(impl_->db_mu);
  if (!impl_->closed.load() && impl_->db != nullptr) {
    rocksdb::DB* db = impl_->db->db();
    auto prop = [db](const std::string& name) {
      uint64_t v = 0;
      return db->GetAggregatedIntProperty(name, &v) ? v : 0;
    };
    s.sst_bytes = prop(rocksdb::DB::Properties::kTotalSstFilesSize);
    s.memtable_bytes = prop(rocksdb::DB::Properties::kCurSizeAllMemTables);
    s.pending_compaction_bytes = prop(rocksdb::DB::Properties::kEstimatePendingCompactionBytes);
    s.table_readers_bytes = prop(rocksdb::DB::Properties::kEstimateTableReadersMem);
    // DB-wide figures (the block cache is shared by every column family).
    uint64_t v = 0;
    if (db->GetIntProperty(rocksdb::DB::Properties::kNumRunningCompactions, &v)) s.running_compactions = v;
    if (db->GetIntProperty(rocksdb::DB::Properties::kBlockCacheUsage, &v)) s.block_cache_bytes = v;
  }
  return s;
}

AggregatorStats EventStore::aggregator_stats() const { return impl_->aggregators->stats(); }

bool EventStore::WaitAggregated(int64_t timeout_ms) {
  return impl_->aggregators->WaitAggregated(impl_->counters.next_seq.load(), timeout_ms);
}

bool EventStore::WaitRebuilt(int64_t timeout_ms) { return impl_->aggregators->WaitRebuilt(timeout_ms); }

ExportStats EventStore::export_stats() const {
  return impl_->exporter ? impl_->exporter->stats() : ExportStats{};
}

bool EventStore::WaitExported(int64_t timeout_ms) {
  return impl_->exporter && impl_->exporter->WaitFor(impl_->counters.next_seq.load(), timeout_ms);
}

const AnalyticsDefs& EventStore::analytics() const { return impl_->options.analytics; }

// Runs `query` on the open database under the readers' lock.
template <typename Fn>
Status EventStore::WithDatabase(Fn&& query) const {
  std::shared_lock<std::shared_mutex> lock(impl_->db_mu);
  if (impl_->closed.load() || impl_->db == nullptr) return Status::Unavailable("store is closed");
  return query(*impl_->db);
}

Status EventStore::QuerySummary(TimeRange range, Summary* out) const {
  return WithDatabase([&](const Database& db) {
    return storage::QuerySummary(db, impl_->options.analytics, range, out);
  });
}

Status EventStore::QueryTimeseries(std::string_view name, int64_t bucket_ms, TimeRange range,
                                   std::vector<SeriesPoint>* out) const {
  return WithDatabase([&](const Database& db) {
    return storage::QueryTimeseries(db, name, bucket_ms, range, out);
  });
}

Status EventStore::QueryFunnel(const config::Funnel& funnel, TimeRange range, FunnelCounts* out,
                               const SegmentFilter& segment) const {
  return WithDatabase([&](const Database& db) { return storage::QueryFunnel(db, funnel, range, out, segment); });
}

Status EventStore::QueryLift(std::string_view target, TimeRange range, std::vector<LiftCells>* out,
                             const SegmentFilter& segment) const {
  return WithDatabase([&](const Database& db) {
    return storage::QueryLift(db, impl_->options.analytics, target, range, out, segment);
  });
}

Status EventStore::QueryExperiment(const config::Experiment& experiment, TimeRange range,
                                   std::vector<ExperimentDay>* out, const SegmentFilter& segment) const {
  return WithDatabase([&](const Database& db) {
    return storage::QueryExperiment(db, experiment, range, out, segment);
  });
}

Status EventStore::QuerySegmentSessions(const SegmentFilter& segment, TimeRange range,
                                        SegmentSessions* out) const {
  return WithDatabase([&](const Database& db) {
    return storage::QuerySegmentSessions(db, impl_->options.analytics, segment, range, out);
  });
}

Status EventStore::QueryDimensionValues(std::string_view dimension, std::vector<std::string>* out) const {
  return WithDatabase([&](const Database& db) { return storage::QueryDimensionValues(db, dimension, out); });
}

const std::string& EventStore::instance_secret() const { return impl_->instance_secret; }

Status EventStore::Erase(const ErasureRequest& request, int64_t now_ms, ErasureResult* out) {
  if (request.id.empty()) return Status::InvalidArgument("erasure: empty id");
  return impl_->writer->Erase(request, now_ms, out);
}

Status EventStore::ReadErasureLog(size_t limit, std::vector<ErasureLogEntry>* out) const {
  return WithDatabase([&](const Database& db) { return storage::ReadErasureLog(db, limit, out); });
}

uint64_t EventStore::RunRetentionForTest(int64_t now_ms) {
  // Not under close_mu: a Close racing with this drains the queued pass.
  return impl_->writer->RunRetention(now_ms);
}

}  // namespace foothold::storage
