#include "storage/export/exporter.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include "proto/record.h"
#include "storage/export/row.h"
#include "storage/log/keys.h"

namespace foothold::storage {

// Unknown JSON fields are skipped: a table without a newer column still takes rows.
const char Exporter::kInsertParams[] = "&input_format_skip_unknown_fields=1";

namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "foothold";
  return buf;
}

}  // namespace

Exporter::Exporter(const StoreOptions& options, Database* db, const std::atomic<uint64_t>* committed_next_seq)
    : options_(options),
      ex_(options_.export_clickhouse),
      db_(db),
      committed_next_seq_(committed_next_seq),
      node_(ex_.node.empty() ? Hostname() : ex_.node),
      insert_sql_("INSERT INTO " + ex_.database + "." + ex_.table + " FORMAT JSONEachRow") {}

Exporter::~Exporter() { Stop(); }

Status Exporter::Start() {
  ClickHouseEndpoint ep;
  Status s = ParseClickHouseUrl(ex_.url, &ep);
  if (!s.ok()) return s;
  ep.user = ex_.user;
  ep.password = ex_.password;
  ep.timeout_ms = ex_.timeout_ms;
  http_ = std::make_unique<ClickHouseHttp>(std::move(ep));

  std::string v;
  rocksdb::Status r = db_->db()->Get(rocksdb::ReadOptions(), db_->meta(), kMetaExportCheckpoint, &v);
  if (r.ok()) {
    if (v.size() != 8) return Status::Corruption("export checkpoint in " + db_->dir() + " is malformed");
    checkpoint_.store(GetBe64(v));
  } else if (!r.IsNotFound()) {
    return FromRocks(r, "read export checkpoint in " + db_->dir());
  }
  spdlog::info("export: to {}:{} {}.{} as node {} from seq {}", http_->endpoint().host, http_->endpoint().port,
               ex_.database, ex_.table, node_, checkpoint_.load() + 1);
  thread_ = std::thread([this] {
    ::pthread_setname_np(::pthread_self(), "fh-export");
    Run();
  });
  return Status::Ok();
}

void Exporter::Run() {
  int64_t backoff_ms = 0;     // 0: the last attempt succeeded
  int64_t pending_since = 0;  // steady ms: records waiting for a fuller batch
  int64_t last_failure_log = 0;
  auto sleep = [this](int64_t ms) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_; });
    return !stopping_;
  };
  int64_t erasure_backoff_ms = 0;
  int64_t erasure_retry_at = 0;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
    }
    // Erasures first: between two INSERTs, so none of them races an INSERT
    // of the same rows (storage/export/README.md "Erasure").
    if (SteadyMs() >= erasure_retry_at) {
      const ErasureStep step = SyncErasure();
      if (step == ErasureStep::kDone) {
        erasure_backoff_ms = 0;
        cv_.notify_all();
        continue;
      }
      if (step == ErasureStep::kFailed) {
        erasure_backoff_ms = erasure_backoff_ms == 0 ? ex_.retry_initial_ms
                                                     : std::min(ex_.retry_max_ms, erasure_backoff_ms * 2);
        erasure_retry_at = SteadyMs() + erasure_backoff_ms;
      } else {
        erasure_backoff_ms = 0;
      }
    }
    const uint64_t cp = checkpoint_.load();
    const uint64_t committed = committed_next_seq_->load();
    const uint64_t pending = committed > cp + 1 ? committed - cp - 1 : 0;
    const int64_t now = SteadyMs();
    if (pending == 0) {
      pending_since = 0;
      UpdateLag(nullptr);
      if (!sleep(ex_.poll_ms)) break;
      continue;
    }
    if (pending_since == 0) pending_since = now;
    if (backoff_ms == 0 && pending < ex_.batch_rows && now - pending_since < ex_.linger_ms) {
      if (!sleep(std::min(ex_.poll_ms, ex_.linger_ms - (now - pending_since)))) break;
      continue;
    }
    // Every attempt reads the log afresh: a retry picks up what arrived
    // meanwhile (up to batch_rows), and notices what retention removed.
    Batch batch;
    Status s = Fill(&batch);
    if (!s.ok()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        last_error_ = s.ToString();
      }
      spdlog::error("export: reading the log: {}", s.ToString());
      if (!sleep(ex_.retry_max_ms)) break;
      continue;
    }
    if (batch.last_seq <= cp) {
      if (!sleep(ex_.poll_ms)) break;
      continue;
    }
    UpdateLag(&batch);
    if (Send(batch)) {
      if (backoff_ms != 0) spdlog::info("export: ClickHouse accepts inserts again");
      backoff_ms = 0;
      pending_since = 0;
      cv_.notify_all();  // WaitFor callers
      continue;
    }
    backoff_ms = backoff_ms == 0 ? ex_.retry_initial_ms : std::min(ex_.retry_max_ms, backoff_ms * 2);
    if (now - last_failure_log >= 10000) {  // one line per 10 s while ClickHouse is away
      last_failure_log = now;
      std::lock_guard<std::mutex> lock(mu_);
      spdlog::warn("export: insert of {} rows failed, retrying with backoff (now {} ms): {}", batch.rows,
                   backoff_ms, last_error_);
    }
    if (!sleep(backoff_ms)) break;
  }

  // Stopping: one bounded last attempt to send what the writer committed.
  const int64_t deadline = SteadyMs() + ex_.timeout_ms;
  while (backoff_ms == 0 && SteadyMs() < deadline && committed_next_seq_->load() > checkpoint_.load() + 1) {
    Batch batch;
    if (!Fill(&batch).ok() || batch.last_seq <= checkpoint_.load() || !Send(batch)) break;
  }
  cv_.notify_all();
}

