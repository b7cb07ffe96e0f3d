#include "storage/aggregate/rebuild.h"

#include <pthread.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include <spdlog/spdlog.h>

#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include "storage/aggregate/fingerprint.h"
#include "storage/aggregate/session_state.h"
#include "storage/log/keys.h"

namespace foothold::storage {
namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double CpuSeconds() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

const std::string kRebuildFingerprint = std::string(kMetaRebuildPrefix) + kMetaAggFingerprint;
const std::string kRebuildCheckpoint = std::string(kMetaRebuildPrefix) + kMetaAggCheckpoint;

// Deletes every meta record of the rebuild (the "rebuild/" prefix) in `batch`.
Status DeleteRebuildRecords(Database* db, rocksdb::WriteBatch* batch) {
  std::unique_ptr<rocksdb::Iterator> it(db->db()->NewIterator(rocksdb::ReadOptions(), db->meta()));
  for (it->Seek(kMetaRebuildPrefix); it->Valid() && it->key().starts_with(kMetaRebuildPrefix); it->Next()) {
    rocksdb::Status s = batch->Delete(db->meta(), it->key());
    if (!s.ok()) return FromRocks(s, "rebuild: delete meta record");
  }
  if (!it->status().ok()) return FromRocks(it->status(), "rebuild: scan meta in " + db->dir());
  return Status::Ok();
}

Status Write(Database* db, rocksdb::WriteBatch* batch, bool sync, const char* what) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  rocksdb::Status s = db->db()->Write(wo, batch);
  if (!s.ok()) return FromRocks(s, std::string("rebuild: ") + what + " in " + db->dir());
  return Status::Ok();
}

// The rebuild's aggregator: the generation being built, its own meta records.
AggregatorTarget RebuildTarget(const Database::Generation& g) {
  AggregatorTarget target;
  target.counters = g.counters;
  target.sessions = g.sessions;
  target.meta_prefix = kMetaRebuildPrefix;
  target.thread_name = "fh-rebuild";
  return target;
}

// A rebuild counts whatever the live aggregator does.
StoreOptions RebuildOptions(StoreOptions o) {
  o.aggregate_live = true;
  return o;
}

}  // namespace

Status ReadGenerationState(Database* db, GenerationState* out) {
  *out = GenerationState{};
  rocksdb::ReadOptions ro;
  std::string v;
  rocksdb::Status s = db->db()->Get(ro, db->meta(), kMetaAggFingerprint, &out->fingerprint);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "read agg_fingerprint in " + db->dir());
  s = db->db()->Get(ro, db->meta(), kMetaAggCheckpoint, &v);
  if (s.ok() && v.size() == 8) out->checkpoint = GetBe64(v);
  else if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "read agg_checkpoint in " + db->dir());
  s = db->db()->Get(ro, db->meta(), kMetaRebuildGeneration, &v);
  if (s.ok()) {
    if (v.size() != 8) return Status::Corruption("rebuild/generation in " + db->dir() + " is malformed");
    out->rebuilding = true;
    out->rebuild_generation = GetBe64(v);
    s = db->db()->Get(ro, db->meta(), kRebuildFingerprint, &out->rebuild_fingerprint);
    if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "read rebuild fingerprint in " + db->dir());
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "read rebuild/generation in " + db->dir());
  }
  return Status::Ok();
}

Status WriteFingerprint(Database* db, const std::string& fingerprint, bool sync) {
  rocksdb::WriteBatch batch;
  batch.Put(db->meta(), kMetaAggFingerprint, fingerprint);
  return Write(db, &batch, sync, "write agg_fingerprint");
}

Status AbandonRebuild(Database* db) {
  GenerationState st;
  Status s = ReadGenerationState(db, &st);
  if (!s.ok()) return s;
  rocksdb::WriteBatch batch;
  s = DeleteRebuildRecords(db, &batch);
  if (!s.ok()) return s;
  if (batch.Count() > 0) {
    s = Write(db, &batch, /*sync=*/true, "drop the rebuild records");
    if (!s.ok()) return s;
  }
  if (st.rebuilding && st.rebuild_generation != db->active_generation()) {
    return db->DropGeneration(st.rebuild_generation);
  }
  return Status::Ok();
}

Status PrepareRebuild(Database* db, const std::string& fingerprint, uint64_t* generation) {
  GenerationState st;
  Status s = ReadGenerationState(db, &st);
  if (!s.ok()) return s;
  Database::Generation g;
  if (st.rebuilding && st.rebuild_fingerprint == fingerprint && st.rebuild_generation != db->active_generation()) {
    *generation = st.rebuild_generation;
    return db->OpenGeneration(*generation, &g);  // resumes from rebuild/agg_checkpoint
  }
  if (st.rebuilding) {
    s = AbandonRebuild(db);
    if (!s.ok()) return s;
  }
  // Never a number used before in this store: a dropped family's name is
  // not reused while a reader may still hold its handle.
  uint64_t n = std::max(db->active_generation(), st.rebuilding ? st.rebuild_generation : 0);
  for (uint64_t existing : db->generations()) n = std::max(n, existing);
  *generation = n + 1;
  s = db->OpenGeneration(*generation, &g);
  if (!s.ok()) return s;
  rocksdb::WriteBatch batch;
  std::string v;
  PutBe64(*generation, &v);
  batch.Put(db->meta(), kMetaRebuildGeneration, v);
  batch.Put(db->meta(), kRebuildFingerprint, fingerprint);
  return Write(db, &batch, /*sync=*/true, "start a rebuild");
}

