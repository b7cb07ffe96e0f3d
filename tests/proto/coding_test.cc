// The byte codec (proto/coding.h): exact encodings, round trips at the
// edges of every width, and rejection (input left unchanged) of truncated and
// overflowing varints.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "proto/coding.h"

namespace foothold::proto {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

TEST_CASE("fixed-width integers have the documented byte order", "[proto]") {
  std::string s;
  PutFixed32(&s, 0x01020304u);
  CHECK(s == Bytes({0x04, 0x03, 0x02, 0x01}));
  s.clear();
  PutFixed64(&s, 0x0102030405060708ull);
  CHECK(s == Bytes({0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01}));
  s.clear();
  PutBigEndian32(&s, 0x01020304u);
  CHECK(s == Bytes({0x01, 0x02, 0x03, 0x04}));
  s.clear();
  PutBigEndian64(&s, 0x0102030405060708ull);
  CHECK(s == Bytes({0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}));
}

TEST_CASE("fixed-width integers round trip and reject short input", "[proto]") {
  const uint64_t values[] = {0, 1, 0x80, 0xff, 0x1234'5678, 0xffff'ffff, 0x8000'0000'0000'0000ull,
                             std::numeric_limits<uint64_t>::max()};
  for (uint64_t v : values) {
    std::string s;
    PutFixed32(&s, static_cast<uint32_t>(v));
    PutFixed64(&s, v);
    PutBigEndian32(&s, static_cast<uint32_t>(v));
    PutBigEndian64(&s, v);
    std::string_view in = s;
    uint32_t a = 0, c = 0;
    uint64_t b = 0, d = 0;
    REQUIRE(GetFixed32(&in, &a));
    REQUIRE(GetFixed64(&in, &b));
    REQUIRE(GetBigEndian32(&in, &c));
    REQUIRE(GetBigEndian64(&in, &d));
    CHECK(in.empty());
    CHECK(a == static_cast<uint32_t>(v));
    CHECK(b == v);
    CHECK(c == static_cast<uint32_t>(v));
    CHECK(d == v);
  }
  std::string_view shorty = "abc";
  uint32_t x = 0;
  uint64_t y = 0;
  CHECK_FALSE(GetFixed32(&shorty, &x));
  CHECK_FALSE(GetBigEndian64(&shorty, &y));
  CHECK(shorty == "abc");
}

TEST_CASE("big-endian offset binary sorts like signed numbers", "[proto]") {
  const int64_t sorted[] = {std::numeric_limits<int64_t>::min(), -1'700'000'000'000, -1, 0, 1,
                            1'700'000'000'000, std::numeric_limits<int64_t>::max()};
  std::vector<std::string> keys;
  for (int64_t v : sorted) {
    std::string k;
    PutBigEndian64(&k, OffsetBinary(v));
    keys.push_back(k);
    CHECK(FromOffsetBinary(DecodeBigEndian64(k.data())) == v);
  }
  for (size_t i = 1; i < keys.size(); ++i) CHECK(keys[i - 1] < keys[i]);
}

TEST_CASE("zigzag keeps small magnitudes small", "[proto]") {
  CHECK(ZigZagEncode(0) == 0);
  CHECK(ZigZagEncode(-1) == 1);
  CHECK(ZigZagEncode(1) == 2);
  CHECK(ZigZagEncode(-2) == 3);
  CHECK(ZigZagEncode(std::numeric_limits<int64_t>::max()) == std::numeric_limits<uint64_t>::max() - 1);
  CHECK(ZigZagEncode(std::numeric_limits<int64_t>::min()) == std::numeric_limits<uint64_t>::max());
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{63}, int64_t{-64}, int64_t{1} << 40,
                    std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}) {
    CHECK(ZigZagDecode(ZigZagEncode(v)) == v);
  }
}

TEST_CASE("varints have the LEB128 encoding and their length", "[proto]") {
  struct Case {
    uint64_t value;
    std::string bytes;
  };
  const Case cases[] = {
      {0, Bytes({0x00})},
      {1, Bytes({0x01})},
      {127, Bytes({0x7f})},
      {128, Bytes({0x80, 0x01})},
      {300, Bytes({0xac, 0x02})},
      {16383, Bytes({0xff, 0x7f})},
      {16384, Bytes({0x80, 0x80, 0x01})},
      {0xffff'ffff, Bytes({0xff, 0xff, 0xff, 0xff, 0x0f})},
      {std::numeric_limits<uint64_t>::max(),
       Bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})},
  };
  for (const Case& c : cases) {
    std::string s;
    PutVarint64(&s, c.value);
    CHECK(s == c.bytes);
    CHECK(VarintLength(c.value) == static_cast<int>(c.bytes.size()));
    std::string_view in = s;
    uint64_t got = 0;
    REQUIRE(GetVarint64(&in, &got));
    CHECK(got == c.value);
    CHECK(in.empty());
  }
}

