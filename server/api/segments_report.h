// Segments in the stats reports (README.md "Segments"): checking `by=` and
// `where=` against the [[dimension]]s, the values a `by=` report lists, the
// `where` block, and the segmented summary. The counts come from the segment
// counters (storage/README.md, "Segments"), O(days × values). Internal to
// server/api (reports.cc, opportunities.cc).
//
// Thread safety: pure functions of their arguments plus thread-safe store
// reads; call them off the I/O threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "proto/status.h"
#include "server/api/report_json.h"
#include "server/api/reports.h"
#include "storage/stats.h"

namespace foothold::storage {
class EventStore;
}

namespace foothold::server {

const config::Dimension* FindDimension(const config::Config& config, std::string_view name);

// The config spelling of a kind: "utm_source", "device", ...
std::string_view DimensionKindName(config::DimensionKind kind);

// False with *error set when q's by/where do not fit report `rest`: 400
// unknown_dimension for a name that is no [[dimension]], 400 query_invalid
// for by and where together, for scope=cluster, or for a report without
// segments (by=: summary, funnels, lift; where=: those, experiments and
// opportunities).
bool ValidateSegments(const config::Config& config, std::string_view rest, const StatsQuery& q,
                      Response* error);

// The values a by= report lists, in order: for kind experiment its variants,
// "$other" and "(none)"; otherwise the values counted so far (sorted) and
// "(other)".
Status SegmentValues(const storage::EventStore& store, const config::Config& config, std::string_view dimension,
                     std::vector<std::string>* out);

// "where": {"dimension": ..., "value": ...} when the filter is set.
void AppendWhere(const storage::SegmentFilter& where, report::Json* j);

// GET /v1/stats/summary with by= or where=: closed sessions by day of
// start, and per conversion the sessions with it and their rate (Wilson 95%).
Response SegmentedSummary(const storage::EventStore& store, const config::Config& config, const StatsQuery& q);

}  // namespace foothold::server
