// Metrics: process-wide counters and histograms, rendered in the Prometheus
// text exposition format by Render().
//
// Thread safety: every Record*/Add* method may be called from any thread
// (relaxed atomics); Render may run concurrently with them and sees a
// slightly stale but consistent-enough view, as Prometheus expects.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

#include "proto/error_codes.h"

namespace foothold::storage {
class EventStore;
}

namespace foothold::server {

enum class Route {
  kCollect, kPixel, kPreflight, kSessions, kStats, kHealthz, kReadyz, kMetrics, kAsset, kSegment, kPrivacy, kOther, kCount
};

class Metrics {
 public:
  Metrics();

  void RecordRequest(Route route, int status, double seconds);
  void AddEvents(uint64_t accepted, uint64_t duplicates);
  void AddRejected(std::string_view code, uint64_t n = 1);
  void AddClamped(bool future);
  void AddSkewCorrected(uint64_t n);
  void AddBots(uint64_t n);
  // Segment properties/traits left out by the mapping rules (proto/segment.h).
  void AddPropsDropped(uint64_t n);
  void ConnectionOpened() { connections_active_.fetch_add(1, std::memory_order_relaxed); connections_total_.fetch_add(1, std::memory_order_relaxed); }
  void ConnectionClosed() { connections_active_.fetch_sub(1, std::memory_order_relaxed); }
  void ConnectionRefused() { connections_refused_.fetch_add(1, std::memory_order_relaxed); }
  int64_t connections_active() const { return connections_active_.load(std::memory_order_relaxed); }

  // The whole exposition; `store` (may be null) adds writer and RocksDB figures.
  std::string Render(const storage::EventStore* store, bool draining) const;

  // Rejection counters: one per error code (proto/error_codes.h, kCodeStatuses), plus "other".
  static constexpr size_t kCodeSlots = std::size(proto::codes::kCodeStatuses) + 1;

 private:
  static constexpr size_t kStatusSlots = 14;  // see StatusSlot()
  static constexpr size_t kBuckets = 14;      // latency histogram upper bounds

  struct RouteStats {
    std::array<std::atomic<uint64_t>, kStatusSlots> by_status{};
    std::array<std::atomic<uint64_t>, kBuckets + 1> latency{};  // last: +Inf
    std::atomic<uint64_t> latency_sum_us{0};
  };

  std::array<RouteStats, static_cast<size_t>(Route::kCount)> routes_;
  std::atomic<uint64_t> events_accepted_{0}, events_duplicate_{0};
  std::array<std::atomic<uint64_t>, kCodeSlots> rejected_{};
  std::atomic<uint64_t> clamped_past_{0}, clamped_future_{0}, skew_corrected_{0}, bots_{0}, props_dropped_{0};
  std::atomic<int64_t> connections_active_{0};
  std::atomic<uint64_t> connections_total_{0}, connections_refused_{0};
};

}  // namespace foothold::server