TEST_CASE("varints round trip at every width boundary", "[proto]") {
  std::string s;
  std::vector<uint64_t> values;
  for (int bits = 0; bits <= 64; ++bits) {
    const uint64_t p = bits == 64 ? 0 : uint64_t{1} << bits;
    values.push_back(p - 1);
    values.push_back(p);
    values.push_back(p + 1);
  }
  for (uint64_t v : values) PutVarint64(&s, v);
  std::string_view in = s;
  for (uint64_t v : values) {
    uint64_t got = 0;
    REQUIRE(GetVarint64(&in, &got));
    CHECK(got == v);
  }
  CHECK(in.empty());

  std::string s32;
  const uint32_t v32[] = {0, 127, 128, 0x0fff'ffff, 0x1000'0000, 0xffff'ffff};
  for (uint32_t v : v32) PutVarint32(&s32, v);
  std::string_view in32 = s32;
  for (uint32_t v : v32) {
    uint32_t got = 0;
    REQUIRE(GetVarint32(&in32, &got));
    CHECK(got == v);
  }
  CHECK(in32.empty());

  std::string signed_bytes;
  const int64_t sv[] = {0, -1, 1, -1'700'000'000'000, std::numeric_limits<int64_t>::min(),
                        std::numeric_limits<int64_t>::max()};
  for (int64_t v : sv) PutVarsigned64(&signed_bytes, v);
  std::string_view sin = signed_bytes;
  for (int64_t v : sv) {
    int64_t got = 0;
    REQUIRE(GetVarsigned64(&sin, &got));
    CHECK(got == v);
  }
  CHECK(sin.empty());
}

TEST_CASE("a truncated varint is rejected and consumes nothing", "[proto]") {
  std::string full;
  PutVarint64(&full, std::numeric_limits<uint64_t>::max());
  for (size_t n = 0; n < full.size(); ++n) {
    std::string_view in(full.data(), n);
    uint64_t v = 7;
    CHECK_FALSE(GetVarint64(&in, &v));
    CHECK(in.size() == n);
    CHECK(v == 7);
  }
}

TEST_CASE("a varint that overflows its width is rejected", "[proto]") {
  uint64_t v = 0;
  uint32_t v32 = 0;

  // 64 bits: the tenth byte may carry only the top bit.
  std::string tenth_two = Bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02});
  std::string_view in = tenth_two;
  CHECK_FALSE(GetVarint64(&in, &v));
  CHECK(in.size() == tenth_two.size());
  // ... and may not announce an eleventh.
  std::string eleven = Bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x81, 0x00});
  in = eleven;
  CHECK_FALSE(GetVarint64(&in, &v));

  // 32 bits: the fifth byte may carry only four bits.
  std::string fifth_big = Bytes({0xff, 0xff, 0xff, 0xff, 0x10});
  in = fifth_big;
  CHECK_FALSE(GetVarint32(&in, &v32));
  CHECK(in.size() == fifth_big.size());
  std::string six = Bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x00});
  in = six;
  CHECK_FALSE(GetVarint32(&in, &v32));
  // The same bytes are a fine 64-bit varint.
  in = fifth_big;
  REQUIRE(GetVarint64(&in, &v));
  CHECK(v == 0x1'0fff'ffffull);

  // Redundant zero groups are accepted (LevelDB does the same).
  std::string padded = Bytes({0x80, 0x00});
  in = padded;
  REQUIRE(GetVarint64(&in, &v));
  CHECK(v == 0);
  CHECK(in.empty());
}

TEST_CASE("length-prefixed strings frame exactly their bytes", "[proto]") {
  std::string s;
  PutLengthPrefixed(&s, "");
  PutLengthPrefixed(&s, std::string(200, 'x'));
  PutLengthPrefixed(&s, std::string_view("a\0b", 3));
  CHECK(s.substr(0, 3) == Bytes({0x00, 0xc8, 0x01}));
  std::string_view in = s, out;
  REQUIRE(GetLengthPrefixed(&in, &out));
  CHECK(out.empty());
  REQUIRE(GetLengthPrefixed(&in, &out));
  CHECK(out == std::string(200, 'x'));
  REQUIRE(GetLengthPrefixed(&in, &out));
  CHECK(out == std::string_view("a\0b", 3));
  CHECK(in.empty());

  // A length past the end consumes nothing.
  std::string lying = Bytes({0x05, 'a', 'b'});
  in = lying;
  CHECK_FALSE(GetLengthPrefixed(&in, &out));
  CHECK(in.size() == 3);
}

TEST_CASE("random bytes never read past the end of the input", "[proto]") {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20000; ++i) {
    std::string buf(rng() % 16, '\0');
    for (char& c : buf) c = static_cast<char>(rng() & 0xff);
    std::string_view in = buf;
    uint64_t v = 0;
    std::string_view out;
    while (!in.empty()) {
      const size_t before = in.size();
      bool ok = (i % 2 == 0) ? GetVarint64(&in, &v) : GetLengthPrefixed(&in, &out);
      if (!ok) {
        CHECK(in.size() == before);
        break;
      }
      CHECK(in.size() < before);
    }
  }
}

}  // namespace
}  // namespace foothold::proto
