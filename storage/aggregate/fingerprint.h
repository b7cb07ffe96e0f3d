// Private to storage/: the definitions fingerprint (storage/README.md
// "Backfill"). A stable hash of everything that changes what the rollup
// counts — the conversions, funnels, experiments (targets, variants,
// weights), dwell thresholds, segment dimensions (kind, key, experiment,
// cap), the session timeout and the rollup's own semantics version. It is stored in `meta` with the counters; a store whose
// fingerprint differs from the running configuration's was counted under
// other definitions and is recounted (a rebuild).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "storage/event_store.h"

namespace foothold::storage {

// Bump when the rollup's counting semantics change in code (a new counter, a
// fixed rule): stores counted by the old code then rebuild at start.
inline constexpr uint32_t kRollupSemanticsVersion = 1;

// 16 lowercase hex characters. Equal definitions give equal fingerprints in
// every build and on every machine (no pointer, no unordered iteration).
std::string DefinitionsFingerprint(const AnalyticsDefs& defs, int64_t session_timeout_ms);

}  // namespace foothold::storage
