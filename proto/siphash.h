// SipHash-2-4 (Aumasson & Bernstein), the keyed 64-bit hash behind
// privacy.ip_mode = "hash" and the erasure's hashed ids and suppression list
// (storage/privacy/erasure.h). Internal: not part of the wire contract.
//
// Thread safety: a pure function.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace foothold::proto::internal {

using SipKey = std::array<uint8_t, 16>;

uint64_t SipHash24(const SipKey& key, const void* data, size_t len);

}  // namespace foothold::proto::internal
