// GET /v1/stats/opportunities?target=<macro>[&reach=0..1]: per micro-conversion
// its reach, relative risk, and the overall conversion rate projected at a
// higher reach, with 95% intervals, labelled an association-based estimate
// (README.md "Opportunities"). Read from the same lift counters as
// /v1/stats/lift, O(days × micro-conversions).
//
// Thread safety: a pure function of its arguments plus thread-safe store
// reads; call it off the I/O threads.
#pragma once

#include "config/config.h"
#include "server/api/reports.h"
#include "server/http/http_types.h"

namespace foothold::storage {
class EventStore;
}

namespace foothold::server {

// 200 with the report; 404 not_found when target is not a macro-conversion;
// 503 store_unavailable when the store cannot be read. With q.cluster the
// cells come from ClickHouse (storage/cluster.h) as for lift: 400
// query_invalid / 503 cluster_unavailable on its errors.
Response Opportunities(const storage::EventStore& store, const config::Config& config, const StatsQuery& q);

}  // namespace foothold::server
