// libFuzzer target: the pixel query-string decoder (GET /v1/collect?..., proto/decode.h).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proto/decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace foothold::proto;
  static Decoder decoder{Limits{}};
  DecodedBatch batch;
  decoder.DecodeQuery(std::string_view(reinterpret_cast<const char*>(data), size), &batch);
  if (batch.events.size() > 1) std::abort();  // a pixel hit is one event
  if (batch.error && !batch.events.empty()) std::abort();
  return 0;
}
