// RateLimiter: a token bucket per client IP (http.rate_limit requests/s,
// http.rate_limit_burst tokens). Over the limit: 429 with Retry-After.
//
// Thread safety: Allow may be called from any thread; state is sharded by
// address with one mutex per shard, so I/O threads rarely contend.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "proto/ip.h"

namespace foothold::server {

class RateLimiter {
 public:
  // rate <= 0 disables the limiter (Allow always true).
  RateLimiter(double rate_per_s, double burst);

  // Takes one token for `ip` at steady time `now_ns`. False: over the limit;
  // *retry_after_s is then the whole seconds until a token is available (>= 1).
  bool Allow(const proto::IpAddress& ip, int64_t now_ns, int* retry_after_s);

  bool enabled() const { return rate_ > 0; }

 private:
  struct Bucket {
    double tokens;
    int64_t last_ns;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Bucket> buckets;
    int64_t last_sweep_ns = 0;
  };
  static constexpr size_t kShards = 16;
  // A shard sweeps out buckets that are full again (idle clients) once it holds this many.
  static constexpr size_t kSweepAt = 4096;

  double rate_;
  double burst_;
  std::array<Shard, kShards> shards_;
};

}  // namespace foothold::server