Status DropStaleGenerations(Database* db) {
  GenerationState st;
  Status s = ReadGenerationState(db, &st);
  if (!s.ok()) return s;
  for (uint64_t n : db->generations()) {
    if (n == db->active_generation() || (st.rebuilding && n == st.rebuild_generation)) continue;
    spdlog::info("dropping counters generation {} (replaced)", n);
    s = db->DropGeneration(n);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status SwitchGeneration(Database* db, uint64_t generation, const std::string& fingerprint, bool sync) {
  rocksdb::WriteBatch batch;
  std::string v;
  PutBe64(generation, &v);
  batch.Put(db->meta(), kMetaAggGeneration, v);
  // The rebuild's checkpoint, watermark and names become the live ones
  // (absent: it read nothing, and the live aggregator starts over too).
  for (const char* key : {kMetaAggCheckpoint, kMetaAggWatermark, kMetaAggNames}) {
    rocksdb::Status g = db->db()->Get(rocksdb::ReadOptions(), db->meta(), std::string(kMetaRebuildPrefix) + key, &v);
    if (g.ok()) {
      batch.Put(db->meta(), key, v);
    } else if (g.IsNotFound()) {
      batch.Delete(db->meta(), key);
    } else {
      return FromRocks(g, "rebuild: read its checkpoint in " + db->dir());
    }
  }
  batch.Put(db->meta(), kMetaAggFingerprint, fingerprint);
  Status s = DeleteRebuildRecords(db, &batch);
  if (!s.ok()) return s;
  s = Write(db, &batch, sync, "switch counters generation");
  if (!s.ok()) return s;
  const uint64_t old = db->active_generation();
  db->ActivateGeneration(generation);
  s = db->DropGeneration(old);
  if (!s.ok()) spdlog::warn("{} (dropped at the next start)", s.ToString());
  return Status::Ok();
}

Status RebuildDoneWith(const Database& db, const rocksdb::ReadOptions& ro, const std::string& session_id,
                       uint64_t max_seq, bool* done) {
  *done = false;
  std::string v;
  rocksdb::Status s = db.db()->Get(ro, db.meta(), kMetaRebuildGeneration, &v);
  if (s.IsNotFound()) {
    *done = true;
    return Status::Ok();
  }
  if (!s.ok()) return FromRocks(s, "read rebuild/generation");
  if (v.size() != 8) return Status::Corruption("rebuild/generation is malformed");
  rocksdb::ColumnFamilyHandle* sessions = db.generation_sessions(GetBe64(v));
  if (sessions == nullptr) return Status::Ok();  // dropped since: ask again later
  uint64_t checkpoint = 0;
  s = db.db()->Get(ro, db.meta(), kRebuildCheckpoint, &v);
  if (s.ok() && v.size() == 8) checkpoint = GetBe64(v);
  else if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "read the rebuild checkpoint");
  if (max_seq > checkpoint) return Status::Ok();
  s = db.db()->Get(ro, sessions, SessionHeadKey(session_id), &v);
  if (s.ok()) return Status::Ok();
  if (!s.IsNotFound()) return FromRocks(s, "read the rebuild's session state");
  *done = true;
  return Status::Ok();
}

Backfill::Backfill(const StoreOptions& options, Database* db, const std::atomic<uint64_t>* committed_next_seq,
                   uint64_t generation, SwitchFn switch_fn)
    : options_(options),
      db_(db),
      committed_next_seq_(committed_next_seq),
      generation_(generation),
      switch_fn_(std::move(switch_fn)) {}

Backfill::~Backfill() { Stop(); }

Status Backfill::Start() {
  Database::Generation g;
  Status s = db_->OpenGeneration(generation_, &g);
  if (!s.ok()) return s;
  rebuild_ = std::make_unique<Aggregator>(RebuildOptions(options_), db_, committed_next_seq_, RebuildTarget(g));
  if (mirror_ != nullptr) rebuild_->MirrorCheckpoint(mirror_);
  s = rebuild_->Start();
  if (!s.ok()) return s;
  from_seq_ = rebuild_->checkpoint()->load();
  started_ms_ = SteadyMs();
  spdlog::info("rebuild: recounting the log into counters generation {} from seq {} (head {})", generation_,
               from_seq_ + 1, committed_next_seq_->load() - 1);
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "fh-rebuild-sw");
    Run();
  });
  return Status::Ok();
}

