// The stable error codes of the wire contract, and the one mapping from a
// code to its HTTP status (HttpStatusFor). They are API: never rename one;
// proto/README.md ("Error codes") documents each. A handler names a code and
// never picks a status: server/api's ErrorResponse and PixelResponse look it
// up here, as does the body decoder.
//
// Thread safety: constants and pure functions.
#pragma once

#include <string_view>

namespace foothold::proto::codes {

// Body-level (the request as a whole).
inline constexpr char kJsonInvalid[] = "json_invalid";                 // 400: not parseable JSON (also per NDJSON line)
inline constexpr char kBodyEmpty[] = "body_empty";                     // 400: no content
inline constexpr char kBatchInvalid[] = "batch_invalid";               // 400: top level not an object/array, `batch` not an array
inline constexpr char kSentAtInvalid[] = "sent_at_invalid";            // 400: `sent_at` not an integer ms
inline constexpr char kTooManyEvents[] = "too_many_events";            // 413
inline constexpr char kBodyTooLarge[] = "body_too_large";              // 413: as sent or decompressed
inline constexpr char kHeadersTooLarge[] = "headers_too_large";        // 413 (431 semantics)
inline constexpr char kGzipInvalid[] = "gzip_invalid";                 // 400
inline constexpr char kContentTypeUnsupported[] = "content_type_unsupported";          // 415
inline constexpr char kContentEncodingUnsupported[] = "content_encoding_unsupported";  // 415
inline constexpr char kCharsetUnsupported[] = "charset_unsupported";   // 415

// Event-level (an entry of `rejected`).
inline constexpr char kEventNotObject[] = "event_not_object";
inline constexpr char kEventMissing[] = "event_missing";
inline constexpr char kEventNameInvalid[] = "event_name_invalid";
inline constexpr char kIdentityMissing[] = "identity_missing";
inline constexpr char kFieldType[] = "field_type";                     // wrong JSON type for a known field
inline constexpr char kFieldEmpty[] = "field_empty";                   // "" where 1+ bytes are required
inline constexpr char kFieldTooLong[] = "field_too_long";
inline constexpr char kFieldInvalid[] = "field_invalid";               // bad characters (e.g. non-printable session_id)
inline constexpr char kUtf8Invalid[] = "utf8_invalid";
inline constexpr char kTsInvalid[] = "ts_invalid";
inline constexpr char kEngagedMsInvalid[] = "engaged_ms_invalid";
inline constexpr char kExperimentsInvalid[] = "experiments_invalid";
inline constexpr char kPropsInvalid[] = "props_invalid";               // props not an object
inline constexpr char kPropsTooMany[] = "props_too_many";
inline constexpr char kPropsNested[] = "props_nested";
inline constexpr char kPropKeyInvalid[] = "prop_key_invalid";
inline constexpr char kNumberInvalid[] = "number_invalid";             // out of range / not finite
inline constexpr char kEventTooLarge[] = "event_too_large";
inline constexpr char kMessageTooLarge[] = "message_too_large";       // a Segment message over segment.max_message_bytes (413 for a single call)
inline constexpr char kTypeInvalid[] = "type_invalid";                 // a Segment batch message without a known `type`
inline constexpr char kDuplicateKey[] = "duplicate_key";               // a field or prop key given twice

// Server-level.
inline constexpr char kNotFound[] = "not_found";                       // 404
inline constexpr char kMethodNotAllowed[] = "method_not_allowed";      // 405
inline constexpr char kOriginForbidden[] = "origin_forbidden";         // 403
inline constexpr char kUnauthorized[] = "unauthorized";                // 401
inline constexpr char kWriteKeyMissing[] = "write_key_missing";       // 401: sources are configured and no write key came
inline constexpr char kWriteKeyInvalid[] = "write_key_invalid";       // 401: the write key names no [[source]]
inline constexpr char kForbidden[] = "forbidden";                      // 403
inline constexpr char kRateLimited[] = "rate_limited";                 // 429
inline constexpr char kQueueFull[] = "queue_full";                     // 503
inline constexpr char kStoreUnavailable[] = "store_unavailable";       // 503
inline constexpr char kStorageFull[] = "storage_full";                 // 503: data disk below storage.min_free_bytes (or full)
inline constexpr char kLimitInvalid[] = "limit_invalid";               // 400: readback `limit` not 1..max
inline constexpr char kCursorInvalid[] = "cursor_invalid";             // 400: readback `cursor` malformed
inline constexpr char kDraining[] = "draining";                        // 503
inline constexpr char kBadRequest[] = "bad_request";                   // 400: malformed HTTP
inline constexpr char kSessionIdInvalid[] = "session_id_invalid";      // 400 on readback
inline constexpr char kEventIdInvalid[] = "event_id_invalid";         // 400 on /v1/events/{id}
inline constexpr char kQueryInvalid[] = "query_invalid";               // 400: a stats parameter is missing or malformed
inline constexpr char kRangeTooLarge[] = "range_too_large";            // 400: a time series of more than 10000 buckets
inline constexpr char kUnknownDimension[] = "unknown_dimension";      // 400: by= or where= names no [[dimension]]
inline constexpr char kBadWhere[] = "bad_where";                      // 400: where= is not <dimension>:<value>
inline constexpr char kClusterNotConfigured[] = "cluster_not_configured";  // 400: scope=cluster without [export.clickhouse]
inline constexpr char kClusterUnavailable[] = "cluster_unavailable";       // 503: ClickHouse did not answer a cluster report
inline constexpr char kIdentityInvalid[] = "identity_invalid";  // 400: an erasure names no id, several, or a malformed one

// Every code with its HTTP status. An event-level code answers 400 when it is
// the only outcome (a pixel hit, or a batch whose every event is rejected);
// in a batch that stored something it is an entry of `rejected` in a 200.
struct CodeStatus {
  std::string_view code;
  int http_status;
};

inline constexpr CodeStatus kCodeStatuses[] = {
    {kJsonInvalid, 400},
    {kBodyEmpty, 400},
    {kBatchInvalid, 400},
    {kSentAtInvalid, 400},
    {kTooManyEvents, 413},
    {kBodyTooLarge, 413},
    {kHeadersTooLarge, 413},
    {kGzipInvalid, 400},
    {kContentTypeUnsupported, 415},
    {kContentEncodingUnsupported, 415},
    {kCharsetUnsupported, 415},
    {kEventNotObject, 400},
    {kEventMissing, 400},
    {kEventNameInvalid, 400},
    {kIdentityMissing, 400},
    {kFieldType, 400},
    {kFieldEmpty, 400},
    {kFieldTooLong, 400},
    {kFieldInvalid, 400},
    {kUtf8Invalid, 400},
    {kTsInvalid, 400},
    {kEngagedMsInvalid, 400},
    {kExperimentsInvalid, 400},
    {kPropsInvalid, 400},
    {kPropsTooMany, 400},
    {kPropsNested, 400},
    {kPropKeyInvalid, 400},
    {kNumberInvalid, 400},
    {kEventTooLarge, 400},
    {kDuplicateKey, 400},
    {kNotFound, 404},
    {kMethodNotAllowed, 405},
    {kOriginForbidden, 403},
    {kUnauthorized, 401},
    {kForbidden, 403},
    {kRateLimited, 429},
    {kQueueFull, 503},
    {kStoreUnavailable, 503},
    {kStorageFull, 503},
    {kLimitInvalid, 400},
    {kCursorInvalid, 400},
    {kDraining, 503},
    {kBadRequest, 400},
    {kSessionIdInvalid, 400},
    {kQueryInvalid, 400},
    {kRangeTooLarge, 400},
    {kUnknownDimension, 400},
    {kBadWhere, 400},
    {kClusterNotConfigured, 400},
    {kClusterUnavailable, 503},
    {kMessageTooLarge, 413},
    {kTypeInvalid, 400},
    {kWriteKeyMissing, 401},
    {kWriteKeyInvalid, 401},
    {kEventIdInvalid, 400},
    {kIdentityInvalid, 400},
};

// The HTTP status of an error response carrying `code`; 500 for a code not in
// kCodeStatuses (a bug: tests/proto/error_codes_test.cc keeps the table whole).
constexpr int HttpStatusFor(std::string_view code) {
  for (const CodeStatus& c : kCodeStatuses) {
    if (c.code == code) return c.http_status;
  }
  return 500;
}

}  // namespace foothold::proto::codes
