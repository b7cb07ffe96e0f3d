// Decoding and validation of beacon bodies and pixel query strings into
// Events (proto/README.md "Bodies", "Pixel query strings").
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

// What the decoder accepts. The server fills it from config [limits]:
// max_decoded_bytes is limits.max_decompressed_bytes, the body after any
// gunzip; the body as sent (limits.max_body_bytes) is the HTTP layer's limit.
struct Limits {
  size_t max_events = 500;                     // events in one request; more: 413 too_many_events
  size_t max_event_bytes = 32 * 1024;          // JSON bytes of one event; more: event_too_large
  size_t max_decoded_bytes = 8 * 1024 * 1024;  // decoded (decompressed) body; more: 413 body_too_large
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
  std::string code;  // its HTTP status: codes::HttpStatusFor(code), 400 or 413
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

// The event name rule (README "Event fields"): 1-128 bytes of printable UTF-8,
// no C0/C1 control characters or DEL. `name` must be valid UTF-8 already.
// Shared with the config loader so `event = "Product Added"` in a definition
// follows the same rule as the events it counts.
bool IsEventName(std::string_view name);

enum class SegmentCall;  // proto/segment.h
struct SegmentLimits;
struct SegmentBatch;

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
  //
  // Contract details a caller (and the README) can rely on:
  //  - JSON: an object with a "batch" key is a {"sent_at", "batch"} envelope,
  //    any other object is one event. An empty array/batch is body_empty.
  //  - NDJSON: Rejection::index / indexes are 0-based line numbers counting
  //    EVERY line, blank ones included ("\n\n{...}" puts the event at 2).
  //    Blank lines carry no event and do not count toward max_events. A bad
  //    line is a per-line json_invalid / utf8_invalid; the other lines stand.
  //  - max_event_bytes is the event's raw JSON byte span in the body (the
  //    NDJSON line without surrounding whitespace).
  //  - Invalid UTF-8 anywhere in a JSON body is BodyError utf8_invalid; more
  //    than 1024 levels of nesting is json_invalid.
  //  - A number simdjson cannot hold (1e400, integers beyond 64 bits) rejects
  //    only its event, as number_invalid with the field ("props.price").
  //    ts/engaged_ms that parse but are out of range (or not integers) get
  //    the field's own code (ts_invalid / engaged_ms_invalid).
  //  - null for an optional field means absent (`"user_id": null`).
  //  - Ids (anonymous_id, user_id, event_id) may be any UTF-8 but not control
  //    characters (field_invalid); session_id is printable ASCII only.
  //  - A leading UTF-8 byte order mark is ignored.
  // After a body above ~1 MiB the parser's memory is released, so one large
  // request does not pin ~14x its size on the thread.
  void DecodeBody(std::string_view body, BodyFormat format, DecodedBatch* out);

  // Decodes a pixel query string (the part after '?', still percent-encoded):
  // e, sid, aid, uid, eid, ts, u, r, em, p.<key>, x.<experiment>. Produces
  // one event or one rejection (index 0), with the same rules as JSON, plus:
  //  - '+' is a space; a malformed %-escape is field_invalid; a value (or key)
  //    that decodes to invalid UTF-8 is utf8_invalid.
  //  - An empty value (`uid=`) means absent for the fixed keys; `p.k=` is a
  //    prop with the empty string.
  //  - p.<key> values are always strings: no type inference ("007" and "true"
  //    stay strings). ts is digits (ms) or RFC 3339 (encode '+' as %2B); em is
  //    digits.
  //  - Unknown keys (cache busters such as `_=123`) are ignored; a known key
  //    given twice is duplicate_key.
  void DecodeQuery(std::string_view query, DecodedBatch* out);

 private:
  // proto/segment.cc maps Segment messages with the same parser and rules.
  friend void DecodeSegment(Decoder* decoder, std::string_view body, SegmentCall call,
                            const SegmentLimits& limits, SegmentBatch* out);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace foothold::proto
