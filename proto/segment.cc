// Segment messages → Events (see proto/segment.h; the contract is the
// "Segment mapping" table of proto/README.md).
//
// The body is parsed once with the decoder's DOM parser; every field an Event
// has goes through the same validate.h rules as the native decoder. What
// differs is only the mapping: Segment's names and nesting, and leniency for
// properties/traits, which an SDK fills with whatever the app has (nested
// objects, arrays, long strings) and which must never cost the event.
#include "proto/segment.h"

#include <array>
#include <cstdio>
#include <utility>

#include "proto/decode_impl.h"
#include "proto/enrich.h"
#include "proto/siphash.h"

namespace foothold::proto {

namespace dom = simdjson::dom;
using internal::Field;
using internal::kNoPos;
using internal::Problem;
using internal::Span;

void SegmentBatch::Clear() {
  decoded.Clear();
  messages.clear();
  write_key.clear();
  props_dropped = 0;
}

namespace {

// Nesting kept as dotted keys down to this depth; deeper objects are kept as
// their JSON text, like arrays.
constexpr int kMaxFlattenDepth = 4;

const char* EventNameOf(SegmentCall call) {
  switch (call) {
    case SegmentCall::kPage: return "page_view";
    case SegmentCall::kScreen: return "screen_view";
    case SegmentCall::kIdentify: return "identify";
    case SegmentCall::kGroup: return "group";
    case SegmentCall::kAlias: return "alias";
    case SegmentCall::kTrack:
    case SegmentCall::kBatch: break;
  }
  return "";
}

bool CallOfType(std::string_view type, SegmentCall* call) {
  static constexpr std::pair<std::string_view, SegmentCall> kTypes[] = {
      {"track", SegmentCall::kTrack},       {"page", SegmentCall::kPage},
      {"screen", SegmentCall::kScreen},     {"identify", SegmentCall::kIdentify},
      {"group", SegmentCall::kGroup},       {"alias", SegmentCall::kAlias}};
  for (const auto& [name, c] : kTypes) {
    if (type == name) {
      *call = c;
      return true;
    }
  }
  return false;
}

// A member of `obj`, or an element of type NULL_VALUE-free "absent" (false).
bool Member(dom::object obj, std::string_view key, dom::element* out) {
  if (obj.at_key(key).get(*out) != simdjson::SUCCESS) return false;
  return !out->is_null();
}

bool StringMember(dom::object obj, std::string_view key, std::string_view* out) {
  dom::element v;
  return Member(obj, key, &v) && v.get(*out) == simdjson::SUCCESS;
}

bool ObjectMember(dom::object obj, std::string_view key, dom::object* out) {
  dom::element v;
  return Member(obj, key, &v) && v.get(*out) == simdjson::SUCCESS;
}

// A Segment time: an ISO 8601 / RFC 3339 string (what every SDK sends) or
// integer ms. Anything else, or out of 1970..9999, is "no time": Segment
// itself falls back to its receive time rather than dropping the message.
std::optional<int64_t> TimeMember(dom::object obj, std::string_view key) {
  dom::element v;
  if (!Member(obj, key, &v)) return std::nullopt;
  int64_t ms = 0;
  std::string_view text;
  if (v.get(text) == simdjson::SUCCESS) {
    if (!internal::ParseRfc3339(text, &ms)) return std::nullopt;
  } else if (v.type() != dom::element_type::INT64 || v.get(ms) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  if (ms < 0 || ms > internal::kMaxTimeMs) return std::nullopt;
  return ms;
}

// anonymousId / userId / groupId / previousId: a string, or an integer that
// SDKs and apps send as a number ("userId": 42).
enum class IdKind { kAbsent, kOk, kBadType };
IdKind IdMember(dom::object obj, std::string_view key, std::string* out) {
  dom::element v;
  if (!Member(obj, key, &v)) return IdKind::kAbsent;
  std::string_view s;
  int64_t i = 0;
  uint64_t u = 0;
  if (v.get(s) == simdjson::SUCCESS) {
    if (s.empty()) return IdKind::kAbsent;  // "" is what an unset id looks like
    out->assign(s);
  } else if (v.get(i) == simdjson::SUCCESS) {
    *out = std::to_string(i);
  } else if (v.get(u) == simdjson::SUCCESS) {
    *out = std::to_string(u);
  } else {
    return IdKind::kBadType;
  }
  return IdKind::kOk;
}

// messageId → event_id. Ids over the 64-byte limit (some SDKs prefix a UUID
// with a long library tag) are replaced by a 128-bit keyed hash of the id:
// still stable across retries, so dedupe keeps working.
std::string EventIdOf(std::string_view message_id) {
  if (message_id.size() <= internal::kMaxEventId) return std::string(message_id);
  static constexpr internal::SipKey kKeyA = {'f', 'o', 'o', 't', 'h', 'o', 'l', 'd',
                                             's', 'e', 'g', 'm', 'e', 'n', 't', '1'};
  static constexpr internal::SipKey kKeyB = {'f', 'o', 'o', 't', 'h', 'o', 'l', 'd',
                                             's', 'e', 'g', 'm', 'e', 'n', 't', '2'};
  char buf[40];
  std::snprintf(buf, sizeof buf, "sh:%016llx%016llx",
                static_cast<unsigned long long>(
                    internal::SipHash24(kKeyA, message_id.data(), message_id.size())),
                static_cast<unsigned long long>(
                    internal::SipHash24(kKeyB, message_id.data(), message_id.size())));
  return buf;
}

bool IsPropKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

// Properties and traits → props, leniently (proto/README.md):
//  - nested objects flatten to dotted keys ("product.sku"), 4 levels deep;
//  - arrays (and deeper objects) are kept as their compact JSON text when it
//    fits the 512-byte string limit, else dropped;
//  - other strings over 512 bytes are cut at a UTF-8 boundary;
//  - bytes of a key outside [A-Za-z0-9_.:-] become '_' ("Product Name" →
//    "Product_Name"); a key still over 64 bytes is dropped;
//  - the first 32 keys in wire order are kept, a repeated key keeps its first.
class PropsMapper {
 public:
  PropsMapper(Event* e, uint64_t* dropped) : e_(e), dropped_(dropped) {}

  void Object(dom::object obj, const std::string& prefix, int depth) {
    for (dom::key_value_pair kv : obj) {
      std::string key = prefix;
      if (!key.empty()) key += '.';
      for (char c : kv.key) key += IsPropKeyChar(c) ? c : '_';
      Value(kv.value, key, depth);
    }
  }

  void Value(dom::element v, const std::string& key, int depth) {
    Prop prop;
    switch (v.type()) {
      case dom::element_type::OBJECT:
        if (depth + 1 < kMaxFlattenDepth) {
          return Object(v.get_object().value_unsafe(), key, depth + 1);
        }
        [[fallthrough]];
      case dom::element_type::ARRAY:
        prop.type = PropType::kString;
        prop.str = simdjson::minify(v);
        if (prop.str.size() > internal::kMaxPropString) return Drop();
        break;
      case dom::element_type::NULL_VALUE:
        prop.type = PropType::kNull;
        break;
      case dom::element_type::BOOL:
        prop.type = PropType::kBool;
        prop.boolean = v.get_bool().value_unsafe();
        break;
      case dom::element_type::STRING:
        prop.type = PropType::kString;
        prop.str.assign(v.get_string().value_unsafe());
        TruncateUtf8(&prop.str, internal::kMaxPropString);
        break;
      default:  // the three number types; simdjson only holds finite ones
        prop.type = PropType::kNumber;
        prop.number = v.get_double().value_unsafe();
        break;
    }
    prop.key = key;
    Add(std::move(prop));
  }

  void Add(Prop prop) {
    Problem p;
    if (!internal::CheckPropKey(prop.key, &p) || !internal::AddProp(std::move(prop), e_, &p)) {
      Drop();
    }
  }

 private:
  void Drop() { ++*dropped_; }
  Event* e_;
  uint64_t* dropped_;
};

// The client fields taken from context.page (or, for page calls, from the
// page's own properties, where analytics.js also puts them). Over-long values
// are cut to the field's limit rather than costing the event.
void PageFields(dom::object page, Event* e) {
  const std::pair<std::string_view, Field> kFields[] = {
      {"url", Field::kUrl}, {"referrer", Field::kReferrer}, {"title", Field::kTitle}};
  for (const auto& [key, field] : kFields) {
    std::string* target = field == Field::kUrl        ? &e->url
                          : field == Field::kReferrer ? &e->referrer
                                                      : &e->title;
    if (!target->empty()) continue;
    std::string_view s;
    if (!StringMember(page, key, &s) || s.empty()) continue;
    std::string value(s);
    TruncateUtf8(&value, field == Field::kTitle ? internal::kMaxTitle : internal::kMaxUrl);
    Problem p;
    internal::SetStringField(field, value, e, &p);  // cannot fail after the cut
  }
}

// `Experiment Viewed` (the Segment A/B testing spec) is an exposure:
// experiment_name (else experiment_id) → variation_name (else variation_id).
void Exposure(dom::object props, Event* e) {
  auto text = [&](std::string_view a, std::string_view b, std::string* out) {
    return IdMember(props, a, out) == IdKind::kOk || IdMember(props, b, out) == IdKind::kOk;
  };
  std::string name, variant;
  if (!text("experiment_name", "experiment_id", &name) ||
      !text("variation_name", "variation_id", &variant)) {
    return;
  }
  Problem p;
  internal::AddExperiment(name, variant, e, &p);  // an unusable pair is no exposure
}

struct BatchScope {
  std::optional<int64_t> sent_at_ms;
  dom::object context;
  bool has_context = false;
};

class Mapper {
 public:
  Mapper(SegmentBatch* out, const SegmentLimits& limits) : out_(out), limits_(limits) {}

  // One message at `index`; `call` is the path's type (kBatch: the message's).
  void Message(dom::element el, SegmentCall call, uint32_t index, const BatchScope& scope) {
    dom::object msg;
    if (el.get(msg) != simdjson::SUCCESS) {
      return Reject(index, codes::kEventNotObject, "", "each message must be a JSON object");
    }
    if (call == SegmentCall::kBatch) {
      std::string_view type;
      if (!StringMember(msg, "type", &type) || !CallOfType(type, &call)) {
        return Reject(index, codes::kTypeInvalid, "type",
                      "type must be one of track, page, screen, identify, group, alias");
      }
    }
    Event e;
    SegmentMessage m;
    Problem p;
    if (!Map(msg, call, scope, &e, &m, &p)) return Reject(index, p.code, p.field, p.message);
    out_->decoded.events.push_back(std::move(e));
    out_->decoded.indexes.push_back(index);
    out_->messages.push_back(std::move(m));
  }

  void TooLarge(uint32_t index, size_t bytes) {
    Reject(index, codes::kMessageTooLarge, "",
           "the message is " + std::to_string(bytes) + " bytes of JSON; the limit is " +
               std::to_string(limits_.max_message_bytes));
  }

 private:
  void Reject(uint32_t index, const char* code, std::string field, std::string message) {
    out_->decoded.rejected.push_back(Rejection{index, code, std::move(field), std::move(message)});
  }

  static bool Id(dom::object msg, std::string_view key, Field field, Event* e, Problem* p) {
    std::string id;
    switch (IdMember(msg, key, &id)) {
      case IdKind::kAbsent: return true;
      case IdKind::kBadType:
        return internal::Fail(p, codes::kFieldType, std::string(key),
                              std::string(key) + " must be a string");
      case IdKind::kOk: break;
    }
    if (!internal::SetStringField(field, id, e, p)) {
      p->field = std::string(key);  // name the field as the client sent it
      return false;
    }
    return true;
  }

  bool Map(dom::object msg, SegmentCall call, const BatchScope& scope, Event* e,
           SegmentMessage* m, Problem* p) {
    if (call == SegmentCall::kTrack) {
      dom::element name;
      if (!Member(msg, "event", &name)) {
        return internal::Fail(p, codes::kEventMissing, "event", "a track call needs an event name");
      }
      std::string_view s;
      if (name.get(s) != simdjson::SUCCESS) {
        return internal::Fail(p, codes::kFieldType, "event", "event must be a string");
      }
      if (!internal::SetStringField(Field::kEvent, s, e, p)) return false;
    } else {
      e->event = EventNameOf(call);
    }
    if (!Id(msg, "anonymousId", Field::kAnonymousId, e, p) ||
        !Id(msg, "userId", Field::kUserId, e, p)) {
      return false;
    }
    std::string_view message_id;
    if (StringMember(msg, "messageId", &message_id) && !message_id.empty() &&
        !internal::SetStringField(Field::kEventId, EventIdOf(message_id), e, p)) {
      p->field = "messageId";
      return false;
    }

    // Time: originalTimestamp is the client's clock, corrected with sentAt;
    // a `timestamp` alone is kept as the client's time too, and flagged so a
    // server source can keep it as sent.
    if (auto t = TimeMember(msg, "originalTimestamp")) {
      e->ts_ms = t;
    } else if (auto ts = TimeMember(msg, "timestamp")) {
      e->ts_ms = ts;
      m->explicit_timestamp = true;
    }
    m->sent_at_ms = TimeMember(msg, "sentAt");
    if (!m->sent_at_ms) m->sent_at_ms = scope.sent_at_ms;

    dom::object context;
    const bool has_context = ObjectMember(msg, "context", &context);
    for (int pass = 0; pass < 2; ++pass) {  // the message's context, then the batch's
      dom::object c = pass == 0 ? context : scope.context;
      if (pass == 0 ? !has_context : !scope.has_context) continue;
      dom::object page;
      if (ObjectMember(c, "page", &page)) PageFields(page, e);
      std::string_view s;
      if (m->context_ip.empty() && StringMember(c, "ip", &s)) m->context_ip.assign(s);
      if (m->context_user_agent.empty() && StringMember(c, "userAgent", &s)) {
        m->context_user_agent.assign(s);
      }
    }

    PropsMapper props(e, &out_->props_dropped);
    dom::object properties;
    const bool has_properties = ObjectMember(msg, "properties", &properties);
    switch (call) {
      case SegmentCall::kPage:
      case SegmentCall::kScreen: {
        for (std::string_view key : {"name", "category"}) {
          dom::element v;
          if (Member(msg, key, &v)) props.Value(v, std::string(key), 0);
        }
        if (call == SegmentCall::kPage && has_properties) PageFields(properties, e);
        break;
      }
      case SegmentCall::kGroup:
      case SegmentCall::kAlias: {
        const bool group = call == SegmentCall::kGroup;
        std::string id;
        if (IdMember(msg, group ? "groupId" : "previousId", &id) == IdKind::kOk) {
          Prop prop;
          prop.key = group ? "group_id" : "previous_id";
          prop.type = PropType::kString;
          prop.str = std::move(id);
          TruncateUtf8(&prop.str, internal::kMaxPropString);
          props.Add(std::move(prop));
        }
        break;
      }
      default:
        break;
    }
    if (has_properties) props.Object(properties, "", 0);
    dom::object traits;
    if ((call == SegmentCall::kIdentify || call == SegmentCall::kGroup) &&
        ObjectMember(msg, "traits", &traits)) {
      props.Object(traits, "", 0);
    }
    if (call == SegmentCall::kTrack && has_properties && e->event == "Experiment Viewed") {
      Exposure(properties, e);
    }
    if (e->anonymous_id.empty() && e->user_id.empty()) {
      return internal::Fail(p, codes::kIdentityMissing, "",
                            "one of anonymousId, userId is required");
    }
    return internal::FinishEvent(*e, p);
  }

  SegmentBatch* out_;
  const SegmentLimits& limits_;
};

}  // namespace

void DecodeSegment(Decoder* decoder, std::string_view body, SegmentCall call,
                   const SegmentLimits& limits, SegmentBatch* out) {
  out->Clear();
  Decoder::Impl& im = *decoder->impl_;
  im.out = &out->decoded;
  // A single call is one message: its limit is the message's.
  const size_t max_body = call == SegmentCall::kBatch ? limits.max_batch_bytes
                                                      : limits.max_message_bytes;
  if (body.size() > max_body) {
    const bool single = call != SegmentCall::kBatch;
    return im.BodyFail(single ? codes::kMessageTooLarge : codes::kBodyTooLarge,
                       std::string(single ? "the message" : "the batch") + " is " +
                           std::to_string(body.size()) + " bytes; the limit is " +
                           std::to_string(max_body));
  }
  if (body.size() >= 3 && body.compare(0, 3, "\xEF\xBB\xBF") == 0) body.remove_prefix(3);
  size_t b = 0, end = body.size();
  while (b < end && internal::IsJsonWs(body[b])) ++b;
  while (end > b && internal::IsJsonWs(body[end - 1])) --end;
  if (b == end) return im.BodyFail(codes::kBodyEmpty, "the body is empty");
  im.CopyIn(body);
  const Span span{b, end};
  dom::element root;
  dom::object obj;
  const auto err = im.Parse(span, &root);
  Mapper mapper(out, limits);
  if (internal::IsNumberError(err)) {
    im.BodyFail(codes::kNumberInvalid,
                "a number is malformed or out of range (beyond 64-bit integers or doubles)");
  } else if (err) {
    im.FailParse(err);
  } else if (root.get(obj) != simdjson::SUCCESS) {
    im.BodyFail(codes::kBatchInvalid,
                call == SegmentCall::kBatch ? "the body must be {\"batch\": [messages]}"
                                            : "the body must be one message object");
  } else {
    std::string_view key;
    if (StringMember(obj, "writeKey", &key)) out->write_key.assign(key);
    if (call != SegmentCall::kBatch) {
      mapper.Message(root, call, 0, BatchScope{});
    } else {
      BatchScope scope;
      scope.sent_at_ms = TimeMember(obj, "sentAt");
      scope.has_context = ObjectMember(obj, "context", &scope.context);
      dom::element batch;
      dom::array arr;
      if (!Member(obj, "batch", &batch) || batch.get(arr) != simdjson::SUCCESS) {
        im.BodyFail(codes::kBatchInvalid, "batch must be an array of messages");
      } else if (arr.size() > limits.max_events) {
        im.BodyFail(codes::kTooManyEvents,
                    "the batch holds more than " + std::to_string(limits.max_events) + " messages");
      } else {
        if (arr.size() == 0) {
          im.BodyFail(codes::kBodyEmpty, "the batch holds no messages");
        } else {
          // Message spans, to enforce max_message_bytes, only when one could exceed it.
          bool have_spans = false;
          if (span.size() > limits.max_message_bytes) {
            im.members.clear();
            im.spans.clear();
            const std::string_view text = im.Text();
            if (internal::SplitObject(text, span.begin, &im.members) != kNoPos) {
              for (const internal::Member& mem : im.members) {
                if (text.substr(mem.key.begin, mem.key.size()) == "\"batch\"") {
                  have_spans = internal::SplitArray(text, mem.value.begin, &im.spans) != kNoPos &&
                               im.spans.size() == arr.size();
                }
              }
            }
          }
          uint32_t index = 0;
          for (dom::element el : arr) {
            if (have_spans && im.spans[index].size() > limits.max_message_bytes) {
              mapper.TooLarge(index, im.spans[index].size());
            } else {
              mapper.Message(el, call, index, scope);
            }
            ++index;
          }
        }
      }
    }
  }
  if (out->decoded.error) out->messages.clear();
  im.ReleaseIfLarge();
}

}  // namespace foothold::proto
