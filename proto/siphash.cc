#include "proto/siphash.h"

#include "proto/coding.h"

namespace foothold::proto::internal {
namespace {

uint64_t Rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

uint64_t Load64Le(const uint8_t* p) { return DecodeFixed64(reinterpret_cast<const char*>(p)); }

struct State {
  uint64_t v0, v1, v2, v3;
  void Round() {
    v0 += v1; v1 = Rotl(v1, 13); v1 ^= v0; v0 = Rotl(v0, 32);
    v2 += v3; v3 = Rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = Rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = Rotl(v1, 17); v1 ^= v2; v2 = Rotl(v2, 32);
  }
  void Compress(uint64_t m) {
    v3 ^= m;
    Round();
    Round();
    v0 ^= m;
  }
};

}  // namespace

uint64_t SipHash24(const SipKey& key, const void* data, size_t len) {
  const uint64_t k0 = Load64Le(key.data()), k1 = Load64Le(key.data() + 8);
  State s{k0 ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull, k0 ^ 0x6c7967656e657261ull,
          k1 ^ 0x7465646279746573ull};
  const auto* in = static_cast<const uint8_t*>(data);
  const size_t full = len - len % 8;
  for (size_t i = 0; i < full; i += 8) s.Compress(Load64Le(in + i));
  // The last block: the remaining bytes, and the length in the top byte.
  uint64_t last = static_cast<uint64_t>(len & 0xFF) << 56;
  for (size_t i = 0; i < len % 8; ++i) last |= static_cast<uint64_t>(in[full + i]) << (8 * i);
  s.Compress(last);
  s.v2 ^= 0xFF;
  for (int i = 0; i < 4; ++i) s.Round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace foothold::proto::internal
