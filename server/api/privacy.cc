// /v1/privacy/*: erasure of a visitor and the erasure log (README.md "Privacy").
//   POST /v1/privacy/erase?anonymous_id=ID | user_id=ID | session_id=ID [&suppress=true]
//   GET  /v1/privacy/erasures[?limit=N]
// Both are admin endpoints (admin listener and token, like /v1/stats). The
// erasure itself runs on the store's writer thread; this handler waits for it
// on the reader pool, never on an I/O thread.
#include <charconv>
#include <string>
#include <vector>

#include "proto/error_codes.h"
#include "proto/json_out.h"
#include "proto/percent.h"
#include "server/api/report_json.h"
#include "server/api/service.h"
#include "server/http/blocking_pool.h"
#include "server/http/clock.h"
#include "storage/event_store.h"

namespace foothold::server {
namespace {

constexpr size_t kMaxIdBytes = 128;  // the wire rule for every id (proto/README.md)
constexpr size_t kDefaultLogEntries = 100;
constexpr size_t kMaxLogEntries = 10000;

struct EraseParams {
  storage::ErasureRequest request;
  int ids = 0;
};

// The reason `query` is not a valid erasure request, or "" when it is.
std::string ParseErase(std::string_view query, EraseParams* out) {
  std::string_view rest = query;
  std::string_view raw_key, raw_value;
  while (proto::NextQueryPair(&rest, &raw_key, &raw_value)) {
    std::string key, value;
    if (!proto::PercentDecode(raw_key, true, &key) || !proto::PercentDecode(raw_value, true, &value)) {
      return "the query string is not valid percent-encoding";
    }
    if (key == "suppress") {
      if (value != "true" && value != "false") return "suppress is true or false";
      out->request.suppress = value == "true";
      continue;
    }
    storage::IdentityKind kind;
    if (key == "anonymous_id") kind = storage::IdentityKind::kAnonymousId;
    else if (key == "user_id") kind = storage::IdentityKind::kUserId;
    else if (key == "session_id") kind = storage::IdentityKind::kSessionId;
    else return "unknown parameter '" + key + "' (anonymous_id, user_id, session_id, suppress)";
    if (value.empty() || value.size() > kMaxIdBytes) return key + " must be 1-128 bytes";
    for (unsigned char c : value) {
      if (c < 0x20 || c == 0x7f) return key + " must not contain control characters";
    }
    out->request.kind = kind;
    out->request.id = std::move(value);
    ++out->ids;
  }
  if (out->ids != 1) return "give exactly one of anonymous_id, user_id, session_id";
  return "";
}

std::string_view KindName(storage::IdentityKind k) {
  switch (k) {
    case storage::IdentityKind::kAnonymousId: return "anonymous_id";
    case storage::IdentityKind::kUserId: return "user_id";
    case storage::IdentityKind::kSessionId: return "session_id";
  }
  return "";
}

Response Json(std::string body) {
  Response r;
  r.body = std::move(body);
  return r;
}

}  // namespace

void Service::HandlePrivacy(const Request& req, std::string_view rest, std::string_view query,
                            Respond respond) {
  storage::EventStore* store = store_;
  if (rest == "erase") {
    if (req.method != Method::kPost) {
      Response r = ErrorResponse(proto::codes::kMethodNotAllowed, "use POST");
      r.headers.emplace_back("Allow", "POST");
      respond(std::move(r));
      return;
    }
    EraseParams p;
    if (std::string why = ParseErase(query, &p); !why.empty()) {
      respond(ErrorResponse(proto::codes::kIdentityInvalid, why));
      return;
    }
    readers_->Submit([store, p = std::move(p), respond = std::move(respond)] {
      storage::ErasureResult result;
      Status s = store->Erase(p.request, WallNowMs(), &result);
      if (!s.ok()) {
        respond(report::Unavailable(s));
        return;
      }
      std::string body = "{\"erasure_id\":" + std::to_string(result.erasure_id) + ",\"kind\":";
      proto::AppendJsonString(KindName(p.request.kind), &body);
      body += ",\"events_erased\":" + std::to_string(result.events_erased) +
              ",\"sessions_erased\":" + std::to_string(result.sessions_erased) +
              ",\"sessions_pending\":" + std::to_string(result.sessions_pending) +
              ",\"suppressed\":" + (p.request.suppress ? "true" : "false") + "}";
      respond(Json(std::move(body)));
    });
    return;
  }
  if (rest == "erasures") {
    if (req.method != Method::kGet && req.method != Method::kHead) {
      Response r = ErrorResponse(proto::codes::kMethodNotAllowed, "use GET");
      r.headers.emplace_back("Allow", "GET, HEAD");
      respond(std::move(r));
      return;
    }
    size_t limit = kDefaultLogEntries;
    std::string_view q = query, raw_key, raw_value;
    while (proto::NextQueryPair(&q, &raw_key, &raw_value)) {
      auto [ptr, ec] = std::from_chars(raw_value.data(), raw_value.data() + raw_value.size(), limit);
      if (raw_key != "limit" || ec != std::errc() || ptr != raw_value.data() + raw_value.size() || limit == 0 ||
          limit > kMaxLogEntries) {
        respond(ErrorResponse(proto::codes::kQueryInvalid, "the only parameter is limit=1..10000"));
        return;
      }
    }
    readers_->Submit([store, limit, respond = std::move(respond)] {
      std::vector<storage::ErasureLogEntry> entries;
      Status s = store->ReadErasureLog(limit, &entries);
      if (!s.ok()) {
        respond(report::Unavailable(s));
        return;
      }
      std::string body = "{\"erasures\":[";
      for (size_t i = 0; i < entries.size(); ++i) {
        const storage::ErasureLogEntry& e = entries[i];
        if (i) body += ',';
        body += "{\"erasure_id\":" + std::to_string(e.erasure_id) + ",\"at\":" + std::to_string(e.at_ms) +
                ",\"identity\":";
        proto::AppendJsonString(e.identity, &body);
        body += ",\"events_erased\":" + std::to_string(e.events_erased) +
                ",\"sessions_erased\":" + std::to_string(e.sessions_erased) +
                ",\"suppressed\":" + (e.suppressed ? "true" : "false") +
                ",\"status\":" + (e.sessions_open    ? "\"pending_close\""
                                   : e.export_pending ? "\"pending_export\""
                                                      : "\"done\"") + "}";
      }
      body += "]}";
      respond(Json(std::move(body)));
    });
    return;
  }
  respond(ErrorResponse(proto::codes::kNotFound, "no such endpoint (/v1/privacy/erase, /v1/privacy/erasures)"));
}

}  // namespace foothold::server
