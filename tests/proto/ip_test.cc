// IP parsing, CIDR ranges, client IP through trusted proxies, stored forms, SipHash.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "proto/ip.h"
#include "proto/siphash.h"

namespace foothold::proto {
namespace {

IpAddress Ip(std::string_view text) {
  IpAddress ip;
  INFO(text);
  REQUIRE(ParseIp(text, &ip));
  return ip;
}

Cidr Range(std::string_view text) {
  Cidr c;
  INFO(text);
  REQUIRE(ParseCidr(text, &c));
  return c;
}

std::vector<Cidr> Ranges(std::initializer_list<std::string_view> texts) {
  std::vector<Cidr> out;
  for (std::string_view t : texts) out.push_back(Range(t));
  return out;
}

std::string Client(std::string_view peer, std::string_view xff, const std::vector<Cidr>& trusted) {
  return FormatIp(ResolveClientIp(Ip(peer), xff, trusted));
}

constexpr int64_t kDay = 24LL * 3600 * 1000;
constexpr int64_t kMay1 = 1714521600000;  // 2024-05-01T00:00:00Z

}  // namespace

TEST_CASE("ParseIp and FormatIp", "[proto]") {
  const IpAddress v4 = Ip("203.0.113.7");
  CHECK_FALSE(v4.v6);
  CHECK(v4.bytes[0] == 203);
  CHECK(v4.bytes[3] == 7);
  CHECK(FormatIp(v4) == "203.0.113.7");
  const IpAddress v6 = Ip("2001:DB8::1");
  CHECK(v6.v6);
  CHECK(v6.bytes[0] == 0x20);
  CHECK(v6.bytes[15] == 1);
  CHECK(FormatIp(v6) == "2001:db8::1");
  CHECK(FormatIp(Ip("[::1]")) == "::1");
  const IpAddress mapped = Ip("::ffff:198.51.100.4");
  CHECK_FALSE(mapped.v6);
  CHECK(FormatIp(mapped) == "198.51.100.4");
  // IPv4 is formatted by hand: every digit count, both ends of the range.
  CHECK(FormatIp(Ip("0.0.0.0")) == "0.0.0.0");
  CHECK(FormatIp(Ip("255.255.255.255")) == "255.255.255.255");
  CHECK(FormatIp(Ip("10.9.100.199")) == "10.9.100.199");
  CHECK(FormatIp(Ip("1.20.250.7")) == "1.20.250.7");
  for (const char* bad : {"", "256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "::g", "1.2.3.4 ",
                          " 1.2.3.4", "[1.2.3.4", "fe80::1%eth0", "unknown", "1.2.3.4:80",
                          "0000:0000:0000:0000:0000:0000:0000:0000:0000"}) {
    IpAddress ip;
    INFO(bad);
    CHECK_FALSE(ParseIp(bad, &ip));
  }
  IpAddress ip;
  CHECK_FALSE(ParseIp(std::string_view("1.2.3.4\0junk", 12), &ip));
}

TEST_CASE("ParseCidr and Cidr::Contains", "[proto]") {
  const Cidr ten = Range("10.0.0.0/8");
  CHECK(ten.prefix_len == 8);
  CHECK(ten.Contains(Ip("10.255.1.2")));
  CHECK_FALSE(ten.Contains(Ip("11.0.0.1")));
  CHECK_FALSE(ten.Contains(Ip("::ffff:11.0.0.1")));
  CHECK(ten.Contains(Ip("::ffff:10.0.0.1")));  // mapped addresses are IPv4
  const Cidr odd = Range("172.16.0.0/12");
  CHECK(odd.Contains(Ip("172.31.255.255")));
  CHECK_FALSE(odd.Contains(Ip("172.32.0.0")));
  const Cidr all4 = Range("0.0.0.0/0");
  CHECK(all4.Contains(Ip("8.8.8.8")));
  CHECK_FALSE(all4.Contains(Ip("::1")));  // families never mix
  const Cidr host = Range("192.0.2.1");
  CHECK(host.prefix_len == 32);
  CHECK(host.Contains(Ip("192.0.2.1")));
  CHECK_FALSE(host.Contains(Ip("192.0.2.2")));
  const Cidr v6 = Range("2001:db8::/32");
  CHECK(v6.Contains(Ip("2001:db8:ffff::1")));
  CHECK_FALSE(v6.Contains(Ip("2001:db9::1")));
  CHECK(Range("::1").prefix_len == 128);
  // Host bits are cleared, so the base prints canonically.
  CHECK(FormatIp(Range("10.1.2.3/8").base) == "10.0.0.0");
  CHECK(FormatIp(Range(" 10.1.2.3/9 ").base) == "10.0.0.0");
  const Cidr mapped = Range("::ffff:10.0.0.0/104");
  CHECK(mapped.prefix_len == 8);
  CHECK(mapped.Contains(Ip("10.9.9.9")));
  for (const char* bad : {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8",
                          "abc/8", "/8", "10.0.0.0/0x8", "::ffff:10.0.0.0/95"}) {
    Cidr c;
    INFO(bad);
    CHECK_FALSE(ParseCidr(bad, &c));
  }
}

TEST_CASE("ResolveClientIp: right-most untrusted X-Forwarded-For hop", "[proto]") {
  const auto trusted = Ranges({"10.0.0.0/8", "2001:db8:ffff::/48"});

  SECTION("an untrusted peer is the client, whatever it claims") {
    CHECK(Client("198.51.100.9", "1.1.1.1", trusted) == "198.51.100.9");
    CHECK(Client("198.51.100.9", "", {}) == "198.51.100.9");
  }
  SECTION("a trusted peer: the hop it saw") {
    CHECK(Client("10.0.0.1", "203.0.113.7", trusted) == "203.0.113.7");
    CHECK(Client("10.0.0.1", "", trusted) == "10.0.0.1");
    CHECK(Client("10.0.0.1", " , ,", trusted) == "10.0.0.1");
  }
  SECTION("forged left-most entries are ignored") {
    CHECK(Client("10.0.0.1", "1.1.1.1, 203.0.113.7", trusted) == "203.0.113.7");
    CHECK(Client("10.0.0.1", "127.0.0.1,8.8.8.8,203.0.113.7", trusted) == "203.0.113.7");
  }
  SECTION("a chain of trusted proxies is walked past") {
    CHECK(Client("10.0.0.1", "1.1.1.1, 203.0.113.7, 10.0.0.3,10.0.0.2", trusted) == "203.0.113.7");
    CHECK(Client("10.0.0.1", "10.0.0.5, 10.0.0.3", trusted) == "10.0.0.5");  // all trusted
    CHECK(Client("2001:db8:ffff::1", "2001:db8::77, 2001:db8:ffff::2", trusted) == "2001:db8::77");
  }
  SECTION("spaces, tabs, joined headers, ports") {
    CHECK(Client("10.0.0.1", "  203.0.113.7\t", trusted) == "203.0.113.7");
    CHECK(Client("10.0.0.1", "1.1.1.1, 2.2.2.2, 203.0.113.8 , 10.0.0.9", trusted) == "203.0.113.8");
    CHECK(Client("10.0.0.1", "203.0.113.7:51234", trusted) == "203.0.113.7");
    CHECK(Client("10.0.0.1", "[2001:db8::5]:443", trusted) == "2001:db8::5");
    CHECK(Client("10.0.0.1", "[2001:db8::5]", trusted) == "2001:db8::5");
  }
  SECTION("garbage stops the walk at the last good hop") {
    CHECK(Client("10.0.0.1", "unknown", trusted) == "10.0.0.1");
    CHECK(Client("10.0.0.1", "203.0.113.7, garbage", trusted) == "10.0.0.1");
    CHECK(Client("10.0.0.1", "203.0.113.7, garbage, 10.0.0.2", trusted) == "10.0.0.2");
    CHECK(Client("10.0.0.1", "garbage, 203.0.113.7", trusted) == "203.0.113.7");
    CHECK(Client("10.0.0.1", "1.2.3.4:port", trusted) == "10.0.0.1");
    CHECK(Client("10.0.0.1", std::string(10000, ','), trusted) == "10.0.0.1");
  }
}

TEST_CASE("StoredIp: truncate, hash, full, none", "[proto]") {
  const IpAddress v4 = Ip("203.0.113.77");
  const IpAddress v6 = Ip("2001:db8:abcd:12:34::1");
  CHECK(StoredIp(v4, IpMode::kTruncate, "", kMay1) == "203.0.113.0");
  CHECK(StoredIp(v6, IpMode::kTruncate, "", kMay1) == "2001:db8:abcd::");
  CHECK(StoredIp(v4, IpMode::kFull, "", kMay1) == "203.0.113.77");
  CHECK(StoredIp(v6, IpMode::kFull, "", kMay1) == "2001:db8:abcd:12:34::1");
  CHECK(StoredIp(v4, IpMode::kNone, "s", kMay1) == "");

  const std::string h = StoredIp(v4, IpMode::kHash, "secret", kMay1 + 1000);
  REQUIRE(h.size() == 16);
  CHECK(h.find_first_not_of("0123456789abcdef") == std::string::npos);
  // Stored hashes are data: the derivation (SipHash of the secret and the
  // little-endian day number) never changes.
  CHECK(h == "51c24bc62caecf75");
  // Stable through a UTC day, different the next day, per secret, per address.
  CHECK(StoredIp(v4, IpMode::kHash, "secret", kMay1) == h);
  CHECK(StoredIp(v4, IpMode::kHash, "secret", kMay1 + kDay - 1) == h);
  CHECK(StoredIp(v4, IpMode::kHash, "secret", kMay1 + kDay) != h);
  CHECK(StoredIp(v4, IpMode::kHash, "secret", kMay1 - 1) != h);
  CHECK(StoredIp(v4, IpMode::kHash, "other", kMay1) != h);
  CHECK(StoredIp(Ip("203.0.113.78"), IpMode::kHash, "secret", kMay1) != h);
  CHECK(StoredIp(v6, IpMode::kHash, "secret", kMay1).size() == 16);
  // Day boundaries before 1970 floor too: -1 ms and -1 day are the same day.
  CHECK(StoredIp(v4, IpMode::kHash, "s", -1) == StoredIp(v4, IpMode::kHash, "s", -kDay));
  CHECK(StoredIp(v4, IpMode::kHash, "s", -1) != StoredIp(v4, IpMode::kHash, "s", 0));
}

TEST_CASE("SipHash-2-4 matches the reference vectors", "[proto]") {
  internal::SipKey key;
  for (int i = 0; i < 16; ++i) key[i] = static_cast<uint8_t>(i);
  uint8_t msg[64];
  for (int i = 0; i < 64; ++i) msg[i] = static_cast<uint8_t>(i);
  CHECK(internal::SipHash24(key, msg, 0) == 0x726fdb47dd0e0e31ull);
  CHECK(internal::SipHash24(key, msg, 1) == 0x74f839c593dc67fdull);
  CHECK(internal::SipHash24(key, msg, 15) == 0xa129ca6149be45e5ull);
}

}  // namespace foothold::proto
