#include "proto/ip.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "proto/coding.h"
#include "proto/siphash.h"

namespace foothold::proto {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsTrusted(const IpAddress& ip, const std::vector<Cidr>& trusted) {
  return std::any_of(trusted.begin(), trusted.end(),
                     [&](const Cidr& c) { return c.Contains(ip); });
}

// One X-Forwarded-For hop. Some proxies append a port ("203.0.113.7:4711",
// "[2001:db8::1]:4711"); the port is dropped.
bool ParseHop(std::string_view s, IpAddress* out) {
  if (ParseIp(s, out)) return true;
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find("]:");
    return close != std::string_view::npos && AllDigits(s.substr(close + 2)) &&
           ParseIp(s.substr(0, close + 1), out);
  }
  const size_t colon = s.find(':');
  return colon != std::string_view::npos && s.find(':', colon + 1) == std::string_view::npos &&
         AllDigits(s.substr(colon + 1)) && ParseIp(s.substr(0, colon), out) && !out->v6;
}

constexpr int64_t kMsPerDay = 24LL * 3600 * 1000;

// The key of the day: SipHash of (secret, day) under a fixed key, twice with
// a different tag for the two halves. Anyone without the secret cannot link
// hashes to addresses; nobody can link hashes of two different days.
internal::SipKey DailyKey(std::string_view secret, int64_t now_ms) {
  static constexpr internal::SipKey kDeriveKey = {'f', 'o', 'o', 't', 'h', 'o', 'l', 'd',
                                                  '-', 'i', 'p', '-', 's', 'a', 'l', 't'};
  const int64_t day = now_ms >= 0 ? now_ms / kMsPerDay : (now_ms - kMsPerDay + 1) / kMsPerDay;
  std::string msg(secret);
  PutFixed64(&msg, static_cast<uint64_t>(day));
  msg += '\0';
  internal::SipKey key{};
  for (int half = 0; half < 2; ++half) {
    msg.back() = static_cast<char>(half);
    const uint64_t h = internal::SipHash24(kDeriveKey, msg.data(), msg.size());
    std::string le;
    PutFixed64(&le, h);
    std::memcpy(key.data() + half * 8, le.data(), 8);
  }
  return key;
}

}  // namespace

bool ParseIp(std::string_view text, IpAddress* out) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  char buf[INET6_ADDRSTRLEN];
  if (text.empty() || text.size() >= sizeof(buf) ||
      std::memchr(text.data(), '\0', text.size()) != nullptr) {
    return false;
  }
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress ip;
  if (text.find(':') != std::string_view::npos) {
    if (inet_pton(AF_INET6, buf, ip.bytes.data()) != 1) return false;
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (std::memcmp(ip.bytes.data(), kMapped, 12) == 0) {
      std::memmove(ip.bytes.data(), ip.bytes.data() + 12, 4);
      std::fill(ip.bytes.begin() + 4, ip.bytes.end(), 0);
    } else {
      ip.v6 = true;
    }
  } else if (inet_pton(AF_INET, buf, ip.bytes.data()) != 1) {
    return false;
  }
  *out = ip;
  return true;
}

std::string FormatIp(const IpAddress& ip) {
  if (!ip.v6) {
    // By hand: inet_ntop formats IPv4 with sprintf, ~1.8 k instructions a
    // request in profiles (every stored event formats its client's address).
    char buf[16];
    size_t n = 0;
    for (size_t i = 0; i < 4; ++i) {
      const unsigned b = ip.bytes[i];
      if (b >= 100) buf[n++] = static_cast<char>('0' + b / 100);
      if (b >= 10) buf[n++] = static_cast<char>('0' + b / 10 % 10);
      buf[n++] = static_cast<char>('0' + b % 10);
      if (i < 3) buf[n++] = '.';
    }
    return std::string(buf, n);
  }
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(ip.v6 ? AF_INET6 : AF_INET, ip.bytes.data(), buf, sizeof(buf)) == nullptr) {
    return "";
  }
  return buf;
}

