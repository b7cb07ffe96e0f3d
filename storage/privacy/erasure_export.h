// Private to storage/: the ClickHouse phase of an erasure
// (storage/export/README.md "Erasure").
//
// Every WriteBatch that rewrites log records redacted (an erasure's chunk, a
// session rename) also writes, when the exporter is configured, one entry
//   meta "erasure_export/" be64(n) -> varint(erasure_id) varint(count) varint(seq deltas)...
// naming the seqs whose exported rows are stale. The exporter thread takes
// the entries oldest first, once its own checkpoint has passed every seq of
// one, deletes those (node, seq) rows in ClickHouse, re-inserts them from the
// (redacted) log, and only then deletes the entry. Being in the same batch as
// the rewrite, an entry exists exactly when a rewrite's copy is not in
// ClickHouse yet: a crash anywhere repeats the phase, never skips it.
//
// Thread safety: pure functions, and reads of the store (any thread).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/status.h"
#include "storage/log/db.h"

namespace foothold::storage {

inline constexpr char kMetaErasureExport[] = "erasure_export/";

struct ErasureExport {
  uint64_t number = 0;        // the meta key suffix: the order of the rewrites
  uint64_t erasure_id = 0;    // the erasure (job) whose rewrite it is
  std::vector<uint64_t> seqs; // ascending, distinct
};

std::string ErasureExportKey(uint64_t number);
// `seqs` need not be sorted; the encoding sorts and dedupes them.
std::string EncodeErasureExport(uint64_t erasure_id, std::vector<uint64_t> seqs);
bool DecodeErasureExport(std::string_view value, ErasureExport* out);

// Up to `limit` entries, oldest first (limit 0: all of them).
Status ReadErasureExports(const Database& db, size_t limit, std::vector<ErasureExport>* out);

}  // namespace foothold::storage
