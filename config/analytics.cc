// The analytics definitions (see analytics.h). Every entry is checked in full
// so one load reports every mistake; references (funnel steps, experiment
// targets) are checked after all conversions are read, so file order does not
// matter.

#include "config/analytics.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <map>
#include <sstream>
#include <utility>

#include "config/settings.h"
#include "config/values.h"
#include "proto/decode.h"

namespace foothold::config {
namespace {

constexpr std::string_view kMicro = "micro_conversion";
constexpr std::string_view kMacro = "macro_conversion";
constexpr std::string_view kFunnel = "funnel";
constexpr std::string_view kExperiment = "experiment";
constexpr std::string_view kSource = "source";
constexpr std::string_view kDimension = "dimension";
constexpr size_t kMaxDimensions = 16;
constexpr size_t kMaxDimensionValues = 100;
constexpr size_t kMaxWriteKeyBytes = 256;

constexpr size_t kMinSteps = 2;
constexpr size_t kMaxSteps = 16;
constexpr size_t kMinVariants = 2;
constexpr size_t kMaxVariants = 16;
constexpr size_t kMaxVariantBytes = 128;
constexpr size_t kMaxUrlPrefixBytes = 2048;  // the longest url an event may carry
constexpr int64_t kMaxWindowMs = 365LL * 24 * 3600 * 1000;
constexpr int64_t kMaxDwellSeconds = 365LL * 24 * 3600;
constexpr std::string_view kNameRule = "[A-Za-z0-9_.:-], 1..64 bytes";

// [A-Za-z0-9_.:-]{1,64}: the rule for props keys and the names defined here
// (they become counter keys). Event names follow proto::IsEventName.
bool IsName(std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '-';
  });
}

std::string Joined(std::initializer_list<std::string_view> items) {
  std::string out;
  for (std::string_view item : items) out += (out.empty() ? "" : ", ") + std::string(item);
  return out;
}

// One entry being read: reports mistakes as "path:line: table "name": message".
class Definition {
 public:
  Definition(const std::string& path, std::string_view table, size_t index, const toml::table& body,
             std::vector<std::string>* errors)
      : path_(path), body_(body), errors_(errors) {
    label_ = std::string(table) + " #" + std::to_string(index + 1);
    const toml::node* name = body.get("name");
    if (name == nullptr) {
      Fail(body, "name is required");
    } else if (!name->is_string() || !IsName(name->as_string()->get())) {
      Fail(*name, "invalid name " + Shown(*name) + " (allowed: " + std::string(kNameRule) + ")");
    } else {
      name_ = name->as_string()->get();
      label_ = std::string(table) + " " + Quote(name_);
    }
  }

  const std::string& name() const { return name_; }
  const toml::table& body() const { return body_; }
  bool ok() const { return ok_; }

  void Fail(const toml::node& at, std::string_view message) {
    errors_->push_back(path_ + ":" + std::to_string(at.source().begin.line) + ": " + label_ + ": " +
                       std::string(message));
    ok_ = false;
  }

  // Every key of `table` (the entry, or a table inside it named `within`) is in `allowed`.
  void CheckKeys(const toml::table& table, std::string_view within,
                 std::initializer_list<std::string_view> allowed) {
    for (const auto& [key, node] : table) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
      Fail(node, std::string(within) + (within.empty() ? "" : ": ") + "unknown key " +
                     Quote(key.str()) + " (allowed: " + Joined(allowed) + ")");
    }
  }

  // The string under `key`; false (and a message) when it is there but not a string.
  bool String(const toml::table& table, std::string_view key, std::string* out) {
    const toml::node* node = table.get(key);
    if (node == nullptr) return true;
    if (!node->is_string()) {
      Fail(*node, std::string(key) + " must be a string, not " + Shown(*node));
      return false;
    }
    *out = node->as_string()->get();
    return true;
  }

  // The array of strings under `key`; false (and a message) otherwise.
  bool Strings(std::string_view key, std::vector<std::string>* out) {
    const toml::node* node = body_.get(key);
    const toml::array* array = node != nullptr ? node->as_array() : nullptr;
    if (array == nullptr || !(array->empty() || array->is_homogeneous<std::string>())) {
      Fail(node != nullptr ? *node : body_,
           std::string(key) + (node == nullptr ? " is required" : " must be an array of strings"));
      return false;
    }
    for (const toml::node& item : *array) out->push_back(item.as_string()->get());
    return true;
  }

  static std::string Shown(const toml::node& node) {
    if (const auto* s = node.as_string()) return Quote(s->get());
    std::ostringstream out;
    node.visit([&out](const auto& n) { out << n; });
    return out.str();
  }

 private:
  const std::string& path_;
  const toml::table& body_;
  std::vector<std::string>* errors_;
  std::string label_;
  std::string name_;
  bool ok_ = true;
};

