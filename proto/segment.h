// Segment-compatible messages (analytics.js, analytics-next, analytics-node,
// RudderStack, Jitsu): the JSON of one call or of a batch, mapped into the
// same Events the native decoder produces, validated by the same rules.
// proto/README.md ("Segment mapping") is the field-by-field contract.
//
// Decoding runs on proto::Decoder (proto/decode.h), so it shares the
// per-thread parser: NOT thread-safe, one Decoder per thread. Every decoded
// value owns its bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/decode.h"

namespace foothold::proto {

// The call a body holds: one message of a type (/v1/track, /v1/t, ...) or a
// batch ({"batch": [...]}: /v1/batch, /v1/b, /beacon/v1/batch), whose
// messages each name their own `type`.
enum class SegmentCall { kBatch, kTrack, kPage, kScreen, kIdentify, kGroup, kAlias };

struct SegmentLimits {
  size_t max_message_bytes = 32 * 1024;  // one message's JSON; more: message_too_large
  size_t max_batch_bytes = 500 * 1000;   // the (decompressed) body; more: 413 body_too_large
  size_t max_events = 500;               // messages in one batch; more: 413 too_many_events
};

// What a handler needs about a message beside its Event.
struct SegmentMessage {
  // The message's sentAt, else the batch's: Segment's clock correction
  // event_time = received_at - (sent_at - ts).
  std::optional<int64_t> sent_at_ms;
  // True when the client time came from `timestamp` and there was no
  // `originalTimestamp`: a server library's explicit time, which a server
  // source keeps as sent (no sentAt correction).
  bool explicit_timestamp = false;
  std::string context_ip;          // context.ip as sent ("" = absent), unparsed
  std::string context_user_agent;  // context.userAgent as sent, valid UTF-8
};

struct SegmentBatch {
  // events, indexes, rejected and error as for native bodies; indexes and
  // Rejection::index count messages of the batch (0 for a single call).
  DecodedBatch decoded;
  std::vector<SegmentMessage> messages;  // messages[i] belongs to decoded.events[i]
  std::string write_key;                 // the body's writeKey ("" = absent)
  uint64_t props_dropped = 0;            // properties/traits left out by the mapping rules

  void Clear();
};

// Decodes `body` as `call` into *out (cleared first). Body-level failures
// (not JSON, not an object, over max_batch_bytes, too many messages) set
// out->decoded.error; a message that cannot be mapped is a Rejection and the
// others stand. Properties never reject a message: nested objects flatten to
// dotted keys, arrays are kept as their JSON text, what still does not fit
// the prop rules is dropped (counted in props_dropped).
void DecodeSegment(Decoder* decoder, std::string_view body, SegmentCall call,
                   const SegmentLimits& limits, SegmentBatch* out);

}  // namespace foothold::proto
