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

}  // namespace foothold::proto