bool UrlPrefix(Definition* entry, const toml::table& table, std::string_view key,
               std::string* out) {
  if (!entry->String(table, key, out)) return false;
  if (!out->empty() && (out->front() != '/' || out->size() > kMaxUrlPrefixBytes)) {
    entry->Fail(*table.get(key), std::string(key) + " " + Quote(*out) +
                                     " must be a url path starting with '/' (like \"/p/\")");
    return false;
  }
  return true;
}

// One `where` predicate; `field` is already flattened ("props.kind").
void Predicate1(Definition* entry, std::string field, const toml::node& value, Matcher* m) {
  const bool is_prop = field.starts_with("props.") && IsName(std::string_view(field).substr(6));
  const bool is_text_field =
      field == "event" || field == "url" || field == "referrer" || field == "title";
  if (!is_prop && !is_text_field) {
    entry->Fail(value, "where: unknown field " + Quote(field) +
                           " (allowed: event, url, referrer, title, props.<key>)");
    return;
  }
  Predicate p{std::move(field), std::string()};
  if (const auto* s = value.as_string()) {
    p.value = s->get();
  } else if (is_prop && value.is_integer()) {
    p.value = static_cast<double>(value.as_integer()->get());
  } else if (is_prop && value.is_floating_point() &&
             std::isfinite(value.as_floating_point()->get())) {
    p.value = value.as_floating_point()->get();
  } else if (is_prop && value.is_boolean()) {
    p.value = value.as_boolean()->get();
  } else {
    entry->Fail(value, "where: " + Quote(p.field) + " must equal a " +
                           (is_prop ? "string, finite number or bool" : "string") + ", not " +
                           Definition::Shown(value));
    return;
  }
  m->where.push_back(std::move(p));
}

// event, where, url_prefix of the entry.
void ReadMatcher(Definition* entry, Matcher* m) {
  const toml::table& body = entry->body();
  if (entry->String(body, "event", &m->event) && body.contains("event") &&
      !proto::IsEventName(m->event)) {
    entry->Fail(*body.get("event"), "invalid event " + Quote(m->event) +
                                        " (allowed: 1..128 bytes of printable UTF-8)");
  }
  UrlPrefix(entry, body, "url_prefix", &m->url_prefix);
  const toml::node* where = body.get("where");
  if (where == nullptr) return;
  if (!where->is_table()) {
    entry->Fail(*where, "where must be a table like { \"props.kind\" = \"demo\" }");
    return;
  }
  for (const auto& [key, value] : *where->as_table()) {
    // `where = { props.kind = "demo" }` is a nested table in TOML; read it as "props.kind".
    if (key.str() == "props" && value.is_table()) {
      for (const auto& [prop, prop_value] : *value.as_table()) {
        Predicate1(entry, "props." + std::string(prop.str()), prop_value, m);
      }
    } else {
      Predicate1(entry, std::string(key.str()), value, m);
    }
  }
}

void ReadDwell(Definition* entry, const toml::node& node, Dwell* dwell) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    entry->Fail(node, "dwell must be a table like { url_prefix = \"/p/\", min_engaged_s = 180 }");
    return;
  }
  entry->CheckKeys(*table, "dwell", {"url_prefix", "min_engaged_s"});
  if (table->get("url_prefix") == nullptr) entry->Fail(node, "dwell: url_prefix is required");
  UrlPrefix(entry, *table, "url_prefix", &dwell->url_prefix);
  const toml::node* seconds = table->get("min_engaged_s");
  if (seconds == nullptr) {
    entry->Fail(node, "dwell: min_engaged_s is required");
  } else if (!seconds->is_integer() || seconds->as_integer()->get() < 1 ||
             seconds->as_integer()->get() > kMaxDwellSeconds) {
    entry->Fail(*seconds, "dwell: invalid min_engaged_s " + Definition::Shown(*seconds) +
                              " (allowed: whole seconds 1.." + std::to_string(kMaxDwellSeconds) +
                              ")");
  } else {
    dwell->min_engaged_ms = seconds->as_integer()->get() * 1000;
  }
}

