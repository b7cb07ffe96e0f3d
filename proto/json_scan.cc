#include "proto/json_scan.h"

namespace foothold::proto::internal {
namespace {

bool IsWs(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// s[pos] == '"'. Returns the position after the closing quote, or kNoPos.
size_t SkipString(std::string_view s, size_t pos) {
  for (size_t i = pos + 1; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;  // the escaped character can never close the string
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return kNoPos;
}

}  // namespace

size_t SkipWs(std::string_view s, size_t pos) {
  while (pos < s.size() && IsWs(s[pos])) ++pos;
  return pos;
}

size_t SkipValue(std::string_view s, size_t pos) {
  if (pos >= s.size()) return kNoPos;
  const char c = s[pos];
  if (c == '"') return SkipString(s, pos);
  if (c == '{' || c == '[') {
    // Bracket counting without matching kinds is enough on valid JSON, and on
    // invalid JSON the element is refused by the simdjson parse that follows.
    size_t depth = 0;
    for (size_t i = pos; i < s.size(); ++i) {
      switch (s[i]) {
        case '"':
          i = SkipString(s, i);
          if (i == kNoPos) return kNoPos;
          --i;  // the loop's ++i lands after the quote
          break;
        case '{':
        case '[':
          ++depth;
          break;
        case '}':
        case ']':
          if (--depth == 0) return i + 1;
          break;
        default:
          break;
      }
    }
    return kNoPos;
  }
  if (c == ',' || c == ':' || c == ']' || c == '}') return kNoPos;
  // A scalar (number, true, false, null, or junk): up to the next delimiter.
  size_t i = pos;
  while (i < s.size() && !IsWs(s[i]) && s[i] != ',' && s[i] != ']' && s[i] != '}' &&
         s[i] != ':') {
    ++i;
  }
  return i;
}

size_t SplitArray(std::string_view s, size_t pos, std::vector<Span>* out) {
  if (pos >= s.size() || s[pos] != '[') return kNoPos;
  size_t i = SkipWs(s, pos + 1);
  if (i < s.size() && s[i] == ']') return i + 1;
  while (i < s.size()) {
    const size_t end = SkipValue(s, i);
    if (end == kNoPos) return kNoPos;
    out->push_back(Span{i, end});
    i = SkipWs(s, end);
    if (i >= s.size()) return kNoPos;
    if (s[i] == ']') return i + 1;
    if (s[i] != ',') return kNoPos;
    i = SkipWs(s, i + 1);
  }
  return kNoPos;
}

size_t SplitObject(std::string_view s, size_t pos, std::vector<Member>* out) {
  if (pos >= s.size() || s[pos] != '{') return kNoPos;
  size_t i = SkipWs(s, pos + 1);
  if (i < s.size() && s[i] == '}') return i + 1;
  while (i < s.size()) {
    if (s[i] != '"') return kNoPos;
    const size_t key_end = SkipString(s, i);
    if (key_end == kNoPos) return kNoPos;
    Member m;
    m.key = Span{i, key_end};
    i = SkipWs(s, key_end);
    if (i >= s.size() || s[i] != ':') return kNoPos;
    i = SkipWs(s, i + 1);
    const size_t end = SkipValue(s, i);
    if (end == kNoPos) return kNoPos;
    m.value = Span{i, end};
    out->push_back(m);
    i = SkipWs(s, end);
    if (i >= s.size()) return kNoPos;
    if (s[i] == '}') return i + 1;
    if (s[i] != ',') return kNoPos;
    i = SkipWs(s, i + 1);
  }
  return kNoPos;
}

}  // namespace foothold::proto::internal
