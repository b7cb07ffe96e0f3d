#include "storage/log/db.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <system_error>

#include <sys/statvfs.h>

#include <rocksdb/filter_policy.h>
#include <rocksdb/convenience.h>
#include <rocksdb/iterator.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>

#include "storage/log/filters.h"
#include "storage/log/keys.h"
#include "storage/log/rocks_events.h"

namespace foothold::storage {
namespace {

constexpr int64_t kDayMs = 24LL * 3600 * 1000;

// Memtable budget. The big stream (log + session_index) gets room to batch
// into sequential SSTs; the point-lookup families are small. The DB-wide cap
// keeps RSS bounded (scripts/README.md "Targets": <= 256 MiB under load); at
// 96 MiB the memtables were the largest single holder of memory under batch
// load (heap profile), and RocksDB flushes the largest family when the total
// passes it, so a lower cap means smaller flushes, not more bytes written.
constexpr size_t kLogWriteBuffer = 32 << 20;
constexpr size_t kSmallWriteBuffer = 8 << 20;
constexpr size_t kDbWriteBuffer = 64 << 20;
// Small families are written in every group, so their data pins WAL files;
// a cap on the total WAL forces them to flush rather than keep old WALs.
constexpr uint64_t kMaxTotalWal = 256ULL << 20;

std::string RandomHex(size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device rd;  // getrandom(2) / /dev/urandom on Linux
  std::string out;
  out.reserve(bytes * 2);
  for (size_t i = 0; i < bytes; ++i) {
    auto b = static_cast<uint8_t>(rd() & 0xff);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0x0f]);
  }
  return out;
}

rocksdb::BlockBasedTableOptions TableOptions(const std::shared_ptr<rocksdb::Cache>& cache,
                                             bool bloom, double bloom_bits) {
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  // Point lookups on absent keys (fresh event ids, new visitors) are the
  // common case for dedupe and visitors: a bloom filter answers them without
  // touching data blocks.
  if (bloom) t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(bloom_bits));
  // Debian's librocksdb is built without SSE4.2, so crc32c runs in software
  // (5% of the writer's profile); XXH3 is fast everywhere. The WAL keeps crc32c.
  t.checksum = rocksdb::kXXH3;
  if (bloom) {
    // Point-lookup column families (dedupe, visitors, ...) are asked about
    // every event: their filters and indexes stay with the table readers,
    // outside the block cache. Charged to the cache, the log and index data
    // blocks evicted them, and the writer re-read and re-checksummed filter
    // blocks from the files for every group (75% of its time in a
    // 13 M-event load). They are small: 10 bits a key, and dedupe keeps one
    // key per event of the last dedupe.window.
    t.cache_index_and_filter_blocks = false;
  } else {
    t.cache_index_and_filter_blocks = true;  // charge them to the bounded cache
    t.pin_l0_filter_and_index_blocks_in_cache = true;
  }
  return t;
}

rocksdb::ColumnFamilyOptions CfOptions(const std::shared_ptr<rocksdb::Cache>& cache, bool bloom,
                                       size_t write_buffer, double bloom_bits = 10) {
  rocksdb::ColumnFamilyOptions o;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(TableOptions(cache, bloom, bloom_bits)));
  o.write_buffer_size = write_buffer;
  // A key-order self-check per flush/compaction output: costly (profiled) and
  // redundant with the ordered skiplist it reads from.
  o.check_flush_compaction_key_order = false;
  return o;
}

}  // namespace

Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  std::string msg = std::string(context) + ": " + s.ToString();
  if (s.ok()) return Status::Ok();
  if (s.IsNotFound()) return Status::NotFound(std::move(msg));
  if (s.IsCorruption()) return Status::Corruption(std::move(msg));
  if (s.IsInvalidArgument() || s.IsNotSupported()) return Status::InvalidArgument(std::move(msg));
  if (s.IsBusy() || s.IsTryAgain() || s.IsIncomplete()) return Status::Busy(std::move(msg));
  if (s.IsNoSpace()) return Status::NoSpace(std::move(msg));
  return Status::IoError(std::move(msg));
}

Status Database::OpenExisting(const StoreOptions& options, std::unique_ptr<Database>* out, StoreMeta* meta) {
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(options.data_dir) / "CURRENT", ec)) {
    return Status::NotFound("no foothold store in " + options.data_dir);
  }
  Status s = Open(options, out);
  if (s.ok()) s = (*out)->LoadMeta(meta);
  return s;
}

