// Parsers for the value syntaxes shared by the config file, the environment
// and the flags: integers, numbers, durations, sizes, hosts and CORS origins.
// Internal to foothold_config (the tests include it directly); callers outside
// config/ read typed fields of Config instead.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace foothold::config {

// A whole decimal integer, optional leading '-', no spaces; false on overflow.
bool ParseInt(std::string_view text, int64_t* out);

// A whole finite decimal number ("0.5", "10", "1e3"); no inf/nan.
bool ParseDouble(std::string_view text, double* out);

// A duration in milliseconds: a bare non-negative integer means milliseconds;
// otherwise one or more <integer><unit> parts, units ms, s, m, h, d
// ("500ms", "30s", "1h30m", "2d"). False on overflow or anything else.
bool ParseDurationMs(std::string_view text, int64_t* out);

// A size in bytes: a bare non-negative integer means bytes; otherwise
// <integer>[ ]<unit> with unit B, KiB, MiB or GiB ("32KiB", "1 MiB").
// Decimal units (KB, MB) are refused on purpose: they are ambiguous.
bool ParseSizeBytes(std::string_view text, uint64_t* out);

// The shortest exact spelling of a value in the syntaxes above, for messages
// and help ("30m", "1MiB").
std::string FormatDuration(int64_t ms);
std::string FormatSize(uint64_t bytes);

// A host as written in a URL authority or HOST:PORT: a dotted-quad IPv4
// address, a bracketed IPv6 literal ("[::1]"), or an RFC 1123 hostname.
bool IsValidHost(std::string_view host);

// A CORS origin as browsers send it: http(s)://host[:port], no path, no
// trailing slash. `normalized` is lower case without a default port
// (":443" for https, ":80" for http) so it compares equal to the Origin header.
bool ParseOrigin(std::string_view text, std::string* normalized);

}  // namespace foothold::config
