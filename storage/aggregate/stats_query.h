// Private to storage/: the counter queries behind EventStore's Query*
// methods. Each reads only the `counters` column family with a handful of
// range scans: O(buckets in the range), never the log.
//
// Thread safety: safe from any thread while `db` is open.
#pragma once

#include <string_view>
#include <vector>

#include "proto/status.h"
#include "storage/log/db.h"
#include "storage/event_store.h"
#include "storage/stats.h"

namespace foothold::storage {

// Sums every conversion and "$all" over [from, to) rounded out to minutes,
// reading day buckets where whole days fit, hours where whole hours fit, and
// minutes only at the ragged ends: at most five scans per series.
Status QuerySummary(const Database& db, const AnalyticsDefs& defs, TimeRange range, Summary* out);

// Dense points (zeros included) of one conversion or "$all" for every bucket
// of width bucket_ms (one minute, hour or day) overlapping [from, to).
Status QueryTimeseries(const Database& db, std::string_view name, int64_t bucket_ms, TimeRange range,
                       std::vector<SeriesPoint>* out);

// The day-of-session-start counters of the UTC days overlapping [from, to).
Status QueryFunnel(const Database& db, const config::Funnel& funnel, TimeRange range, FunnelCounts* out);
Status QueryLift(const Database& db, const AnalyticsDefs& defs, std::string_view target,
                 TimeRange range, std::vector<LiftCells>* out);
Status QueryExperiment(const Database& db, const config::Experiment& experiment, TimeRange range,
                       std::vector<ExperimentDay>* out);

}  // namespace foothold::storage
