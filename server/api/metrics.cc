#include "server/api/metrics.h"

#include <cstdio>
#include <string>
#include <vector>

#include "proto/error_codes.h"
#include "storage/event_store.h"

namespace foothold::server {
namespace {

constexpr std::array<double, 14> kBucketBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                  0.025,  0.05,    0.1,    0.25,  0.5,    1.0,  2.5};
constexpr std::array<int, 13> kStatuses = {200, 204, 304, 400, 401, 403, 404, 405, 413, 415, 429, 500, 503};

constexpr std::array<const char*, static_cast<size_t>(Route::kCount)> kRouteNames = {
    "collect", "pixel", "preflight", "sessions", "stats", "healthz", "readyz", "metrics", "asset", "segment",
    "privacy", "other"};

// The rejection counters: one slot per code of proto/error_codes.h's one list (kCodeStatuses), in
// its order, and a last slot ("other") for a code outside it (a bug HttpStatusFor answers with 500).
constexpr auto& kCodes = proto::codes::kCodeStatuses;
constexpr size_t kNumCodes = std::size(kCodes);
static_assert(kNumCodes + 1 == Metrics::kCodeSlots);

size_t StatusSlot(int status) {
  for (size_t i = 0; i < kStatuses.size(); ++i) {
    if (kStatuses[i] == status) return i;
  }
  return kStatuses.size();  // "other"
}

size_t CodeSlot(std::string_view code) {
  for (size_t i = 0; i < kNumCodes; ++i) {
    if (code == kCodes[i].code) return i;
  }
  return kNumCodes;  // "other"
}

void Appendf(std::string* out, const char* fmt, auto... args) {
  char buf[512];
  int n = std::snprintf(buf, sizeof(buf), fmt, args...);
  if (n > 0) out->append(buf, static_cast<size_t>(n) < sizeof(buf) ? n : sizeof(buf) - 1);
}

void Header(std::string* out, const char* name, const char* type, const char* help) {
  Appendf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

uint64_t Load(const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); }

// One unlabelled metric: its HELP/TYPE header and its value.
void Single(std::string* out, const char* name, const char* type, const char* help, long long value) {
  Header(out, name, type, help);
  Appendf(out, "%s %lld\n", name, value);
}

// The _bucket, _sum and _count lines of one histogram series. `labels` is
// "" or `key="value"`; counts[i] is the number in bucket i (not cumulative),
// counts[bounds.size()] the overflow.
void HistogramLines(std::string* out, const char* name, const std::string& labels,
                    const std::vector<double>& bounds, const std::vector<uint64_t>& counts, double sum) {
  const std::string sep = labels.empty() ? "" : labels + ",";
  const std::string own = labels.empty() ? "" : "{" + labels + "}";
  uint64_t cumulative = 0;
  for (size_t b = 0; b < counts.size(); ++b) {
    cumulative += counts[b];
    if (b < bounds.size()) {
      Appendf(out, "%s_bucket{%sle=\"%g\"} %llu\n", name, sep.c_str(), bounds[b],
              static_cast<unsigned long long>(cumulative));
    } else {
      Appendf(out, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, sep.c_str(),
              static_cast<unsigned long long>(cumulative));
    }
  }
  Appendf(out, "%s_sum%s %.6f\n", name, own.c_str(), sum);
  Appendf(out, "%s_count%s %llu\n", name, own.c_str(), static_cast<unsigned long long>(cumulative));
}

// One unlabelled gauge with a fractional value.
void Gauge(std::string* out, const char* name, const char* help, double value) {
  Header(out, name, "gauge", help);
  Appendf(out, "%s %.3f\n", name, value);
}

// The ClickHouse exporter's series (storage/export/README.md); none when it is off.
void RenderExport(const storage::ExportStats& x, std::string* out) {
  if (!x.enabled) return;
  const auto ll = [](uint64_t v) { return static_cast<long long>(v); };
  Gauge(out, "foothold_export_lag_seconds",
        "Age of the oldest journey log record not yet in ClickHouse (0 when caught up).", x.lag_seconds);
  Single(out, "foothold_export_pending_records", "gauge", "Committed log records not yet in ClickHouse.",
         ll(x.pending_records));
  Single(out, "foothold_export_checkpoint_seq", "gauge", "The last journey log seq ClickHouse acknowledged.",
         ll(x.checkpoint_seq));
  Single(out, "foothold_export_rows_total", "counter",
         "Rows ClickHouse acknowledged since start (a batch re-sent after a crash counts again).",
         ll(x.rows_inserted));
  Single(out, "foothold_export_batches_total", "counter", "INSERTs ClickHouse acknowledged since start.",
         ll(x.batches_inserted));
  Single(out, "foothold_export_bytes_total", "counter", "Bytes of acknowledged INSERT bodies since start.",
         ll(x.bytes_sent));
  Header(out, "foothold_export_failures_total", "counter", "Failed ClickHouse calls (INSERTs, erasure DELETEs) since start, by kind; each is retried.");
  for (const auto& [kind, n] : x.failures) {
    Appendf(out, "foothold_export_failures_total{kind=\"%s\"} %llu\n", kind.c_str(),
            static_cast<unsigned long long>(n));
  }
  Single(out, "foothold_export_overdue", "gauge",
         "1 while the export lag is over export.clickhouse.max_lag: retention deletes unexported records.",
         x.overdue ? 1 : 0);
  Single(out, "foothold_export_dropped_records_total", "counter",
         "Log records retention deleted before they reached ClickHouse, since start.", ll(x.records_dropped));
  Single(out, "foothold_export_erasure_pending", "gauge",
         "Erasure rewrites whose exported rows are not yet replaced by redacted copies in ClickHouse.",
         ll(x.erasure_pending));
  Single(out, "foothold_export_erasure_rows_total", "counter",
         "Exported rows replaced by their redacted copies (erasures) since start.", ll(x.erasure_rows));
}

}  // namespace

