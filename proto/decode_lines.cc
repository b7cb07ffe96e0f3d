// Events parsed one at a time: NDJSON lines, and the tolerant path taken when
// simdjson refused a JSON body for a number only (see decode.cc).
#include <string>
#include <vector>

#include "proto/decode_impl.h"

namespace foothold::proto {

namespace dom = simdjson::dom;
using internal::IsJsonWs;
using internal::IsNumberError;
using internal::kNoPos;
using internal::kShapeMessage;
using internal::Member;
using internal::Problem;
using internal::Span;

void Decoder::Impl::DecodeNdjson() {
  const std::string_view s = Text();
  // Lines are numbered from 0 counting every line, blank ones included, so an
  // index points at the line an editor shows (minus one). Blank lines carry
  // no event and do not count toward max_events.
  const auto for_each_line = [&](auto&& fn) {
    uint32_t line = 0;
    for (size_t pos = 0;; ++line) {
      const size_t nl = s.find('\n', pos);
      size_t b = pos, e = nl == std::string_view::npos ? s.size() : nl;
      while (b < e && IsJsonWs(s[b])) ++b;
      while (e > b && IsJsonWs(s[e - 1])) --e;
      if (b < e && !fn(Span{b, e}, line)) return;
      if (nl == std::string_view::npos) return;
      pos = nl + 1;
    }
  };
  size_t count = 0;
  for_each_line([&](Span, uint32_t) { return ++count <= limits.max_events; });
  if (TooMany(count)) return;
  for_each_line([&](Span span, uint32_t line) { return DecodeStandalone(span, line, true); });
}

bool Decoder::Impl::DecodeStandalone(Span span, uint32_t index, bool ndjson) {
  if (span.size() > limits.max_event_bytes) {
    RejectTooLarge(index, span.size());
    return true;
  }
  dom::element root;
  const auto err = Parse(span, &root);
  if (IsNumberError(err)) {
    Reject(index, codes::kNumberInvalid, LocateBadNumber(span),
           "a number is malformed or out of range (beyond 64-bit integers or doubles)");
    return true;
  }
  if (err) {
    if (!ndjson) return false;
    if (err == simdjson::UTF8_ERROR) {
      Reject(index, codes::kUtf8Invalid, "", "the line is not valid UTF-8");
    } else {
      Reject(index, codes::kJsonInvalid, "",
             std::string("the line is not valid JSON: ") + simdjson::error_message(err));
    }
    return true;
  }
  DecodeElement(root, index);
  return true;
}

// Reached when the DOM refused the body for a number only: everything else
// parsed before that point, but the rest of the body is still unvalidated, so
// every piece is parsed again on its own.
void Decoder::Impl::DecodeJsonTolerant(Span body) {
  const std::string_view s = Text().substr(0, body.end);
  const auto invalid = [this] {
    BodyFail(codes::kJsonInvalid, "the body is not valid JSON");
  };
  if (s[body.begin] == '[') return DecodeTolerantArray(body);
  if (s[body.begin] != '{') return BodyFail(codes::kBatchInvalid, kShapeMessage);
  std::vector<Member> top;  // not the shared scratch: LocateBadNumber reuses that
  const size_t end = internal::SplitObject(s, body.begin, &top);
  if (end == kNoPos || internal::SkipWs(s, end) != body.end) return invalid();
  std::string key;
  const Member* batch = nullptr;
  const Member* sent_at = nullptr;
  for (const Member& m : top) {
    if (!ParseKey(m.key, &key)) return invalid();
    if (key == "batch") {
      if (batch) return BodyFail(codes::kBatchInvalid, "batch is given twice");
      batch = &m;
    } else if (key == "sent_at") {
      if (sent_at) return BodyFail(codes::kSentAtInvalid, "sent_at is given twice");
      sent_at = &m;
    }
  }
  if (!batch) {
    if (!DecodeStandalone(body, 0, false)) invalid();
    return;
  }
  for (const Member& m : top) {
    if (&m == batch) continue;
    dom::element v;
    const auto err = Parse(m.value, &v);
    if (&m == sent_at) {
      int64_t ms = 0;
      if (IsNumberError(err) ||
          (!err && !v.is_null() &&
           (v.type() != dom::element_type::INT64 || v.get(ms) != simdjson::SUCCESS || ms < 0 ||
            ms > internal::kMaxTimeMs))) {
        return BodyFail(codes::kSentAtInvalid,
                        "sent_at must be integer ms since the epoch (1970..9999)");
      }
      if (!err && !v.is_null()) out->sent_at_ms = ms;
    }
    // An unknown member is ignored even when its number is out of range.
    if (err && !IsNumberError(err)) return invalid();
  }
  if (s[batch->value.begin] != '[') {
    dom::element v;
    const auto err = Parse(batch->value, &v);
    if (err && !IsNumberError(err)) return invalid();
    return BodyFail(codes::kBatchInvalid, "batch must be an array of events");
  }
  DecodeTolerantArray(batch->value);
}

void Decoder::Impl::DecodeTolerantArray(Span array) {
  const std::string_view s = Text().substr(0, array.end);
  std::vector<Span> items;
  const size_t end = internal::SplitArray(s, array.begin, &items);
  if (end == kNoPos || internal::SkipWs(s, end) != array.end) {
    return BodyFail(codes::kJsonInvalid, "the body is not valid JSON");
  }
  if (TooMany(items.size())) return;
  if (items.empty()) return BodyFail(codes::kBodyEmpty, "the batch holds no events");
  for (size_t i = 0; i < items.size(); ++i) {
    if (!DecodeStandalone(items[i], static_cast<uint32_t>(i), false)) {
      return BodyFail(codes::kJsonInvalid, "the body is not valid JSON");
    }
  }
}

// key: a string token, quotes included.
bool Decoder::Impl::ParseKey(Span key, std::string* out_key) {
  const std::string_view raw = Text().substr(key.begin + 1, key.size() - 2);
  if (raw.find('\\') == std::string_view::npos) {
    out_key->assign(raw);
    return true;
  }
  dom::element v;
  std::string_view unescaped;
  if (Parse(key, &v) != simdjson::SUCCESS || v.get(unescaped) != simdjson::SUCCESS) return false;
  out_key->assign(unescaped);
  return true;
}

// One parse of the whole value: a member value is itself a JSON value, and
// simdjson fails it with a number error iff a number inside is refused. (A
// parse per numeric token was quadratic-ish work on hostile bodies.)
bool Decoder::Impl::HasBadNumber(Span span) {
  dom::element v;
  return IsNumberError(Parse(span, &v));
}

// The field ("ts", "props.price") holding the number simdjson refused, or ""
// when it cannot be told (the event is then rejected as a whole).
std::string Decoder::Impl::LocateBadNumber(Span span) {
  std::vector<Member> fields;
  if (internal::SplitObject(Text(), span.begin, &fields) == kNoPos) return "";
  std::string key, inner_key;
  for (const Member& m : fields) {
    if (!HasBadNumber(m.value)) continue;
    if (!ParseKey(m.key, &key)) return "";
    std::vector<Member> inner;
    if (Text()[m.value.begin] == '{' &&
        internal::SplitObject(Text(), m.value.begin, &inner) != kNoPos) {
      for (const Member& im : inner) {
        if (HasBadNumber(im.value) && ParseKey(im.key, &inner_key)) {
          return internal::SubField(key, inner_key);
        }
      }
    }
    return internal::SubField("", key).substr(1);
  }
  return "";
}

}  // namespace foothold::proto
