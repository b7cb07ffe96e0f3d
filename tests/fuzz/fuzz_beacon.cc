// libFuzzer target: the beacon body decoder (JSON and NDJSON, proto/decode.h).
// The first byte picks the format; the rest is the body. Any input must give
// either a body error or events + rejections, never a crash; every accepted
// event must survive the record codec.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proto/decode.h"
#include "proto/record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace foothold::proto;
  static Decoder decoder{Limits{}};
  if (size == 0) return 0;
  const BodyFormat format = (data[0] & 1) ? BodyFormat::kNdjson : BodyFormat::kJson;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  DecodedBatch batch;
  decoder.DecodeBody(body, format, &batch);
  if (batch.error && (!batch.events.empty() || !batch.rejected.empty())) std::abort();
  if (batch.events.size() != batch.indexes.size()) std::abort();
  for (const Event& e : batch.events) {
    std::string rec;
    EncodeRecord(e, &rec);
    Event back;
    if (!DecodeRecord(rec, &back).ok() || back.event != e.event || back.session_id != e.session_id) std::abort();
  }
  return 0;
}
