// The collect endpoints (server/README.md "Collect pipeline"; formats in
// proto/README.md): body → events → enrichment → EventStore::Append →
// response once the group reached the WAL. The body, write-key and
// enrichment steps are shared with the Segment endpoints (ingest.h).
#include <chrono>
#include <cstdio>

#include "proto/decode.h"
#include "proto/enrich.h"
#include "proto/error_codes.h"
#include "proto/json_out.h"
#include "server/api/ingest.h"
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

std::string OutcomeBody(uint64_t accepted, uint64_t duplicates, const std::string& rejected_json) {
  static constexpr std::string_view kOneBeacon = "{\"accepted\":1,\"duplicates\":0,\"rejected\":[]}";
  if (accepted == 1 && duplicates == 0 && rejected_json == "\"rejected\":[]") return std::string(kOneBeacon);
  std::string body;
  body.reserve(40 + rejected_json.size());
  body += "{\"accepted\":";
  body += std::to_string(accepted);
  body += ",\"duplicates\":";
  body += std::to_string(duplicates);
  body += ',';
  body += rejected_json;
  body += '}';
  return body;
}


// Server-side fields of every event of `batch` (proto/README.md "Enrichment").
// A server source's beacons are not bot-flagged by the sender's User-Agent.
void Enrich(const config::Config& config, const std::string& ip_secret, const Request& req,
            const proto::IpAddress& client, const config::Source* source, proto::DecodedBatch* batch,
            Metrics* metrics) {
  const std::string stored_ip = proto::StoredIp(client, config.privacy.ip_mode, ip_secret, req.received_at_ms);
  const std::string_view user_agent = proto::Utf8Prefix(req.user_agent, 512);  // viewed, copied once into each event
  const bool server = source != nullptr && source->kind == config::SourceKind::kServer;
  const bool bot = !server && proto::IsBotUserAgent(req.user_agent);
  for (proto::Event& e : batch->events) {
    EnrichEvent(&e, req.received_at_ms, batch->sent_at_ms, config, stored_ip, user_agent, bot, source, metrics);
  }
}

// The 503 of a store that refused; a GIF with the code for the pixel.
Response Refusal(const Status& s, bool pixel, Metrics* metrics) {
  Response r = StoreRefusal(s, metrics);
  if (!pixel) return r;
  Response gif = PixelResponse(s.code() == Status::Code::kBusy      ? codes::kQueueFull
                                : s.code() == Status::Code::kNoSpace ? codes::kStorageFull
                                                                     : codes::kStoreUnavailable);
  for (const auto& h : r.headers) {
    if (h.first == "Retry-After") gif.headers.push_back(h);
  }
  return gif;
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

bool Service::CheckWriteKey(const Request& req, std::string_view query, const config::Source** source,
                            const Response& cors, const Respond& respond) {
  const std::string key = WriteKeyOf(req, query);
  *source = sources_->Find(key);
  if (*source != nullptr) return true;
  if (key.empty() && !config_.sources.require_write_key) return true;
  Response r = WriteKeyRefusal(key.empty(), metrics_);
  AddHeaders(cors, &r);
  respond(std::move(r));
  return false;
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

void Service::HandleCollectPost(Request&& req, std::string_view query, proto::Decoder* decoder,
                                Respond respond) {
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

  const config::Source* source = nullptr;
  if (!CheckWriteKey(req, query, &source, cors, respond)) return;

  std::string inflated;
  std::string_view body;
  proto::BodyFormat format;
  if (auto err = ReadBody(req, config_, /*allow_ndjson=*/true, &inflated, &body, &format)) {
    return fail(err->code, std::move(err->message));
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
  Enrich(config_, ip_secret_, req, client, source, &batch, metrics_);

  Metrics* metrics = metrics_;
  // Called once: what it holds is moved into the answer.
  storage::AppendCallback on_written = [metrics, cors_headers = std::move(cors.headers),
                                        rejected_json = std::move(rejected_json),
                                        respond = std::move(respond)](storage::AppendResult&& result) mutable {
    Response r;
    if (!result.status.ok()) {
      r = Refusal(result.status, /*pixel=*/false, metrics);
    } else {
      uint64_t dups = 0;
      for (auto o : result.outcomes) dups += o == storage::AppendOutcome::kDuplicate;
      const uint64_t accepted = result.outcomes.size() - dups;
      metrics->AddEvents(accepted, dups);
      r.status = 200;
      r.body = OutcomeBody(accepted, dups, rejected_json);
    }
    // With the 503 too, so a cross-origin SDK can read it and its Retry-After.
    if (r.headers.empty()) {
      r.headers = std::move(cors_headers);  // the 200: no second vector
    } else {
      r.headers.insert(r.headers.end(), std::make_move_iterator(cors_headers.begin()),
                       std::make_move_iterator(cors_headers.end()));
    }
    respond(std::move(r));
  };
  Status s = store_->Append(std::move(batch.events), std::move(on_written), /*defer_commit=*/true);
  // Refused: nothing was written, and on_written is still ours to answer with.
  if (!s.ok()) on_written(storage::AppendResult{s, {}, {}});
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
  const config::Source* source = nullptr;
  if (!CheckWriteKey(req, query, &source, Response{}, [&](Response&&) {
        respond(PixelResponse(WriteKeyOf(req, query).empty() ? codes::kWriteKeyMissing
                                                             : codes::kWriteKeyInvalid));
      })) {
    return;
  }
  proto::DecodedBatch batch;
  decoder->DecodeQuery(query, &batch);
  if (batch.error || batch.events.empty()) {
    const std::string code = batch.error ? batch.error->code : batch.rejected.empty() ? codes::kBadRequest
                                                                                      : batch.rejected[0].code;
    metrics_->AddRejected(code);
    respond(PixelResponse(code));
    return;
  }
  Enrich(config_, ip_secret_, req, client, source, &batch, metrics_);
  Metrics* metrics = metrics_;
  // defer_commit: the connection posts one CommitNow per batch of requests.
  Status s = store_->Append(
      std::move(batch.events),
      [metrics, respond](storage::AppendResult&& result) {
    if (!result.status.ok()) {
      respond(Refusal(result.status, /*pixel=*/true, metrics));
      return;
    }
    const bool dup = result.outcomes[0] == storage::AppendOutcome::kDuplicate;
    metrics->AddEvents(dup ? 0 : 1, dup ? 1 : 0);
    respond(PixelResponse(""));
      },
      /*defer_commit=*/true);
  if (!s.ok()) respond(Refusal(s, /*pixel=*/true, metrics_));
}

}  // namespace foothold::server
