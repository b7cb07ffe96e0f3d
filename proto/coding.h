// The one byte codec every binary format in the tree is built from, after
// LevelDB's util/coding.h: fixed-width integers (little-endian for values,
// big-endian for keys whose byte order must equal numeric order), LEB128
// varints, zigzag for signed values, offset binary for signed keys, and
// length-prefixed strings. proto/README.md ("Record format") lists the
// formats that use it.
//
//   Fixed32/Fixed64        4/8 bytes, little-endian
//   BigEndian32/64         4/8 bytes, most significant byte first
//   Varint32/Varint64      7 bits a byte, low group first, high bit = more
//                          follows; at most 5 bytes (32 bits) / 10 bytes (64)
//   ZigZag                 (n << 1) ^ (n >> 63): small |n| stay short as varints
//   OffsetBinary           the sign bit flipped: big-endian order = signed order
//   LengthPrefixed         varint byte length, then the bytes
//
// Decoding takes untrusted bytes. A Get* function either consumes a whole
// well-formed item from the front of *in and returns true, or returns false
// and leaves *in unchanged: on truncation, and on a varint whose value does
// not fit its width (a fifth byte above 0x0f for 32 bits, a tenth byte above
// 0x01 for 64 bits, or more bytes than the width allows). A varint with
// redundant zero groups (0x80 0x00 for 0) is accepted, as in LevelDB.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace foothold::proto {

inline constexpr int kMaxVarint32Bytes = 5;
inline constexpr int kMaxVarint64Bytes = 10;

// ---- Fixed width ----

inline void PutFixed32(std::string* dst, uint32_t v) {
  char buf[4];
  for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  dst->append(buf, 4);
}

inline void PutFixed64(std::string* dst, uint64_t v) {
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  dst->append(buf, 8);
}

inline void PutBigEndian32(std::string* dst, uint32_t v) {
  char buf[4];
  for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>((v >> (8 * (3 - i))) & 0xff);
  dst->append(buf, 4);
}

inline void PutBigEndian64(std::string* dst, uint64_t v) {
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>((v >> (8 * (7 - i))) & 0xff);
  dst->append(buf, 8);
}

// REQUIRES: p points at 4 (8) readable bytes.
inline uint32_t DecodeFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

inline uint64_t DecodeFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

inline uint32_t DecodeBigEndian32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

inline uint64_t DecodeBigEndian64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

inline bool GetFixed32(std::string_view* in, uint32_t* v) {
  if (in->size() < 4) return false;
  *v = DecodeFixed32(in->data());
  in->remove_prefix(4);
  return true;
}

inline bool GetFixed64(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  *v = DecodeFixed64(in->data());
  in->remove_prefix(8);
  return true;
}

inline bool GetBigEndian32(std::string_view* in, uint32_t* v) {
  if (in->size() < 4) return false;
  *v = DecodeBigEndian32(in->data());
  in->remove_prefix(4);
  return true;
}

inline bool GetBigEndian64(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  *v = DecodeBigEndian64(in->data());
  in->remove_prefix(8);
  return true;
}

// ---- Signed mappings ----

inline constexpr uint64_t ZigZagEncode(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

inline constexpr int64_t ZigZagDecode(uint64_t v) {
  return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
}

inline constexpr uint64_t OffsetBinary(int64_t v) {
  return static_cast<uint64_t>(v) ^ (uint64_t{1} << 63);
}

inline constexpr int64_t FromOffsetBinary(uint64_t v) {
  return static_cast<int64_t>(v ^ (uint64_t{1} << 63));
}

// ---- Varints ----

// Writes the varint of v at dst (room for kMaxVarint64Bytes); returns the end.
inline char* EncodeVarint64(char* dst, uint64_t v) {
  while (v >= 0x80) {
    *dst++ = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  *dst++ = static_cast<char>(v);
  return dst;
}

inline void PutVarint64(std::string* dst, uint64_t v) {
  char buf[kMaxVarint64Bytes];
  dst->append(buf, static_cast<size_t>(EncodeVarint64(buf, v) - buf));
}

inline void PutVarint32(std::string* dst, uint32_t v) { PutVarint64(dst, v); }

inline void PutVarsigned64(std::string* dst, int64_t v) { PutVarint64(dst, ZigZagEncode(v)); }

// The number of bytes PutVarint64 writes for v (1..10).
inline constexpr int VarintLength(uint64_t v) {
  int n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Decodes a varint in [p, limit) holding at most `bits` bits (32 or 64).
// Returns the byte after it, or nullptr on truncation or overflow.
inline const char* GetVarintPtr(const char* p, const char* limit, int bits, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < bits && p < limit; shift += 7) {
    const uint64_t b = static_cast<uint8_t>(*p++);
    // The last byte the width allows may only carry the bits that are left.
    if (bits - shift < 7 && (b >> (bits - shift)) != 0) return nullptr;
    result |= (b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *v = result;
      return p;
    }
  }
  return nullptr;
}

inline const char* GetVarint64Ptr(const char* p, const char* limit, uint64_t* v) {
  return GetVarintPtr(p, limit, 64, v);
}

inline bool GetVarint64(std::string_view* in, uint64_t* v) {
  const char* end = in->data() + in->size();
  const char* q = GetVarintPtr(in->data(), end, 64, v);
  if (q == nullptr) return false;
  in->remove_prefix(static_cast<size_t>(q - in->data()));
  return true;
}

inline bool GetVarint32(std::string_view* in, uint32_t* v) {
  const char* end = in->data() + in->size();
  uint64_t wide = 0;
  const char* q = GetVarintPtr(in->data(), end, 32, &wide);
  if (q == nullptr) return false;
  *v = static_cast<uint32_t>(wide);
  in->remove_prefix(static_cast<size_t>(q - in->data()));
  return true;
}

inline bool GetVarsigned64(std::string_view* in, int64_t* v) {
  uint64_t u = 0;
  if (!GetVarint64(in, &u)) return false;
  *v = ZigZagDecode(u);
  return true;
}

// ---- Length-prefixed strings ----

inline void PutLengthPrefixed(std::string* dst, std::string_view s) {
  PutVarint64(dst, s.size());
  dst->append(s);
}

// *out views into the input: copy it before the input goes away.
inline bool GetLengthPrefixed(std::string_view* in, std::string_view* out) {
  std::string_view rest = *in;
  uint64_t len = 0;
  if (!GetVarint64(&rest, &len) || len > rest.size()) return false;
  *out = rest.substr(0, static_cast<size_t>(len));
  rest.remove_prefix(static_cast<size_t>(len));
  *in = rest;
  return true;
}

}  // namespace foothold::proto
