// A tiny JSON structure scanner that finds the byte spans of array elements
// and object members. Private to proto/.
//
// Why: simdjson's DOM validates a body and gives values, but not where each
// value sits in the input; the decoder needs the spans to enforce the
// per-event byte limit and to re-parse events one by one when the body as a
// whole was refused for a single bad number.
//
// The scanner is exact on valid JSON and merely safe on anything else: it
// checks the separators between elements/members but not the elements
// themselves (callers validate those with simdjson). It never recurses, so
// nesting depth is no concern, and every function is linear in the input.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace foothold::proto::internal {

inline constexpr size_t kNoPos = static_cast<size_t>(-1);

struct Span {
  size_t begin = 0;
  size_t end = 0;  // one past the last byte
  size_t size() const { return end - begin; }
};

struct Member {
  Span key;    // includes the quotes
  Span value;
};

size_t SkipWs(std::string_view s, size_t pos);

// The end of the value starting at s[pos] (not whitespace), or kNoPos when
// the input ends first.
size_t SkipValue(std::string_view s, size_t pos);

// s[pos] must be '['. Appends each element's span to *out and returns the
// position after the closing ']', or kNoPos when the structure is malformed.
size_t SplitArray(std::string_view s, size_t pos, std::vector<Span>* out);

// s[pos] must be '{'. Appends each member and returns the position after the
// closing '}', or kNoPos when malformed.
size_t SplitObject(std::string_view s, size_t pos, std::vector<Member>* out);

}  // namespace foothold::proto::internal
