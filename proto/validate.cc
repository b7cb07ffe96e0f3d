#include "proto/validate.h"

#include <simdjson.h>

#include <utility>

#include "proto/decode.h"
#include "proto/error_codes.h"

namespace foothold::proto::internal {
namespace {

bool IsNameChar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

bool IsName(std::string_view s) {
  for (unsigned char c : s) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

// Ids become storage and dedupe keys; a control character there is never
// intended and breaks log lines and tooling, so it is refused.
bool HasControlChar(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7F) return true;
  }
  return false;
}

bool IsPrintableAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

std::string Bytes(size_t n) { return std::to_string(n) + " bytes"; }

// A length-limited id: 1..max bytes, no control characters.
bool CheckId(const char* name, std::string_view v, size_t max, bool ascii_only, Problem* p) {
  if (v.empty()) return Fail(p, codes::kFieldEmpty, name, std::string(name) + " must not be empty");
  if (v.size() > max) {
    return Fail(p, codes::kFieldTooLong, name,
                std::string(name) + " is " + Bytes(v.size()) + "; the limit is " + Bytes(max));
  }
  if (ascii_only && !IsPrintableAscii(v)) {
    return Fail(p, codes::kFieldInvalid, name,
                std::string(name) + " must be printable ASCII (0x20-0x7E)");
  }
  if (!ascii_only && HasControlChar(v)) {
    return Fail(p, codes::kFieldInvalid, name,
                std::string(name) + " must not contain control characters");
  }
  return true;
}

bool CheckMaxLen(const char* name, std::string_view v, size_t max, Problem* p) {
  if (v.size() <= max) return true;
  return Fail(p, codes::kFieldTooLong, name,
              std::string(name) + " is " + Bytes(v.size()) + "; the limit is " + Bytes(max));
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at s[pos..]; false when any is not a digit.
bool Digits(std::string_view s, size_t pos, size_t n, unsigned* out) {
  if (pos + n > s.size()) return false;
  unsigned v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + static_cast<unsigned>(s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

Field LookupField(std::string_view k) {
  // Switch on the length first: one or two comparisons per key.
  switch (k.size()) {
    case 2: if (k == "ts") return Field::kTs; break;
    case 3: if (k == "url") return Field::kUrl; break;
    case 5:
      if (k == "event") return Field::kEvent;
      if (k == "title") return Field::kTitle;
      if (k == "props") return Field::kProps;
      break;
    case 7: if (k == "user_id") return Field::kUserId; break;
    case 8:
      if (k == "event_id") return Field::kEventId;
      if (k == "referrer") return Field::kReferrer;
      break;
    case 10:
      if (k == "session_id") return Field::kSessionId;
      if (k == "engaged_ms") return Field::kEngagedMs;
      break;
    case 11: if (k == "experiments") return Field::kExperiments; break;
    case 12: if (k == "anonymous_id") return Field::kAnonymousId; break;
    default: break;
  }
  return Field::kUnknown;
}

const char* FieldName(Field f) {
  switch (f) {
    case Field::kEvent: return "event";
    case Field::kSessionId: return "session_id";
    case Field::kAnonymousId: return "anonymous_id";
    case Field::kUserId: return "user_id";
    case Field::kEventId: return "event_id";
    case Field::kTs: return "ts";
    case Field::kUrl: return "url";
    case Field::kReferrer: return "referrer";
    case Field::kTitle: return "title";
    case Field::kEngagedMs: return "engaged_ms";
    case Field::kExperiments: return "experiments";
    case Field::kProps: return "props";
    case Field::kUnknown: break;
  }
  return "";
}

bool Fail(Problem* p, const char* code, std::string field, std::string message) {
  p->code = code;
  p->field = std::move(field);
  p->message = std::move(message);
  return false;
}

std::string SubField(std::string_view prefix, std::string_view key) {
  // An absurd key (10 KB of junk) must not be echoed whole into the response.
  constexpr size_t kMaxEcho = 80;
  std::string out(prefix);
  out += '.';
  if (key.size() <= kMaxEcho) {
    out += key;
  } else {
    size_t cut = kMaxEcho;
    while (cut > 0 && (static_cast<unsigned char>(key[cut]) & 0xC0) == 0x80) --cut;
    out.append(key.substr(0, cut));
    out += "...";
  }
  return out;
}

bool IsValidUtf8(std::string_view s) { return simdjson::validate_utf8(s.data(), s.size()); }

bool SetStringField(Field f, std::string_view v, Event* e, Problem* p) {
  switch (f) {
    case Field::kEvent:
      if (!proto::IsEventName(v)) {
        return Fail(p, codes::kEventNameInvalid, "event",
                    "event must be 1-128 bytes of printable UTF-8 (no control characters)");
      }
      e->event.assign(v);
      return true;
    case Field::kSessionId:
      if (!CheckId("session_id", v, kMaxSessionId, /*ascii_only=*/true, p)) return false;
      e->session_id.assign(v);
      return true;
    case Field::kAnonymousId:
      if (!CheckId("anonymous_id", v, kMaxIdentity, false, p)) return false;
      e->anonymous_id.assign(v);
      return true;
    case Field::kUserId:
      if (!CheckId("user_id", v, kMaxIdentity, false, p)) return false;
      e->user_id.assign(v);
      return true;
    case Field::kEventId:
      if (!CheckId("event_id", v, kMaxEventId, false, p)) return false;
      e->event_id.assign(v);
      return true;
    case Field::kUrl:
      if (!CheckMaxLen("url", v, kMaxUrl, p)) return false;
      e->url.assign(v);
      return true;
    case Field::kReferrer:
      if (!CheckMaxLen("referrer", v, kMaxUrl, p)) return false;
      e->referrer.assign(v);
      return true;
    case Field::kTitle:
      if (!CheckMaxLen("title", v, kMaxTitle, p)) return false;
      e->title.assign(v);
      return true;
    default:
      break;
  }
  return Fail(p, codes::kFieldType, FieldName(f), std::string(FieldName(f)) + " is not a string field");
}

bool SetTsMs(int64_t ms, Event* e, Problem* p) {
  if (ms < 0 || ms > kMaxTimeMs) {
    return Fail(p, codes::kTsInvalid, "ts",
                "ts must be ms since the epoch between 1970 and 9999 (got " + std::to_string(ms) + ")");
  }
  e->ts_ms = ms;
  return true;
}

bool SetTsString(std::string_view text, Event* e, Problem* p) {
  int64_t ms = 0;
  if (!ParseRfc3339(text, &ms)) {
    return Fail(p, codes::kTsInvalid, "ts",
                "ts must be integer ms or an RFC 3339 date-time such as 2024-05-01T12:00:00.250Z");
  }
  return SetTsMs(ms, e, p);
}

bool SetEngagedMs(int64_t ms, Event* e, Problem* p) {
  if (ms < 0 || ms > kMaxEngagedMs) {
    return Fail(p, codes::kEngagedMsInvalid, "engaged_ms",
                "engaged_ms must be an integer from 0 to 86400000 (got " + std::to_string(ms) + ")");
  }
  e->engaged_ms = ms;
  return true;
}

bool CheckPropKey(std::string_view key, Problem* p) {
  if (key.empty() || key.size() > kMaxPropKey || !IsName(key)) {
    return Fail(p, codes::kPropKeyInvalid, SubField("props", key),
                "prop keys must be 1-64 bytes of A-Z a-z 0-9 _ . : -");
  }
  return true;
}

bool AddProp(Prop prop, Event* e, Problem* p) {
  for (const Prop& other : e->props) {
    if (other.key == prop.key) {
      return Fail(p, codes::kDuplicateKey, SubField("props", prop.key), "prop key given twice");
    }
  }
  if (e->props.size() >= kMaxProps) {
    return Fail(p, codes::kPropsTooMany, "props", "props has more than 32 keys");
  }
  if (prop.type == PropType::kString && prop.str.size() > kMaxPropString) {
    return Fail(p, codes::kFieldTooLong, SubField("props", prop.key),
                "prop value is " + Bytes(prop.str.size()) + "; the limit is 512 bytes");
  }
  e->props.push_back(std::move(prop));
  return true;
}

bool AddExperiment(std::string_view name, std::string_view variant, Event* e, Problem* p) {
  if (name.empty() || name.size() > kMaxExperimentName || HasControlChar(name)) {
    return Fail(p, codes::kExperimentsInvalid, SubField("experiments", name),
                "experiment names must be 1-64 bytes without control characters");
  }
  if (variant.empty() || variant.size() > kMaxExperimentName || HasControlChar(variant)) {
    return Fail(p, codes::kExperimentsInvalid, SubField("experiments", name),
                "experiment variants must be 1-64 bytes without control characters");
  }
  for (const auto& [other, unused] : e->experiments) {
    if (other == name) {
      return Fail(p, codes::kDuplicateKey, SubField("experiments", name),
                  "experiment given twice");
    }
  }
  if (e->experiments.size() >= kMaxExperiments) {
    return Fail(p, codes::kExperimentsInvalid, "experiments", "experiments has more than 32 entries");
  }
  e->experiments.emplace_back(std::string(name), std::string(variant));
  return true;
}

bool FinishEvent(const Event& e, Problem* p) {
  if (e.event.empty()) return Fail(p, codes::kEventMissing, "event", "event is required");
  if (e.session_id.empty() && e.anonymous_id.empty() && e.user_id.empty()) {
    return Fail(p, codes::kIdentityMissing, "",
                "one of session_id, anonymous_id, user_id is required");
  }
  return true;
}

bool ParseRfc3339(std::string_view s, int64_t* ms) {
  unsigned year, month, day, hour, minute, second;
  if (s.size() < 20 || !Digits(s, 0, 4, &year) || s[4] != '-' || !Digits(s, 5, 2, &month) ||
      s[7] != '-' || !Digits(s, 8, 2, &day) ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !Digits(s, 11, 2, &hour) ||
      s[13] != ':' || !Digits(s, 14, 2, &minute) || s[16] != ':' || !Digits(s, 17, 2, &second)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 60) {
    return false;
  }
  size_t pos = 19;
  int64_t millis = 0;
  if (s[pos] == '.') {
    ++pos;
    const size_t start = pos;
    int scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      millis += (s[pos] - '0') * scale;  // digits past the third add 0
      scale /= 10;
      ++pos;
    }
    if (pos == start) return false;
  }
  if (pos >= s.size()) return false;
  int64_t offset_min = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    unsigned oh, om;
    if (!Digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return false;
    }
    offset_min = (s[pos] == '+' ? 1 : -1) * static_cast<int64_t>(oh * 60 + om);
    pos += 6;
  } else {
    return false;
  }
  if (pos != s.size()) return false;
  const int64_t days = DaysFromCivil(year, month, day);
  const int64_t secs = ((days * 24 + hour) * 60 + minute - offset_min) * 60 + second;
  *ms = secs * 1000 + millis;
  return true;
}

}  // namespace foothold::proto::internal

namespace foothold::proto {

bool IsEventName(std::string_view name) {
  if (name.empty() || name.size() > internal::kMaxEventName) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7F) return false;
    // U+0080..U+009F (C1 controls) are encoded C2 80..C2 9F.
    if (c == 0xC2 && i + 1 < name.size() && static_cast<unsigned char>(name[i + 1]) <= 0x9F) {
      return false;
    }
  }
  return true;
}

}  // namespace foothold::proto
