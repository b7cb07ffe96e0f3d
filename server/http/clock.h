// Clock readings used by the HTTP layer. Header-only and tiny.
//
// Thread safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>

namespace foothold::server {

// Wall clock, ms since the epoch: received_at.
inline int64_t WallNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Monotonic clock, ns: latencies and rate-limit buckets.
inline int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace foothold::server