using Lines = std::map<std::string, int64_t, std::less<>>;  // defined name -> line

// The entry's name is not in `seen` yet; records it.
void CheckUnique(Definition* entry, Lines* seen) {
  if (entry->name().empty()) return;
  const int64_t line = entry->body().source().begin.line;
  auto [it, inserted] = seen->emplace(entry->name(), line);
  if (!inserted) {
    entry->Fail(entry->body(), "name " + Quote(entry->name()) + " is already defined on line " +
                                   std::to_string(it->second));
  }
}

void ReadMicro(Definition* entry, Lines* names, std::vector<MicroConversion>* out) {
  entry->CheckKeys(entry->body(), "", {"name", "event", "where", "url_prefix", "dwell"});
  CheckUnique(entry, names);
  MicroConversion micro;
  micro.name = entry->name();
  const toml::node* dwell = entry->body().get("dwell");
  const bool has_event = entry->body().contains("event");
  if (has_event && dwell != nullptr) {
    entry->Fail(entry->body(), "give either event or dwell, not both");
  } else if (!has_event && dwell == nullptr) {
    entry->Fail(entry->body(), "event (an event name) or dwell (engaged time) is required");
  } else if (dwell != nullptr) {
    micro.kind = MicroConversion::Kind::kDwell;
    for (std::string_view key : {"where", "url_prefix"}) {
      if (const toml::node* node = entry->body().get(key)) {
        entry->Fail(*node, std::string(key) + " goes with event; dwell has its own url_prefix");
      }
    }
    ReadDwell(entry, *dwell, &micro.dwell);
  } else {
    ReadMatcher(entry, &micro.match);
  }
  if (entry->ok()) out->push_back(std::move(micro));
}

void ReadMacro(Definition* entry, Lines* names, std::vector<MacroConversion>* out) {
  entry->CheckKeys(entry->body(), "", {"name", "event", "where", "url_prefix"});
  CheckUnique(entry, names);
  MacroConversion macro;
  macro.name = entry->name();
  if (!entry->body().contains("event")) entry->Fail(entry->body(), "event is required");
  ReadMatcher(entry, &macro.match);
  if (entry->ok()) out->push_back(std::move(macro));
}

void ReadFunnel(Definition* entry, const Lines& conversions, Lines* names,
                std::vector<Funnel>* out) {
  const toml::table& body = entry->body();
  entry->CheckKeys(body, "", {"name", "steps", "window", "mode"});
  CheckUnique(entry, names);
  Funnel funnel;
  funnel.name = entry->name();
  if (entry->Strings("steps", &funnel.steps)) {
    if (funnel.steps.size() < kMinSteps || funnel.steps.size() > kMaxSteps) {
      entry->Fail(*body.get("steps"), "steps has " + std::to_string(funnel.steps.size()) +
                                          " names (allowed: " + std::to_string(kMinSteps) + ".." +
                                          std::to_string(kMaxSteps) + ")");
    }
    for (const std::string& step : funnel.steps) {
      if (!conversions.contains(step)) {
        entry->Fail(*body.get("steps"),
                    "step " + Quote(step) + " is not a defined micro or macro conversion");
      }
    }
  }
  const toml::node* window = body.get("window");
  if (window == nullptr) {
    entry->Fail(body, "window is required (a duration like \"30m\")");
  } else {
    const bool text = window->is_string() || window->is_integer();
    const std::string spelled = window->is_string()    ? window->as_string()->get()
                                : window->is_integer() ? std::to_string(window->as_integer()->get())
                                                       : "";
    if (!text || !ParseDurationMs(spelled, &funnel.window_ms) || funnel.window_ms < 1 ||
        funnel.window_ms > kMaxWindowMs) {
      entry->Fail(*window, "invalid window " + Definition::Shown(*window) + " (allowed: 1ms.." +
                               FormatDuration(kMaxWindowMs) +
                               ", like \"30m\", \"1h\", \"7d\"; a bare integer is ms)");
    }
  }
  std::string mode = "ordered";
  if (entry->String(body, "mode", &mode)) {
    constexpr std::pair<std::string_view, FunnelMode> kModes[] = {{"ordered", FunnelMode::kOrdered},
                                                                  {"strict", FunnelMode::kStrict},
                                                                  {"any", FunnelMode::kAny}};
    const auto* found = std::find_if(std::begin(kModes), std::end(kModes),
                                     [&](const auto& m) { return m.first == mode; });
    if (found == std::end(kModes)) {
      entry->Fail(*body.get("mode"),
                  "invalid mode " + Quote(mode) + " (allowed: ordered, strict, any)");
    } else {
      funnel.mode = found->second;
    }
  }
  if (entry->ok()) out->push_back(std::move(funnel));
}

