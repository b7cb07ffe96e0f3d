// The ingest path shared by the native collect endpoints (collect.cc) and the
// Segment-compatible ones (segment.cc): reading a body (Content-Type,
// charset, gzip), write keys and sources, enrichment, and the 503 answers of
// a store that refused. Private to server/api/.
//
// Thread safety: pure functions over caller-owned values, except
// SourceTable, which is immutable after construction and may be shared.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "proto/decode.h"
#include "proto/status.h"
#include "server/http/http_types.h"

namespace foothold::server {

class Metrics;

// A request that fails before any event is decoded: code (its status is
// proto::codes::HttpStatusFor(code)) and message.
struct IngestError {
  const char* code = "";
  std::string message;
};

// Checks Content-Type (`allow_ndjson`: also the NDJSON types) and charset,
// and gunzips a gzip body into *inflated. On success *body views the bytes
// to decode (req.body or *inflated) and *format is what the type says.
std::optional<IngestError> ReadBody(const Request& req, const config::Config& config,
                                    bool allow_ndjson, std::string* inflated,
                                    std::string_view* body, proto::BodyFormat* format);

// The write key of a request from its Authorization header (HTTP Basic,
// user = key, password ignored), else the `writeKey` query parameter; "" when
// neither is there.
std::string WriteKeyOf(const Request& req, std::string_view query);

// The configured [[source]] entries by write key.
class SourceTable {
 public:
  explicit SourceTable(const std::vector<config::Source>& sources);
  bool empty() const { return by_key_.empty(); }
  // The source of `key`; null when unknown (or empty).
  const config::Source* Find(std::string_view key) const;

 private:
  std::unordered_map<std::string, const config::Source*> by_key_;
};

// The 401 for a missing or unknown write key (counted).
Response WriteKeyRefusal(bool missing, Metrics* metrics);

// Server-side fields of one event (received_at, event time, event_id, IP,
// User-Agent, bot flag, source). `ip`, `user_agent` and `bot` are the
// request's, computed once per request; `sent_at_ms` is the client's send
// time for the clock correction (or none).
void EnrichEvent(proto::Event* e, int64_t received_at_ms, std::optional<int64_t> sent_at_ms,
                 const config::Config& config, std::string_view ip, std::string_view user_agent,
                 bool bot, const config::Source* source, Metrics* metrics);

// The 503 for a store that refused or failed an append (counted): queue_full
// (Retry-After 1), storage_full (the data disk is below storage.min_free_bytes
// or full; Retry-After 30) or store_unavailable (Retry-After 5).
Response StoreRefusal(const Status& s, Metrics* metrics);

// `"rejected":[...]` for a response body.
void AppendRejections(const std::vector<proto::Rejection>& rejected, std::string* out);

void AddHeaders(const Response& from, Response* to);

}  // namespace foothold::server
