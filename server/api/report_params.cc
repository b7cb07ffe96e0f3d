// The stats reports' query string (see reports.h): from/to, names, bucket,
// target, reach, scope, and the segment parameters by= and where=.
#include <charconv>
#include <string>

#include "proto/error_codes.h"
#include "proto/percent.h"
#include "proto/validate.h"
#include "server/api/report_json.h"
#include "server/api/reports.h"

namespace foothold::server {
namespace {

constexpr int64_t kMinuteMs = 60 * 1000;
constexpr int64_t kHourMs = 60 * kMinuteMs;
using report::kDayMs;

bool ParseTimeParam(std::string_view text, int64_t* ms) {
  if (text.empty()) return false;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc() && end == text.data() + text.size()) {
    *ms = v;
    return v >= 0 && v < 253402300800000;  // 1970 .. 9999
  }
  return proto::internal::ParseRfc3339(text, ms);
}

}  // namespace

bool ParseStatsQuery(std::string_view query, int64_t now_ms, StatsQuery* out, Response* error) {
  *out = StatsQuery{};
  out->now_ms = now_ms;
  out->range = {now_ms - kDayMs, now_ms};
  bool from_set = false, to_set = false;
  auto fail = [&](std::string message) {
    *error = ErrorResponse(proto::codes::kQueryInvalid, message);
    return false;
  };
  std::string_view raw_key, raw_value;
  while (proto::NextQueryPair(&query, &raw_key, &raw_value)) {
    std::string key, value;
    if (!proto::PercentDecode(raw_key, true, &key) || !proto::PercentDecode(raw_value, true, &value)) {
      return fail("the query string is not valid percent-encoding");
    }
    if (key == "from" || key == "to") {
      int64_t ms = 0;
      if (!ParseTimeParam(value, &ms)) {
        return fail(key + " must be RFC 3339 (2025-11-20T10:00:00Z) or ms since the epoch, got '" + value + "'");
      }
      (key == "from" ? out->range.from_ms : out->range.to_ms) = ms;
      (key == "from" ? from_set : to_set) = true;
    } else if (key == "name") {
      out->name = value;
    } else if (key == "source") {
      out->source = value;
    } else if (key == "target") {
      out->target = value;
    } else if (key == "reach") {
      double v = -1;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size() || !(v >= 0 && v <= 1)) {
        return fail("reach must be a share of sessions from 0 to 1 (0.28 = 28%), got '" + value + "'");
      }
      out->reach = v;
    } else if (key == "by") {
      if (value.empty()) return fail("by needs a dimension name (a [[dimension]] of the config)");
      out->by = value;
    } else if (key == "where") {
      const size_t colon = value.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == value.size()) {
        *error = ErrorResponse(proto::codes::kBadWhere,
                               "where must be <dimension>:<value> (where=device:mobile), got '" + value + "'");
        return false;
      }
      out->where = {value.substr(0, colon), value.substr(colon + 1)};
    } else if (key == "scope") {
      if (value != "local" && value != "cluster") return fail("scope must be local or cluster, got '" + value + "'");
      out->cluster = value == "cluster";
    } else if (key == "bucket") {
      if (value == "minute") out->bucket_ms = kMinuteMs;
      else if (value == "hour") out->bucket_ms = kHourMs;
      else if (value == "day") out->bucket_ms = kDayMs;
      else return fail("bucket must be minute, hour or day, got '" + value + "'");
    } else {
      return fail("unknown parameter '" + key + "' (allowed: from, to, name, source, bucket, target, reach, "
                  "scope, by, where)");
    }
  }
  // One bound given: the other keeps a 24 h span.
  if (from_set && !to_set) out->range.to_ms = out->range.from_ms + kDayMs;
  if (to_set && !from_set) out->range.from_ms = out->range.to_ms - kDayMs;
  if (out->range.from_ms >= out->range.to_ms) return fail("from must be before to");
  return true;
}

}  // namespace foothold::server
