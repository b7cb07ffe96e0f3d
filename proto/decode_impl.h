// Decoder::Impl, shared by the files that implement the decoder:
// decode.cc (the whole-body DOM path) and decode_lines.cc (events parsed one
// at a time: NDJSON lines and the tolerant path). Private to proto/.
//
// Thread safety: as Decoder (one per thread).
#pragma once

#include <simdjson.h>

#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proto/decode.h"
#include "proto/error_codes.h"
#include "proto/json_scan.h"
#include "proto/validate.h"

namespace foothold::proto {

namespace internal {

// After a body needing more than this, the parser and the padded copy are
// released: a DOM parser holds ~14 bytes per input byte, and one 8 MiB body
// must not pin 100+ MiB on every I/O thread for the life of the process.
inline constexpr size_t kRetainBytes = 1 << 20;

inline bool IsJsonWs(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

inline bool IsNumberError(simdjson::error_code err) {
  return err == simdjson::NUMBER_ERROR;  // 3.0.1 reports big integers as this too
}

inline constexpr char kShapeMessage[] =
    "the body must be an event object, an array of events, or {\"sent_at\": ms, \"batch\": [...]}";

}  // namespace internal

struct Decoder::Impl {
  using Span = internal::Span;
  using Member = internal::Member;
  using Problem = internal::Problem;

  explicit Impl(const Limits& l) : limits(l) {}

  Limits limits;
  simdjson::dom::parser parser;
  std::unique_ptr<char[]> buf;  // the body, followed by SIMDJSON_PADDING bytes
  size_t buf_cap = 0;
  size_t len = 0;
  DecodedBatch* out = nullptr;
  // Scratch, reused across calls.
  std::vector<std::string_view> unknown_keys;
  std::vector<Span> spans;
  std::vector<Member> members;
  std::vector<size_t> min_bytes;

  std::string_view Text() const { return {buf.get(), len}; }

  void CopyIn(std::string_view body) {
    if (buf_cap < body.size() + simdjson::SIMDJSON_PADDING) {
      buf_cap = body.size() + simdjson::SIMDJSON_PADDING;
      buf.reset(new char[buf_cap]);
    }
    if (!body.empty()) std::memcpy(buf.get(), body.data(), body.size());
    std::memset(buf.get() + body.size(), ' ', simdjson::SIMDJSON_PADDING);
    len = body.size();
  }

  void ReleaseIfLarge() {
    if (parser.capacity() > internal::kRetainBytes) parser = simdjson::dom::parser{};
    if (buf_cap > internal::kRetainBytes + simdjson::SIMDJSON_PADDING) {
      buf.reset();
      buf_cap = 0;
      len = 0;
    }
  }

  simdjson::error_code Parse(Span span, simdjson::dom::element* root) {
    return parser.parse(buf.get() + span.begin, span.size(), false).get(*root);
  }

  // --- results ---
  void Accept(Event&& e, uint32_t index) {
    out->events.push_back(std::move(e));
    out->indexes.push_back(index);
  }
  void Reject(uint32_t index, const char* code, std::string field, std::string message) {
    out->rejected.push_back(Rejection{index, code, std::move(field), std::move(message)});
  }
  void BodyFail(const char* code, std::string message) {
    out->Clear();
    out->error = BodyError{code, std::move(message)};
  }
  void FailParse(simdjson::error_code err) {
    switch (err) {
      case simdjson::UTF8_ERROR:
        return BodyFail(codes::kUtf8Invalid, "the body is not valid UTF-8");
      case simdjson::EMPTY:
        return BodyFail(codes::kBodyEmpty, "the body is empty");
      case simdjson::CAPACITY:
      case simdjson::MEMALLOC:
        return BodyFail(codes::kBodyTooLarge, "the body is too large to parse");
      case simdjson::DEPTH_ERROR:
        return BodyFail(codes::kJsonInvalid, "the body nests deeper than 1024 levels");
      default:
        return BodyFail(codes::kJsonInvalid,
                        std::string("the body is not valid JSON: ") + simdjson::error_message(err));
    }
  }
  bool TooMany(size_t n) {
    if (n <= limits.max_events) return false;
    BodyFail(codes::kTooManyEvents,
             "the request holds more than " + std::to_string(limits.max_events) + " events");
    return true;
  }
  void RejectTooLarge(uint32_t index, size_t bytes) {
    Reject(index, codes::kEventTooLarge, "",
           "the event is " + std::to_string(bytes) + " bytes of JSON; the limit is " +
               std::to_string(limits.max_event_bytes));
  }

  // --- the DOM path ---
  // False when no event of `arr` can exceed max_event_bytes, which
  // `outer_bytes` (the span holding the whole array) proves for nearly every
  // batch without scanning the input (see decode.cc).
  bool SpansNeeded(simdjson::dom::array arr, size_t outer_bytes);
  void DecodeJson(Span body);
  void DecodeObjectBody(simdjson::dom::object obj, Span body);
  void DecodeArray(simdjson::dom::array arr, size_t array_pos);
  void DecodeElement(simdjson::dom::element el, uint32_t index);
  void DecodeEvent(simdjson::dom::object obj, uint32_t index);
  bool DecodeEventObject(simdjson::dom::object obj, Event* e, Problem* p);
  bool DecodeTs(simdjson::dom::element v, Event* e, Problem* p);
  bool DecodeEngagedMs(simdjson::dom::element v, Event* e, Problem* p);
  bool DecodeExperiments(simdjson::dom::element v, Event* e, Problem* p);
  bool DecodeProps(simdjson::dom::element v, Event* e, Problem* p);

  // --- per-event parsing: NDJSON lines and the tolerant path ---
  void DecodeNdjson();
  void DecodeJsonTolerant(Span body);
  void DecodeTolerantArray(Span array);
  // Parses one event on its own. False (JSON bodies only) when the event is
  // not valid JSON, which makes the whole body invalid.
  bool DecodeStandalone(Span span, uint32_t index, bool ndjson);
  bool ParseKey(Span key, std::string* out);
  bool HasBadNumber(Span span);
  std::string LocateBadNumber(Span span);
};

}  // namespace foothold::proto
