#include "server/api/service.h"

#include <cctype>
#include <chrono>
#include <vector>

#include "proto/decode.h"
#include "proto/error_codes.h"
#include "proto/event.h"
#include "proto/json_out.h"
#include "server/http/blocking_pool.h"
#include "server/http/clock.h"
#include "server/api/ingest.h"
#include "proto/segment.h"
#include "server/api/metrics.h"
#include "server/http/rate_limiter.h"
#include "server/api/report_json.h"
#include "server/api/reports.h"
#include "proto/percent.h"
#include "server/web/assets.h"
#include "storage/event_store.h"

namespace foothold::server {
namespace {

// Headers a browser script may read from a collect response (the tracker reads Retry-After).
constexpr char kExposedHeaders[] = "Retry-After, X-Foothold-Rejected";

// "scheme://host[:port]" of a URL (the Referer of a pixel request), lower-cased; "" when it has none.
std::string OriginOfUrl(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return {};
  const size_t host_end = url.find_first_of("/?#", scheme_end + 3);
  std::string origin(url.substr(0, host_end));
  for (char& c : origin) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // Browsers never send default ports in Origin; a Referer may carry them.
  if (origin.starts_with("http://") && origin.ends_with(":80")) origin.resize(origin.size() - 3);
  if (origin.starts_with("https://") && origin.ends_with(":443")) origin.resize(origin.size() - 4);
  return origin;
}

Response JsonResponse(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// The Segment-compatible paths (server/README.md "Segment-compatible ingestion").
bool SegmentCallOf(std::string_view path, proto::SegmentCall* call) {
  using proto::SegmentCall;
  static constexpr std::pair<std::string_view, SegmentCall> kPaths[] = {
      {"/v1/track", SegmentCall::kTrack},       {"/v1/t", SegmentCall::kTrack},
      {"/v1/page", SegmentCall::kPage},         {"/v1/p", SegmentCall::kPage},
      {"/v1/screen", SegmentCall::kScreen},     {"/v1/s", SegmentCall::kScreen},
      {"/v1/identify", SegmentCall::kIdentify}, {"/v1/i", SegmentCall::kIdentify},
      {"/v1/group", SegmentCall::kGroup},       {"/v1/g", SegmentCall::kGroup},
      {"/v1/alias", SegmentCall::kAlias},       {"/v1/a", SegmentCall::kAlias},
      {"/v1/batch", SegmentCall::kBatch},       {"/v1/b", SegmentCall::kBatch},
      {"/v1/import", SegmentCall::kBatch},      {"/beacon/v1/batch", SegmentCall::kBatch}};
  for (const auto& [p, c] : kPaths) {
    if (path == p) {
      *call = c;
      return true;
    }
  }
  return false;
}

bool IsDashboardPath(std::string_view path) { return path == "/dashboard" || path.starts_with("/dashboard/"); }

bool IsAdminPath(std::string_view path) {
  return path == "/metrics" || path.starts_with("/v1/sessions/") || path.starts_with("/v1/events/") ||
         path.starts_with("/v1/stats/") || path.starts_with("/v1/privacy/") || IsDashboardPath(path);
}

}  // namespace

Response ErrorResponse(std::string_view code, std::string_view message) {
  std::string body = "{\"error\":{\"code\":";
  proto::AppendJsonString(code, &body);
  body += ",\"message\":";
  proto::AppendJsonString(message, &body);
  body += "}}";
  return JsonResponse(proto::codes::HttpStatusFor(code), std::move(body));
}

Service::Service(const config::Config& config, storage::EventStore* store, Metrics* metrics)
    : config_(config),
      store_(store),
      metrics_(metrics),
      ip_secret_(config.privacy.hash_secret.empty() ? store->instance_secret() : config.privacy.hash_secret),
      limiter_(std::make_unique<RateLimiter>(config.http.rate_limit_per_ip, config.http.rate_limit_burst)),
      sources_(std::make_unique<SourceTable>(config.source_list)),
      readers_(std::make_unique<BlockingPool>(2)) {
  if (const web::Asset* tracker = web::FindEmbeddedAsset("tracker/foothold.js")) {
    // Any site may embed the tracker, with `crossorigin` and `integrity` too.
    assets_.emplace("/foothold.js", ServedAsset(*tracker, kCacheTracker, /*any_origin=*/true));
    for (const std::string& path : config.tracker.script_paths) {
      assets_.emplace(path, ServedAsset(*tracker, kCacheTracker, /*any_origin=*/true));
    }
  }
  // The dashboard: every file under server/web/dashboard/ at /dashboard/<file>, its page also at
  // /dashboard. Served without the admin token (the page asks for it and sends it to the API);
  // admin listener only when one is configured (IsAdminPath).
  for (const web::Asset& a : web::EmbeddedAssets()) {
    if (!a.path.starts_with("dashboard/")) continue;
    assets_.emplace("/" + std::string(a.path), ServedAsset(a, kCacheRevalidate));
    if (a.path == "dashboard/index.html") {
      assets_.emplace("/dashboard", ServedAsset(a, kCacheRevalidate));
      assets_.emplace("/dashboard/", ServedAsset(a, kCacheRevalidate));
    }
  }
  if (config.demo.enabled) {
    // The demo shop: every file under server/web/demo/ at /demo/<file>, its index at /demo/.
    for (const web::Asset& a : web::EmbeddedAssets()) {
      if (!a.path.starts_with("demo/")) continue;
      assets_.emplace("/" + std::string(a.path), ServedAsset(a, kCacheRevalidate));
      if (a.path == "demo/index.html") assets_.emplace("/demo/", ServedAsset(a, kCacheRevalidate));
    }
  }
}

const ServedAsset* Service::FindAsset(std::string_view path) const {
  if (auto it = assets_.find(path); it != assets_.end()) return &it->second;
  // The demo shop is a single-page app: its routes (/demo/cart, and product pages at /p/<slug> so
  // the shipped product_dwell_3m rule counts them) are its index page; missing files stay 404.
  if (config_.demo.enabled && (path.starts_with("/demo/") || path.starts_with("/p/")) &&
      path.substr(path.rfind('/')).find('.') == std::string_view::npos) {
    if (auto it = assets_.find(std::string_view("/demo/")); it != assets_.end()) return &it->second;
  }
  return nullptr;
}

bool Service::IsCollectPath(std::string_view path) const {
  if (path == "/v1/collect") return true;
  for (const std::string& alias : config_.tracker.collect_paths) {
    if (path == alias) return true;
  }
  return false;
}

Service::~Service() = default;

void Service::Handle(Request&& req, proto::Decoder* decoder, Respond respond) {
  const std::string_view target = req.target;
  const size_t qpos = target.find('?');
  const std::string_view path = target.substr(0, qpos);
  const std::string_view query = qpos == std::string_view::npos ? std::string_view() : target.substr(qpos + 1);

  // Admin endpoints live on the admin listener when one is configured; the
  // public listener then answers 404 for them, and the admin one for collect.
  const bool admin_split = !config_.admin_listen.empty();
  const bool admin_path = IsAdminPath(path);
  proto::SegmentCall segment_call{};
  const bool is_segment = SegmentCallOf(path, &segment_call);
  const bool is_collect = IsCollectPath(path) || is_segment;
  const ServedAsset* asset = is_collect ? nullptr : FindAsset(path);
  Route route = Route::kOther;
  if (is_segment) {
    route = req.method == Method::kOptions ? Route::kPreflight : Route::kSegment;
  } else if (is_collect) {
    route = req.method == Method::kOptions ? Route::kPreflight
            : req.method == Method::kPost  ? Route::kCollect
                                           : Route::kPixel;
  } else if (path == "/healthz") {
    route = Route::kHealthz;
  } else if (path == "/readyz") {
    route = Route::kReadyz;
  } else if (path == "/metrics") {
    route = Route::kMetrics;
  } else if (path.starts_with("/v1/sessions/") || path.starts_with("/v1/events/")) {
    route = Route::kSessions;  // journey readback, by session or by event id
  } else if (path.starts_with("/v1/stats/")) {
    route = Route::kStats;
  } else if (path.starts_with("/v1/privacy/")) {
    route = Route::kPrivacy;
  } else if (asset != nullptr) {
    route = Route::kAsset;
  }

  // Every response passes through here once: record it.
  const int64_t start_ns = req.start_ns;
  Metrics* metrics = metrics_;
  Respond done = [metrics, route, start_ns, respond = std::move(respond)](Response&& r) {
    metrics->RecordRequest(route, r.status, (SteadyNowNs() - start_ns) / 1e9);
    respond(std::move(r));
  };

  if (admin_split && ((admin_path && req.listener == Listener::kPublic) ||
                      (is_collect && req.listener == Listener::kAdmin))) {
    done(ErrorResponse(proto::codes::kNotFound, "no such endpoint on this listener"));
    return;
  }
  const bool get_like = req.method == Method::kGet || req.method == Method::kHead;

  if (is_collect) {
    if (is_segment && req.method == Method::kPost) {
      HandleSegment(std::move(req), segment_call, query, decoder, std::move(done));
    } else if (req.method == Method::kPost) {
      HandleCollectPost(std::move(req), query, decoder, std::move(done));
    } else if (get_like && !is_segment) {
      HandlePixel(std::move(req), query, decoder, std::move(done));
    } else if (req.method == Method::kOptions) {
      HandlePreflight(req, std::move(done));
    } else if (is_segment) {
      Response r = ErrorResponse(proto::codes::kMethodNotAllowed, "use POST or OPTIONS on " + std::string(path));
      r.headers.emplace_back("Allow", "POST, OPTIONS");
      done(std::move(r));
    } else {
      Response r = ErrorResponse(proto::codes::kMethodNotAllowed, "use POST, GET or OPTIONS on /v1/collect");
      r.headers.emplace_back("Allow", "GET, POST, OPTIONS");
      done(std::move(r));
    }
    return;
  }

  if (route == Route::kHealthz || route == Route::kReadyz || route == Route::kMetrics ||
      route == Route::kSessions || route == Route::kStats || route == Route::kAsset) {
    if (!get_like) {
      Response r = ErrorResponse(proto::codes::kMethodNotAllowed, "use GET");
      r.headers.emplace_back("Allow", "GET, HEAD");
      done(std::move(r));
      return;
    }
  }

  switch (route) {
    case Route::kHealthz:
      done(JsonResponse(200, "{\"status\":\"ok\"}"));
      return;
    case Route::kReadyz:
      if (draining()) {
        done(JsonResponse(503, "{\"status\":\"draining\"}"));
      } else if (store_->low_space()) {
        done(JsonResponse(503, "{\"status\":\"storage_full\"}"));
      } else if (!store_->healthy()) {
        done(JsonResponse(503, "{\"status\":\"store_unavailable\"}"));
      } else {
        done(JsonResponse(200, "{\"status\":\"ready\"}"));
      }
      return;
    case Route::kMetrics: {
      if (!CheckAdmin(req, done)) return;
      Response r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = metrics_->Render(store_, draining());
      done(std::move(r));
      return;
    }
    case Route::kSessions: {
      if (!CheckAdmin(req, done)) return;
      if (path.starts_with("/v1/events/")) {
        HandleEvent(path.substr(std::string_view("/v1/events/").size()), std::move(done));
        return;
      }
      std::string_view raw_id = path.substr(std::string_view("/v1/sessions/").size());
      HandleSession(std::move(req), raw_id, query, std::move(done));
      return;
    }
    case Route::kStats: {
      if (!CheckAdmin(req, done)) return;
      HandleStats(path.substr(std::string_view("/v1/stats/").size()), query, std::move(done));
      return;
    }
    case Route::kAsset:
      HandleAsset(req, *asset, std::move(done));
      return;
    case Route::kPrivacy:
      if (!CheckAdmin(req, done)) return;
      HandlePrivacy(req, path.substr(std::string_view("/v1/privacy/").size()), query, std::move(done));
      return;
    default:
      done(ErrorResponse(proto::codes::kNotFound, "no such endpoint"));
      return;
  }
}

void Service::HandlePreflight(const Request& req, Respond respond) {
  Response r;
  r.status = 204;
  r.content_type = {};
  if (!CheckOrigin(req, &r, /*pixel=*/false, respond)) return;
  r.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
  r.headers.emplace_back("Access-Control-Allow-Headers", "Content-Type, Content-Encoding, Authorization, X-Retry-Count");
  r.headers.emplace_back("Access-Control-Max-Age", "86400");
  respond(std::move(r));
}

void Service::HandleAsset(const Request& req, const ServedAsset& asset, Respond respond) {
  respond(asset.Serve(req));
}

bool Service::CheckOrigin(const Request& req, Response* into, bool pixel, const Respond& respond) {
  const auto& allowed = config_.cors_allowed_origins;
  const bool any = allowed.size() == 1 && allowed[0] == "*";
  if (req.origin.empty()) {
    // Not a cross-origin browser request. A pixel (an <img>) never carries Origin: with a named
    // list its Referer's origin is checked instead; without a Referer there is nothing to check.
    if (any) into->headers.emplace_back("Access-Control-Allow-Origin", "*");
    if (any || !pixel || req.referer.empty()) return true;
    const std::string from = OriginOfUrl(req.referer);
    for (const auto& o : allowed) {
      if (o == from) return true;
    }
    metrics_->AddRejected(proto::codes::kOriginForbidden);
    respond(PixelResponse(proto::codes::kOriginForbidden));
    return false;
  }
  // The loader stores origins lower-cased without default ports; browsers
  // never send default ports, so a case-insensitive compare is enough.
  bool ok = any;
  if (!ok) {
    std::string origin = req.origin;
    for (char& c : origin) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const auto& o : allowed) ok = ok || o == origin;
  }
  if (!ok) {
    metrics_->AddRejected(proto::codes::kOriginForbidden);
    Response r = pixel ? PixelResponse(proto::codes::kOriginForbidden)
                       : ErrorResponse(proto::codes::kOriginForbidden,
                                       "origin '" + req.origin + "' is not in cors.allowed_origins");
    r.headers.emplace_back("Vary", "Origin");
    respond(std::move(r));
    return false;
  }
  // The origin is echoed, never "*", even when every origin is allowed: sendBeacon with a
  // non-text body and fetch(..., {credentials: "include"}) are credentialed requests, and browsers
  // drop the answer (and the beacon's POST after its preflight) unless it names the origin and
  // allows credentials.
  into->headers.emplace_back("Access-Control-Allow-Origin", req.origin);
  into->headers.emplace_back("Access-Control-Allow-Credentials", "true");
  into->headers.emplace_back("Vary", "Origin");
  if (req.method != Method::kOptions) into->headers.emplace_back("Access-Control-Expose-Headers", kExposedHeaders);
  return true;
}

bool Service::CheckAdmin(const Request& req, const Respond& respond) {
  const std::string& token = config_.admin.token;
  if (token.empty()) return true;
  constexpr std::string_view kBearer = "Bearer ";
  if (req.authorization.empty()) {
    Response r = ErrorResponse(proto::codes::kUnauthorized, "this endpoint requires Authorization: Bearer <admin.token>");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    respond(std::move(r));
    return false;
  }
  std::string_view given = req.authorization;
  // The scheme is case-insensitive (RFC 9110 §11.1: "bearer", "BEARER"), and
  // one or more spaces may separate it from the token.
  bool ok = given.size() > kBearer.size();
  for (size_t i = 0; ok && i + 1 < kBearer.size(); ++i) {
    ok = std::tolower(static_cast<unsigned char>(given[i])) == std::tolower(static_cast<unsigned char>(kBearer[i]));
  }
  if (ok) ok = given[kBearer.size() - 1] == ' ';
  if (ok) {
    given.remove_prefix(kBearer.size());
    while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
    ok = given.size() == token.size();
  }
  // Compare in constant time so the token cannot be guessed byte by byte.
  unsigned diff = ok ? 0 : 1;
  if (ok) {
    for (size_t i = 0; i < token.size(); ++i) diff |= static_cast<unsigned char>(given[i]) ^
                                                      static_cast<unsigned char>(token[i]);
  }
  if (diff != 0) {
    respond(ErrorResponse(proto::codes::kForbidden, "the bearer token is not valid"));
    return false;
  }
  return true;
}

void Service::HandleStats(std::string_view rest, std::string_view query, Respond respond) {
  StatsQuery q;
  Response error;
  if (!ParseStatsQuery(query, WallNowMs(), &q, &error)) {
    respond(std::move(error));
    return;
  }
  const storage::EventStore* store = store_;
  const config::Config* config = &config_;
  readers_->Submit([store, config, rest = std::string(rest), q = std::move(q), respond = std::move(respond)] {
    respond(StatsReport(*store, *config, rest, q));
  });
}

void Service::HandleEvent(std::string_view raw_id, Respond respond) {
  std::string id;
  if (!proto::PercentDecode(raw_id, /*plus_is_space=*/false, &id) || id.empty() || id.size() > 64) {
    respond(ErrorResponse(proto::codes::kEventIdInvalid, "event id must be 1-64 bytes, percent-encoded"));
    return;
  }
  storage::EventStore* store = store_;
  readers_->Submit([store, id = std::move(id), respond = std::move(respond)] {
    proto::Event event;
    Status s = store->ReadEvent(id, &event);
    if (s.code() == Status::Code::kNotFound) {
      respond(ErrorResponse(proto::codes::kNotFound, "no stored event with this id (within dedupe.window)"));
      return;
    }
    if (!s.ok()) {
      respond(report::Unavailable(s));
      return;
    }
    std::string body = "{\"event\":";
    proto::AppendEventJson(event, &body);
    body += '}';
    respond(JsonResponse(200, std::move(body)));
  });
}

void Service::HandleSession(Request&& req, std::string_view raw_id, std::string_view query, Respond respond) {
  (void)req;
  std::string id;
  if (!proto::PercentDecode(raw_id, /*plus_is_space=*/false, &id) || id.empty() || id.size() > 128) {
    respond(ErrorResponse(proto::codes::kSessionIdInvalid, "session id must be 1-128 bytes, percent-encoded"));
    return;
  }
  for (unsigned char c : id) {
    if (c < 0x20 || c > 0x7e) {
      respond(ErrorResponse(proto::codes::kSessionIdInvalid, "session id must be printable ASCII"));
      return;
    }
  }
  // Paging (README "Journey readback"): ?limit=1..kMaxSessionPageEvents
  // (default kDefaultSessionPageEvents) and ?cursor=<next_cursor of the
  // previous page>. A page also stops after about kSessionPageBytes of
  // records, so one request holds a bounded amount whatever the session's length.
  size_t limit = kDefaultSessionPageEvents;
  std::string cursor;
  std::string_view rest = query, key, value;
  while (proto::NextQueryPair(&rest, &key, &value)) {
    if (key == "limit") {
      size_t n = 0;
      bool digits = !value.empty() && value.size() <= 6;
      for (char c : value) {
        digits = digits && c >= '0' && c <= '9';
        if (digits) n = n * 10 + static_cast<size_t>(c - '0');
      }
      if (!digits || n < 1 || n > kMaxSessionPageEvents) {
        respond(ErrorResponse(proto::codes::kLimitInvalid,
                              "limit must be an integer 1.." + std::to_string(kMaxSessionPageEvents)));
        return;
      }
      limit = n;
    } else if (key == "cursor") {
      cursor = std::string(value);
    }
  }
  storage::EventStore* store = store_;
  readers_->Submit([store, id = std::move(id), limit, cursor = std::move(cursor), respond = std::move(respond)] {
    storage::SessionPage page;
    Status s = store->ReadSessionPage(id, cursor, limit, kSessionPageBytes, &page);
    if (s.code() == Status::Code::kNotFound) {
      respond(ErrorResponse(proto::codes::kNotFound, "unknown session"));
      return;
    }
    if (s.code() == Status::Code::kInvalidArgument) {
      respond(ErrorResponse(proto::codes::kCursorInvalid, "cursor must be a next_cursor from a previous page"));
      return;
    }
    if (!s.ok()) {
      respond(report::Unavailable(s));
      return;
    }
    std::string body = "{\"session_id\":";
    proto::AppendJsonString(id, &body);
    body += ",\"events\":[";
    for (size_t i = 0; i < page.events.size(); ++i) {
      if (i) body += ',';
      proto::AppendEventJson(page.events[i], &body);
    }
    body += "],\"next_cursor\":";
    if (page.next_cursor.empty()) {
      body += "null";
    } else {
      proto::AppendJsonString(page.next_cursor, &body);
    }
    body += '}';
    respond(JsonResponse(200, std::move(body)));
  });
}

}  // namespace foothold::server
