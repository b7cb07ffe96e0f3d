// Field rules of an event (proto/README.md "Event fields"), shared by the JSON decoder and the
// pixel query decoder so both answer with the same codes and messages.
// Private to proto/: other folders use proto/decode.h.
//
// Every Set*/Add*/Check* function validates one value and, when it is valid,
// stores it into the Event. On failure it fills *p (code, field, message) and
// returns false; the Event is then to be discarded.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proto/event.h"

namespace foothold::proto::internal {

inline constexpr size_t kMaxEventName = 128;
inline constexpr size_t kMaxSessionId = 128;
inline constexpr size_t kMaxIdentity = 128;   // anonymous_id, user_id
inline constexpr size_t kMaxEventId = 64;
inline constexpr size_t kMaxUrl = 2048;       // url, referrer
inline constexpr size_t kMaxTitle = 512;
inline constexpr size_t kMaxProps = 32;
inline constexpr size_t kMaxPropKey = 64;
inline constexpr size_t kMaxPropString = 512;
inline constexpr size_t kMaxExperiments = 32;
inline constexpr size_t kMaxExperimentName = 64;  // also the variant's limit
// ts and sent_at: 1970-01-01T00:00:00.000Z .. 9999-12-31T23:59:59.999Z.
inline constexpr int64_t kMaxTimeMs = 253402300799999;
// engaged_ms: a heartbeat never covers more than a day of focused time.
inline constexpr int64_t kMaxEngagedMs = 24LL * 3600 * 1000;

// The known top-level fields of an event object. Values index a bit mask.
enum class Field : uint8_t {
  kEvent, kSessionId, kAnonymousId, kUserId, kEventId, kTs, kUrl, kReferrer, kTitle,
  kEngagedMs, kExperiments, kProps, kUnknown
};

Field LookupField(std::string_view key);
const char* FieldName(Field f);  // the JSON name, used in Rejection::field
inline bool IsStringField(Field f) {
  return f <= Field::kEventId || f == Field::kUrl || f == Field::kReferrer || f == Field::kTitle;
}

struct Problem {
  const char* code = nullptr;
  std::string field;
  std::string message;
};

// Fills *p and returns false, so call sites read `return Fail(...)`.
bool Fail(Problem* p, const char* code, std::string field, std::string message);

// "props." + key, with the key cut to a sane length for an error message.
std::string SubField(std::string_view prefix, std::string_view key);

bool IsValidUtf8(std::string_view s);

// A string field (IsStringField(f)). `value` must be valid UTF-8 already.
bool SetStringField(Field f, std::string_view value, Event* e, Problem* p);
bool SetTsMs(int64_t ms, Event* e, Problem* p);
bool SetTsString(std::string_view text, Event* e, Problem* p);  // RFC 3339
bool SetEngagedMs(int64_t ms, Event* e, Problem* p);

// Props: the key, then the value (string values are length-checked here).
// AddProp rejects a repeated key and the 33rd prop.
bool CheckPropKey(std::string_view key, Problem* p);
bool AddProp(Prop prop, Event* e, Problem* p);

// One experiments entry: name and variant 1-64 bytes, <= 32 entries, unique names.
bool AddExperiment(std::string_view name, std::string_view variant, Event* e, Problem* p);

// Whole-event rules checked after all fields: event present, some identity.
bool FinishEvent(const Event& e, Problem* p);

// RFC 3339 date-time: YYYY-MM-DD(T|t| )HH:MM:SS[.fraction](Z|z|±HH:MM).
// Fractions beyond milliseconds are truncated; second 60 (a leap second) is
// accepted and lands on the next minute. Returns ms since the epoch (may be
// negative for years before 1970; callers range-check).
bool ParseRfc3339(std::string_view text, int64_t* ms);

}  // namespace foothold::proto::internal
