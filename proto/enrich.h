// Enrichment helpers (proto/README.md "Enrichment"): event time, event ids, bot detection.
// IP handling is in proto/ip.h.
//
// Thread safety: pure functions, except NewEventId which uses a thread-local
// random generator (safe from any thread).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proto/event.h"

namespace foothold::proto {

struct TimePolicy {
  int64_t max_past_ms = 72LL * 3600 * 1000;  // event_time >= received_at - this (default 72 h)
  int64_t max_future_ms = 60LL * 1000;       // event_time <= received_at + this (default 1 min)
};

enum class ClampKind { kNone, kPast, kFuture };

// Sets e->received_at_ms and e->event_time_ms (and the time flags):
// event_time = ts, or received_at - (sent_at - ts) when sent_at is given, or
// received_at without ts; then clamped into the policy window.
// Returns which clamp applied so the caller can count it.
ClampKind AssignEventTime(Event* e, int64_t received_at_ms, std::optional<int64_t> sent_at_ms,
                          const TimePolicy& policy);

// A new UUIDv7 (RFC 9562) for time `now_ms`, as 36 lowercase hex chars with dashes.
std::string NewEventId(int64_t now_ms);

// True when the User-Agent belongs to a known crawler, monitoring bot, or
// headless/automated browser (or is empty).
bool IsBotUserAgent(std::string_view user_agent);

// Truncates `s` to at most `max_bytes` without splitting a UTF-8 sequence.
void TruncateUtf8(std::string* s, size_t max_bytes);
// The same cut as a view of `s` (no copy).
std::string_view Utf8Prefix(std::string_view s, size_t max_bytes);

}  // namespace foothold::proto
