#include "server/api/ingest.h"

#include <cctype>

#include "proto/enrich.h"
#include "proto/error_codes.h"
#include "proto/json_out.h"
#include "proto/percent.h"
#include "server/api/metrics.h"
#include "server/api/service.h"
#include "server/http/gzip.h"

namespace foothold::server {
namespace {

namespace codes = proto::codes;

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

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// ASCII case-insensitive (std::tolower is a locale-aware libc call a byte).
bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// Splits "type/subtype; charset=UTF-8; x=y" into the media type and the
// charset parameter (unquoted; "" when absent), both as sent: compare them
// with IEquals (no lower-cased copies on the path of every beacon).
void ParseContentType(std::string_view header, std::string_view* media_type, std::string_view* charset) {
  size_t semi = header.find(';');
  *media_type = Trim(header.substr(0, semi));
  *charset = {};
  while (semi != std::string_view::npos) {
    header.remove_prefix(semi + 1);
    semi = header.find(';');
    std::string_view param = Trim(header.substr(0, semi));
    size_t eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    if (!IEquals(Trim(param.substr(0, eq)), "charset")) continue;
    std::string_view value = Trim(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    *charset = value;
  }
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

// Standard or URL-safe base64, padding optional; false on any other byte.
bool Base64Decode(std::string_view in, std::string* out) {
  out->clear();
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = Base64Value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

}  // namespace

std::optional<IngestError> ReadBody(const Request& req, const config::Config& config,
                                    bool allow_ndjson, std::string* inflated,
                                    std::string_view* body, proto::BodyFormat* format) {
  std::string_view media_type, charset;
  ParseContentType(req.content_type, &media_type, &charset);
  if (media_type.empty() || IEquals(media_type, "application/json") || IEquals(media_type, "text/plain")) {
    *format = proto::BodyFormat::kJson;
  } else if (allow_ndjson && (IEquals(media_type, "application/x-ndjson") ||
                              IEquals(media_type, "application/ndjson") ||
                              IEquals(media_type, "application/jsonl"))) {
    *format = proto::BodyFormat::kNdjson;
  } else {
    return IngestError{codes::kContentTypeUnsupported,
                       "Content-Type '" + Lower(media_type) + "' is not supported; use application/json or text/plain" +
                           (allow_ndjson ? " or application/x-ndjson" : "")};
  }
  if (!charset.empty() && !IEquals(charset, "utf-8") && !IEquals(charset, "utf8")) {
    return IngestError{codes::kCharsetUnsupported, "charset '" + Lower(charset) + "' is not supported; send UTF-8"};
  }
  *body = req.body;
  const std::string_view encoding = Trim(req.content_encoding);
  if (IEquals(encoding, "gzip") || IEquals(encoding, "x-gzip")) {
    switch (Gunzip(req.body, config.limits.max_decompressed_bytes, inflated)) {
      case GunzipResult::kOk: break;
      case GunzipResult::kInvalid: return IngestError{codes::kGzipInvalid, "the body is not a valid gzip stream"};
      case GunzipResult::kTooLarge:
        return IngestError{codes::kBodyTooLarge,
                           "the decompressed body exceeds limits.max_decompressed_bytes (" +
                               std::to_string(config.limits.max_decompressed_bytes) + ")"};
    }
    *body = *inflated;
  } else if (!encoding.empty() && !IEquals(encoding, "identity")) {
    return IngestError{codes::kContentEncodingUnsupported,
                       "Content-Encoding '" + Lower(encoding) + "' is not supported; use gzip or none"};
  }
  return std::nullopt;
}

std::string WriteKeyOf(const Request& req, std::string_view query) {
  std::string_view auth = Trim(req.authorization);
  if (auth.size() > 6 && Lower(auth.substr(0, 6)) == "basic ") {
    std::string decoded;
    if (Base64Decode(Trim(auth.substr(6)), &decoded)) return decoded.substr(0, decoded.find(':'));
  }
  std::string_view key, value;
  while (proto::NextQueryPair(&query, &key, &value)) {
    if (key != "writeKey" && key != "write_key") continue;
    std::string out;
    if (proto::PercentDecode(value, /*plus_is_space=*/true, &out)) return out;
  }
  return "";
}

SourceTable::SourceTable(const std::vector<config::Source>& sources) {
  for (const config::Source& s : sources) by_key_.emplace(s.write_key, &s);
}

const config::Source* SourceTable::Find(std::string_view key) const {
  if (key.empty()) return nullptr;
  auto it = by_key_.find(std::string(key));
  return it == by_key_.end() ? nullptr : it->second;
}

Response WriteKeyRefusal(bool missing, Metrics* metrics) {
  const char* code = missing ? codes::kWriteKeyMissing : codes::kWriteKeyInvalid;
  metrics->AddRejected(code);
  Response r = ErrorResponse(code,
                             missing ? "a write key is required: HTTP Basic user, writeKey in the body, or ?writeKey="
                                     : "the write key is not the key of any configured source");
  r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"foothold\"");
  return r;
}

void EnrichEvent(proto::Event* e, int64_t received_at_ms, std::optional<int64_t> sent_at_ms,
                 const config::Config& config, std::string_view ip, std::string_view user_agent,
                 bool bot, const config::Source* source, Metrics* metrics) {
  const proto::TimePolicy policy{config.time.max_past_ms, config.time.max_future_ms};
  switch (proto::AssignEventTime(e, received_at_ms, sent_at_ms, policy)) {
    case proto::ClampKind::kPast: metrics->AddClamped(false); break;
    case proto::ClampKind::kFuture: metrics->AddClamped(true); break;
    case proto::ClampKind::kNone: break;
  }
  if (e->flags & proto::kFlagSkewCorrected) metrics->AddSkewCorrected(1);
  if (e->event_id.empty()) {
    e->event_id = proto::NewEventId(received_at_ms);
    e->flags |= proto::kFlagEventIdAssigned;
  }
  e->ip.assign(ip);
  e->user_agent.assign(user_agent);
  e->bot = bot;
  if (bot) metrics->AddBots(1);
  if (source != nullptr) e->source = source->name;
}

Response StoreRefusal(const Status& s, Metrics* metrics) {
  const bool busy = s.code() == Status::Code::kBusy;
  const bool full = s.code() == Status::Code::kNoSpace;
  const char* code = busy ? codes::kQueueFull : full ? codes::kStorageFull : codes::kStoreUnavailable;
  metrics->AddRejected(code);
  Response r = ErrorResponse(code, busy   ? std::string("the writer queue is full; retry later")
                                   : full ? "the collector's disk is full; retry later: " + s.message()
                                          : "the event store is unavailable: " + s.message());
  r.headers.emplace_back("Retry-After", busy ? "1" : full ? "30" : "5");
  return r;
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

void AddHeaders(const Response& from, Response* to) {
  to->headers.insert(to->headers.end(), from.headers.begin(), from.headers.end());
}

}  // namespace foothold::server
