// ServedAsset: one embedded browser asset (server/web/assets.h) prepared for
// HTTP once at start-up — a strong ETag (a hash of its bytes), its gzip
// encoding, a Cache-Control policy — and answered with conditional GET
// (If-None-Match → 304) and content negotiation (Accept-Encoding: gzip).
// The tracker, the demo shop and the dashboard are all served through it;
// server/web/README.md ("Serving") is the contract.
//
// Thread safety: immutable after construction; Serve may be called from any
// thread concurrently.
#pragma once

#include <string>
#include <string_view>

#include "server/http/http_types.h"
#include "server/web/assets.h"

namespace foothold::server {

// Cache-Control policies for the assets of this binary.
inline constexpr std::string_view kCacheTracker = "public, max-age=3600, must-revalidate";
inline constexpr std::string_view kCacheRevalidate = "no-cache";  // always revalidate (ETag → 304)

class ServedAsset {
 public:
  // `asset` is static embedded data and outlives this object. `any_origin` adds
  // `Access-Control-Allow-Origin: *`, so a page on any site may load it with `crossorigin`
  // (Subresource Integrity needs that); only for public files that never vary by credentials.
  ServedAsset(const web::Asset& asset, std::string_view cache_control, bool any_origin = false);

  // The answer to a GET or HEAD of this asset: 200 with the body (gzip when
  // the request accepts it), or 304 when If-None-Match names the current
  // ETag. Always `Vary: Accept-Encoding`.
  Response Serve(const Request& req) const;

  const web::Asset& asset() const { return *asset_; }
  const std::string& etag() const { return etag_; }           // for the identity body, quoted
  size_t gzip_size() const { return gzipped_.size(); }

 private:
  const web::Asset* asset_;
  std::string cache_control_;
  bool any_origin_;
  std::string etag_;       // "\"<16 hex digits>\""
  std::string etag_gzip_;  // "\"<16 hex digits>.gz\"": a strong ETag names one encoding
  std::string gzipped_;    // empty when gzip would not make the body smaller
};

// True when an Accept-Encoding header value accepts gzip (q > 0).
bool AcceptsGzip(std::string_view accept_encoding);

// True when an If-None-Match header value lists `etag` (quoted), or is "*".
// Weak comparison, as RFC 9110 §13.1.2 asks for If-None-Match.
bool IfNoneMatchHits(std::string_view if_none_match, std::string_view etag);

}  // namespace foothold::server
