// Rebuild: `foothold rebuild --data-dir DIR` (README.md "Backfill"). Recounts
// the retained journey log with the configured definitions into a fresh
// counters generation (the same Aggregator the server runs), then switches
// to it in one synced WriteBatch and drops the old one. It always recounts,
// whatever the stored definitions fingerprint says; a rebuild a server left
// unfinished for the same definitions is resumed from its checkpoint. The
// server must not be running on the same directory (RocksDB's lock refuses
// a second opener). A running server does the same by itself at start when
// the definitions changed (storage/README.md "Backfill").
//
// Thread safety: a plain function; it opens and closes its own database.
#pragma once

#include <cstdint>

#include "proto/status.h"
#include "storage/event_store.h"

namespace foothold::storage {

struct RebuildReport {
  uint64_t generation = 0;      // the counters generation now active
  uint64_t records = 0;         // log records recounted by this run
  uint64_t checkpoint_seq = 0;  // the recount covers seqs up to here
  double cpu_seconds = 0;       // user + system time of the process during the recount
  double wall_seconds = 0;
};

Status RebuildOffline(const StoreOptions& options, RebuildReport* out);

}  // namespace foothold::storage
