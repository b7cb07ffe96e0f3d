// Gzip decoding of request bodies (Content-Encoding: gzip) with a hard cap on
// the decompressed size, so a small zip bomb cannot exhaust memory; and gzip
// encoding of the embedded assets served to browsers (done once at start-up).
//
// Thread safety: pure function.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace foothold::server {

enum class GunzipResult { kOk, kInvalid, kTooLarge };

// Inflates the gzip stream `in` (possibly several concatenated members) into
// *out, stopping with kTooLarge as soon as the output would pass `max_out`.
GunzipResult Gunzip(std::string_view in, size_t max_out, std::string* out);

// `in` as one gzip member at the best compression level (zlib level 9); "" if zlib cannot start.
std::string GzipCompress(std::string_view in);

}  // namespace foothold::server
