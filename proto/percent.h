// Percent-decoding of URL components (RFC 3986), for pixel query strings and
// path segments.
//
// Thread safety: pure function.
#pragma once

#include <string>
#include <string_view>

namespace foothold::proto {

// Decodes %XX escapes (and '+' as a space when plus_is_space, as in
// application/x-www-form-urlencoded queries) into *out. Returns false on a
// malformed escape ("%", "%4", "%zz"); *out is then unspecified.
bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out);

// Splits the next "key=value" pair off the front of a query string (both
// still percent-encoded; a pair without '=' has an empty value). Empty pairs
// ("a=1&&b=2") are skipped. False once the query is exhausted.
bool NextQueryPair(std::string_view* query, std::string_view* raw_key, std::string_view* raw_value);

}  // namespace foothold::proto
