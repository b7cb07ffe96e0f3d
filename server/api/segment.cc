// The Segment-compatible endpoints (README "Segment-compatible ingestion"):
// a Segment call or batch → proto::DecodeSegment → enrichment by source →
// EventStore::Append → an answer the SDKs act on, once the group reached the
// WAL. Shares the body, write-key, enrichment and refusal code of the native
// collect path (server/api/ingest.h).
#include <utility>

#include "proto/enrich.h"
#include "proto/error_codes.h"
#include "proto/json_out.h"
#include "proto/segment.h"
#include "server/api/ingest.h"
#include "server/api/metrics.h"
#include "server/api/service.h"
#include "server/http/rate_limiter.h"
#include "storage/event_store.h"

namespace foothold::server {
namespace {

namespace codes = proto::codes;

// {"success": bool, "accepted": N, "duplicates": D, "rejected": [...]}: the
// Segment API's success flag (what SDKs log) plus the native per-event detail.
std::string SegmentBody(bool success, uint64_t accepted, uint64_t duplicates, const std::string& rejected_json) {
  std::string body = success ? "{\"success\":true," : "{\"success\":false,";
  body += "\"accepted\":" + std::to_string(accepted) + ",\"duplicates\":" + std::to_string(duplicates) + ",";
  body += rejected_json;
  body += '}';
  return body;
}

// The SDKs only look at the status; the body still says why, with "success".
Response SegmentError(std::string_view code, std::string_view message) {
  Response r;
  r.status = codes::HttpStatusFor(code);
  r.body = "{\"success\":false,\"error\":{\"code\":";
  proto::AppendJsonString(code, &r.body);
  r.body += ",\"message\":";
  proto::AppendJsonString(message, &r.body);
  r.body += "}}";
  return r;
}

// The request's source: a key from the Authorization header or the query
// wins over the body's writeKey. With no [[source]] configured any key (or
// none) is an unnamed browser source; otherwise the key must be known.
// Returns false (with *missing) when the key is refused.
bool ResolveSource(const SourceTable& sources, const std::string& header_or_query_key,
                   const std::string& body_key, const config::Source** source, bool* missing) {
  const std::string& key = header_or_query_key.empty() ? body_key : header_or_query_key;
  *source = sources.Find(key);
  if (*source != nullptr || sources.empty()) return true;
  *missing = key.empty();
  return false;
}

}  // namespace

void Service::HandleSegment(Request&& req, proto::SegmentCall call, std::string_view query,
                            proto::Decoder* decoder, Respond respond) {
  Response cors;
  if (!CheckOrigin(req, &cors, /*pixel=*/false, respond)) return;
  auto fail = [&](const char* code, std::string message) {
    metrics_->AddRejected(code);
    Response r = SegmentError(code, message);
    AddHeaders(cors, &r);
    if (r.status == 503) {
      r.headers.emplace_back("Retry-After", "1");
      r.close = true;
    }
    respond(std::move(r));
  };
  if (closing()) return fail(codes::kDraining, "the server is shutting down; retry on another node");
  const proto::IpAddress peer_client =
      proto::ResolveClientIp(req.peer, req.x_forwarded_for, config_.trusted_proxies);
  if (!CheckRate(req, peer_client, cors, /*pixel=*/false, respond)) return;

  // A key in the header or query is checked before the body is even read.
  const std::string outer_key = WriteKeyOf(req, query);
  if (!outer_key.empty() && !sources_->empty() && sources_->Find(outer_key) == nullptr) {
    Response r = WriteKeyRefusal(/*missing=*/false, metrics_);
    AddHeaders(cors, &r);
    respond(std::move(r));
    return;
  }

  std::string inflated;
  std::string_view body;
  proto::BodyFormat format;
  if (auto err = ReadBody(req, config_, /*allow_ndjson=*/false, &inflated, &body, &format)) {
    return fail(err->code, std::move(err->message));
  }
  const proto::SegmentLimits limits{config_.segment.max_message_bytes, config_.segment.max_batch_bytes,
                                    config_.limits.max_events};
  proto::SegmentBatch batch;
  proto::DecodeSegment(decoder, body, call, limits, &batch);
  if (batch.decoded.error) {
    return fail(batch.decoded.error->code.c_str(), std::move(batch.decoded.error->message));
  }
  const config::Source* source = nullptr;
  bool missing = false;
  if (!ResolveSource(*sources_, outer_key, batch.write_key, &source, &missing)) {
    Response r = WriteKeyRefusal(missing, metrics_);
    AddHeaders(cors, &r);
    respond(std::move(r));
    return;
  }
  if (batch.props_dropped) metrics_->AddPropsDropped(batch.props_dropped);
  for (const auto& rej : batch.decoded.rejected) metrics_->AddRejected(rej.code);

  std::string rejected_json;
  AppendRejections(batch.decoded.rejected, &rejected_json);
  if (batch.decoded.events.empty()) {
    Response r;
    r.status = 400;
    r.body = SegmentBody(false, 0, 0, rejected_json);
    AddHeaders(cors, &r);
    respond(std::move(r));
    return;
  }

  // Enrichment (README "Sources and write keys"): a browser source is the
  // visitor's own request; a server source relays end users, whose IP and
  // User-Agent are in each message's context.
  const bool server = source != nullptr && source->kind == config::SourceKind::kServer;
  const std::string peer_ip =
      proto::StoredIp(peer_client, config_.privacy.ip_mode, ip_secret_, req.received_at_ms);
  std::string peer_ua = req.user_agent;
  proto::TruncateUtf8(&peer_ua, 512);
  const bool peer_bot = proto::IsBotUserAgent(req.user_agent);
  for (size_t i = 0; i < batch.decoded.events.size(); ++i) {
    proto::Event& e = batch.decoded.events[i];
    const proto::SegmentMessage& m = batch.messages[i];
    if (!server) {
      EnrichEvent(&e, req.received_at_ms, m.sent_at_ms, config_, peer_ip, peer_ua, peer_bot, source, metrics_);
      continue;
    }
    proto::IpAddress user_ip;
    const std::string ip = !m.context_ip.empty() && proto::ParseIp(m.context_ip, &user_ip)
                               ? proto::StoredIp(user_ip, config_.privacy.ip_mode, ip_secret_, req.received_at_ms)
                               : peer_ip;
    std::string ua = m.context_user_agent;
    proto::TruncateUtf8(&ua, 512);
    // No end-user User-Agent: a backend event, never a bot by the SDK's own UA.
    const bool bot = !ua.empty() && proto::IsBotUserAgent(ua);
    // A server library's explicit `timestamp` is kept as sent (then clamped).
    const std::optional<int64_t> sent_at = m.explicit_timestamp ? std::nullopt : m.sent_at_ms;
    EnrichEvent(&e, req.received_at_ms, sent_at, config_, ip, ua, bot, source, metrics_);
  }

  Metrics* metrics = metrics_;
  auto on_written = [metrics, cors, rejected_json = std::move(rejected_json),
                     respond](storage::AppendResult&& result) {
    Response r;
    if (!result.status.ok()) {
      r = StoreRefusal(result.status, metrics);
    } else {
      uint64_t dups = 0;
      for (auto o : result.outcomes) dups += o == storage::AppendOutcome::kDuplicate;
      const uint64_t accepted = result.outcomes.size() - dups;
      metrics->AddEvents(accepted, dups);
      r.status = 200;
      r.body = SegmentBody(true, accepted, dups, rejected_json);
    }
    AddHeaders(cors, &r);
    respond(std::move(r));
  };
  Status s = store_->Append(std::move(batch.decoded.events), std::move(on_written), /*defer_commit=*/true);
  if (!s.ok()) {
    Response r = StoreRefusal(s, metrics_);
    AddHeaders(cors, &r);
    respond(std::move(r));
  }
}

}  // namespace foothold::server
