// Private to storage/: the ClickHouse exporter thread (storage/export/README.md).
// It tails the `log` column family from its own checkpoint (meta
// "export_checkpoint"), turns up to batch_rows records into one JSONEachRow
// INSERT, POSTs it to ClickHouse, and only after a 200 writes the new
// checkpoint. A crash between the 200 and the checkpoint re-sends the batch;
// the table is a ReplacingMergeTree keyed by (node, seq), so the copy
// collapses and queries that read FINAL see every record once. Failures are
// retried with capped exponential backoff for ever; ingestion never waits
// for the exporter (it only reads the log, on its own thread, without
// filling the block cache). Between batches the same thread replaces the
// exported rows of erased records (SyncErasure), so an erasure's delete and
// re-insert never interleave with an INSERT of the same rows.
//
// Thread safety: Start, Stop, WaitFor, stats, checkpoint and overdue are
// safe from any thread; everything else runs on the exporter thread.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "proto/status.h"
#include "storage/event_store.h"
#include "storage/export/clickhouse_http.h"
#include "storage/log/db.h"

namespace foothold::storage {

inline constexpr char kMetaExportCheckpoint[] = "export_checkpoint";  // be64: last exported seq

class Exporter {
 public:
  // `db` and `committed_next_seq` (the writer's next seq) must outlive it.
  Exporter(const StoreOptions& options, Database* db, const std::atomic<uint64_t>* committed_next_seq);
  ~Exporter();  // Stop()s
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  // Parses the url, loads the checkpoint, starts the thread.
  Status Start();

  // Makes one last attempt to send what is committed (bounded by the HTTP
  // timeout, no retries), then joins. Call after the writer stopped. Idempotent.
  void Stop();

  // Waits until everything below `next_seq` is exported; false on timeout.
  bool WaitFor(uint64_t next_seq, int64_t timeout_ms);

  // For retention: the last exported seq, and whether the lag passed max_lag.
  const std::atomic<uint64_t>* checkpoint() const { return &checkpoint_; }
  const std::atomic<bool>* overdue() const { return &overdue_; }

  ExportStats stats() const;

 private:
  struct Batch {
    std::string body;          // JSONEachRow lines
    uint64_t rows = 0;         // beacons in body (clock ticks are skipped)
    uint64_t last_seq = 0;     // the checkpoint once it is in
    int64_t first_received_ms = 0;  // of the oldest record in it
  };

  // The ClickHouse phase of erasures (storage/export/README.md "Erasure",
  // erasure_sync.cc): replaces the exported rows of the oldest queued
  // rewrite once the checkpoint passed its seqs.
  enum class ErasureStep { kIdle, kDone, kFailed };
  ErasureStep SyncErasure();
  static constexpr size_t kErasureSliceSeqs = 2000;  // seqs per DELETE mutation
  bool SyncErasureSlice(const uint64_t* seqs, size_t count, uint64_t* rows);
  // Polls until exactly `rows` rows of `where` are left; false on the deadline or a stop.
  bool WaitRows(const std::string& where, uint64_t rows);
  void NoteFailure(HttpFailure kind, std::string message);

  static const char kInsertParams[];
  void EnsureSourceColumn();

  void Run();
  // Reads up to batch_rows records after the checkpoint into *batch.
  Status Fill(Batch* batch);
  // Inserts the batch (when it has rows) and moves the checkpoint.
  bool Send(const Batch& batch);
  Status WriteCheckpoint(uint64_t seq);
  void NoteDropped(uint64_t first, uint64_t last);
  void UpdateLag(const Batch* pending);

  const StoreOptions options_;
  const ExportOptions& ex_;
  Database* const db_;
  const std::atomic<uint64_t>* const committed_next_seq_;
  std::string node_;
  std::string insert_sql_;
  std::unique_ptr<ClickHouseHttp> http_;

  std::atomic<uint64_t> checkpoint_{0};
  std::atomic<bool> overdue_{false};
  std::atomic<int64_t> lag_ms_{0};
  std::atomic<uint64_t> rows_inserted_{0};
  std::atomic<uint64_t> batches_inserted_{0};
  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<uint64_t> records_dropped_{0};
  std::atomic<uint64_t> erasure_pending_{0};    // queued rewrites not yet replaced in ClickHouse
  std::atomic<uint64_t> erasure_rows_{0};       // rows replaced by their redacted copies since start
  std::atomic<uint64_t> erasure_batches_{0};    // queued rewrites completed since start
  std::array<std::atomic<uint64_t>, static_cast<size_t>(HttpFailure::kCount)> failures_{};

  mutable std::mutex mu_;
  std::condition_variable cv_;  // wakes the thread (stop) and WaitFor callers (progress)
  bool stopping_ = false;       // guarded by mu_
  std::string last_error_;      // guarded by mu_
  bool source_column_ok_ = false;  // exporter thread: the table has the `source` column
  bool source_warned_ = false;
  uint64_t dropped_through_ = 0;  // exporter thread: drops up to this seq are counted
  std::thread thread_;
};

}  // namespace foothold::storage
