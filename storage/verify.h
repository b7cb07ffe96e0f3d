// Verify: `foothold verify --data-dir DIR` (README.md "Analytics"). Recounts the whole
// log up to the aggregator's checkpoint with a fresh Rollup (the same code the
// aggregator runs) and compares the result with the stored counters and open
// session states, key by key. The server must not be running on the same
// directory (RocksDB's lock refuses a second opener).
//
// Thread safety: a plain function; it opens and closes its own database.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proto/status.h"
#include "storage/event_store.h"

namespace foothold::storage {

struct VerifyReport {
  static constexpr size_t kMaxReported = 20;
  uint64_t checkpoint_seq = 0;    // the recount covers seqs up to here
  uint64_t records = 0;           // log records recounted
  uint64_t first_seq = 0;         // the oldest record in the log (0: empty)
  bool log_truncated = false;     // retention removed older records: their counts cannot be recounted
  uint64_t counters_checked = 0;  // distinct counter keys compared
  uint64_t sessions_checked = 0;  // open session states compared
  uint64_t mismatches = 0;
  std::vector<std::string> differences;  // the first kMaxReported, human-readable

  bool ok() const { return mismatches == 0; }
};

// Fails (not ok Status) only when the store cannot be opened or read;
// differences are reported in *out.
Status Verify(const StoreOptions& options, VerifyReport* out);

}  // namespace foothold::storage