void Backfill::Run() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(50), [this] { return stopping_; });
      if (stopping_) break;
    }
    const AggregatorStats a = rebuild_->stats();
    if (a.failed) {
      std::lock_guard<std::mutex> lock(mu_);
      failure_ = a.failure;
      failed_.store(true);
      spdlog::error("rebuild into generation {} stopped: {}", generation_, a.failure);
      return;
    }
    if (a.pending_events > Aggregator::kMaxBatchEvents || !options_.rebuild_switch) continue;
    Status s = switch_fn_(rebuild_.get());
    if (s.ok()) {
      const AggregatorStats last = rebuild_->stats();  // stopped by the switch: final
      done_.store(true);
      spdlog::info("rebuild: switched to counters generation {} at seq {} ({} records recounted)", generation_,
                   last.checkpoint_seq, last.events_aggregated);
      return;
    }
    if (s.code() != Status::Code::kBusy) {
      std::lock_guard<std::mutex> lock(mu_);
      failure_ = s.ToString();
      failed_.store(true);
      spdlog::error("rebuild: switch to generation {} failed: {}", generation_, s.ToString());
      return;
    }
  }
  rebuild_->Abandon();  // resumes from its checkpoint at the next start
}

void Backfill::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (rebuild_) rebuild_->Abandon();
}

RebuildStats Backfill::stats() const {
  RebuildStats r;
  if (!rebuild_ || done_.load()) return r;
  const AggregatorStats a = rebuild_->stats();
  r.active = !failed_.load();
  r.generation = generation_;
  r.from_seq = from_seq_;
  r.done_seq = a.checkpoint_seq;
  const uint64_t next = committed_next_seq_->load(std::memory_order_relaxed);
  r.head_seq = next > 0 ? next - 1 : 0;
  r.events = a.events_aggregated;
  r.busy_seconds = a.busy_seconds;
  const double wall = static_cast<double>(SteadyMs() - started_ms_) / 1e3;
  r.events_per_s = wall > 0 ? static_cast<double>(r.events) / wall : 0;
  r.progress_ratio = r.head_seq > r.from_seq && r.done_seq < r.head_seq
                         ? static_cast<double>(r.done_seq - std::min(r.done_seq, r.from_seq)) /
                               static_cast<double>(r.head_seq - r.from_seq)
                         : 1.0;
  r.failed = failed_.load();
  std::lock_guard<std::mutex> lock(mu_);
  r.failure = failure_;
  return r;
}

Status RebuildOffline(const StoreOptions& options, RebuildReport* out) {
  *out = RebuildReport{};
  std::unique_ptr<Database> db;
  StoreMeta meta;
  Status s = Database::OpenExisting(options, &db, &meta);
  if (!s.ok()) return s;
  const std::string fingerprint = DefinitionsFingerprint(options.analytics, options.session_timeout_ms);
  uint64_t generation = 0;
  s = PrepareRebuild(db.get(), fingerprint, &generation);
  if (!s.ok()) return s;
  s = DropStaleGenerations(db.get());
  if (!s.ok()) return s;
  Database::Generation g;
  s = db->OpenGeneration(generation, &g);
  if (!s.ok()) return s;
  const std::atomic<uint64_t> next_seq(meta.next_seq);
  // Caught up means past the last record: seqs of a failed group are never
  // used, so next_seq - 1 may name no record.
  uint64_t last = 0;
  {
    std::unique_ptr<rocksdb::Iterator> it(db->db()->NewIterator(rocksdb::ReadOptions(), db->log()));
    it->SeekToLast();
    if (it->Valid()) {
      auto seq = ParseLogKey(std::string_view(it->key().data(), it->key().size()));
      if (!seq) return Status::Corruption("log key in " + db->dir() + " is malformed");
      last = *seq;
    }
    if (!it->status().ok()) return FromRocks(it->status(), "read last log key in " + db->dir());
  }
  const double cpu0 = CpuSeconds();
  const int64_t wall0 = SteadyMs();
  {
    Aggregator rebuild(RebuildOptions(options), db.get(), &next_seq, RebuildTarget(g));
    s = rebuild.Start();
    if (!s.ok()) return s;
    while (!rebuild.WaitFor(last + 1, 1000)) {
      const AggregatorStats a = rebuild.stats();
      if (a.failed) return Status::IoError("rebuild: " + a.failure);
    }
    rebuild.Abandon();
    out->records = rebuild.stats().events_aggregated;
    out->checkpoint_seq = rebuild.checkpoint()->load();
  }
  out->cpu_seconds = CpuSeconds() - cpu0;
  out->wall_seconds = static_cast<double>(SteadyMs() - wall0) / 1e3;
  s = SwitchGeneration(db.get(), generation, fingerprint, /*sync=*/true);
  if (!s.ok()) return s;
  out->generation = generation;
  return db->Close();
}

}  // namespace foothold::storage