bool Cidr::Contains(const IpAddress& ip) const {
  if (ip.v6 != base.v6) return false;
  const int bits = std::clamp(prefix_len, 0, base.v6 ? 128 : 32);
  const int full = bits / 8;
  if (std::memcmp(ip.bytes.data(), base.bytes.data(), full) != 0) return false;
  const int rem = bits % 8;
  if (rem == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rem));
  return (ip.bytes[full] & mask) == (base.bytes[full] & mask);
}

bool ParseCidr(std::string_view text, Cidr* out) {
  text = Trim(text);
  const size_t slash = text.find('/');
  Cidr c;
  if (!ParseIp(text.substr(0, slash), &c.base)) return false;
  const int max = c.base.v6 ? 128 : 32;
  if (slash == std::string_view::npos) {
    c.prefix_len = max;
  } else {
    const std::string_view len = text.substr(slash + 1);
    if (!AllDigits(len) || len.size() > 3) return false;
    int n = 0;
    for (char ch : len) n = n * 10 + (ch - '0');
    // "::ffff:10.0.0.0/104" parses as IPv4; its prefix counts the 96 mapped bits.
    if (!c.base.v6 && text.substr(0, slash).find(':') != std::string_view::npos) n -= 96;
    if (n < 0 || n > max) return false;
    c.prefix_len = n;
  }
  // Clear the host bits so equal ranges compare equal and print canonically.
  for (int i = 0; i < 16; ++i) {
    const int keep = std::clamp(c.prefix_len - i * 8, 0, 8);
    c.base.bytes[i] &= static_cast<uint8_t>(0xFF00 >> keep);
  }
  *out = c;
  return true;
}

IpAddress ResolveClientIp(const IpAddress& peer, std::string_view xff,
                          const std::vector<Cidr>& trusted) {
  if (!IsTrusted(peer, trusted)) return peer;
  IpAddress candidate = peer;
  // Walk right to left: each hop was appended by the proxy after it, so the
  // first untrusted one is the last address nobody could forge.
  size_t end = xff.size();
  while (true) {
    const size_t comma = end == 0 ? std::string_view::npos : xff.rfind(',', end - 1);
    const size_t begin = comma == std::string_view::npos ? 0 : comma + 1;
    const std::string_view hop = Trim(xff.substr(begin, end - begin));
    if (!hop.empty()) {
      IpAddress ip;
      if (!ParseHop(hop, &ip)) return candidate;
      if (!IsTrusted(ip, trusted)) return ip;
      candidate = ip;
    }
    if (comma == std::string_view::npos) return candidate;
    end = comma;
  }
}

std::string StoredIp(const IpAddress& ip, IpMode mode, std::string_view secret, int64_t now_ms) {
  switch (mode) {
    case IpMode::kNone:
      return "";
    case IpMode::kFull:
      return FormatIp(ip);
    case IpMode::kTruncate: {
      IpAddress t = ip;
      const size_t keep = ip.v6 ? 6 : 3;  // /48 or /24
      std::fill(t.bytes.begin() + keep, t.bytes.end(), 0);
      return FormatIp(t);
    }
    case IpMode::kHash: {
      uint8_t msg[17];
      msg[0] = ip.v6 ? 6 : 4;
      const size_t n = ip.v6 ? 16 : 4;
      std::memcpy(msg + 1, ip.bytes.data(), n);
      const uint64_t h = internal::SipHash24(DailyKey(secret, now_ms), msg, n + 1);
      static constexpr char kHex[] = "0123456789abcdef";
      std::string out(16, '0');
      for (int i = 0; i < 16; ++i) out[i] = kHex[(h >> (60 - 4 * i)) & 0xF];
      return out;
    }
  }
  return "";
}

}  // namespace foothold::proto
