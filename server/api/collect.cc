// The collect endpoints (server/README.md "Collect pipeline"; formats in
// proto/README.md): body → events → enrichment → EventStore::Append →
// response once the group reached the WAL.
#include <cctype>
#include <chrono>
#include <cstdio>

#include "proto/decode.h"
#include "proto/enrich.h"
#include "proto/error_codes.h"
#include "proto/json_out.h"
#include "server/http/gzip.h"
#include "server/api/metrics.h"
#include "server/http/rate_limiter.h"
#include "server/api/service.h"
#include "storage/event_store.h"

namespace foothold::server {
namespace {

namespace codes = proto::codes;

// The 43-byte transparent 1x1 GIF answered by the pixel endpoint.
constexpr unsigned char kPixelGif[] = {
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b};
static_assert(sizeof(kPixelGif) == 43);

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits "type/subtype; charset=UTF-8; x=y" into the lower-cased media type
// and the charset parameter (unquoted, lower-cased; "" when absent).
void ParseContentType(std::string_view header, std::string* media_type, std::string* charset) {
  size_t semi = header.find(';');
  *media_type = Lower(Trim(header.substr(0, semi)));
  charset->clear();
  while (semi != std::string_view::npos) {
    header.remove_prefix(semi + 1);
    semi = header.find(';');
    std::string_view param = Trim(header.substr(0, semi));
    size_t eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    if (Lower(Trim(param.substr(0, eq))) != "charset") continue;
    std::string_view value = Trim(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    *charset = Lower(value);
  }
}

void AppendRejections(const std::vector<proto::Rejection>& rejected, std::string* out) {
  *out += "\"rejected\":[";
  for (size_t i = 0; i < rejected.size(); ++i) {
    const proto::Rejection& r = rejected[i];
    if (i) *out += ',';
    *out += "{\"index\":";
    *out += std::to_string(r.index);
    *out += ",\"code\":";
    proto::AppendJsonString(r.code, out);
    *out += ",\"field\":";
    proto::AppendJsonString(r.field, out);
    *out += ",\"message\":";
    proto::AppendJsonString(r.message, out);
    *out += '}';
  }
  *out += ']';
}

std::string OutcomeBody(uint64_t accepted, uint64_t duplicates, const std::string& rejected_json) {
  std::string body = "{\"accepted\":" + std::to_string(accepted) + ",\"duplicates\":" + std::to_string(duplicates) +
                     ",";
  body += rejected_json;
  body += '}';
  return body;
}

void AddHeaders(const Response& from, Response* to) {
  to->headers.insert(to->headers.end(), from.headers.begin(), from.headers.end());
}


// Server-side fields of every event of `batch` (proto/README.md "Enrichment").
void Enrich(const config::Config& config, const std::string& ip_secret, const Request& req,
            const proto::IpAddress& client, proto::DecodedBatch* batch, Metrics* metrics) {
  const std::string stored_ip = proto::StoredIp(client, config.privacy.ip_mode, ip_secret, req.received_at_ms);
  std::string user_agent = req.user_agent;
  proto::TruncateUtf8(&user_agent, 512);
  const bool bot = proto::IsBotUserAgent(req.user_agent);
  const proto::TimePolicy policy{config.time.max_past_ms, config.time.max_future_ms};
  uint64_t skew = 0;
  for (proto::Event& e : batch->events) {
    switch (proto::AssignEventTime(&e, req.received_at_ms, batch->sent_at_ms, policy)) {
      case proto::ClampKind::kPast: metrics->AddClamped(false); break;
      case proto::ClampKind::kFuture: metrics->AddClamped(true); break;
      case proto::ClampKind::kNone: break;
    }
    if (e.flags & proto::kFlagSkewCorrected) ++skew;
    if (e.event_id.empty()) {
      e.event_id = proto::NewEventId(req.received_at_ms);
      e.flags |= proto::kFlagEventIdAssigned;
    }
    e.ip = stored_ip;
    e.user_agent = user_agent;
    e.bot = bot;
  }
  if (skew) metrics->AddSkewCorrected(skew);
  if (bot) metrics->AddBots(batch->events.size());
}

// The 503 for a store that refused or failed an append (counted): queue_full
// (retry in 1 s) or store_unavailable (5 s); a GIF for the pixel.
Response StoreRefusal(const Status& s, bool pixel, Metrics* metrics) {
  const bool busy = s.code() == Status::Code::kBusy;
  const char* code = busy ? codes::kQueueFull : codes::kStoreUnavailable;
  metrics->AddRejected(code);
  Response r = pixel ? PixelResponse(code)
                     : ErrorResponse(code,
                                     busy ? "the writer queue is full; retry later"
                                          : "the event store is unavailable: " + s.message());
  r.headers.emplace_back("Retry-After", busy ? "1" : "5");
  return r;
}

}  // namespace

// The GIF every pixel hit gets: 200, or the status of `rejected_code`
// (named in X-Foothold-Rejected) when the hit was not stored.
Response PixelResponse(std::string_view rejected_code) {
  Response r;
  r.status = rejected_code.empty() ? 200 : codes::HttpStatusFor(rejected_code);
  r.content_type = "image/gif";
  r.body.assign(reinterpret_cast<const char*>(kPixelGif), sizeof(kPixelGif));
  r.headers.emplace_back("Cache-Control", "no-store");
  if (!rejected_code.empty()) r.headers.emplace_back("X-Foothold-Rejected", std::string(rejected_code));
  return r;
}

bool Service::CheckRate(const Request& req, const proto::IpAddress& client, const Response& cors, bool pixel,
                        const Respond& respond) {
  int retry_after = 1;
  if (limiter_->Allow(client, req.start_ns, &retry_after)) return true;
  metrics_->AddRejected(codes::kRateLimited);
  Response r = pixel ? PixelResponse(codes::kRateLimited)
                     : ErrorResponse(codes::kRateLimited, "too many requests from this client; slow down");
  AddHeaders(cors, &r);
  r.headers.emplace_back("Retry-After", std::to_string(retry_after));
  respond(std::move(r));
  return false;
}

void Service::HandleCollectPost(Request&& req, proto::Decoder* decoder, Respond respond) {
  Response cors;
  if (!CheckOrigin(req, &cors, /*pixel=*/false, respond)) return;
  auto fail = [&](const char* code, std::string message) {
    metrics_->AddRejected(code);
    Response r = ErrorResponse(code, message);
    AddHeaders(cors, &r);
    if (r.status == 503) {
      r.headers.emplace_back("Retry-After", "1");
      r.close = true;
    }
    respond(std::move(r));
  };
  if (closing()) return fail(codes::kDraining, "the server is shutting down; retry on another node");
  const proto::IpAddress client = proto::ResolveClientIp(req.peer, req.x_forwarded_for, config_.trusted_proxies);
  if (!CheckRate(req, client, cors, /*pixel=*/false, respond)) return;

  std::string media_type, charset;
  ParseContentType(req.content_type, &media_type, &charset);
  proto::BodyFormat format;
  if (media_type.empty() || media_type == "application/json" || media_type == "text/plain") {
    format = proto::BodyFormat::kJson;
  } else if (media_type == "application/x-ndjson" || media_type == "application/ndjson" ||
             media_type == "application/jsonl") {
    format = proto::BodyFormat::kNdjson;
  } else {
    return fail(codes::kContentTypeUnsupported,
                "Content-Type '" + media_type + "' is not supported; use application/json, text/plain or application/x-ndjson");
  }
  if (!charset.empty() && charset != "utf-8" && charset != "utf8") {
    return fail(codes::kCharsetUnsupported, "charset '" + charset + "' is not supported; send UTF-8");
  }

  std::string inflated;
  std::string_view body = req.body;
  const std::string encoding = Lower(Trim(req.content_encoding));
  if (encoding == "gzip" || encoding == "x-gzip") {
    switch (Gunzip(req.body, config_.limits.max_decompressed_bytes, &inflated)) {
      case GunzipResult::kOk: break;
      case GunzipResult::kInvalid: return fail(codes::kGzipInvalid, "the body is not a valid gzip stream");
      case GunzipResult::kTooLarge:
        return fail(codes::kBodyTooLarge, "the decompressed body exceeds limits.max_decompressed_bytes (" +
                                              std::to_string(config_.limits.max_decompressed_bytes) + ")");
    }
    body = inflated;
  } else if (!encoding.empty() && encoding != "identity") {
    return fail(codes::kContentEncodingUnsupported,
                "Content-Encoding '" + encoding + "' is not supported; use gzip or none");
  }

  proto::DecodedBatch batch;
  decoder->DecodeBody(body, format, &batch);
  if (batch.error) {
    Response r;
    r.status = codes::HttpStatusFor(batch.error->code);
    metrics_->AddRejected(batch.error->code);
    r.body = "{\"error\":{\"code\":";
    proto::AppendJsonString(batch.error->code, &r.body);
    r.body += ",\"message\":";
    proto::AppendJsonString(batch.error->message, &r.body);
    r.body += "},\"accepted\":0,\"duplicates\":0,\"rejected\":[]}";
    AddHeaders(cors, &r);
    respond(std::move(r));
    return;
  }
  for (const auto& rej : batch.rejected) metrics_->AddRejected(rej.code);

  std::string rejected_json;
  AppendRejections(batch.rejected, &rejected_json);
  if (batch.events.empty()) {
    Response r;
    r.status = 400;
    r.body = OutcomeBody(0, 0, rejected_json);
    AddHeaders(cors, &r);
    respond(std::move(r));
    return;
  }
  Enrich(config_, ip_secret_, req, client, &batch, metrics_);

  Metrics* metrics = metrics_;
  auto on_written = [metrics, cors, rejected_json = std::move(rejected_json),
                     respond](storage::AppendResult&& result) {
    Response r;
    if (!result.status.ok()) {
      r = StoreRefusal(result.status, /*pixel=*/false, metrics);
    } else {
      uint64_t dups = 0;
      for (auto o : result.outcomes) dups += o == storage::AppendOutcome::kDuplicate;
      const uint64_t accepted = result.outcomes.size() - dups;
      metrics->AddEvents(accepted, dups);
      r.status = 200;
      r.body = OutcomeBody(accepted, dups, rejected_json);
    }
    AddHeaders(cors, &r);
    respond(std::move(r));
  };
  Status s = store_->Append(std::move(batch.events), std::move(on_written), /*defer_commit=*/true);
  if (!s.ok()) {
    Response r = StoreRefusal(s, /*pixel=*/false, metrics_);
    AddHeaders(cors, &r);  // so a cross-origin SDK can read the 503 and its Retry-After
    respond(std::move(r));
  }
}

void Service::HandlePixel(Request&& req, std::string_view query, proto::Decoder* decoder, Respond respond) {
  Response cors;
  if (!CheckOrigin(req, &cors, /*pixel=*/true, respond)) return;
  if (closing()) {
    metrics_->AddRejected(codes::kDraining);
    Response r = PixelResponse(codes::kDraining);
    r.headers.emplace_back("Retry-After", "1");
    r.close = true;
    respond(std::move(r));
    return;
  }
  if (req.method == Method::kHead) {
    // HEAD must not have side effects (link checkers, prefetchers): the same
    // headers as a GET, nothing stored.
    respond(PixelResponse(""));
    return;
  }
  const proto::IpAddress client = proto::ResolveClientIp(req.peer, req.x_forwarded_for, config_.trusted_proxies);
  if (!CheckRate(req, client, cors, /*pixel=*/true, respond)) return;
  proto::DecodedBatch batch;
  decoder->DecodeQuery(query, &batch);
  if (batch.error || batch.events.empty()) {
    const std::string code = batch.error ? batch.error->code : batch.rejected.empty() ? codes::kBadRequest
                                                                                      : batch.rejected[0].code;
    metrics_->AddRejected(code);
    respond(PixelResponse(code));
    return;
  }
  Enrich(config_, ip_secret_, req, client, &batch, metrics_);
  Metrics* metrics = metrics_;
  // defer_commit: the connection posts one CommitNow per batch of requests.
  Status s = store_->Append(
      std::move(batch.events),
      [metrics, respond](storage::AppendResult&& result) {
    if (!result.status.ok()) {
      respond(StoreRefusal(result.status, /*pixel=*/true, metrics));
      return;
    }
    const bool dup = result.outcomes[0] == storage::AppendOutcome::kDuplicate;
    metrics->AddEvents(dup ? 0 : 1, dup ? 1 : 0);
    respond(PixelResponse(""));
      },
      /*defer_commit=*/true);
  if (!s.ok()) respond(StoreRefusal(s, /*pixel=*/true, metrics_));
}

}  // namespace foothold::server