Status Database::Open(const StoreOptions& options, std::unique_ptr<Database>* out) {
  std::unique_ptr<Database> d(new Database());
  d->dir_ = options.data_dir;
  std::error_code ec;
  std::filesystem::create_directories(d->dir_, ec);
  if (ec) return Status::IoError("create data dir " + d->dir_ + ": " + ec.message());

  rocksdb::DBOptions dbo;
  dbo.create_if_missing = true;
  dbo.create_missing_column_families = true;
  // Each group is one write; the WAL must reach the OS in that write so a
  // process crash after the ack loses nothing (storage/README.md "Durability").
  dbo.manual_wal_flush = false;
  // Readers must never see a later group without an earlier one.
  dbo.unordered_write = false;
  dbo.max_background_jobs = 2;  // the machine has 2 cores
  dbo.db_write_buffer_size = kDbWriteBuffer;
  dbo.max_total_wal_size = kMaxTotalWal;
  // RocksDB's messages go to foothold's log, not to a LOG file in the data
  // dir: its file logger aborts the process on the line after a failed write
  // (storage/log/rocks_events.h); background errors and recoveries are logged.
  dbo.info_log = std::make_shared<RocksLogger>();
  dbo.listeners.push_back(std::make_shared<ErrorListener>(&d->had_background_error_));
  // -1 would keep every SST open: descriptors grow with the store and, with
  // many connections, RocksDB can no longer open its next WAL.
  dbo.max_open_files = options.max_open_files;

  d->block_cache_ = rocksdb::NewLRUCache(options.block_cache_bytes);
  d->dedupe_filter_ = std::make_unique<DedupeExpiryFilter>(options.dedupe_window_ms, WallClockMs);
  const auto& cache = d->block_cache_;

  rocksdb::ColumnFamilyOptions log_opts = CfOptions(cache, /*bloom=*/false, kLogWriteBuffer);
  // The log keeps RocksDB's default (snappy) compression: measured with the
  // batch benchmark, uncompressed L0/L1 wrote more and ingested ~10% less.
  // session_index is only prefix-scanned; a whole-key bloom filter never helps.
  // Its keys are hashes and times with empty values: compression buys little.
  rocksdb::ColumnFamilyOptions index_opts = CfOptions(cache, /*bloom=*/false, kLogWriteBuffer);
  index_opts.compression = rocksdb::kNoCompression;
  // The identity index is like it, with one more byte (the id's kind) before the hash.
  rocksdb::ColumnFamilyOptions identity_opts = index_opts;
  // Index keys are random across sessions but ordered within one (storage/log/keys.h): a
  // session's next key lands right after its previous one. Remembering the insert position
  // per prefix (the session hash; kind + id hash for identities) turns each memtable insert
  // from a search from the top of the skiplist (~25 key comparisons) into a step from
  // that position. The hint costs ~250 bytes of memtable per prefix, charged to the
  // memtable's size, so memory stays bounded by the write buffers.
  index_opts.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(8));
  identity_opts.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(9));
  // Their keys are random across sessions, so every L0 -> L1 compaction rewrites all of L1,
  // which grows with the sessions and visitors the store holds (after 1 M sessions: ~50 MiB
  // of session_index, ~30 MiB of identities). Nothing reads them on the ingest path (session
  // reads, erasure and retention scan them), so they collect 16 L0 files per compaction
  // (RocksDB's default: 4) and slow writes down only at 40 (default 20): fewer rewrites of
  // L1 per ingested byte. scripts/bench_sessions.sh with 1 M sessions open: RocksDB's
  // flush + compaction CPU per event 2.3 -> 1.5 us with the sessions change below.
  for (rocksdb::ColumnFamilyOptions* o : {&index_opts, &identity_opts}) {
    o->level0_file_num_compaction_trigger = 16;
    o->level0_slowdown_writes_trigger = 40;
    o->level0_stop_writes_trigger = 56;
  }
  rocksdb::ColumnFamilyOptions dedupe_opts = CfOptions(cache, /*bloom=*/true, kSmallWriteBuffer);
  dedupe_opts.compaction_filter = d->dedupe_filter_.get();
  rocksdb::ColumnFamilyOptions visitors_opts = CfOptions(cache, true, kSmallWriteBuffer);
  // Most lookups in these two miss (a fresh event id, a new visitor); a
  // memtable bloom filter answers a miss without searching the skiplist.
  for (rocksdb::ColumnFamilyOptions* o : {&dedupe_opts, &visitors_opts}) {
    o->memtable_whole_key_filtering = true;
    o->memtable_prefix_bloom_size_ratio = 0.05;
  }
  if (options.retention_days > 0) {
    d->visitors_filter_ =
        std::make_unique<VisitorExpiryFilter>(options.retention_days * kDayMs, WallClockMs);
    visitors_opts.compaction_filter = d->visitors_filter_.get();
  }
  rocksdb::ColumnFamilyOptions point_opts = CfOptions(cache, true, kSmallWriteBuffer);
  rocksdb::ColumnFamilyOptions counters_opts = point_opts;
  // The aggregator rewrites every touched session state per batch: with two
  // memtables it hit "Stopping writes ... waiting for flush" under load.
  // Every new session is looked up in every L0 file and L1 first, and a false positive reads,
  // decompresses and caches a data block for nothing: at 10 bits a key (~1% a file) those
  // blocks filled the block cache within 30 s of batch load (jemalloc heap profile). 16 bits
  // (~0.05%) cost 6 more bits a key: 0.75 MiB at 1 M open sessions.
  rocksdb::ColumnFamilyOptions sessions_opts = CfOptions(cache, true, kSmallWriteBuffer, 16);
  sessions_opts.max_write_buffer_number = 4;
  // Every new session is first looked up (storage/README.md): a
  // memtable bloom filter answers those misses without searching skiplists.
  sessions_opts.memtable_whole_key_filtering = true;
  sessions_opts.memtable_prefix_bloom_size_ratio = 0.05;
  // A session's rows start with its tag and hash (storage/aggregate/session_state.h), and a
  // long-lived session's head is rewritten every batch that touches it: the new version lands
  // right before the previous one, so an insert position remembered per prefix (as for
  // session_index above) saves most of the search from the top of the skiplist.
  sessions_opts.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(9));
  // Session rows are random across sessions too (L1 holds every open session: ~80 MiB at
  // 1 M open), but every new session is looked up through each L0 file's bloom filter:
  // 16 files cost the aggregator more than the compactions saved, 8 is even.
  sessions_opts.level0_file_num_compaction_trigger = 8;
  // Those rewrites of L1 also decompressed and recompressed every head: uncompressed, RocksDB's
  // flush + compaction CPU per event with 1 M open sessions fell ~20% (1.7 -> 1.4 us) for ~15%
  // more SST bytes in all (scripts/bench_sessions.sh).
  sessions_opts.compression = rocksdb::kNoCompression;
  // A merge operator must be configured at open for as long as merge
  // operands may exist, so it is set now, before the aggregator writes any.
  rocksdb::Status m = rocksdb::MergeOperator::CreateFromString(
      rocksdb::ConfigOptions(), "uint64add", &counters_opts.merge_operator);
  if (!m.ok()) return FromRocks(m, "create uint64add merge operator");

  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, point_opts},
      {kCfLog, log_opts},
      {kCfSessionIndex, index_opts},
      {kCfDedupe, dedupe_opts},
      {kCfVisitors, visitors_opts},
      {kCfMeta, point_opts},
      {kCfIdentities, identity_opts},  // like session_index: prefix scans of hashed keys
  };
  // RocksDB refuses to open a database without naming every column family
  // it has; a newer version may have added some, so open those as well.
  // The aggregator's families come in generations (storage/README.md
  // "Backfill"), all with the options above (the merge operator must be
  // there before any operand is read); generation 0 is created only in a
  // store that has none (a rebuild's switch drops it for good).
  std::vector<std::string> existing;
  rocksdb::Status ls = rocksdb::DB::ListColumnFamilies(dbo, d->dir_, &existing);
  bool has_generation = false;
  for (const std::string& name : existing) {
    if (ParseGenerationCf(kCfCounters, name)) has_generation = true;
  }
  if (!has_generation) {
    cfs.push_back({kCfSessions, sessions_opts});
    cfs.push_back({kCfCounters, counters_opts});
  }
  for (const std::string& name : existing) {  // empty for a fresh directory: Open creates everything
    bool known = std::any_of(cfs.begin(), cfs.end(), [&](const auto& c) { return c.name == name; });
    if (known) continue;
    if (ParseGenerationCf(kCfCounters, name)) {
      cfs.push_back({name, counters_opts});
    } else if (ParseGenerationCf(kCfSessions, name)) {
      cfs.push_back({name, sessions_opts});
    } else {
      cfs.push_back({name, point_opts});
    }
  }
  (void)ls;

  rocksdb::Status s = rocksdb::DB::Open(dbo, d->dir_, cfs, &d->handles_, &d->db_);
  if (!s.ok()) return FromRocks(s, "open store in " + d->dir_);
  d->log_ = d->handles_[1];
  d->session_index_ = d->handles_[2];
  d->dedupe_ = d->handles_[3];
  d->visitors_ = d->handles_[4];
  d->meta_ = d->handles_[5];
  d->identities_ = d->handles_[6];
  d->counters_opts_ = counters_opts;
  d->sessions_opts_ = sessions_opts;
  for (size_t i = 0; i < cfs.size(); ++i) {
    if (auto n = ParseGenerationCf(kCfCounters, cfs[i].name)) d->generations_[*n].counters = d->handles_[i];
    if (auto n = ParseGenerationCf(kCfSessions, cfs[i].name)) d->generations_[*n].sessions = d->handles_[i];
  }
  for (auto& [n, g] : d->generations_) g.number = n;
  std::string value;
  s = d->db_->Get(rocksdb::ReadOptions(), d->meta_, kMetaAggGeneration, &value);
  uint64_t active = 0;
  if (s.ok()) {
    if (value.size() != 8) return Status::Corruption("agg_generation in " + d->dir_ + " is malformed");
    active = GetBe64(value);
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "read agg_generation in " + d->dir_);
  }
  auto g = d->generations_.find(active);
  if (g == d->generations_.end() || g->second.counters == nullptr || g->second.sessions == nullptr) {
    return Status::Corruption("store in " + d->dir_ + ": the active counters generation " +
                              std::to_string(active) + " has no column families");
  }
  d->ActivateGeneration(active);
  *out = std::move(d);
  return Status::Ok();
}

