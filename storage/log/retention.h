// Private to storage/: the retention pass (DESIGN.md §6). The log is keyed by
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

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "proto/status.h"
#include "storage/log/db.h"

namespace foothold::storage {

class Retention {
 public:
  // At most this many records are deleted per batch, so appends queued
  // behind a pass wait for one batch, not for the whole backlog.
  static constexpr size_t kBatchRecords = 2048;

  // Records past *aggregated_through (the aggregator's checkpoint) are never
  // deleted: the aggregator has yet to count them.
  Retention(Database* db, const std::atomic<uint64_t>* aggregated_through)
      : db_(db), aggregated_through_(aggregated_through) {}

  // Deletes up to kBatchRecords records with received_at < cutoff_ms (and a
  // seq the aggregator has counted) from the front of the log. *deleted gets the count, *done whether the front of
  // the log is now at a record to keep (or the log is empty). A record that
  // does not decode stops the pass with Corruption: it cannot be deleted
  // without knowing its index key, and skipping it would break the prefix.
  Status Step(int64_t cutoff_ms, bool sync, uint64_t* deleted, bool* done);

  // Steps until done. *deleted gets the total.
  Status Run(int64_t cutoff_ms, bool sync, uint64_t* deleted);

 private:
  Database* db_;
  const std::atomic<uint64_t>* aggregated_through_;
  // Every seq below this is already deleted; seeking here skips the range
  // tombstones of earlier passes instead of iterating over them.
  uint64_t floor_seq_ = 0;
};

}  // namespace foothold::storage
