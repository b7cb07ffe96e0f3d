// Private to storage/: the retention pass (storage/README.md "Retention"). The log is keyed by
// seq, which the single writer assigns in commit order, so it is also in
// received_at order (up to clock steps): old records form a prefix of the
// log. A pass walks that prefix and deletes it in bounded batches: one
// DeleteRange over the seq range plus a Delete of each record's
// session_index key, committed together so readback never sees an index
// entry without its record.
//
// Thread safety: REQUIRES: called on the writer thread (it writes to the log
// and its cursor is writer state).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "proto/status.h"
#include "storage/log/db.h"

namespace foothold::storage {

// How far retention may delete: never past the aggregator's checkpoint (it
// has yet to count those records), and, when the ClickHouse exporter runs,
// never past its checkpoint either, unless the exporter has declared its lag
// over export.clickhouse.max_lag (then it counts and logs what it lost).
struct RetentionFloor {
  // Implicit: a store without an exporter passes the aggregator's checkpoint alone.
  RetentionFloor(const std::atomic<uint64_t>* aggregated)  // NOLINT(google-explicit-constructor)
      : aggregated_through(aggregated) {}
  const std::atomic<uint64_t>* aggregated_through;         // required
  const std::atomic<uint64_t>* exported_through = nullptr;  // the exporter's checkpoint, or none
  const std::atomic<bool>* export_overdue = nullptr;        // true: ignore exported_through
  const std::atomic<uint64_t>* rebuilding_through = nullptr;  // a running rebuild's checkpoint, or none

  // The last seq retention may delete.
  uint64_t Last() const {
    uint64_t last = aggregated_through->load();
    if (exported_through != nullptr && !(export_overdue != nullptr && export_overdue->load())) {
      last = std::min(last, exported_through->load());
    }
    if (rebuilding_through != nullptr) last = std::min(last, rebuilding_through->load());
    return last;
  }
};

class Retention {
 public:
  // At most this many records are deleted per batch, so appends queued
  // behind a pass wait for one batch, not for the whole backlog.
  static constexpr size_t kBatchRecords = 2048;

  // Records past floor.Last() are never deleted.
  Retention(Database* db, RetentionFloor floor) : db_(db), floor_(floor) {}

  // Deletes up to kBatchRecords records with received_at < cutoff_ms (and a
  // seq at or below the floor) from the front of the log. *deleted gets the count, *done whether the front of
  // the log is now at a record to keep (or the log is empty). A record that
  // does not decode stops the pass with Corruption: it cannot be deleted
  // without knowing its index key, and skipping it would break the prefix.
  Status Step(int64_t cutoff_ms, bool sync, uint64_t* deleted, bool* done);

  // Steps until done. *deleted gets the total.
  Status Run(int64_t cutoff_ms, bool sync, uint64_t* deleted);

 private:
  Database* db_;
  RetentionFloor floor_;
  // Every seq below this is already deleted; seeking here skips the range
  // tombstones of earlier passes instead of iterating over them.
  uint64_t floor_seq_ = 0;
};

}  // namespace foothold::storage