std::vector<uint64_t> Database::generations() const {
  std::lock_guard<std::mutex> lock(gen_mu_);
  std::vector<uint64_t> out;
  for (const auto& [n, g] : generations_) out.push_back(n);
  return out;
}

Status Database::OpenGeneration(uint64_t n, Generation* out) {
  std::lock_guard<std::mutex> lock(gen_mu_);
  Generation& g = generations_[n];
  g.number = n;
  if (g.counters == nullptr) {
    rocksdb::ColumnFamilyHandle* h = nullptr;
    rocksdb::Status s = db_->CreateColumnFamily(counters_opts_, GenerationCf(kCfCounters, n), &h);
    if (!s.ok()) return FromRocks(s, "create counters generation " + std::to_string(n) + " in " + dir_);
    handles_.push_back(h);
    g.counters = h;
  }
  if (g.sessions == nullptr) {
    rocksdb::ColumnFamilyHandle* h = nullptr;
    rocksdb::Status s = db_->CreateColumnFamily(sessions_opts_, GenerationCf(kCfSessions, n), &h);
    if (!s.ok()) return FromRocks(s, "create sessions generation " + std::to_string(n) + " in " + dir_);
    handles_.push_back(h);
    g.sessions = h;
  }
  *out = g;
  return Status::Ok();
}

