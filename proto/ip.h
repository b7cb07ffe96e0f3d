// IP addresses, CIDR ranges, client-IP resolution through trusted proxies, and
// the privacy modes for storing an IP (proto/README.md "Enrichment"). No Asio: plain bytes.
//
// Thread safety: pure functions and value types.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace foothold::proto {

struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // v4 uses bytes[0..3]
};

// Parses "1.2.3.4" or an IPv6 literal ("::1", "2001:db8::1", also "[::1]").
// An IPv4-mapped IPv6 address (::ffff:1.2.3.4) is returned as IPv4.
bool ParseIp(std::string_view text, IpAddress* out);
std::string FormatIp(const IpAddress& ip);

struct Cidr {
  IpAddress base;
  int prefix_len = 0;
  bool Contains(const IpAddress& ip) const;
};

// Parses "10.0.0.0/8", "::1/128", or a bare address (a /32 or /128).
bool ParseCidr(std::string_view text, Cidr* out);

// The client address: `peer`, unless peer is trusted; then the right-most
// entry of X-Forwarded-For (comma-separated, possibly several headers joined)
// that is not itself trusted. Unparseable entries stop the walk (the last
// good hop is used).
IpAddress ResolveClientIp(const IpAddress& peer, std::string_view x_forwarded_for,
                          const std::vector<Cidr>& trusted);

enum class IpMode { kTruncate, kHash, kFull, kNone };

// The IP as stored: truncate (IPv4 /24, IPv6 /48, formatted as an address),
// hash (hex of a keyed SipHash over the address with a salt that rotates
// every UTC day: key derived from `secret` and the day of `now_ms`),
// full, or none (empty).
std::string StoredIp(const IpAddress& ip, IpMode mode, std::string_view secret, int64_t now_ms);

}  // namespace foothold::proto
