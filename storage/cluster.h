// Cluster-wide reports: the node-local report types of storage/stats.h
// computed by SQL over the ClickHouse table every replica's exporter fills
// (deploy/clickhouse/events.sql, storage/export/README.md), so one replica
// can answer for all of them (`?scope=cluster`, README.md "Cluster-wide view").
// Rows are read with FINAL: a batch re-sent after a crash counts once.
//
// Thread safety: pure functions of their arguments plus one blocking HTTP
// call to ClickHouse; call them off the I/O threads.
#pragma once

#include <string_view>
#include <vector>

#include "proto/status.h"
#include "storage/event_store.h"
#include "storage/stats.h"

namespace foothold::storage {

// The summary of storage::QuerySummary over every exported event: non-bot
// events with event_time in the range (rounded out to whole minutes),
// sessions whose first event is in it, and per event-matched conversion its
// events in the range and the sessions whose first occurrence is in it.
// Dwell conversions need the per-page engaged-time state machine and are
// left out (*dwell_skipped counts them). InvalidArgument when export is not
// configured; Unavailable when ClickHouse fails (the message says why).
Status QueryClusterSummary(const ExportOptions& ex, const AnalyticsDefs& defs, TimeRange range, Summary* out,
                           size_t* dwell_skipped);

// Funnel counts (ordered mode) with ClickHouse's windowFunnel over closed
// sessions that started on the days of the range, like QueryFunnel. A session
// counts as closed when its newest received_at is before closed_before_ms
// (now minus the session timeout: the node's watermark). windowFunnel gives
// the deepest step, not the step times, so time_bins stay empty.
// InvalidArgument for a strict/any funnel, a dwell step, or a range over 40
// days (windowFunnel's UInt32 clock counts ms from the first day).
Status QueryClusterFunnel(const ExportOptions& ex, const AnalyticsDefs& defs, const config::Funnel& funnel,
                          TimeRange range, int64_t closed_before_ms, FunnelCounts* out);

// Lift cells against `target` for every event-matched micro-conversion, over
// the same closed sessions as QueryClusterFunnel; "before the target" compares
// (event_time, seq) like the rollup. Dwell micro-conversions are left out
// (*dwell_skipped counts them).
Status QueryClusterLift(const ExportOptions& ex, const AnalyticsDefs& defs, std::string_view target, TimeRange range,
                        int64_t closed_before_ms, std::vector<LiftCells>* out, size_t* dwell_skipped);

// Experiment counts per day of session start over the same closed sessions:
// a session's variant is its first exposure by (event_time, seq) ("$other"
// when not in the config), converted when the target occurs at or after it.
// InvalidArgument when the target is a dwell conversion.
Status QueryClusterExperiment(const ExportOptions& ex, const AnalyticsDefs& defs, const config::Experiment& x,
                              TimeRange range, int64_t closed_before_ms, std::vector<ExperimentDay>* out);

// A [[source]]'s series like QueryTimeseries("$source:<name>"): its non-bot
// events per bucket of event_time (buckets aligned to the epoch, the range
// rounded out to whole buckets), `sessions` 0, and `sessions_total` the
// sessions (of every source) whose first event is in the bucket. Rows
// exported before the `source` column existed have source ''.
Status QueryClusterSourceSeries(const ExportOptions& ex, std::string_view source, int64_t bucket_ms, TimeRange range,
                                std::vector<SeriesPoint>* out);

}  // namespace foothold::storage
