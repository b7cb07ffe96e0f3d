// libFuzzer target: the aggregator's session-state codec
// (storage/aggregate/session_state.h): rows of the `sessions` column family.
// The first byte picks the decoder (head, hit chunk, version 1 value, key);
// the rest is the row. Anything gives Corruption or a value, never a crash;
// a decoded head or chunk re-encodes to bytes that decode to the same thing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "storage/aggregate/session_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace foothold::storage;
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      SessionState s;
      if (!DecodeHead(in, &s).ok()) return 0;
      const std::string once = EncodeHead(s);
      SessionState back;
      if (!DecodeHead(once, &back).ok() || EncodeHead(back) != once) std::abort();
      return 0;
    }
    case 1: {
      std::vector<SessionState::Hit> hits;
      if (!DecodeHits(in, &hits).ok()) return 0;
      const std::string once = EncodeHits(hits);
      std::vector<SessionState::Hit> back;
      if (!DecodeHits(once, &back).ok() || back.size() != hits.size() || EncodeHits(back) != once) std::abort();
      return 0;
    }
    case 2: {
      SessionState s;
      std::vector<SessionState::Hit> hits;
      (void)DecodeV1(in, &s, &hits);
      return 0;
    }
    default: {
      std::string_view id;
      uint64_t seq = 0;
      (void)ParseSessionKey(in, &id, &seq);
      return 0;
    }
  }
}
