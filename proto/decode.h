// Decoding and validation of beacon bodies (DESIGN.md §4.1) and pixel query
// strings (§4.2) into Events.
//
// A Decoder owns a reusable simdjson parser and scratch buffers. It is NOT
// thread-safe: keep one per I/O thread (thread_local) and reuse it. All
// decoded Events own their bytes, so they may leave the thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/event.h"

namespace foothold::proto {

struct Limits {
  size_t max_events = 500;                 // events in one request; more: 413 too_many_events
  size_t max_event_bytes = 32 * 1024;      // JSON bytes of one event; more: event_too_large
  size_t max_body_bytes = 8 * 1024 * 1024; // decoded (decompressed) body; more: 413 body_too_large
};

enum class BodyFormat { kJson, kNdjson };

// A per-event rejection. `index` is the event's position in the batch (0-based;
// the line number, 0-based, for NDJSON). `field` names the offending field
// ("" when the event as a whole is at fault, "props.color" for a prop).
struct Rejection {
  uint32_t index = 0;
  std::string code;
  std::string field;
  std::string message;
};

// A failure of the body as a whole: nothing in it can be used.
struct BodyError {
  int http_status = 400;  // 400 or 413
  std::string code;
  std::string message;
};

struct DecodedBatch {
  std::vector<Event> events;            // valid events, in input order
  std::vector<uint32_t> indexes;        // indexes[i]: batch position of events[i]
  std::vector<Rejection> rejected;      // in input order
  std::optional<int64_t> sent_at_ms;    // from {"sent_at": ..., "batch": [...]}
  std::optional<BodyError> error;       // set: events and rejected are empty

  void Clear();
};

class Decoder {
 public:
  explicit Decoder(const Limits& limits);
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Decodes `body` (any of the four shapes of §4.1; NDJSON when format is
  // kNdjson) and validates every event. *out is cleared first. Only client
  // fields are set; enrichment is the caller's. `body` needs no padding: the
  // decoder copies into its own padded buffer when needed.
  void DecodeBody(std::string_view body, BodyFormat format, DecodedBatch* out);

  // Decodes a pixel query string (the part after '?', still percent-encoded):
  // e, sid, aid, uid, eid, ts, u, r, em, p.<key>, x.<experiment>. Produces
  // one event or one rejection (index 0), with the same rules as JSON.
  void DecodeQuery(std::string_view query, DecodedBatch* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace foothold::proto
