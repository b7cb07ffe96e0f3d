#include "server/http/simple_request.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

namespace foothold::server {
namespace {

// RFC 9110 §5.6.2 tchar, lower-cased; 0 for every other byte.
constexpr std::array<char, 256> MakeTokenTable() {
  std::array<char, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[static_cast<size_t>(c)] = static_cast<char>(c);
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<size_t>(c)] = static_cast<char>(c);
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<size_t>(c)] = static_cast<char>(c - 'A' + 'a');
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = c;
  return t;
}
constexpr std::array<char, 256> kLowerToken = MakeTokenTable();

// A field value byte: HTAB, SP, VCHAR, obs-text.
constexpr bool IsValueChar(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

// Every byte of `v` is a field value byte. Eight at a time: a byte below 0x20
// (HTAB included: the bytewise check decides then) or equal to 0x7f flags the
// word (hasless/haszero from "Bit Twiddling Hacks": exact as a yes/no).
bool PlainValue(std::string_view v) {
  size_t i = 0;
  for (; i + 8 <= v.size(); i += 8) {
    uint64_t x;
    std::memcpy(&x, v.data() + i, 8);
    const uint64_t below_space = (x - 0x2020202020202020ULL) & ~x & 0x8080808080808080ULL;
    const uint64_t y = x ^ 0x7f7f7f7f7f7f7f7fULL;
    const uint64_t del = (y - 0x0101010101010101ULL) & ~y & 0x8080808080808080ULL;
    if ((below_space | del) != 0) break;
  }
  for (; i < v.size(); ++i) {
    if (!IsValueChar(static_cast<unsigned char>(v[i]))) return false;
  }
  return true;
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// `name` equals the lower-case `lower`, ignoring case.
bool NameIs(std::string_view name, std::string_view lower) {
  if (name.size() != lower.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (Lower(name[i]) != lower[i]) return false;
  }
  return true;
}

inline std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The Connection field's tokens: false when one is not close/keep-alive
// (upgrade and friends are Beast's business).
bool ReadConnection(std::string_view value, bool* close, bool* keep_alive) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    const std::string_view token = TrimOws(value.substr(0, comma));
    if (NameIs(token, "close")) {
      *close = true;
    } else if (NameIs(token, "keep-alive")) {
      *keep_alive = true;
    } else if (!token.empty()) {
      return false;
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return true;
}

}  // namespace

SimpleParse ParseSimpleRequest(std::string_view in, size_t max_header_bytes, size_t max_body_bytes,
                               SimpleRequest* out) {
  // Lines end in CRLF; the header block (through its empty line) must stay
  // under max_header_bytes, so nothing past that is looked at.
  const size_t scan_end = std::min(in.size(), max_header_bytes > 0 ? max_header_bytes - 1 : 0);
  size_t pos = 0;
  auto next_line = [&](std::string_view* line) {  // false: incomplete, too long, or a bare LF
    const void* nl = std::memchr(in.data() + pos, '\n', scan_end - pos);
    if (nl == nullptr) return false;
    const size_t at = static_cast<size_t>(static_cast<const char*>(nl) - in.data());
    if (at == pos || in[at - 1] != '\r') return false;
    *line = in.substr(pos, at - 1 - pos);
    pos = at + 1;
    return true;
  };

  // Request line: METHOD SP origin-form SP HTTP/1.x CRLF.
  std::string_view line;
  if (!next_line(&line)) return SimpleParse::kFallback;
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return SimpleParse::kFallback;
  out->method = line.substr(0, sp1);
  if (out->method != "POST" && out->method != "GET" && out->method != "HEAD" && out->method != "OPTIONS") {
    return SimpleParse::kFallback;
  }
  line.remove_prefix(sp1 + 1);
  const size_t sp2 = line.find(' ');
  if (sp2 == std::string_view::npos || sp2 == 0 || line[0] != '/') return SimpleParse::kFallback;
  out->target = line.substr(0, sp2);
  for (char c : out->target) {
    if (c < 0x21 || c > 0x7e) return SimpleParse::kFallback;
  }
  const std::string_view version = line.substr(sp2 + 1);
  if (version == "HTTP/1.1") {
    out->http11 = true;
  } else if (version == "HTTP/1.0") {
    out->http11 = false;
  } else {
    return SimpleParse::kFallback;
  }

  out->content_type = out->content_encoding = out->origin = out->user_agent = out->authorization = {};
  out->referer = out->accept_encoding = out->if_none_match = out->x_forwarded_for = {};
  bool have_length = false, have_connection = false, have_xff = false;
  bool close = false, keep_alive = false;
  uint64_t length = 0;
  for (;;) {
    std::string_view field;
    if (!next_line(&field)) return SimpleParse::kFallback;
    if (field.empty()) break;  // the end of the header block
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0) return SimpleParse::kFallback;  // also obs-fold
    // One pass checks the name's bytes and lower-cases it (names this parser
    // looks at are shorter than the buffer; longer ones are only checked).
    char lowered[24];
    const size_t name_size = colon;
    for (size_t i = 0; i < name_size; ++i) {
      const char c = kLowerToken[static_cast<unsigned char>(field[i])];
      if (c == 0) return SimpleParse::kFallback;
      if (i < sizeof(lowered)) lowered[i] = c;
    }
    const std::string_view name(lowered, std::min(name_size, sizeof(lowered)));
    const std::string_view raw = field.substr(colon + 1);
    if (!PlainValue(raw)) return SimpleParse::kFallback;
    const std::string_view value = TrimOws(raw);
    auto first = [&value](std::string_view* to) {
      if (to->data() == nullptr) *to = value.data() != nullptr ? value : std::string_view("", 0);
    };
    if (name_size > sizeof(lowered)) continue;
    switch (name_size) {
      case 6:
        if (name == "origin") first(&out->origin);
        else if (name == "expect") return SimpleParse::kFallback;  // 100-continue: Beast's path answers it
        break;
      case 7:
        if (name == "referer") first(&out->referer);
        else if (name == "upgrade") return SimpleParse::kFallback;
        break;
      case 10:
        if (name == "user-agent") {
          first(&out->user_agent);
        } else if (name == "connection") {
          if (have_connection || !ReadConnection(value, &close, &keep_alive)) return SimpleParse::kFallback;
          have_connection = true;
        }
        break;
      case 12:
        if (name == "content-type") first(&out->content_type);
        break;
      case 13:
        if (name == "authorization") first(&out->authorization);
        else if (name == "if-none-match") first(&out->if_none_match);
        break;
      case 14:
        if (name == "content-length") {
          if (have_length || value.empty() || value.size() > 18) return SimpleParse::kFallback;
          for (char c : value) {
            if (c < '0' || c > '9') return SimpleParse::kFallback;
            length = length * 10 + static_cast<uint64_t>(c - '0');
          }
          have_length = true;
        }
        break;
      case 15:
        if (name == "accept-encoding") {
          first(&out->accept_encoding);
        } else if (name == "x-forwarded-for") {
          if (have_xff) return SimpleParse::kFallback;  // joined in order by the Beast path
          have_xff = true;
          out->x_forwarded_for = value;
        }
        break;
      case 16:
        if (name == "content-encoding") first(&out->content_encoding);
        break;
      case 17:
        if (name == "transfer-encoding") return SimpleParse::kFallback;
        break;
      default: break;
    }
  }
  // HTTP/1.0 naming both: Beast keeps the connection, RFC 9112 §9.6 closes it;
  // rare enough to leave to Beast, so a request reads the same however it arrived.
  if (!out->http11 && close && keep_alive) return SimpleParse::kFallback;
  const size_t header_bytes = pos;
  if (length > max_body_bytes) return SimpleParse::kFallback;
  if (in.size() - header_bytes < length) return SimpleParse::kFallback;  // the body is not all here
  out->body = in.substr(header_bytes, static_cast<size_t>(length));
  out->message_bytes = header_bytes + static_cast<size_t>(length);
  out->keep_alive = out->http11 ? !close : (keep_alive && !close);
  return SimpleParse::kDone;
}

}  // namespace foothold::server
