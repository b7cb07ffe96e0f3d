// The binary record codec: how an Event is stored as a value of the `log`
// column family. The format is versioned; proto/record.cc documents it byte
// by byte next to the code. A reader accepts every version ever written.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "proto/event.h"
#include "proto/status.h"

namespace foothold::proto {

inline constexpr uint8_t kRecordVersion = 2;

// Appends the encoding of `e` (all client and enrichment fields) to *out.
void EncodeRecord(const Event& e, std::string* out);

// Decodes a record written by any version of EncodeRecord. Corruption on a
// truncated or malformed record, never a crash.
Status DecodeRecord(std::string_view in, Event* out);

}  // namespace foothold::proto
