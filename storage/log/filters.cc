#include "storage/log/filters.h"

#include <chrono>
#include <string_view>
#include <utility>

#include "storage/log/keys.h"

namespace foothold::storage {

int64_t WallClockMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

DedupeExpiryFilter::DedupeExpiryFilter(int64_t window_ms, ClockFn now_ms)
    : window_ms_(window_ms), now_ms_(std::move(now_ms)) {}

bool DedupeExpiryFilter::Filter(int /*level*/, const rocksdb::Slice& /*key*/,
                                const rocksdb::Slice& value, std::string* /*new_value*/,
                                bool* /*value_changed*/) const {
  auto entry = DecodeDedupe(std::string_view(value.data(), value.size()));
  // A malformed entry can never deduplicate anything (lookups skip it), so
  // keeping it would only cost space.
  if (!entry) return true;
  return !DedupeLive(entry->received_at_ms, now_ms_(), window_ms_);
}

VisitorExpiryFilter::VisitorExpiryFilter(int64_t horizon_ms, ClockFn now_ms)
    : horizon_ms_(horizon_ms), now_ms_(std::move(now_ms)) {}

bool VisitorExpiryFilter::Filter(int /*level*/, const rocksdb::Slice& /*key*/,
                                 const rocksdb::Slice& value, std::string* /*new_value*/,
                                 bool* /*value_changed*/) const {
  auto state = DecodeVisitor(std::string_view(value.data(), value.size()));
  if (!state) return true;  // unreadable state is treated as absent on lookup too
  int64_t now = now_ms_();
  // Compare without overflow: last < now - horizon.
  return state->last_event_time_ms < now && static_cast<uint64_t>(now) -
             static_cast<uint64_t>(state->last_event_time_ms) > static_cast<uint64_t>(horizon_ms_);
}

}  // namespace foothold::storage