Status Exporter::Fill(Batch* batch) {
  size_t read = 0;
  const uint64_t from = checkpoint_.load() + 1;
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // read once (or once per retry): keep the cache for ingestion and readers
  std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(ro, db_->log()));
  proto::Event e;
  for (it->Seek(LogKey(from)); it->Valid() && read < ex_.batch_rows; it->Next()) {
    auto seq = ParseLogKey(std::string_view(it->key().data(), it->key().size()));
    if (!seq) return Status::Corruption("export: malformed log key in " + db_->dir());
    if (*seq >= committed_next_seq_->load()) break;  // not acknowledged yet (never the case today)
    if (read == 0 && *seq > from) NoteDropped(from, *seq - 1);
    Status s = proto::DecodeRecord(std::string_view(it->value().data(), it->value().size()), &e);
    if (!s.ok()) {
      return Status::Corruption("export: log record " + std::to_string(*seq) + " in " + db_->dir() + ": " +
                                s.message());
    }
    e.seq = *seq;
    if (read == 0) batch->first_received_ms = e.received_at_ms;
    ++read;
    batch->last_seq = *seq;
    if (e.flags & proto::kFlagClockTick) continue;  // not a beacon: nothing to export
    AppendExportRow(e, node_, &batch->body);
    ++batch->rows;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "export: scan log in " + db_->dir());
  if (read == 0) {
    // Nothing on disk after the checkpoint although the writer committed
    // more: retention removed all of it.
    const uint64_t committed = committed_next_seq_->load();
    if (committed > from) {
      NoteDropped(from, committed - 1);
      batch->last_seq = committed - 1;
    }
  }
  return Status::Ok();
}

// Retention deleted records this exporter never sent: it may only do that
// once the lag passed max_lag. Loud: a metric and an error line, once per gap
// (the checkpoint moves past them, so the next pass does not see them again).
void Exporter::NoteDropped(uint64_t first, uint64_t last) {
  first = std::max(first, dropped_through_ + 1);
  if (last < first) return;
  dropped_through_ = last;
  records_dropped_.fetch_add(last - first + 1);
  spdlog::error("export: {} log records (seq {}..{}) were deleted by retention before they reached ClickHouse "
                "(export lag over export.clickhouse.max_lag)",
                last - first + 1, first, last);
  // Nothing of them is left to send: the checkpoint may pass them.
  if (WriteCheckpoint(last).ok()) checkpoint_.store(last);
}

