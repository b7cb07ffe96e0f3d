// JSON encoding for responses and journey readback.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "proto/event.h"

namespace foothold::proto {

// Appends `s` as a JSON string literal (quoted; control characters, '"' and
// '\\' escaped; bytes >= 0x80 copied as they are, `s` must be valid UTF-8).
void AppendJsonString(std::string_view s, std::string* out);

// Appends a stored event as a JSON object: event_id, seq, received_at,
// event_time, the client fields that are present, and ip, user_agent, bot.
void AppendEventJson(const Event& e, std::string* out);

// "2025-11-20T10:05:00.000Z": ms since the epoch as RFC 3339 in UTC
// (proleptic Gregorian; years outside 0000..9999 are not supported).
std::string FormatRfc3339(int64_t ms);

}  // namespace foothold::proto
