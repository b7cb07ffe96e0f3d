// Reports: the JSON bodies of the stats endpoints (README.md "Analytics") built from
// the counter queries of the EventStore (storage/stats.h) and the pure
// statistics of server/statistics/statistics.h. Every report reads counters only, in
// O(buckets); none scans the log.
//
// Thread safety: pure functions of their arguments plus thread-safe store
// reads; call them off the I/O threads (they do RocksDB reads).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"
#include "server/http/http_types.h"
#include "storage/stats.h"

namespace foothold::storage {
class EventStore;
}

namespace foothold::server {

// The parameters common to the stats endpoints, parsed from the query string.
struct StatsQuery {
  storage::TimeRange range;  // from/to: RFC 3339 or ms; default the last 24 h before now
  std::string name;          // timeseries: a conversion name
  std::string source;        // timeseries: a [[source]] name instead (its events)
  int64_t bucket_ms = 0;     // timeseries: minute|hour|day
  std::string target;        // lift: a macro-conversion; default the first one
  bool cluster = false;      // scope=cluster: every replica, from ClickHouse (summary, funnels, lift, experiments)
  int64_t now_ms = 0;        // the clock the query was parsed at
  double reach = -1;         // opportunities: the reach to project to, 0..1; < 0 = each one's default
  std::string by;            // by=<dimension>: one block per value (summary, funnels, lift)
  storage::SegmentFilter where;  // where=<dimension>:<value>: that segment's sessions only
};

// Parses `query` (the part after '?'). On error returns false with *error set
// to a 400 response naming the parameter.
bool ParseStatsQuery(std::string_view query, int64_t now_ms, StatsQuery* out, Response* error);

// Routes /v1/stats/<rest> and answers: 200 with the report, 404 for an
// unknown report or name, 400 for bad parameters, 503 when the store is closed.
Response StatsReport(const storage::EventStore& store, const config::Config& config,
                     std::string_view rest, const StatsQuery& query);

// The time-to-convert quantile q (0..1) of a histogram of kFunnelTimeBins
// log-spaced bins, interpolated geometrically inside the bin; NaN when empty.
double HistogramQuantileMs(const std::vector<uint64_t>& bins, double q);

}  // namespace foothold::server
