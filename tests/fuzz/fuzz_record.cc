// libFuzzer target: the stored record codec (proto/record.h). Arbitrary bytes
// decode to Corruption or to an event; a decoded event re-encodes to a record
// that decodes to the same event.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proto/record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace foothold::proto;
  Event e;
  if (!DecodeRecord(std::string_view(reinterpret_cast<const char*>(data), size), &e).ok()) return 0;
  std::string again;
  EncodeRecord(e, &again);
  Event back;
  if (!DecodeRecord(again, &back).ok()) std::abort();
  std::string third;
  EncodeRecord(back, &third);
  if (third != again) std::abort();  // encode(decode(x)) is a fixed point
  return 0;
}