// weights = [50, 50]: one finite number > 0 per variant (integers or floats, any
// scale); absent means equal weights, which ReadExperiment writes out in full.
void ReadWeights(Definition* entry, const toml::node& node, Experiment* experiment) {
  const toml::array* array = node.as_array();
  const std::string rule = "weights must be an array of numbers > 0, one per variant";
  if (array == nullptr) {
    entry->Fail(node, rule + ", not " + Definition::Shown(node));
    return;
  }
  std::vector<double> weights;
  for (const toml::node& item : *array) {
    double w = std::nan("");
    if (const auto* i = item.as_integer()) w = static_cast<double>(i->get());
    if (const auto* f = item.as_floating_point()) w = f->get();
    if (!std::isfinite(w) || w <= 0) {
      entry->Fail(item, rule + "; got " + Definition::Shown(item));
      return;
    }
    weights.push_back(w);
  }
  if (!experiment->variants.empty() && weights.size() != experiment->variants.size()) {
    entry->Fail(node, "weights has " + std::to_string(weights.size()) + " numbers but variants has " +
                          std::to_string(experiment->variants.size()) + " names (one weight per variant)");
    return;
  }
  experiment->weights = std::move(weights);
}

void ReadExperiment(Definition* entry, const Lines& conversions, Lines* names,
                    std::vector<Experiment>* out) {
  const toml::table& body = entry->body();
  entry->CheckKeys(body, "", {"name", "target", "variants", "weights"});
  CheckUnique(entry, names);
  Experiment experiment;
  experiment.name = entry->name();
  if (!body.contains("target")) {
    entry->Fail(body, "target (a micro or macro conversion name) is required");
  } else if (entry->String(body, "target", &experiment.target) &&
             !conversions.contains(experiment.target)) {
    entry->Fail(*body.get("target"), "target " + Quote(experiment.target) +
                                         " is not a defined micro or macro conversion");
  }
  if (entry->Strings("variants", &experiment.variants)) {
    const std::vector<std::string>& v = experiment.variants;
    const toml::node& at = *body.get("variants");
    if (v.size() < kMinVariants || v.size() > kMaxVariants) {
      entry->Fail(at, "variants has " + std::to_string(v.size()) +
                          " names (allowed: " + std::to_string(kMinVariants) + ".." +
                          std::to_string(kMaxVariants) + "; the first is the control)");
    }
    for (size_t i = 0; i < v.size(); ++i) {
      const bool control_chars = std::any_of(v[i].begin(), v[i].end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
      });
      if (v[i].empty() || v[i].size() > kMaxVariantBytes || control_chars) {
        entry->Fail(at, "invalid variant " + Quote(v[i]) + " (allowed: 1.." +
                            std::to_string(kMaxVariantBytes) + " bytes, no control characters)");
      } else if (std::find(v.begin(), v.begin() + static_cast<ptrdiff_t>(i), v[i]) !=
                 v.begin() + static_cast<ptrdiff_t>(i)) {
        entry->Fail(at, "variant " + Quote(v[i]) + " is listed twice");
      }
    }
  }
  if (const toml::node* node = body.get("weights")) ReadWeights(entry, *node, &experiment);
  if (experiment.weights.empty()) experiment.weights.assign(experiment.variants.size(), 1.0);
  if (entry->ok()) out->push_back(std::move(experiment));
}