Metrics::Metrics() = default;

void Metrics::RecordRequest(Route route, int status, double seconds) {
  RouteStats& r = routes_[static_cast<size_t>(route)];
  r.by_status[StatusSlot(status)].fetch_add(1, std::memory_order_relaxed);
  size_t b = 0;
  while (b < kBuckets && seconds > kBucketBounds[b]) ++b;
  r.latency[b].fetch_add(1, std::memory_order_relaxed);
  r.latency_sum_us.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void Metrics::AddEvents(uint64_t accepted, uint64_t duplicates) {
  if (accepted) events_accepted_.fetch_add(accepted, std::memory_order_relaxed);
  if (duplicates) events_duplicate_.fetch_add(duplicates, std::memory_order_relaxed);
}

void Metrics::AddRejected(std::string_view code, uint64_t n) {
  rejected_[CodeSlot(code)].fetch_add(n, std::memory_order_relaxed);
}

void Metrics::AddClamped(bool future) {
  (future ? clamped_future_ : clamped_past_).fetch_add(1, std::memory_order_relaxed);
}

void Metrics::AddSkewCorrected(uint64_t n) { skew_corrected_.fetch_add(n, std::memory_order_relaxed); }
void Metrics::AddBots(uint64_t n) { bots_.fetch_add(n, std::memory_order_relaxed); }
void Metrics::AddPropsDropped(uint64_t n) { props_dropped_.fetch_add(n, std::memory_order_relaxed); }

std::string Metrics::Render(const storage::EventStore* store, bool draining) const {
  std::string out;
  out.reserve(16 << 10);

  Header(&out, "foothold_http_requests_total", "counter", "HTTP requests by route and status code.");
  for (size_t r = 0; r < routes_.size(); ++r) {
    for (size_t s = 0; s < kStatusSlots; ++s) {
      uint64_t v = Load(routes_[r].by_status[s]);
      if (v == 0) continue;
      if (s < kStatuses.size()) {
        Appendf(&out, "foothold_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n", kRouteNames[r],
                kStatuses[s], static_cast<unsigned long long>(v));
      } else {
        Appendf(&out, "foothold_http_requests_total{route=\"%s\",code=\"other\"} %llu\n", kRouteNames[r],
                static_cast<unsigned long long>(v));
      }
    }
  }

  Header(&out, "foothold_http_request_duration_seconds", "histogram",
         "Time from complete request headers to response handed to the socket.");
  const std::vector<double> latency_bounds(kBucketBounds.begin(), kBucketBounds.end());
  for (size_t r = 0; r < routes_.size(); ++r) {
    std::vector<uint64_t> counts;
    for (const auto& c : routes_[r].latency) counts.push_back(Load(c));
    HistogramLines(&out, "foothold_http_request_duration_seconds",
                   std::string("route=\"") + kRouteNames[r] + "\"", latency_bounds, counts,
                   static_cast<double>(Load(routes_[r].latency_sum_us)) / 1e6);
  }

  Header(&out, "foothold_events_total", "counter", "Events by outcome.");
  Appendf(&out, "foothold_events_total{outcome=\"accepted\"} %llu\n",
          static_cast<unsigned long long>(Load(events_accepted_)));
  Appendf(&out, "foothold_events_total{outcome=\"duplicate\"} %llu\n",
          static_cast<unsigned long long>(Load(events_duplicate_)));
  uint64_t rejected = 0;
  for (const auto& c : rejected_) rejected += Load(c);
  Appendf(&out, "foothold_events_total{outcome=\"rejected\"} %llu\n", static_cast<unsigned long long>(rejected));

  Header(&out, "foothold_rejections_total", "counter", "Rejected events and requests by error code.");
  for (size_t i = 0; i <= kNumCodes; ++i) {
    uint64_t v = Load(rejected_[i]);
    if (v == 0) continue;
    const std::string_view code = i < kNumCodes ? kCodes[i].code : std::string_view("other");
    Appendf(&out, "foothold_rejections_total{code=\"%.*s\"} %llu\n", static_cast<int>(code.size()), code.data(),
            static_cast<unsigned long long>(v));
  }

  Header(&out, "foothold_event_time_clamped_total", "counter",
         "Events whose time was clamped into [received_at - max_past, received_at + max_future].");
  Appendf(&out, "foothold_event_time_clamped_total{direction=\"past\"} %llu\n",
          static_cast<unsigned long long>(Load(clamped_past_)));
  Appendf(&out, "foothold_event_time_clamped_total{direction=\"future\"} %llu\n",
          static_cast<unsigned long long>(Load(clamped_future_)));
  Single(&out, "foothold_event_time_skew_corrected_total", "counter", "Events corrected with the batch's sent_at.",
         static_cast<long long>(Load(skew_corrected_)));
  Single(&out, "foothold_bot_events_total", "counter", "Accepted events flagged as bots.",
         static_cast<long long>(Load(bots_)));
  Single(&out, "foothold_segment_props_dropped_total", "counter",
         "Segment properties/traits left out by the mapping rules (too many, key too long, array too long).",
         static_cast<long long>(Load(props_dropped_)));

  auto ll = [](uint64_t v) { return static_cast<long long>(v); };
  Single(&out, "foothold_connections_active", "gauge", "Open HTTP connections.", connections_active_.load());
  Single(&out, "foothold_connections_total", "counter", "Accepted HTTP connections.", ll(Load(connections_total_)));
  Single(&out, "foothold_connections_refused_total", "counter",
         "Connections closed at once: over http.max_connections.", ll(Load(connections_refused_)));
  Single(&out, "foothold_draining", "gauge", "1 while the server drains for shutdown.", draining ? 1 : 0);

  if (store != nullptr) {
    storage::StoreStats s = store->stats();
    Single(&out, "foothold_writer_queue_events", "gauge", "Events waiting for the journey log writer.",
           ll(s.queue_depth_events));
    Single(&out, "foothold_writer_groups_total", "counter", "Group commits (one WriteBatch each).",
           ll(s.groups_committed));
    Single(&out, "foothold_writer_events_total", "counter", "Events written to the journey log.",
           ll(s.events_committed));
    Single(&out, "foothold_writer_last_group_events", "gauge", "Events in the most recent group commit.",
           ll(s.last_group_events));
    Single(&out, "foothold_writer_failures_total", "counter", "Failed group commits.", ll(s.write_failures));
    Single(&out, "foothold_log_next_seq", "gauge", "The next journey log sequence number.", ll(s.next_seq));
    Single(&out, "foothold_retention_deleted_total", "counter", "Log records removed by retention since start.",
           ll(s.retention_deleted));
    Single(&out, "foothold_suppressed_events_total", "counter",
           "Events acknowledged and dropped because they name an erased, suppressed identity, since start.",
           ll(s.suppressed));
    Single(&out, "foothold_erasures_total", "counter", "Erasure requests executed since start.", ll(s.erasures));
    Single(&out, "foothold_erased_events_total", "counter", "Log records redacted by erasures since start.",
           ll(s.erased_events));
    Single(&out, "foothold_erasure_pending", "gauge",
           "1 while an erased session is still open (its session id is replaced when it closes).",
           s.erasure_pending ? 1 : 0);
    Single(&out, "foothold_store_healthy", "gauge", "1 while the store accepts writes.", store->healthy() ? 1 : 0);
    Single(&out, "foothold_store_free_bytes", "gauge",
           "Free bytes on the data dir's filesystem at the last check.", ll(s.free_bytes));
    Single(&out, "foothold_store_low_space", "gauge",
           "1 while free space is below storage.min_free_bytes (collect answers 503 storage_full).",
           s.low_space ? 1 : 0);
    Single(&out, "foothold_session_overflow_events_total", "counter",
           "Events stored and aggregated past session.max_events of their session, not indexed for readback.",
           ll(s.session_overflow_events));
    Single(&out, "foothold_store_recoveries_total", "counter",
           "Write failures the store recovered from without a restart.", ll(s.recoveries));

    Header(&out, "foothold_writer_group_events", "histogram", "Events per group commit (one WriteBatch).");
    // The exact sum of group sizes is the events committed (duplicates are
    // in groups too, so add them).
    HistogramLines(&out, "foothold_writer_group_events", "",
                   std::vector<double>(storage::kGroupSizeBounds.begin(), storage::kGroupSizeBounds.end()),
                   std::vector<uint64_t>(s.group_sizes.begin(), s.group_sizes.end()),
                   static_cast<double>(s.events_committed + s.duplicates));

    Single(&out, "foothold_rocksdb_sst_bytes", "gauge", "Total size of RocksDB's SST files.", ll(s.sst_bytes));
    Single(&out, "foothold_rocksdb_memtable_bytes", "gauge", "Size of all RocksDB memtables.", ll(s.memtable_bytes));
    Single(&out, "foothold_rocksdb_pending_compaction_bytes", "gauge",
           "RocksDB's estimate of bytes compaction still has to rewrite.", ll(s.pending_compaction_bytes));
    Single(&out, "foothold_rocksdb_running_compactions", "gauge", "RocksDB compactions running now.",
           ll(s.running_compactions));
    Single(&out, "foothold_rocksdb_block_cache_bytes", "gauge", "Bytes in RocksDB's block cache.",
           ll(s.block_cache_bytes));
    Single(&out, "foothold_rocksdb_table_readers_bytes", "gauge",
           "Memory of RocksDB's open table readers outside the block cache (filters, indexes).",
           ll(s.table_readers_bytes));

    storage::AggregatorStats a = store->aggregator_stats();
    Gauge(&out, "foothold_aggregator_lag_seconds",
          "Upper bound of the age of the oldest committed event not yet aggregated (0 when caught up).",
          static_cast<double>(a.lag_ms) / 1000.0);
    Single(&out, "foothold_aggregator_pending_events", "gauge", "Committed events not aggregated yet.",
           ll(a.pending_events));
    Single(&out, "foothold_aggregator_checkpoint_seq", "gauge", "The last aggregated journey log seq.",
           ll(a.checkpoint_seq));
    Single(&out, "foothold_aggregator_events_total", "counter", "Log records aggregated since start.",
           ll(a.events_aggregated));
    Single(&out, "foothold_aggregator_events_from_feed_total", "counter",
           "Of those, records the writer handed over in memory (not read back from the log).",
           ll(a.events_from_feed));
    Single(&out, "foothold_aggregator_batches_total", "counter", "Aggregator WriteBatches since start.",
           ll(a.batches));
    Header(&out, "foothold_aggregator_busy_seconds_total", "counter",
           "Time the aggregator spent reading, counting and committing records since start.");
    Appendf(&out, "foothold_aggregator_busy_seconds_total %.6f\n", a.busy_seconds);
    Single(&out, "foothold_aggregator_open_sessions", "gauge", "Sessions the watermark has not closed yet.",
           ll(a.open_sessions));
    Single(&out, "foothold_aggregator_sessions_closed_total", "counter", "Sessions closed since start.",
           ll(a.sessions_closed));
    Single(&out, "foothold_aggregator_failed", "gauge", "1 after an aggregator failure stopped it.",
           a.failed ? 1 : 0);
    Single(&out, "foothold_counters_generation", "gauge",
           "The counters generation answering queries (a rebuild's switch moves it).", ll(a.generation));
    Single(&out, "foothold_definitions_stale", "gauge",
           "1 while the counters were counted under other definitions than the configured ones.",
           a.definitions_stale ? 1 : 0);
    Single(&out, "foothold_rebuild_active", "gauge", "1 while a rebuild recounts the log into new counters.",
           a.rebuild.active ? 1 : 0);
    Gauge(&out, "foothold_rebuild_progress_ratio",
          "Share of the log the running rebuild has recounted (0..1; 0 when none runs).",
          a.rebuild.active ? a.rebuild.progress_ratio : 0.0);
    Single(&out, "foothold_rebuild_done_seq", "gauge", "The last log seq the running rebuild has recounted.",
           ll(a.rebuild.done_seq));
    Single(&out, "foothold_rebuild_events_total", "counter",
           "Log records the running rebuild recounted since start.", ll(a.rebuild.events));
    Gauge(&out, "foothold_rebuild_events_per_second", "The running rebuild's records per second of wall time.",
          a.rebuild.events_per_s);
    Single(&out, "foothold_rebuild_failed", "gauge", "1 after an error stopped the rebuild.",
           a.rebuild.failed ? 1 : 0);
    Single(&out, "foothold_rebuilds_completed_total", "counter", "Rebuilds switched to since start.",
           ll(a.rebuilds_completed));
    Header(&out, "foothold_conversion_events_total", "counter",
           "Occurrences of each micro/macro conversion, all time (bots excluded).");
    for (const storage::ConversionTotal& c : a.conversions) {
      Appendf(&out, "foothold_conversion_events_total{name=\"%s\",kind=\"%s\"} %llu\n", c.name.c_str(),
              c.macro ? "macro" : "micro", static_cast<unsigned long long>(c.events));
    }
    Header(&out, "foothold_conversion_sessions_total", "counter",
           "Sessions in which each conversion occurred, all time.");
    for (const storage::ConversionTotal& c : a.conversions) {
      Appendf(&out, "foothold_conversion_sessions_total{name=\"%s\",kind=\"%s\"} %llu\n", c.name.c_str(),
              c.macro ? "macro" : "micro", static_cast<unsigned long long>(c.sessions));
    }
    RenderExport(store->export_stats(), &out);
  }
  return out;
}

}  // namespace foothold::server