// A table created by an older events.sql has no `source` column: add it
// (ClickHouse adds a column without rewriting data). Until that worked, the
// INSERTs skip the unknown field, so an older table keeps receiving rows.
void Exporter::EnsureSourceColumn() {
  if (source_column_ok_) return;
  const std::string where = " FROM system.columns WHERE database = '" + ex_.database + "' AND table = '" + ex_.table + "'";
  HttpAnswer a = http_->Post("", "SELECT countIf(name = 'source'), count()" + where + " FORMAT TabSeparated");
  if (a.failure != HttpFailure::kNone) return;  // ClickHouse away: the INSERT will say so
  if (a.body.starts_with("1\t")) {
    source_column_ok_ = true;
    return;
  }
  if (a.body.starts_with("0\t0")) return;  // no table (yet): the INSERT fails and is retried
  a = http_->Post("", "ALTER TABLE " + ex_.database + "." + ex_.table + " ADD COLUMN source String DEFAULT ''");
  if (a.failure == HttpFailure::kNone) {
    source_column_ok_ = true;
    spdlog::info("export: added the column source to {}.{} (an older events.sql)", ex_.database, ex_.table);
  } else if (!source_warned_) {
    source_warned_ = true;
    spdlog::warn("export: {}.{} has no column source and adding it failed ({}); rows go without it",
                 ex_.database, ex_.table, a.error);
  }
}

bool Exporter::Send(const Batch& batch) {
  if (batch.rows > 0) {
    EnsureSourceColumn();
    HttpAnswer a = http_->Post(insert_sql_, batch.body, kInsertParams);
    if (a.failure != HttpFailure::kNone) {
      failures_[static_cast<size_t>(a.failure)].fetch_add(1);
      std::lock_guard<std::mutex> lock(mu_);
      last_error_ = std::string(HttpFailureName(a.failure)) + ": " + a.error;
      return false;
    }
    rows_inserted_.fetch_add(batch.rows);
    batches_inserted_.fetch_add(1);
    bytes_sent_.fetch_add(batch.body.size());
  }
  // Only now, after ClickHouse answered 200, may the checkpoint move. A crash
  // before this write re-sends the batch; (node, seq) makes that harmless.
  Status s = WriteCheckpoint(batch.last_seq);
  if (!s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    last_error_ = s.ToString();
    spdlog::error("export: {}", s.ToString());
    return false;
  }
  checkpoint_.store(batch.last_seq);
  return true;
}

Status Exporter::WriteCheckpoint(uint64_t seq) {
  std::string v;
  PutBe64(seq, &v);
  rocksdb::WriteOptions wo;
  wo.sync = options_.durability == config::Durability::kSync;
  rocksdb::Status r = db_->db()->Put(wo, db_->meta(), kMetaExportCheckpoint, v);
  return r.ok() ? Status::Ok() : FromRocks(r, "export: write checkpoint in " + db_->dir());
}

void Exporter::UpdateLag(const Batch* pending) {
  const int64_t lag = pending == nullptr ? 0 : std::max<int64_t>(0, WallMs() - pending->first_received_ms);
  lag_ms_.store(lag);
  const bool over = ex_.max_lag_ms > 0 && lag > ex_.max_lag_ms;
  if (over != overdue_.exchange(over)) {
    if (over) {
      spdlog::error("export: lag {} s is over export.clickhouse.max_lag ({} s): retention no longer waits "
                    "for the exporter and will delete records ClickHouse never got",
                    lag / 1000, ex_.max_lag_ms / 1000);
    } else {
      spdlog::info("export: lag back under export.clickhouse.max_lag");
    }
  }
}

void Exporter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Exporter::WaitFor(uint64_t next_seq, int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                      [&] { return checkpoint_.load() + 1 >= next_seq; });
}

ExportStats Exporter::stats() const {
  ExportStats s;
  s.enabled = true;
  s.node = node_;
  s.checkpoint_seq = checkpoint_.load();
  const uint64_t committed = committed_next_seq_->load(std::memory_order_relaxed);
  s.pending_records = committed > s.checkpoint_seq + 1 ? committed - s.checkpoint_seq - 1 : 0;
  s.lag_seconds = s.pending_records == 0 ? 0 : static_cast<double>(lag_ms_.load()) / 1000.0;
  s.overdue = overdue_.load();
  s.rows_inserted = rows_inserted_.load();
  s.batches_inserted = batches_inserted_.load();
  s.bytes_sent = bytes_sent_.load();
  s.records_dropped = records_dropped_.load();
  s.erasure_pending = erasure_pending_.load();
  s.erasure_rows = erasure_rows_.load();
  s.erasure_batches = erasure_batches_.load();
  for (size_t k = 1; k < failures_.size(); ++k) {
    s.failures.emplace_back(HttpFailureName(static_cast<HttpFailure>(k)), failures_[k].load());
  }
  std::lock_guard<std::mutex> lock(mu_);
  s.last_error = last_error_;
  return s;
}

}  // namespace foothold::storage