void Database::ActivateGeneration(uint64_t n) {
  std::lock_guard<std::mutex> lock(gen_mu_);
  const Generation& g = generations_.at(n);
  counters_.store(g.counters, std::memory_order_release);
  sessions_.store(g.sessions, std::memory_order_release);
  active_generation_.store(n);
}

rocksdb::ColumnFamilyHandle* Database::generation_sessions(uint64_t n) const {
  std::lock_guard<std::mutex> lock(gen_mu_);
  auto it = generations_.find(n);
  return it == generations_.end() ? nullptr : it->second.sessions;
}

Status Database::DropGeneration(uint64_t n) {
  std::lock_guard<std::mutex> lock(gen_mu_);
  if (n == active_generation_.load()) {
    return Status::InvalidArgument("drop the active counters generation " + std::to_string(n));
  }
  auto it = generations_.find(n);
  if (it == generations_.end()) return Status::Ok();
  for (rocksdb::ColumnFamilyHandle* h : {it->second.counters, it->second.sessions}) {
    if (h == nullptr) continue;
    rocksdb::Status s = db_->DropColumnFamily(h);
    if (!s.ok()) return FromRocks(s, "drop counters generation " + std::to_string(n) + " in " + dir_);
    // Not flushed at Close any more; destroyed there.
    handles_.erase(std::remove(handles_.begin(), handles_.end(), h), handles_.end());
    dropped_.push_back(h);
  }
  generations_.erase(it);
  return Status::Ok();
}