// [[dimension]]: a name without '.' or ':' (a `where=` parameter splits at the
// first ':'), a kind, its key or experiment, and the cap on counted values.
void ReadDimension(Definition* entry, const Lines& experiments, Lines* names, std::vector<Dimension>* out) {
  const toml::table& body = entry->body();
  entry->CheckKeys(body, "", {"name", "kind", "key", "experiment", "max_values"});
  CheckUnique(entry, names);
  Dimension dim;
  dim.name = entry->name();
  if (dim.name.find_first_of(".:") != std::string::npos) {
    entry->Fail(body, "invalid name " + Quote(dim.name) + " (allowed: [A-Za-z0-9_-], 1..64 bytes)");
  }
  static constexpr std::pair<std::string_view, DimensionKind> kKinds[] = {
      {"utm_source", DimensionKind::kUtmSource},   {"utm_medium", DimensionKind::kUtmMedium},
      {"utm_campaign", DimensionKind::kUtmCampaign}, {"referrer_domain", DimensionKind::kReferrerDomain},
      {"device", DimensionKind::kDevice},          {"visitor", DimensionKind::kVisitor},
      {"prop", DimensionKind::kProp},              {"experiment", DimensionKind::kExperiment}};
  const std::string kinds = "utm_source, utm_medium, utm_campaign, referrer_domain, device, visitor, prop, experiment";
  std::string kind = body.contains("kind") ? "" : dim.name;
  const toml::node& kind_at = body.contains("kind") ? *body.get("kind") : body;
  if (entry->String(body, "kind", &kind)) {
    auto it = std::find_if(std::begin(kKinds), std::end(kKinds), [&](const auto& k) { return k.first == kind; });
    if (it == std::end(kKinds)) {
      entry->Fail(kind_at, body.contains("kind") ? "invalid kind " + Quote(kind) + " (allowed: " + kinds + ")"
                                                 : "kind is required (allowed: " + kinds + ")");
    } else {
      dim.kind = it->second;
    }
  }
  if (entry->String(body, "key", &dim.key)) {
    if (dim.kind == DimensionKind::kProp && !IsName(dim.key)) {
      entry->Fail(body.contains("key") ? *body.get("key") : body,
                  "kind prop needs key, a props key (" + std::string(kNameRule) + ")");
    } else if (dim.kind != DimensionKind::kProp && body.contains("key")) {
      entry->Fail(*body.get("key"), "key is for kind prop only");
    }
  }
  if (entry->String(body, "experiment", &dim.experiment)) {
    if (dim.kind == DimensionKind::kExperiment && !experiments.contains(dim.experiment)) {
      entry->Fail(body.contains("experiment") ? *body.get("experiment") : body,
                  "kind experiment needs experiment, the name of a defined [[experiment]]" +
                      (dim.experiment.empty() ? std::string() : " (" + Quote(dim.experiment) + " is not one)"));
    } else if (dim.kind != DimensionKind::kExperiment && body.contains("experiment")) {
      entry->Fail(*body.get("experiment"), "experiment is for kind experiment only");
    }
  }
  if (const toml::node* node = body.get("max_values")) {
    const auto* n = node->as_integer();
    if (n == nullptr || n->get() < 1 || n->get() > static_cast<int64_t>(kMaxDimensionValues)) {
      entry->Fail(*node, "max_values must be an integer 1.." + std::to_string(kMaxDimensionValues) + ", not " +
                             Definition::Shown(*node));
    } else {
      dim.max_values = static_cast<size_t>(n->get());
    }
  }
  if (names->size() > kMaxDimensions) {
    entry->Fail(body, "at most " + std::to_string(kMaxDimensions) + " dimensions");
  }
  if (entry->ok()) out->push_back(std::move(dim));
}

