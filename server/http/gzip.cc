#include "server/http/gzip.h"

#include <zlib.h>

#include <algorithm>

namespace foothold::server {

GunzipResult Gunzip(std::string_view in, size_t max_out, std::string* out) {
  out->clear();
  z_stream zs{};
  // 16 + MAX_WBITS: expect a gzip header and trailer (not raw deflate, not zlib).
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return GunzipResult::kInvalid;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());

  GunzipResult result = GunzipResult::kOk;
  size_t chunk = std::min<size_t>(std::max<size_t>(in.size() * 4, 4096), max_out + 1);
  for (;;) {
    size_t used = out->size();
    if (used > max_out) {
      result = GunzipResult::kTooLarge;
      break;
    }
    // Never give zlib room beyond max_out + 1 bytes in total: one byte over tells us it is too large.
    size_t room = std::min(chunk, max_out + 1 - used);
    out->resize(used + room);
    zs.next_out = reinterpret_cast<Bytef*>(out->data() + used);
    zs.avail_out = static_cast<uInt>(room);
    int rc = inflate(&zs, Z_NO_FLUSH);
    out->resize(used + room - zs.avail_out);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      // Another gzip member follows (concatenated streams are valid gzip).
      if (inflateReset(&zs) != Z_OK) {
        result = GunzipResult::kInvalid;
        break;
      }
      continue;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) {  // truncated stream
      result = GunzipResult::kInvalid;
      break;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      result = GunzipResult::kInvalid;
      break;
    }
    chunk = std::min(chunk * 2, max_out + 1);
  }
  if (result == GunzipResult::kOk && out->size() > max_out) result = GunzipResult::kTooLarge;
  inflateEnd(&zs);
  return result;
}

std::string GzipCompress(std::string_view in) {
  z_stream zs{};
  // 16 + MAX_WBITS: write a gzip header and trailer; memLevel 9 for the smallest output.
  if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out(deflateBound(&zs, static_cast<uLong>(in.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);  // deflateBound guarantees room for the whole stream in one call
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace foothold::server