// No flush here: only a failed Open gets here, and its failure may have been a
// write (see Close). Whatever was written is in the WAL.
Database::~Database() { (void)Close(/*flush=*/false); }

Status Database::LoadMeta(StoreMeta* out) {
  rocksdb::WriteBatch init;
  std::string value;

  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_, kMetaSchemaVersion, &value);
  if (s.IsNotFound()) {
    std::string v;
    PutBe64(kSchemaVersion, &v);
    rocksdb::Status p = init.Put(meta_, kMetaSchemaVersion, v);
    if (!p.ok()) return FromRocks(p, "init schema version");
  } else if (!s.ok()) {
    return FromRocks(s, "read schema version in " + dir_);
  } else if (value.size() != 8) {
    return Status::Corruption("schema version in " + dir_ + " is malformed");
  } else if (GetBe64(value) != kSchemaVersion) {
    // No migrations exist yet: an older layout would be misread as surely as a newer one.
    return Status::InvalidArgument("store in " + dir_ + " has schema version " +
                                   std::to_string(GetBe64(value)) + ", this build reads only " +
                                   std::to_string(kSchemaVersion));
  }

  out->next_seq = kFirstSeq;
  s = db_->Get(rocksdb::ReadOptions(), meta_, kMetaNextSeq, &value);
  if (s.ok()) {
    if (value.size() != 8) return Status::Corruption("next_seq in " + dir_ + " is malformed");
    out->next_seq = std::max(out->next_seq, GetBe64(value));
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "read next_seq in " + dir_);
  }
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), log_));
    it->SeekToLast();
    if (it->Valid()) {
      auto seq = ParseLogKey(std::string_view(it->key().data(), it->key().size()));
      if (!seq) return Status::Corruption("log key in " + dir_ + " is malformed");
      out->next_seq = std::max(out->next_seq, *seq + 1);
    }
    if (!it->status().ok()) return FromRocks(it->status(), "read last log key in " + dir_);
  }

  s = db_->Get(rocksdb::ReadOptions(), meta_, kMetaInstanceSecret, &out->instance_secret);
  if (s.IsNotFound()) {
    out->instance_secret = RandomHex(32);
    rocksdb::Status p = init.Put(meta_, kMetaInstanceSecret, out->instance_secret);
    if (!p.ok()) return FromRocks(p, "init instance secret");
  } else if (!s.ok()) {
    return FromRocks(s, "read instance secret in " + dir_);
  }

  if (init.Count() > 0) {
    // Synced: the secret keys stored IP hashes, it must not change after a crash.
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = db_->Write(wo, &init);
    if (!s.ok()) return FromRocks(s, "initialise meta in " + dir_);
  }
  return Status::Ok();
}

Status Database::FreeBytes(uint64_t* out) const {
  struct statvfs st;
  if (::statvfs(dir_.c_str(), &st) != 0) {
    return Status::IoError("statvfs " + dir_ + ": " + std::strerror(errno));
  }
  *out = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  return Status::Ok();
}

Status Database::Resume() { return FromRocks(db_->Resume(), "resume writes in " + dir_); }

Status Database::Close(bool flush) {
  if (db_ == nullptr) return Status::Ok();
  Status result;
  // Keep going after a failure: a half-closed DB would leak its handles.
  auto keep_first = [&](const rocksdb::Status& s, const char* what) {
    if (!s.ok() && result.ok()) result = FromRocks(s, std::string(what) + " in " + dir_);
  };
  // Any background error since open (a WAL or flush write that failed, even
  // if recovered since): the WAL writer may be in an error state, see above.
  if (flush && !had_background_error_.load()) {
    keep_first(db_->FlushWAL(/*sync=*/true), "sync WAL");
    rocksdb::FlushOptions fo;
    fo.wait = true;
    keep_first(db_->Flush(fo, handles_), "flush memtables");
  }
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    keep_first(db_->DestroyColumnFamilyHandle(h), "release column family");
  }
  for (rocksdb::ColumnFamilyHandle* h : dropped_) {
    keep_first(db_->DestroyColumnFamilyHandle(h), "release dropped column family");
  }
  handles_.clear();
  dropped_.clear();
  log_ = session_index_ = dedupe_ = visitors_ = identities_ = meta_ = nullptr;
  sessions_.store(nullptr);
  counters_.store(nullptr);
  generations_.clear();
  keep_first(db_->Close(), "close");
  delete db_;
  db_ = nullptr;
  return result;
}

}  // namespace foothold::storage
