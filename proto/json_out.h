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

}  // namespace foothold::proto
