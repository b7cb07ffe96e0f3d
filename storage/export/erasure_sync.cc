// The exporter's erasure phase (storage/export/README.md "Erasure"): the
// exported rows of records an erasure rewrote are deleted in ClickHouse and
// inserted again from the redacted log. Runs on the exporter thread only.
#include <algorithm>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include "proto/record.h"
#include "storage/export/exporter.h"
#include "storage/export/row.h"
#include "storage/log/keys.h"
#include "storage/privacy/erasure_export.h"

namespace foothold::storage {
namespace {

// A ClickHouse string literal.
std::string SqlString(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\\' || c == '\'') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void Exporter::NoteFailure(HttpFailure kind, std::string message) {
  failures_[static_cast<size_t>(kind)].fetch_add(1);
  std::lock_guard<std::mutex> lock(mu_);
  last_error_ = std::move(message);
}

Exporter::ErasureStep Exporter::SyncErasure() {
  std::vector<ErasureExport> queue;
  Status s = ReadErasureExports(*db_, 0, &queue);
  if (!s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    last_error_ = s.ToString();
    return ErasureStep::kFailed;
  }
  erasure_pending_.store(queue.size());
  if (queue.empty()) return ErasureStep::kIdle;
  const ErasureExport& job = queue.front();
  // Only once this exporter has sent every one of these seqs: an INSERT that
  // read a record before its rewrite is then in ClickHouse already, and the
  // DELETE below covers it; later INSERTs read the redacted log.
  if (!job.seqs.empty() && job.seqs.back() > checkpoint_.load()) return ErasureStep::kIdle;

  // In slices, so one DELETE's seq list stays far below ClickHouse's
  // max_query_size (256 KiB) however many records the rewrite had.
  uint64_t rows = 0;
  for (size_t at = 0; at < job.seqs.size() || at == 0; at += kErasureSliceSeqs) {
    const size_t end = std::min(job.seqs.size(), at + kErasureSliceSeqs);
    uint64_t n = 0;
    if (!SyncErasureSlice(job.seqs.data() + at, end - at, &n)) return ErasureStep::kFailed;
    rows += n;
    if (end == job.seqs.size()) break;
  }
  rocksdb::WriteOptions wo;
  wo.sync = options_.durability == config::Durability::kSync;
  rocksdb::Status r = db_->db()->Delete(wo, db_->meta(), ErasureExportKey(job.number));
  if (!r.ok()) {
    NoteFailure(HttpFailure::kNone, "erasure export: " + FromRocks(r, "delete queue entry").ToString());
    return ErasureStep::kFailed;
  }
  erasure_rows_.fetch_add(rows);
  erasure_batches_.fetch_add(1);
  erasure_pending_.store(queue.size() - 1);
  spdlog::info("export: erasure {}: {} exported rows replaced by their redacted copies", job.erasure_id, rows);
  return ErasureStep::kDone;
}

// Deletes every copy of the (node, seq) rows of `seqs` and inserts them
// again from the log; *rows gets the rows inserted. False on a failure
// (noted in last_error_ and the failure counters).
bool Exporter::SyncErasureSlice(const uint64_t* seqs, size_t count, uint64_t* rows_out) {
  std::string body;
  uint64_t rows = 0;
  std::string in;
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  for (size_t i = 0; i < count; ++i) {
    const uint64_t seq = seqs[i];
    if (!in.empty()) in.push_back(',');
    in += std::to_string(seq);
    std::string v;
    rocksdb::Status r = db_->db()->Get(ro, db_->log(), LogKey(seq), &v);
    if (r.IsNotFound()) continue;  // retention removed it since: only the DELETE is left to do
    if (!r.ok()) {
      NoteFailure(HttpFailure::kNone, "erasure export: " + FromRocks(r, "read log").ToString());
      return false;
    }
    proto::Event e;
    Status d = proto::DecodeRecord(v, &e);
    if (!d.ok()) {
      NoteFailure(HttpFailure::kNone, "erasure export: log record " + std::to_string(seq) + ": " + d.message());
      return false;
    }
    e.seq = seq;
    if (e.flags & proto::kFlagClockTick) continue;
    AppendExportRow(e, node_, &body);
    ++rows;
  }
  const std::string where = "node = " + SqlString(node_) + " AND seq IN (" + (in.empty() ? "0" : in) + ")";
  // 1. Delete every copy of those rows (a mutation: it applies to the parts
  //    that exist now, never to the INSERT that follows).
  HttpAnswer a = http_->Post("", "ALTER TABLE " + ex_.database + "." + ex_.table + " DELETE WHERE " + where);
  // 2. Insert the redacted copies. A crash or failure anywhere here repeats
  //    both steps: the next DELETE removes what this INSERT left.
  if (a.failure == HttpFailure::kNone && rows > 0) a = http_->Post(insert_sql_, body, kInsertParams);
  if (a.failure != HttpFailure::kNone) {
    NoteFailure(a.failure, std::string("erasure export: ") + HttpFailureName(a.failure) + ": " + a.error);
    return false;
  }
  // 3. Done once the mutation has run: only the redacted copies are left.
  if (!WaitRows(where, rows)) {
    NoteFailure(HttpFailure::kTimeout, "erasure export: the DELETE mutation did not finish within export.clickhouse.timeout");
    return false;
  }
  *rows_out = rows;
  return true;
}

bool Exporter::WaitRows(const std::string& where, uint64_t rows) {
  const std::string sql = "SELECT count() FROM " + ex_.database + "." + ex_.table + " WHERE " + where +
                          " FORMAT TabSeparated";
  const int64_t deadline = NowMs() + std::max<int64_t>(ex_.timeout_ms, 1000);
  for (int64_t wait_ms = 20;; wait_ms = std::min<int64_t>(wait_ms * 2, 500)) {
    HttpAnswer a = http_->Post("", sql, "&wait_end_of_query=1");
    if (a.failure == HttpFailure::kNone) {
      std::string n = a.body;
      while (!n.empty() && (n.back() == '\n' || n.back() == '\r')) n.pop_back();
      if (n == std::to_string(rows)) return true;
    }
    if (NowMs() + wait_ms > deadline) return false;
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [this] { return stopping_; })) return false;
  }
}

}  // namespace foothold::storage
