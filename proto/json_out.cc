#include "proto/json_out.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace foothold::proto {
namespace {

void AppendInt(int64_t v, std::string* out) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

void AppendUint(uint64_t v, std::string* out) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

// Shortest text that reads back as the same double ("1", "0.1", "1e+300"),
// all valid JSON numbers. Non-finite values cannot come from the decoder; a
// null keeps the output parseable should one ever get here.
void AppendDouble(double v, std::string* out) {
  if (!std::isfinite(v)) {
    out->append("null");
    return;
  }
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

// `,"name":` — every member after the first starts with a comma.
void Key(const char* name, std::string* out) {
  out->push_back(',');
  out->push_back('"');
  out->append(name);
  out->append("\":");
}

void StringMember(const char* name, const std::string& value, std::string* out) {
  Key(name, out);
  AppendJsonString(value, out);
}

}  // namespace

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run = 0;  // start of the pending run of bytes that need no escape
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out->append(esc, sizeof(esc));
      }
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

void AppendEventJson(const Event& e, std::string* out) {
  out->append("{\"event_id\":");
  AppendJsonString(e.event_id, out);
  Key("seq", out);
  AppendUint(e.seq, out);
  Key("received_at", out);
  AppendInt(e.received_at_ms, out);
  Key("event_time", out);
  AppendInt(e.event_time_ms, out);
  StringMember("event", e.event, out);
  StringMember("session_id", e.session_id, out);
  if (!e.anonymous_id.empty()) StringMember("anonymous_id", e.anonymous_id, out);
  if (!e.user_id.empty()) StringMember("user_id", e.user_id, out);
  if (e.ts_ms) {
    Key("ts", out);
    AppendInt(*e.ts_ms, out);
  }
  if (!e.url.empty()) StringMember("url", e.url, out);
  if (!e.referrer.empty()) StringMember("referrer", e.referrer, out);
  if (!e.title.empty()) StringMember("title", e.title, out);
  if (e.engaged_ms) {
    Key("engaged_ms", out);
    AppendInt(*e.engaged_ms, out);
  }
  if (!e.experiments.empty()) {
    Key("experiments", out);
    char sep = '{';
    for (const auto& [name, variant] : e.experiments) {
      out->push_back(sep);
      sep = ',';
      AppendJsonString(name, out);
      out->push_back(':');
      AppendJsonString(variant, out);
    }
    out->push_back('}');
  }
  if (!e.props.empty()) {
    Key("props", out);
    char sep = '{';
    for (const Prop& p : e.props) {
      out->push_back(sep);
      sep = ',';
      AppendJsonString(p.key, out);
      out->push_back(':');
      switch (p.type) {
        case PropType::kNull: out->append("null"); break;
        case PropType::kBool: out->append(p.boolean ? "true" : "false"); break;
        case PropType::kNumber: AppendDouble(p.number, out); break;
        case PropType::kString: AppendJsonString(p.str, out); break;
      }
    }
    out->push_back('}');
  }
  StringMember("ip", e.ip, out);
  StringMember("user_agent", e.user_agent, out);
  Key("bot", out);
  out->append(e.bot ? "true" : "false");
  if (!e.source.empty()) StringMember("source", e.source, out);
  out->push_back('}');
}

std::string FormatRfc3339(int64_t ms) {
  constexpr int64_t kDayMs = 86400000;
  int64_t days = ms / kDayMs;
  if (ms % kDayMs != 0 && ms < 0) --days;
  const int64_t in_day = ms - days * kDayMs;
  // H. Hinnant's civil_from_days.
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  char buf[128];  // room for any int64 the format checker can imagine
  std::snprintf(buf, sizeof(buf), "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(y), static_cast<long long>(m), static_cast<long long>(d),
                static_cast<long long>(in_day / 3600000), static_cast<long long>(in_day / 60000 % 60),
                static_cast<long long>(in_day / 1000 % 60), static_cast<long long>(in_day % 1000));
  return buf;
}

}  // namespace foothold::proto
