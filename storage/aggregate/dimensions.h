// Private to storage/: a session's segment values — what each [[dimension]]
// (config/config.h) reads from an event, normalised so that counter keys stay
// small and bounded (contract in storage/README.md, "Segments"; the user's
// view in README.md, "Segments").
//
// Values are at most kMaxValueBytes bytes, never contain a control byte, and
// never start with '(' unless they are one of the labels below, so a label
// cannot collide with a real value.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "proto/event.h"

namespace foothold::storage {

inline constexpr char kValueNone[] = "(none)";        // no utm parameter, prop or exposure
inline constexpr char kValueDirect[] = "(direct)";    // no referrer
inline constexpr char kValueInternal[] = "(internal)";  // referred by the site itself
inline constexpr char kValueUnknown[] = "(unknown)";  // no User-Agent / no readable id time
inline constexpr char kValueOther[] = "(other)";      // past the dimension's max_values
inline constexpr size_t kMaxValueBytes = 64;

// True for the kinds whose value comes from the session's landing event (its
// first in log order); prop and experiment are read later (see below).
bool FromLandingEvent(config::DimensionKind kind);

// The value of `d` for a session whose landing event is `e` (REQUIRES
// FromLandingEvent(d.kind)). timeout_ms is session.timeout (visitor kind).
std::string LandingValue(const config::Dimension& d, const proto::Event& e, int64_t timeout_ms);

// kind prop: the normalised value of props.<key> on `e` (strings as is,
// numbers in shortest form, true/false); false when `e` does not carry it.
bool PropValue(const config::Dimension& d, const proto::Event& e, std::string* out);

// Control bytes become '_', a leading '(' becomes '_', lower-cased when
// `lower`, cut to kMaxValueBytes at a UTF-8 boundary; "" gives `if_empty`.
std::string NormaliseValue(std::string_view raw, bool lower, const char* if_empty);

// Erasure (storage/README.md, "Erasure" and "Segments"): what a redacted
// record keeps so that every configured dimension reads the same value from
// it as from `original` — for the kinds configured only: the utm parameters
// read (as "?utm_x=..." after the stripped url), the referrer's scheme and
// host, a User-Agent reduced to its device class ("(redacted) mobile"), an
// anonymous_id reduced to its creation time (base 36, zero digits after), and
// the props of prop dimensions. Call after the rest of the redaction.
void KeepForDimensions(const std::vector<config::Dimension>& dims, const proto::Event& original,
                       proto::Event* redacted);

// The parts, exposed for tests.
std::string UtmParam(std::string_view url, std::string_view param);  // "" when absent
std::string RegistrableDomain(std::string_view url);                  // "" when no host
std::string DeviceClass(std::string_view user_agent);
// "new" when the anonymous id was created less than timeout_ms before the
// session start, "returning" when earlier, "(unknown)" when the id carries no
// creation time (foothold.js ids start with Date.now() in base 36; UUIDv7
// ids carry it in their first 48 bits).
std::string VisitorKind(std::string_view anonymous_id, int64_t session_start_ms, int64_t timeout_ms);

}  // namespace foothold::storage
