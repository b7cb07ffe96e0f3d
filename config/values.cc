// Value syntaxes of the configuration (see values.h) and ParseHostPort.

#include "config/values.h"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

#include "config/config.h"
#include "proto/ip.h"

namespace foothold::config {
namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

// Largest unit first, so Format* picks the shortest spelling.
constexpr std::array<std::pair<std::string_view, int64_t>, 5> kDurationUnits = {
    {{"d", kDay}, {"h", kHour}, {"m", kMinute}, {"s", kSecond}, {"ms", 1}}};
constexpr std::array<std::pair<std::string_view, uint64_t>, 4> kSizeUnits = {
    {{"GiB", uint64_t{1} << 30}, {"MiB", uint64_t{1} << 20}, {"KiB", uint64_t{1} << 10}, {"B", 1}}};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Leading digits of `text`, removed from it.
std::string_view TakeDigits(std::string_view* text) {
  size_t n = 0;
  while (n < text->size() && IsDigit((*text)[n])) ++n;
  std::string_view digits = text->substr(0, n);
  text->remove_prefix(n);
  return digits;
}

bool ParseUnsigned(std::string_view digits, uint64_t* out) {
  if (digits.empty()) return false;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), *out);
  return ec == std::errc() && end == digits.data() + digits.size();
}

bool IsIpv4(std::string_view text) {
  proto::IpAddress ip;
  return proto::ParseIp(text, &ip) && !ip.v6;
}

bool IsIpv6(std::string_view text) {
  proto::IpAddress ip;
  // ParseIp also takes IPv4 and reports ::ffff:a.b.c.d as IPv4, so "has a
  // colon" is what tells an IPv6 literal here.
  return text.find(':') != std::string_view::npos && proto::ParseIp(text, &ip);
}

// RFC 1123: dot-separated labels of letters, digits and '-', 1-63 bytes each,
// not starting or ending with '-'; 253 bytes at most.
bool IsHostname(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  while (true) {
    size_t dot = host.find('.');
    std::string_view label = host.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!IsDigit(c) && !IsAlpha(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    host.remove_prefix(dot + 1);
  }
}

bool ParsePort(std::string_view text, uint16_t* out) {
  uint64_t port = 0;
  if (text.size() > 5 || !ParseUnsigned(text, &port) || port > 65535) return false;
  *out = static_cast<uint16_t>(port);
  return true;
}

}  // namespace

bool ParseInt(std::string_view text, int64_t* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool ParseDouble(std::string_view text, double* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size() && std::isfinite(*out);
}

bool ParseDurationMs(std::string_view text, int64_t* out) {
  if (text.empty()) return false;
  int64_t total = 0;
  bool bare = true;
  while (!text.empty()) {
    uint64_t count = 0;
    if (!ParseUnsigned(TakeDigits(&text), &count)) return false;
    size_t unit_len = 0;
    while (unit_len < text.size() && IsAlpha(text[unit_len])) ++unit_len;
    std::string_view unit = text.substr(0, unit_len);
    text.remove_prefix(unit_len);
    int64_t unit_ms = 0;
    if (unit.empty()) {
      if (!bare || !text.empty()) return false;  // only a lone bare integer means ms
      unit_ms = 1;
    }
    for (const auto& [name, ms] : kDurationUnits) {
      if (unit == name) unit_ms = ms;
    }
    if (unit_ms == 0) return false;
    bare = false;
    const int64_t room = (std::numeric_limits<int64_t>::max() - total) / unit_ms;
    if (count > static_cast<uint64_t>(room)) return false;
    total += static_cast<int64_t>(count) * unit_ms;
  }
  *out = total;
  return true;
}

bool ParseSizeBytes(std::string_view text, uint64_t* out) {
  uint64_t count = 0;
  if (!ParseUnsigned(TakeDigits(&text), &count)) return false;
  // One space may separate number and unit ("1 MiB"), but a lone number has none.
  if (text.size() > 1 && text.front() == ' ') text.remove_prefix(1);
  uint64_t unit_bytes = text.empty() ? 1 : 0;
  for (const auto& [name, bytes] : kSizeUnits) {
    if (text == name) unit_bytes = bytes;
  }
  if (unit_bytes == 0 || count > std::numeric_limits<uint64_t>::max() / unit_bytes) return false;
  *out = count * unit_bytes;
  return true;
}

std::string FormatDuration(int64_t ms) {
  for (const auto& [name, unit] : kDurationUnits) {
    if (ms != 0 && ms % unit == 0) return std::to_string(ms / unit) + std::string(name);
  }
  return std::to_string(ms) + "ms";
}

std::string FormatSize(uint64_t bytes) {
  for (const auto& [name, unit] : kSizeUnits) {
    if (bytes != 0 && bytes % unit == 0) return std::to_string(bytes / unit) + std::string(name);
  }
  return std::to_string(bytes) + "B";
}

bool IsValidHost(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    return host.size() > 2 && host.back() == ']' && IsIpv6(host.substr(1, host.size() - 2));
  }
  // All digits and dots is meant as an IPv4 address ("10.0.0.300" is a typo,
  // not a hostname).
  if (host.find_first_not_of("0123456789.") == std::string_view::npos) return IsIpv4(host);
  return IsHostname(host);
}

bool ParseHostPort(std::string_view text, HostPort* out) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view host = text.substr(0, colon);
  uint16_t port = 0;
  if (!IsValidHost(host) || !ParsePort(text.substr(colon + 1), &port)) return false;
  if (host.front() == '[') host = host.substr(1, host.size() - 2);
  out->host = std::string(host);
  out->port = port;
  return true;
}

bool ParseOrigin(std::string_view text, std::string* normalized) {
  std::string lower;
  for (char c : text) lower += ToLower(c);
  std::string_view rest = lower;
  std::string_view scheme;
  for (std::string_view s : {"http://", "https://"}) {
    if (rest.starts_with(s)) scheme = s;
  }
  if (scheme.empty()) return false;
  rest.remove_prefix(scheme.size());
  // An origin is scheme://authority only; '/', '?', '#' would start a path
  // (browsers never send one) and '@' user info.
  if (rest.find_first_of("/?#@") != std::string_view::npos) return false;
  const size_t colon = rest.rfind(':');
  const size_t bracket = rest.rfind(']');
  const bool has_port =
      colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket);
  std::string_view host = has_port ? rest.substr(0, colon) : rest;
  uint16_t port = 0;
  if (!IsValidHost(host) || (has_port && !ParsePort(rest.substr(colon + 1), &port))) return false;
  const uint16_t default_port = scheme == "https://" ? 443 : 80;
  *normalized = std::string(scheme) + std::string(host);
  if (has_port && port != default_port) {
    // Two appends, not ':' + to_string(): GCC 12 -O3 reports a false -Wrestrict on that.
    normalized->push_back(':');
    normalized->append(std::to_string(port));
  }
  return true;
}

}  // namespace foothold::config
