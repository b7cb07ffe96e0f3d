#include "server/http/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace foothold::server {

RateLimiter::RateLimiter(double rate_per_s, double burst)
    : rate_(rate_per_s), burst_(burst > 0 ? burst : 2 * rate_per_s) {
  if (burst_ < 1) burst_ = 1;
}

bool RateLimiter::Allow(const proto::IpAddress& ip, int64_t now_ns, int* retry_after_s) {
  if (rate_ <= 0) return true;
  std::string key(reinterpret_cast<const char*>(ip.bytes.data()), ip.v6 ? 16 : 4);
  size_t h = std::hash<std::string>{}(key);
  Shard& shard = shards_[h % kShards];
  std::lock_guard<std::mutex> lock(shard.mu);

  if (shard.buckets.size() >= kSweepAt && now_ns - shard.last_sweep_ns > 1'000'000'000) {
    // Drop clients whose bucket has refilled: forgetting them changes nothing.
    shard.last_sweep_ns = now_ns;
    std::erase_if(shard.buckets, [&](const auto& kv) {
      return kv.second.tokens + (now_ns - kv.second.last_ns) / 1e9 * rate_ >= burst_;
    });
  }

  auto [it, fresh] = shard.buckets.try_emplace(std::move(key), Bucket{burst_, now_ns});
  Bucket& b = it->second;
  if (!fresh) {
    b.tokens = std::min(burst_, b.tokens + (now_ns - b.last_ns) / 1e9 * rate_);
    b.last_ns = now_ns;
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return true;
  }
  *retry_after_s = std::max(1, static_cast<int>(std::ceil((1 - b.tokens) / rate_)));
  return false;
}

}  // namespace foothold::server