// Calls read(entry) for every table of the array `key` in `root`.
template <typename Read>
void ForEachEntry(const toml::table& root, std::string_view key, const std::string& path,
                  std::vector<std::string>* errors, Read read) {
  const toml::node* node = root.get(key);
  if (node == nullptr) return;
  const toml::array* array = node->as_array();
  // is_homogeneous is false for an empty array, which defines nothing.
  if (array == nullptr || (!array->empty() && !array->is_homogeneous<toml::table>())) {
    errors->push_back(path + ":" + std::to_string(node->source().begin.line) + ": " +
                      std::string(key) + " must be an array of tables, each written [[" +
                      std::string(key) + "]]");
    return;
  }
  for (size_t i = 0; i < array->size(); ++i) {
    Definition entry(path, key, i, *array->get(i)->as_table(), errors);
    read(&entry);
  }
}

}  // namespace

bool IsAnalyticsKey(std::string_view key) {
  return key == kMicro || key == kMacro || key == kFunnel || key == kExperiment || key == kSource ||
         key == kDimension;
}

void ReadSources(const toml::table& root, const std::string& path, Config* config,
                 std::vector<std::string>* errors) {
  const size_t errors_before = errors->size();
  std::vector<Source> sources;
  Lines names;
  std::map<std::string, std::string, std::less<>> keys;  // write key -> source name
  ForEachEntry(root, kSource, path, errors, [&](Definition* entry) {
    entry->CheckKeys(entry->body(), "", {"name", "write_key", "kind"});
    CheckUnique(entry, &names);
    Source source;
    source.name = entry->name();
    const toml::node* key = entry->body().get("write_key");
    if (key == nullptr) {
      entry->Fail(entry->body(), "write_key is required");
    } else if (entry->String(entry->body(), "write_key", &source.write_key)) {
      // The key travels as an HTTP Basic user ("key:"), in JSON and in a query.
      const bool printable = std::all_of(source.write_key.begin(), source.write_key.end(), [](char c) {
        return c > 0x20 && c < 0x7f && c != ':';
      });
      if (source.write_key.empty() || source.write_key.size() > kMaxWriteKeyBytes || !printable) {
        entry->Fail(*key, "invalid write_key (allowed: 1.." + std::to_string(kMaxWriteKeyBytes) +
                              " bytes of printable ASCII without spaces or ':')");
      } else if (auto [it, inserted] = keys.emplace(source.write_key, source.name); !inserted) {
        entry->Fail(*key, "write_key is already the key of source " + Quote(it->second));
      }
    }
    std::string kind = "browser";
    if (entry->String(entry->body(), "kind", &kind)) {
      if (kind == "browser") {
        source.kind = SourceKind::kBrowser;
      } else if (kind == "server") {
        source.kind = SourceKind::kServer;
      } else {
        entry->Fail(*entry->body().get("kind"),
                    "invalid kind " + Quote(kind) + " (allowed: browser, server)");
      }
    }
    if (entry->ok()) sources.push_back(std::move(source));
  });
  if (errors->size() == errors_before) config->source_list = std::move(sources);
}

void ReadAnalytics(const toml::table& root, const std::string& path, Config* config,
                   std::vector<std::string>* errors) {
  const size_t errors_before = errors->size();
  std::vector<MicroConversion> micros;
  std::vector<MacroConversion> macros;
  std::vector<Funnel> funnels;
  std::vector<Experiment> experiments;
  Lines conversions;  // micro and macro names share one namespace
  Lines funnel_names;
  Lines experiment_names;
  ForEachEntry(root, kMicro, path, errors,
               [&](Definition* e) { ReadMicro(e, &conversions, &micros); });
  ForEachEntry(root, kMacro, path, errors,
               [&](Definition* e) { ReadMacro(e, &conversions, &macros); });
  ForEachEntry(root, kFunnel, path, errors,
               [&](Definition* e) { ReadFunnel(e, conversions, &funnel_names, &funnels); });
  ForEachEntry(root, kExperiment, path, errors, [&](Definition* e) {
    ReadExperiment(e, conversions, &experiment_names, &experiments);
  });
  std::vector<Dimension> dimensions;
  Lines dimension_names;
  ForEachEntry(root, kDimension, path, errors, [&](Definition* e) {
    ReadDimension(e, experiment_names, &dimension_names, &dimensions);
  });
  if (errors->size() != errors_before) return;
  config->micro_conversions = std::move(micros);
  config->macro_conversions = std::move(macros);
  config->funnels = std::move(funnels);
  config->experiments = std::move(experiments);
  config->dimensions = std::move(dimensions);
}

}  // namespace foothold::config
