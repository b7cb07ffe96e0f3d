#include "storage/export/row.h"

#include <charconv>
#include <cmath>

#include "proto/json_out.h"

namespace foothold::storage {
namespace {

void Key(const char* name, std::string* out) {
  out->push_back(',');
  out->push_back('"');
  out->append(name);
  out->append("\":");
}

void Str(const char* name, std::string_view v, std::string* out) {
  Key(name, out);
  proto::AppendJsonString(v, out);
}

template <typename T>
void Num(const char* name, T v, std::string* out) {
  Key(name, out);
  char buf[32];
  out->append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

// Shortest round-trip text; the decoder only stores finite numbers.
std::string NumberText(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

template <typename Item, typename Fn>
void Array(const char* name, const std::vector<Item>& items, Fn text, std::string* out) {
  Key(name, out);
  out->push_back('[');
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out->push_back(',');
    proto::AppendJsonString(text(items[i]), out);
  }
  out->push_back(']');
}

}  // namespace

void AppendExportRow(const proto::Event& e, std::string_view node, std::string* out) {
  out->append("{\"node\":");
  proto::AppendJsonString(node, out);
  Num("seq", e.seq, out);
  Str("event_id", e.event_id, out);
  Str("event", e.event, out);
  Str("source", e.source, out);
  Str("session_id", e.session_id, out);
  Str("anonymous_id", e.anonymous_id, out);
  Str("user_id", e.user_id, out);
  Num("received_at", e.received_at_ms, out);
  Num("event_time", e.event_time_ms, out);
  Key("ts", out);
  if (e.ts_ms) {
    char buf[24];
    out->append(buf, std::to_chars(buf, buf + sizeof buf, *e.ts_ms).ptr);
  } else {
    out->append("null");
  }
  Str("url", e.url, out);
  Str("referrer", e.referrer, out);
  Str("title", e.title, out);
  Num("engaged_ms", e.engaged_ms.value_or(0), out);
  using Pair = std::pair<std::string, std::string>;
  Array("experiment_names", e.experiments, [](const Pair& p) -> std::string_view { return p.first; }, out);
  Array("experiment_variants", e.experiments, [](const Pair& p) -> std::string_view { return p.second; }, out);
  Array("prop_keys", e.props, [](const proto::Prop& p) -> std::string_view { return p.key; }, out);
  Array("prop_values", e.props, [](const proto::Prop& p) -> std::string {
          switch (p.type) {
            case proto::PropType::kNull: return "";
            case proto::PropType::kBool: return p.boolean ? "true" : "false";
            case proto::PropType::kNumber: return NumberText(p.number);
            case proto::PropType::kString: return p.str;
          }
          return "";
        }, out);
  std::string props = "{";
  for (size_t i = 0; i < e.props.size(); ++i) {
    const proto::Prop& p = e.props[i];
    if (i) props.push_back(',');
    proto::AppendJsonString(p.key, &props);
    props.push_back(':');
    switch (p.type) {
      case proto::PropType::kNull: props.append("null"); break;
      case proto::PropType::kBool: props.append(p.boolean ? "true" : "false"); break;
      case proto::PropType::kNumber: props.append(NumberText(p.number)); break;
      case proto::PropType::kString: proto::AppendJsonString(p.str, &props); break;
    }
  }
  props.push_back('}');
  Str("props", props, out);
  Str("ip", e.ip, out);
  Str("user_agent", e.user_agent, out);
  Num("bot", e.bot ? 1 : 0, out);
  Num("flags", e.flags, out);
  out->append("}\n");
}

}  // namespace foothold::storage
