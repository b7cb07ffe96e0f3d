#include "server/api/assets.h"

#include <cctype>
#include <cstdint>
#include <cstdio>

#include "server/http/gzip.h"

namespace foothold::server {
namespace {

// 64-bit FNV-1a: a stable content hash for the ETag (not a security boundary).
uint64_t Fnv1a(std::string_view bytes) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

bool AcceptsGzip(std::string_view header) {
  while (!header.empty()) {
    const size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    const size_t semi = item.find(';');
    const std::string_view coding = Trim(item.substr(0, semi));
    if (!EqualsNoCase(coding, "gzip") && !EqualsNoCase(coding, "x-gzip") && coding != "*") continue;
    if (semi == std::string_view::npos) return true;
    std::string_view param = Trim(item.substr(semi + 1));
    // "q=0", "q=0.0", "q=0.000" refuse the coding; any other weight accepts it.
    if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
      param.remove_prefix(2);
      bool zero = !param.empty() && param[0] == '0';
      for (size_t i = 1; zero && i < param.size(); ++i) zero = param[i] == '.' || param[i] == '0';
      if (zero) continue;
    }
    return true;
  }
  return false;
}

bool IfNoneMatchHits(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    const size_t comma = header.find(',');
    std::string_view tag = Trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

ServedAsset::ServedAsset(const web::Asset& asset, std::string_view cache_control, bool any_origin)
    : asset_(&asset), cache_control_(cache_control), any_origin_(any_origin) {
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(Fnv1a(asset.body)));
  etag_ = std::string("\"") + hex + "\"";
  etag_gzip_ = std::string("\"") + hex + ".gz\"";
  std::string gz = GzipCompress(asset.body);
  if (gz.size() < asset.body.size()) gzipped_ = std::move(gz);
}

Response ServedAsset::Serve(const Request& req) const {
  const bool gzip = !gzipped_.empty() && AcceptsGzip(req.accept_encoding);
  const std::string& etag = gzip ? etag_gzip_ : etag_;
  Response r;
  r.headers.emplace_back("ETag", etag);
  r.headers.emplace_back("Cache-Control", cache_control_);
  r.headers.emplace_back("Vary", "Accept-Encoding");
  if (any_origin_) r.headers.emplace_back("Access-Control-Allow-Origin", "*");
  // Either encoding's tag names the same bytes once decoded, so a cache holding one need not refetch.
  if (!req.if_none_match.empty() &&
      (IfNoneMatchHits(req.if_none_match, etag_) || IfNoneMatchHits(req.if_none_match, etag_gzip_))) {
    r.status = 304;
    r.content_type = {};
    return r;
  }
  r.status = 200;
  r.content_type = asset_->content_type;
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (gzip) {
    r.headers.emplace_back("Content-Encoding", "gzip");
    r.body = gzipped_;
  } else {
    r.body = std::string(asset_->body);
  }
  return r;
}

}  // namespace foothold::server
