// Pixel query decoding (proto/README.md "Pixel query strings"): Decoder::DecodeQuery.
//
// Rules beyond the JSON ones, forced by what a query string can express:
//  - '+' is a space and %XX a byte; a malformed escape is field_invalid.
//  - An empty value (`uid=`) means absent for the fixed keys, because pixel
//    builders emit every key whether or not they have a value. `e=` is then
//    event_missing. An empty `p.<key>=` is a prop with the empty string.
//  - p.<key> values are always strings: a query has no types, and guessing
//    ("007" → 7) would corrupt ids and codes. ts and em must be digits (ts
//    may also be RFC 3339; send '+' in an offset as %2B).
//  - Unknown keys are ignored (cache busters such as `_=123`).
#include <string>

#include "proto/decode.h"
#include "proto/error_codes.h"
#include "proto/percent.h"
#include "proto/validate.h"

namespace foothold::proto {
namespace {

using internal::Fail;
using internal::Field;
using internal::Problem;

Field QueryField(std::string_view key) {
  if (key == "e") return Field::kEvent;
  if (key == "sid") return Field::kSessionId;
  if (key == "aid") return Field::kAnonymousId;
  if (key == "uid") return Field::kUserId;
  if (key == "eid") return Field::kEventId;
  if (key == "ts") return Field::kTs;
  if (key == "u") return Field::kUrl;
  if (key == "r") return Field::kReferrer;
  if (key == "em") return Field::kEngagedMs;
  return Field::kUnknown;
}

// Digits only, at most 18 of them (so the value fits int64 with room).
bool ParseDigits(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

bool SetQueryField(Field f, std::string_view value, Event* e, Problem* p) {
  int64_t n = 0;
  switch (f) {
    case Field::kTs:
      if (ParseDigits(value, &n)) return internal::SetTsMs(n, e, p);
      return internal::SetTsString(value, e, p);
    case Field::kEngagedMs:
      if (!ParseDigits(value, &n)) {
        return Fail(p, codes::kEngagedMsInvalid, "engaged_ms",
                    "em must be an integer from 0 to 86400000");
      }
      return internal::SetEngagedMs(n, e, p);
    default:
      return internal::SetStringField(f, value, e, p);
  }
}

bool DecodeQueryEvent(std::string_view query, Event* e, Problem* p) {
  uint32_t seen = 0;
  std::string key, value;
  std::string_view raw_key, raw_value;
  while (NextQueryPair(&query, &raw_key, &raw_value)) {
    if (!PercentDecode(raw_key, /*plus_is_space=*/true, &key)) {
      return Fail(p, codes::kFieldInvalid, "", "a query key has a malformed %-escape");
    }
    const bool is_prop = key.size() >= 2 && key.compare(0, 2, "p.") == 0;
    const bool is_exp = key.size() >= 2 && key.compare(0, 2, "x.") == 0;
    const Field f = QueryField(key);
    if (f == Field::kUnknown && !is_prop && !is_exp) continue;
    const std::string_view name =
        is_prop || is_exp ? std::string_view(key).substr(2) : std::string_view();
    const std::string field = f != Field::kUnknown ? internal::FieldName(f)
                              : is_prop            ? internal::SubField("props", name)
                                                   : internal::SubField("experiments", name);
    if (!internal::IsValidUtf8(key)) {
      // The field would echo the bad bytes into a JSON response; leave it out.
      return Fail(p, codes::kUtf8Invalid, "", "a query key is not valid UTF-8");
    }
    if (!PercentDecode(raw_value, /*plus_is_space=*/true, &value)) {
      return Fail(p, codes::kFieldInvalid, field, "the value has a malformed %-escape");
    }
    if (!internal::IsValidUtf8(value)) {
      return Fail(p, codes::kUtf8Invalid, field, "the value is not valid UTF-8");
    }
    if (is_prop) {
      if (!internal::CheckPropKey(name, p)) return false;
      Prop prop;
      prop.key.assign(name);
      prop.type = PropType::kString;
      prop.str = value;
      if (!internal::AddProp(std::move(prop), e, p)) return false;
      continue;
    }
    if (is_exp) {
      if (!internal::AddExperiment(name, value, e, p)) return false;
      continue;
    }
    const uint32_t bit = 1u << static_cast<unsigned>(f);
    if (seen & bit) return Fail(p, codes::kDuplicateKey, field, key + " is given twice");
    seen |= bit;
    if (value.empty()) continue;
    if (!SetQueryField(f, value, e, p)) return false;
  }
  return internal::FinishEvent(*e, p);
}

}  // namespace

void Decoder::DecodeQuery(std::string_view query, DecodedBatch* out) {
  out->Clear();
  Event e;
  Problem p;
  if (DecodeQueryEvent(query, &e, &p)) {
    out->events.push_back(std::move(e));
    out->indexes.push_back(0);
  } else {
    out->rejected.push_back(Rejection{0, p.code, std::move(p.field), std::move(p.message)});
  }
}

}  // namespace foothold::proto
