// Body decoding: shapes, limits, and the JSON → Event mapping.
//
// The fast path parses the whole body once with simdjson's DOM (strict: every
// byte is validated, including values of fields we ignore) and walks it. Two
// things the DOM cannot tell are found with the structure scanner of
// proto/json_scan.h, and only when needed:
//  - where each event sits in the input, to enforce max_event_bytes — skipped
//    whenever the whole body is within that limit, i.e. nearly always;
//  - which event holds a number simdjson refuses (1e400, 2^70): the body is
//    then split into events that are parsed one by one, so that one bad
//    number rejects one event, not the batch (the "tolerant" path).
// NDJSON is always parsed line by line, so a bad line costs only that line.
#include "proto/decode.h"

#include <algorithm>
#include <utility>

#include "proto/decode_impl.h"

namespace foothold::proto {

namespace dom = simdjson::dom;
using internal::Field;
using internal::IsJsonWs;
using internal::IsNumberError;
using internal::kNoPos;
using internal::kShapeMessage;
using internal::Problem;
using internal::Span;

void DecodedBatch::Clear() {
  events.clear();
  indexes.clear();
  rejected.clear();
  sent_at_ms.reset();
  error.reset();
}

// ---------------------------------------------------------------------------
// The DOM path.

namespace {

// A lower bound on the bytes of `el` as JSON text: its strings (unescaped,
// never longer than escaped) with quotes, one byte a number, the literals,
// brackets, colons and commas; no whitespace. Walks the DOM tape, which is
// ~10x cheaper than scanning the input bytes for the exact span.
size_t MinJsonBytes(dom::element el) {
  switch (el.type()) {
    case dom::element_type::STRING: return el.get_string().value_unsafe().size() + 2;
    case dom::element_type::BOOL: return el.get_bool().value_unsafe() ? 4 : 5;
    case dom::element_type::NULL_VALUE: return 4;
    case dom::element_type::ARRAY: {
      size_t n = 2, count = 0;
      const dom::array arr = el.get_array().value_unsafe();
      for (dom::element v : arr) {
        n += MinJsonBytes(v);
        ++count;
      }
      return n + (count > 0 ? count - 1 : 0);
    }
    case dom::element_type::OBJECT: {
      size_t n = 2, count = 0;
      const dom::object obj = el.get_object().value_unsafe();
      for (dom::key_value_pair kv : obj) {
        n += kv.key.size() + 3 + MinJsonBytes(kv.value);  // "key":
        ++count;
      }
      return n + (count > 0 ? count - 1 : 0);
    }
    default: return 1;  // a number has at least one digit
  }
}

}  // namespace

// Every event's span is at most the outer span minus the bytes the other
// events and the commas between them occupy at least. When that bound keeps
// every event within the limit, which holds unless one event dominates a big
// body, the exact spans (a scan of every input byte, a quarter of the decoding
// cost of a 33 KB batch in profiles) are not needed.
bool Decoder::Impl::SpansNeeded(dom::array arr, size_t outer_bytes) {
  if (arr.size() > limits.max_events) return false;  // refused whole: no event is looked at
  min_bytes.clear();
  size_t sum = 0;
  for (dom::element el : arr) {
    min_bytes.push_back(MinJsonBytes(el));
    sum += min_bytes.back();
  }
  if (min_bytes.empty()) return false;
  const size_t commas = min_bytes.size() - 1;
  if (sum + commas > outer_bytes) return true;  // cannot happen on valid input: stay exact
  const size_t slack = outer_bytes - sum - commas;
  for (size_t m : min_bytes) {
    if (m + slack > limits.max_event_bytes) return true;
  }
  return false;
}

void Decoder::Impl::DecodeJson(Span body) {
  dom::element root;
  const auto err = Parse(body, &root);
  if (IsNumberError(err)) return DecodeJsonTolerant(body);
  if (err) return FailParse(err);
  // Event spans are only needed when some event could exceed the limit.
  const bool need_spans = body.size() > limits.max_event_bytes;
  switch (root.type()) {
    case dom::element_type::ARRAY: {
      const dom::array arr = root.get_array().value_unsafe();
      return DecodeArray(arr, need_spans && SpansNeeded(arr, body.size()) ? body.begin : kNoPos);
    }
    case dom::element_type::OBJECT:
      return DecodeObjectBody(root.get_object().value_unsafe(), body);
    default:
      return BodyFail(codes::kBatchInvalid, kShapeMessage);
  }
}

// An object with a "batch" key is an envelope; any other object is one event.
void Decoder::Impl::DecodeObjectBody(dom::object obj, Span body) {
  dom::element batch, sent_at;
  int batch_count = 0, sent_at_count = 0;
  size_t batch_member = 0, i = 0;
  for (dom::key_value_pair kv : obj) {
    if (kv.key == "batch") {
      if (batch_count++ == 0) {
        batch = kv.value;
        batch_member = i;
      }
    } else if (kv.key == "sent_at") {
      if (sent_at_count++ == 0) sent_at = kv.value;
    }
    ++i;
  }
  if (batch_count == 0) {
    if (body.size() > limits.max_event_bytes) return RejectTooLarge(0, body.size());
    return DecodeEvent(obj, 0);
  }
  if (batch_count > 1) return BodyFail(codes::kBatchInvalid, "batch is given twice");
  if (sent_at_count > 1) return BodyFail(codes::kSentAtInvalid, "sent_at is given twice");
  if (sent_at_count == 1 && !sent_at.is_null()) {
    int64_t ms = 0;
    if (sent_at.type() != dom::element_type::INT64 || sent_at.get(ms) != simdjson::SUCCESS ||
        ms < 0 || ms > internal::kMaxTimeMs) {
      return BodyFail(codes::kSentAtInvalid,
                      "sent_at must be integer ms since the epoch (1970..9999)");
    }
    out->sent_at_ms = ms;
  }
  dom::array arr;
  if (batch.get(arr) != simdjson::SUCCESS) {
    return BodyFail(codes::kBatchInvalid, "batch must be an array of events");
  }
  size_t array_pos = kNoPos;
  if (body.size() > limits.max_event_bytes && SpansNeeded(arr, body.size())) {
    // The DOM and the scanner see members in the same order, so the batch's
    // member index finds its value without unescaping any key.
    members.clear();
    if (internal::SplitObject(Text(), body.begin, &members) != kNoPos &&
        batch_member < members.size()) {
      array_pos = members[batch_member].value.begin;
    }
  }
  DecodeArray(arr, array_pos);
}

// array_pos: where the array starts in the input when event sizes must be
// checked, else kNoPos.
void Decoder::Impl::DecodeArray(dom::array arr, size_t array_pos) {
  const size_t n = arr.size();
  if (TooMany(n)) return;
  if (n == 0) return BodyFail(codes::kBodyEmpty, "the batch holds no events");
  bool have_spans = false;
  if (array_pos != kNoPos) {
    spans.clear();
    // Exact on input simdjson accepted; the size check is belt and braces.
    have_spans = internal::SplitArray(Text(), array_pos, &spans) != kNoPos && spans.size() == n;
  }
  out->events.reserve(n);
  out->indexes.reserve(n);
  uint32_t index = 0;
  for (dom::element el : arr) {
    if (have_spans && spans[index].size() > limits.max_event_bytes) {
      RejectTooLarge(index, spans[index].size());
    } else {
      DecodeElement(el, index);
    }
    ++index;
  }
}

void Decoder::Impl::DecodeElement(dom::element el, uint32_t index) {
  dom::object obj;
  if (el.get(obj) != simdjson::SUCCESS) {
    return Reject(index, codes::kEventNotObject, "", "each event must be a JSON object");
  }
  DecodeEvent(obj, index);
}

void Decoder::Impl::DecodeEvent(dom::object obj, uint32_t index) {
  Event e;
  Problem p;
  if (DecodeEventObject(obj, &e, &p)) {
    Accept(std::move(e), index);
  } else {
    Reject(index, p.code, std::move(p.field), std::move(p.message));
  }
}

bool Decoder::Impl::DecodeEventObject(dom::object obj, Event* e, Problem* p) {
  uint32_t seen = 0;
  unknown_keys.clear();
  for (dom::key_value_pair kv : obj) {
    const Field f = internal::LookupField(kv.key);
    if (f == Field::kUnknown) {
      unknown_keys.push_back(kv.key);
      continue;
    }
    const uint32_t bit = 1u << static_cast<unsigned>(f);
    if (seen & bit) {
      return internal::Fail(p, codes::kDuplicateKey, internal::FieldName(f),
                            std::string(internal::FieldName(f)) + " is given twice");
    }
    seen |= bit;
    const dom::element v = kv.value;
    if (v.is_null()) continue;  // null means absent: JS clients send `user_id: null`
    bool ok = true;
    switch (f) {
      case Field::kTs: ok = DecodeTs(v, e, p); break;
      case Field::kEngagedMs: ok = DecodeEngagedMs(v, e, p); break;
      case Field::kExperiments: ok = DecodeExperiments(v, e, p); break;
      case Field::kProps: ok = DecodeProps(v, e, p); break;
      default: {
        std::string_view s;
        if (v.get(s) != simdjson::SUCCESS) {
          return internal::Fail(p, codes::kFieldType, internal::FieldName(f),
                                std::string(internal::FieldName(f)) + " must be a string");
        }
        ok = internal::SetStringField(f, s, e, p);
        break;
      }
    }
    if (!ok) return false;
  }
  // Unknown fields are ignored, but a repeated one still makes the object
  // ambiguous. Sorting is cheap: most events have no unknown field at all.
  if (unknown_keys.size() > 1) {
    std::sort(unknown_keys.begin(), unknown_keys.end());
    const auto dup = std::adjacent_find(unknown_keys.begin(), unknown_keys.end());
    if (dup != unknown_keys.end()) {
      return internal::Fail(p, codes::kDuplicateKey, internal::SubField("", *dup).substr(1),
                            "a field is given twice");
    }
  }
  return internal::FinishEvent(*e, p);
}

bool Decoder::Impl::DecodeTs(dom::element v, Event* e, Problem* p) {
  switch (v.type()) {
    case dom::element_type::INT64:
      return internal::SetTsMs(v.get_int64().value_unsafe(), e, p);
    case dom::element_type::UINT64:
      return internal::Fail(p, codes::kTsInvalid, "ts", "ts is out of range");
    case dom::element_type::DOUBLE:
      return internal::Fail(p, codes::kTsInvalid, "ts", "ts must be an integer number of ms");
    case dom::element_type::STRING:
      return internal::SetTsString(v.get_string().value_unsafe(), e, p);
    default:
      return internal::Fail(p, codes::kFieldType, "ts",
                            "ts must be integer ms or an RFC 3339 string");
  }
}

bool Decoder::Impl::DecodeEngagedMs(dom::element v, Event* e, Problem* p) {
  switch (v.type()) {
    case dom::element_type::INT64:
      return internal::SetEngagedMs(v.get_int64().value_unsafe(), e, p);
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE:
      return internal::Fail(p, codes::kEngagedMsInvalid, "engaged_ms",
                            "engaged_ms must be an integer from 0 to 86400000");
    default:
      return internal::Fail(p, codes::kFieldType, "engaged_ms", "engaged_ms must be a number");
  }
}

bool Decoder::Impl::DecodeExperiments(dom::element v, Event* e, Problem* p) {
  dom::object obj;
  if (v.get(obj) != simdjson::SUCCESS) {
    return internal::Fail(p, codes::kExperimentsInvalid, "experiments",
                          "experiments must be an object of experiment name to variant");
  }
  if (obj.size() > internal::kMaxExperiments) {
    return internal::Fail(p, codes::kExperimentsInvalid, "experiments",
                          "experiments has more than 32 entries");
  }
  for (dom::key_value_pair kv : obj) {
    std::string_view variant;
    if (kv.value.get(variant) != simdjson::SUCCESS) {
      return internal::Fail(p, codes::kExperimentsInvalid, internal::SubField("experiments", kv.key),
                            "an experiment's variant must be a string");
    }
    if (!internal::AddExperiment(kv.key, variant, e, p)) return false;
  }
  return true;
}

bool Decoder::Impl::DecodeProps(dom::element v, Event* e, Problem* p) {
  dom::object obj;
  if (v.get(obj) != simdjson::SUCCESS) {
    return internal::Fail(p, codes::kPropsInvalid, "props", "props must be an object");
  }
  if (obj.size() > internal::kMaxProps) {
    return internal::Fail(p, codes::kPropsTooMany, "props",
                          "props has " + std::to_string(obj.size()) + " keys; the limit is 32");
  }
  e->props.reserve(obj.size());
  for (dom::key_value_pair kv : obj) {
    if (!internal::CheckPropKey(kv.key, p)) return false;
    Prop prop;
    prop.key.assign(kv.key);
    const dom::element pv = kv.value;
    switch (pv.type()) {
      case dom::element_type::NULL_VALUE:
        prop.type = PropType::kNull;
        break;
      case dom::element_type::BOOL:
        prop.type = PropType::kBool;
        prop.boolean = pv.get_bool().value_unsafe();
        break;
      case dom::element_type::INT64:
      case dom::element_type::UINT64:
      case dom::element_type::DOUBLE:
        // simdjson refuses non-finite numbers, so the value is finite.
        prop.type = PropType::kNumber;
        prop.number = pv.get_double().value_unsafe();
        break;
      case dom::element_type::STRING:
        prop.type = PropType::kString;
        prop.str.assign(pv.get_string().value_unsafe());
        break;
      default:
        return internal::Fail(p, codes::kPropsNested, internal::SubField("props", kv.key),
                              "prop values must be a string, number, bool or null, "
                              "not an object or array");
    }
    if (!internal::AddProp(std::move(prop), e, p)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------

Decoder::Decoder(const Limits& limits) : impl_(std::make_unique<Impl>(limits)) {}
Decoder::~Decoder() = default;

void Decoder::DecodeBody(std::string_view body, BodyFormat format, DecodedBatch* out) {
  out->Clear();
  Impl& im = *impl_;
  im.out = out;
  if (body.size() > im.limits.max_decoded_bytes) {
    return im.BodyFail(codes::kBodyTooLarge,
                       "the body is " + std::to_string(body.size()) + " bytes; the limit is " +
                           std::to_string(im.limits.max_decoded_bytes));
  }
  // RFC 8259 lets a parser ignore a byte order mark; some clients send one.
  if (body.size() >= 3 && body.compare(0, 3, "\xEF\xBB\xBF") == 0) body.remove_prefix(3);
  size_t b = 0, e = body.size();
  while (b < e && IsJsonWs(body[b])) ++b;
  while (e > b && IsJsonWs(body[e - 1])) --e;
  if (b == e) return im.BodyFail(codes::kBodyEmpty, "the body is empty");
  im.CopyIn(body);
  if (format == BodyFormat::kNdjson) {
    im.DecodeNdjson();
  } else {
    im.DecodeJson(Span{b, e});
  }
  im.ReleaseIfLarge();
}

}  // namespace foothold::proto
