// Private to storage/: the counter queries behind EventStore's Query*
// methods. Each reads only the `counters` column family with a handful of
// range scans: O(buckets in the range), never the log.
//
// Thread safety: safe from any thread while `db` is open.
#pragma once

#include <string_view>
#include <utility>
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

// The day-of-session-start counters of the UTC days overlapping [from, to),
// of every closed session or (segment.all() false) of one segment's.
Status QueryFunnel(const Database& db, const config::Funnel& funnel, TimeRange range, FunnelCounts* out,
                   const SegmentFilter& segment = {});
Status QueryLift(const Database& db, const AnalyticsDefs& defs, std::string_view target,
                 TimeRange range, std::vector<LiftCells>* out, const SegmentFilter& segment = {});
Status QueryExperiment(const Database& db, const config::Experiment& experiment, TimeRange range,
                       std::vector<ExperimentDay>* out, const SegmentFilter& segment = {});
// REQUIRES !segment.all(): closed sessions of the segment, and those with each conversion.
Status QuerySegmentSessions(const Database& db, const AnalyticsDefs& defs, const SegmentFilter& segment,
                            TimeRange range, SegmentSessions* out);
// The values counted for `dimension` so far ('V' counters), sorted; "" = of
// every dimension, as (dimension, value) pairs in `pairs` (the aggregator's start).
Status QueryDimensionValues(const Database& db, std::string_view dimension, std::vector<std::string>* out);
// `counters`: a counters generation's family (a rebuild's, storage/README.md
// "Backfill"); nullptr = the active one.
Status ReadAllDimensionValues(const Database& db, std::vector<std::pair<std::string, std::string>>* pairs,
                              rocksdb::ColumnFamilyHandle* counters = nullptr);

}  // namespace foothold::storage
