// Service: the HTTP endpoints of server/README.md ("Endpoints") behind a Beast-free
// interface. Connections parse HTTP and hand each Request to Handle(); the
// Service validates, enriches, appends to the EventStore, and answers through
// the Respond callback (possibly later, from the writer thread).
//
// Thread safety: Handle may be called concurrently from every I/O thread; each
// caller passes its own Decoder. Draining state is atomic.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "config/config.h"
#include "server/api/assets.h"
#include "server/http/http_types.h"

namespace foothold::proto {
class Decoder;
enum class SegmentCall;
}
namespace foothold::storage {
class EventStore;
}

namespace foothold::server {

class Metrics;
class BlockingPool;
class RateLimiter;
class SourceTable;

// Journey readback pages (GET /v1/sessions/{id}?limit=&cursor=).
inline constexpr size_t kDefaultSessionPageEvents = 1000;
inline constexpr size_t kMaxSessionPageEvents = 10000;
inline constexpr size_t kSessionPageBytes = size_t{4} << 20;  // stored record bytes a page stops after

class Service {
 public:
  // `store` and `metrics` must outlive the Service.
  Service(const config::Config& config, storage::EventStore* store, Metrics* metrics);
  ~Service();

  void Handle(Request&& req, proto::Decoder* decoder, Respond respond);

  // Shutdown phase 1: /readyz answers 503; everything else is served.
  void BeginDrain() { draining_.store(true); }
  // Shutdown phase 2: new collect requests get 503 draining.
  void BeginClose() { closing_.store(true); }
  bool draining() const { return draining_.load(); }
  bool closing() const { return closing_.load(); }

  const config::Config& config() const { return config_; }

  // The embedded asset served at URL path `path` (GET/HEAD), or nullptr: /foothold.js and
  // tracker.script_path, and the demo shop when demo.enabled. server/web/README.md lists them.
  const ServedAsset* FindAsset(std::string_view path) const;

 private:
  void HandleCollectPost(Request&& req, std::string_view query, proto::Decoder* decoder, Respond respond);
  // The Segment-compatible endpoints (segment.cc): /v1/track ... /v1/batch, /v1/t ... /v1/b,
  // /beacon/v1/batch.
  void HandleSegment(Request&& req, proto::SegmentCall call, std::string_view query, proto::Decoder* decoder,
                     Respond respond);
  void HandlePixel(Request&& req, std::string_view query, proto::Decoder* decoder, Respond respond);
  void HandleSession(Request&& req, std::string_view id, std::string_view query, Respond respond);
  // /v1/privacy/<rest>: erase (POST) and the erasure log (GET), on the reader pool (server/api/privacy.cc).
  void HandlePrivacy(const Request& req, std::string_view rest, std::string_view query, Respond respond);
  // GET /v1/events/{event_id}: one stored event by id (within dedupe.window).
  void HandleEvent(std::string_view raw_id, Respond respond);
  // /v1/stats/<rest>: reports from the aggregator's counters, on the reader pool.
  void HandleStats(std::string_view rest, std::string_view query, Respond respond);
  void HandlePreflight(const Request& req, Respond respond);
  void HandleAsset(const Request& req, const ServedAsset& asset, Respond respond);
  // Returns false (and responds 403) when the request's Origin is not allowed — or, for a pixel
  // (which carries no Origin), its Referer's origin; otherwise adds the CORS response headers.
  bool CheckOrigin(const Request& req, Response* cors_headers_into, bool pixel, const Respond& respond);
  bool IsCollectPath(std::string_view path) const;
  bool CheckAdmin(const Request& req, const Respond& respond);
  // The request's source by its write key (Basic auth user or ?writeKey=).
  // Returns false (and responds 401) for an unknown key, or for none when
  // sources.require_write_key is set; *source is null for a keyless request.
  bool CheckWriteKey(const Request& req, std::string_view query, const config::Source** source,
                     const Response& cors, const Respond& respond);
  // Returns false (and responds 429) when `client` is over http.rate_limit.
  bool CheckRate(const Request& req, const proto::IpAddress& client, const Response& cors, bool pixel,
                 const Respond& respond);

  const config::Config& config_;
  storage::EventStore* store_;
  Metrics* metrics_;
  std::string ip_secret_;
  std::unique_ptr<RateLimiter> limiter_;
  std::unique_ptr<SourceTable> sources_;
  std::unique_ptr<BlockingPool> readers_;  // runs RocksDB reads off the I/O threads
  std::map<std::string, ServedAsset, std::less<>> assets_;  // URL path -> asset
  std::atomic<bool> draining_{false};
  std::atomic<bool> closing_{false};
};

// A JSON error body {"error": {"code": ..., "message": ...}}; its status is
// proto::codes::HttpStatusFor(code), the one code -> status mapping.
Response ErrorResponse(std::string_view code, std::string_view message);

// The pixel endpoint's answer: the 43-byte GIF with `status`, Cache-Control: no-store, and
// X-Foothold-Rejected: <code> when `rejected_code` is not empty.
Response PixelResponse(std::string_view rejected_code);

}  // namespace foothold::server
