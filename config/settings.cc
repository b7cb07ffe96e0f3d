// The setting table: one entry per configurable key (see settings.h).

#include "config/settings.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <type_traits>
#include <utility>

#include "config/values.h"

namespace foothold::config {
namespace {

constexpr int64_t kMaxDurationMs = 365LL * 24 * 3600 * 1000;
constexpr uint64_t kGiB = uint64_t{1} << 30;

std::string Display(const RawValue& value) {
  switch (value.kind) {
    case RawValue::Kind::kText:
      return Quote(value.text);
    case RawValue::Kind::kList: {
      std::string out = "[";
      for (const std::string& item : value.items) out += (out.size() > 1 ? ", " : "") + Quote(item);
      return out + "]";
    }
    default:
      return value.text;
  }
}

// Text accepted by the numeric kinds: flags and env give text, TOML a number.
bool NumericText(const RawValue& v, bool allow_float, std::string_view* text) {
  using K = RawValue::Kind;
  if (v.kind != K::kText && v.kind != K::kInteger && !(allow_float && v.kind == K::kFloat)) {
    return false;
  }
  *text = v.text;
  return true;
}

// A comma-separated list from text, or a TOML array of strings.
bool ListItems(const RawValue& v, std::vector<std::string>* items) {
  if (v.kind == RawValue::Kind::kList) {
    *items = v.items;
    return true;
  }
  if (v.kind != RawValue::Kind::kText) return false;
  items->clear();
  if (v.text.find_first_not_of(" \t") == std::string::npos) return true;  // "" = empty list
  std::string_view rest = v.text;
  while (true) {
    const size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    items->emplace_back(item);
    if (comma == std::string_view::npos) return true;
    rest.remove_prefix(comma + 1);
  }
}

std::string FormatNumber(double x) {
  char buf[64];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, x, std::chars_format::fixed).ptr);
}

// ---- Setting builders. `get` maps a Config* to a pointer to the field it sets. ----

template <typename Get>
Setting Integer(std::string key, int64_t min, int64_t max, Get get) {
  std::string allowed = "an integer " + std::to_string(min) + ".." + std::to_string(max);
  return {std::move(key), std::move(allowed), [=](const RawValue& v, Config* c, std::string*) {
            std::string_view text;
            int64_t n = 0;
            if (!NumericText(v, false, &text) || !ParseInt(text, &n) || n < min || n > max) {
              return false;
            }
            *get(c) = static_cast<std::remove_pointer_t<decltype(get(c))>>(n);
            return true;
          }};
}

template <typename Get>
Setting Number(std::string key, double min, double max, Get get) {
  std::string allowed = "a number " + FormatNumber(min) + ".." + FormatNumber(max);
  return {std::move(key), std::move(allowed), [=](const RawValue& v, Config* c, std::string*) {
            std::string_view text;
            double x = 0;
            if (!NumericText(v, true, &text) || !ParseDouble(text, &x) || x < min || x > max) {
              return false;
            }
            *get(c) = x;
            return true;
          }};
}

template <typename Get>
Setting Size(std::string key, uint64_t min, uint64_t max, Get get) {
  std::string allowed = FormatSize(min) + ".." + FormatSize(max) +
                        ": bytes, or with a unit B, KiB, MiB, GiB like \"32KiB\"";
  return {std::move(key), std::move(allowed), [=](const RawValue& v, Config* c, std::string*) {
            std::string_view text;
            uint64_t n = 0;
            if (!NumericText(v, false, &text) || !ParseSizeBytes(text, &n) || n < min || n > max) {
              return false;
            }
            *get(c) = static_cast<size_t>(n);
            return true;
          }};
}

template <typename Get>
Setting Duration(std::string key, int64_t min_ms, Get get) {
  std::string allowed = (min_ms == 0 ? "0" : FormatDuration(min_ms)) + ".." +
                        FormatDuration(kMaxDurationMs) +
                        ", like \"500ms\", \"30s\", \"30m\", \"24h\", \"2d\"; a bare integer is ms";
  return {std::move(key), std::move(allowed), [=](const RawValue& v, Config* c, std::string*) {
            std::string_view text;
            int64_t ms = 0;
            if (!NumericText(v, false, &text) || !ParseDurationMs(text, &ms) || ms < min_ms ||
                ms > kMaxDurationMs) {
              return false;
            }
            *get(c) = ms;
            return true;
          }};
}

// One of a fixed set of names, case-insensitive ("INFO" from an env file works).
template <typename T, typename Get>
Setting Choice(std::string key, std::vector<std::pair<std::string, T>> choices, Get get) {
  std::string allowed;
  for (const auto& [name, value] : choices) allowed += (allowed.empty() ? "" : ", ") + name;
  return {std::move(key), std::move(allowed), [=](const RawValue& v, Config* c, std::string*) {
            if (v.kind != RawValue::Kind::kText) return false;
            for (const auto& [name, value] : choices) {
              if (v.text.size() == name.size() &&
                  std::equal(name.begin(), name.end(), v.text.begin(), [](char a, char b) {
                    return a == std::tolower(static_cast<unsigned char>(b));
                  })) {
                *get(c) = value;
                return true;
              }
            }
            return false;
          }};
}

template <typename Get>
Setting Text(std::string key, std::string allowed, std::function<bool(std::string_view)> valid,
             Get get, bool secret = false) {
  return {std::move(key), std::move(allowed),
          [=](const RawValue& v, Config* c, std::string*) {
            if (v.kind != RawValue::Kind::kText || !valid(v.text)) return false;
            *get(c) = v.text;
            return true;
          },
          secret};
}

// true/false (TOML booleans, or text from flags and the environment; case-insensitive).
template <typename Get>
Setting Bool(std::string key, Get get) {
  return {std::move(key), "true or false", [=](const RawValue& v, Config* c, std::string*) {
            if (v.kind != RawValue::Kind::kText && v.kind != RawValue::Kind::kOther) return false;
            std::string t = v.text;
            for (char& ch : t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            if (t != "true" && t != "false") return false;
            *get(c) = t == "true";
            return true;
          }};
}

// An operator-chosen URL path for the tracker: "/" then printable ASCII without '?', '#', '%' or
// spaces, not a built-in route or under a built-in prefix.
bool IsTrackerPath(std::string_view p) {
  if (p.size() < 2 || p.size() > 256 || p.front() != '/') return false;
  for (unsigned char ch : p) {
    if (ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#' || ch == '%') return false;
  }
  for (std::string_view exact : {"/foothold.js", "/healthz", "/readyz", "/metrics", "/demo", "/dashboard"}) {
    if (p == exact) return false;
  }
  for (std::string_view prefix : {"/v1/", "/demo/", "/dashboard/"}) {
    if (p.starts_with(prefix)) return false;
  }
  return true;
}

template <typename Get>
Setting TrackerPaths(std::string key, Get get) {
  return {std::move(key),
          "a list of paths like \"/s/app.js\": starting with '/', no '?', '#', '%' or spaces, not a built-in "
          "route (/v1/..., /foothold.js, /demo/..., /dashboard..., /healthz, /readyz, /metrics)",
          [=](const RawValue& v, Config* c, std::string* shown) {
            std::vector<std::string> items;
            if (!ListItems(v, &items)) return false;
            for (const std::string& item : items) {
              if (!IsTrackerPath(item)) {
                *shown = Quote(item);
                return false;
              }
            }
            *get(c) = std::move(items);
            return true;
          }};
}

bool IsListenAddress(std::string_view text) {
  HostPort unused;
  return ParseHostPort(text, &unused);
}

// A bearer token travels in a header: printable ASCII, no spaces (a stray
// space or newline from an env file would otherwise never match).
bool IsToken(std::string_view text) {
  for (char c : text) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

// ClickHouse names go into SQL unquoted: keep them to plain identifiers.
bool IsIdentifier(std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  for (char c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// http://HOST[:PORT][/]: the exporter speaks plain HTTP/1.1 (no TLS); a
// TLS-terminating sidecar or ClickHouse's own http_port serves it.
bool IsClickHouseUrl(std::string_view text) {
  constexpr std::string_view kScheme = "http://";
  if (!text.starts_with(kScheme)) return false;
  text.remove_prefix(kScheme.size());
  if (text.ends_with('/')) text.remove_suffix(1);
  if (text.empty() || text.find('/') != std::string_view::npos) return false;
  HostPort hp;
  if (text.find(':') == std::string_view::npos || text.back() == ']') return IsToken(text);
  return ParseHostPort(text, &hp) && hp.port != 0;
}

const Setting* FindSetting(const std::vector<Setting>& settings, std::string_view key) {
  for (const Setting& s : settings) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

// The analytics tables (config/README.md) are read from the config file only; an
// environment variable such as FOOTHOLD_FUNNEL__NAME gets told so rather than
// left to look like a typo.
std::string UnknownKeyHint(std::string_view key) {
  for (std::string_view name : {"micro_conversion", "macro_conversion", "funnel", "experiment"}) {
    if (key == name || (key.starts_with(name) && key.size() > name.size() &&
                        key[name.size()] == '.')) {
      return " (analytics definitions are read only from the config file, as [[" +
             std::string(name) + "]] tables)";
    }
  }
  return "";
}

}  // namespace

std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::vector<Setting> Settings() {
  const std::string kHostPort =
      "HOST:PORT with an IPv4 address, [IPv6] or hostname and a port 0..65535";
  std::vector<Setting> s;
  s.push_back(Text("listen", kHostPort, IsListenAddress, [](Config* c) { return &c->listen; }));
  s.push_back(Text(
      "admin_listen", "\"\" (admin endpoints on listen) or " + kHostPort,
      [](std::string_view t) { return t.empty() || IsListenAddress(t); },
      [](Config* c) { return &c->admin_listen; }));
  s.push_back(Text(
      "data_dir", "a non-empty directory path", [](std::string_view t) { return !t.empty(); },
      [](Config* c) { return &c->data_dir; }));
  s.push_back(Integer("threads", 0, 256, [](Config* c) { return &c->threads; }));
  s.push_back(Choice<std::string>("log_level",
                                  {{"trace", "trace"},
                                   {"debug", "debug"},
                                   {"info", "info"},
                                   {"warn", "warn"},
                                   {"error", "error"}},
                                  [](Config* c) { return &c->log_level; }));

  s.push_back(
      Size("limits.max_body_bytes", 1, kGiB, [](Config* c) { return &c->limits.max_body_bytes; }));
  s.push_back(Size("limits.max_decompressed_bytes", 1, 4 * kGiB,
                   [](Config* c) { return &c->limits.max_decompressed_bytes; }));
  s.push_back(
      Integer("limits.max_events", 1, 1000000, [](Config* c) { return &c->limits.max_events; }));
  s.push_back(Size("limits.max_event_bytes", 1, kGiB,
                   [](Config* c) { return &c->limits.max_event_bytes; }));
  // Beast's header_limit is 32-bit; 1 MiB is already far beyond any browser.
  s.push_back(Size("limits.max_header_bytes", 1, 1 << 20,
                   [](Config* c) { return &c->limits.max_header_bytes; }));

  s.push_back(Choice<Durability>("storage.durability",
                                 {{"wal", Durability::kWal}, {"sync", Durability::kSync}},
                                 [](Config* c) { return &c->storage.durability; }));
  s.push_back(Integer("storage.retention_days", 1, 36500,
                      [](Config* c) { return &c->storage.retention_days; }));
  s.push_back(Integer("storage.queue_capacity", 1, 100000000,
                      [](Config* c) { return &c->storage.queue_capacity; }));
  s.push_back(Integer("storage.max_group_events", 1, 1000000,
                      [](Config* c) { return &c->storage.max_group_events; }));
  s.push_back(Integer("storage.group_commit_us", 0, 100000,
                      [](Config* c) { return &c->storage.group_commit_us; }));
  s.push_back(Integer("storage.block_cache_mb", 1, 1048576,
                      [](Config* c) { return &c->storage.block_cache_mb; }));
  // 0 turns the watermark off (a RocksDB ENOSPC still ends in 503, never a crash).
  s.push_back(Size("storage.min_free_bytes", 0, 1024 * kGiB,
                   [](Config* c) { return &c->storage.min_free_bytes; }));

  s.push_back(Duration("session.timeout", 1, [](Config* c) { return &c->session.timeout_ms; }));
  s.push_back(Integer("session.max_events", 0, 1000000000, [](Config* c) { return &c->session.max_events; }));
  s.push_back(Duration("dedupe.window", 1, [](Config* c) { return &c->dedupe.window_ms; }));
  s.push_back(Duration("time.max_past", 1, [](Config* c) { return &c->time.max_past_ms; }));
  // 0 is meaningful: clamp every future client time to received_at.
  s.push_back(Duration("time.max_future", 0, [](Config* c) { return &c->time.max_future_ms; }));

  s.push_back(Choice<proto::IpMode>("privacy.ip_mode",
                                    {{"truncate", proto::IpMode::kTruncate},
                                     {"hash", proto::IpMode::kHash},
                                     {"full", proto::IpMode::kFull},
                                     {"none", proto::IpMode::kNone}},
                                    [](Config* c) { return &c->privacy.ip_mode; }));
  s.push_back(Text(
      "privacy.hash_secret", "any string; \"\" = generated per data dir",
      [](std::string_view) { return true; }, [](Config* c) { return &c->privacy.hash_secret; },
      /*secret=*/true));

  s.push_back({"trusted_proxies", "a list of CIDR ranges or addresses like \"10.0.0.0/8\", \"::1\"",
               [](const RawValue& v, Config* c, std::string* shown) {
                 std::vector<std::string> items;
                 if (!ListItems(v, &items)) return false;
                 std::vector<proto::Cidr> cidrs(items.size());
                 for (size_t i = 0; i < items.size(); ++i) {
                   if (!proto::ParseCidr(items[i], &cidrs[i])) {
                     *shown = Quote(items[i]);
                     return false;
                   }
                 }
                 c->trusted_proxies = std::move(cidrs);
                 return true;
               }});
  s.push_back({"cors.allowed_origins",
               "[\"*\"] alone, or a list of origins http(s)://host[:port] without path",
               [](const RawValue& v, Config* c, std::string* shown) {
                 std::vector<std::string> items;
                 if (!ListItems(v, &items)) return false;
                 if (items.size() == 1 && items[0] == "*") {
                   c->cors_allowed_origins = std::move(items);
                   return true;
                 }
                 for (std::string& item : items) {
                   std::string normalized;
                   if (!ParseOrigin(item, &normalized)) {
                     *shown = Quote(item);
                     return false;
                   }
                   item = std::move(normalized);
                 }
                 c->cors_allowed_origins = std::move(items);
                 return true;
               }});

  s.push_back(TrackerPaths("tracker.script_path", [](Config* c) { return &c->tracker.script_paths; }));
  s.push_back(TrackerPaths("tracker.collect_path", [](Config* c) { return &c->tracker.collect_paths; }));
  s.push_back(Bool("aggregator.auto_rebuild", [](Config* c) { return &c->aggregator.auto_rebuild; }));
  s.push_back(Integer("aggregator.feed_events", 0, 10000000,
                      [](Config* c) { return &c->aggregator.feed_events; }));
  s.push_back(Bool("demo.enabled", [](Config* c) { return &c->demo.enabled; }));

  s.push_back(Text(
      "admin.token", "printable ASCII without spaces; \"\" = admin endpoints open", IsToken,
      [](Config* c) { return &c->admin.token; }, /*secret=*/true));

  s.push_back(Bool("sources.require_write_key", [](Config* c) { return &c->sources.require_write_key; }));
  s.push_back(Size("segment.max_message_bytes", 1, kGiB,
                   [](Config* c) { return &c->segment.max_message_bytes; }));
  s.push_back(Size("segment.max_batch_bytes", 1, kGiB,
                   [](Config* c) { return &c->segment.max_batch_bytes; }));

  s.push_back(
      Duration("shutdown.drain_delay", 0, [](Config* c) { return &c->shutdown.drain_delay_ms; }));
  s.push_back(Duration("shutdown.deadline", 0, [](Config* c) { return &c->shutdown.deadline_ms; }));

  s.push_back(
      Duration("http.header_timeout", 1, [](Config* c) { return &c->http.header_timeout_ms; }));
  s.push_back(Duration("http.body_timeout", 1, [](Config* c) { return &c->http.body_timeout_ms; }));
  s.push_back(Duration("http.idle_timeout", 1, [](Config* c) { return &c->http.idle_timeout_ms; }));
  s.push_back(Integer("http.max_connections", 1, 10000000,
                      [](Config* c) { return &c->http.max_connections; }));
  s.push_back(
      Number("http.rate_limit", 0, 1e9, [](Config* c) { return &c->http.rate_limit_per_ip; }));
  s.push_back(
      Number("http.rate_limit_burst", 0, 1e9, [](Config* c) { return &c->http.rate_limit_burst; }));

  // [export.clickhouse] (storage/export/README.md).
  s.push_back(Text(
      "export.clickhouse.url", "\"\" (export off) or http://HOST:PORT[/] of ClickHouse's HTTP interface",
      [](std::string_view t) { return t.empty() || IsClickHouseUrl(t); },
      [](Config* c) { return &c->export_clickhouse.url; }));
  s.push_back(Text("export.clickhouse.database", "an identifier [A-Za-z0-9_]{1,64}", IsIdentifier,
                   [](Config* c) { return &c->export_clickhouse.database; }));
  s.push_back(Text("export.clickhouse.table", "an identifier [A-Za-z0-9_]{1,64}", IsIdentifier,
                   [](Config* c) { return &c->export_clickhouse.table; }));
  s.push_back(Text("export.clickhouse.user", "printable ASCII without spaces, 1..64 bytes",
                   [](std::string_view t) { return !t.empty() && t.size() <= 64 && IsToken(t); },
                   [](Config* c) { return &c->export_clickhouse.user; }));
  s.push_back(Text(
      "export.clickhouse.password", "printable ASCII without spaces; \"\" = none", IsToken,
      [](Config* c) { return &c->export_clickhouse.password; }, /*secret=*/true));
  s.push_back(Text(
      "export.clickhouse.node", "\"\" (the hostname) or 1..64 printable ASCII without spaces",
      [](std::string_view t) { return t.size() <= 64 && IsToken(t); },
      [](Config* c) { return &c->export_clickhouse.node; }));
  s.push_back(Integer("export.clickhouse.batch_rows", 1, 1000000,
                      [](Config* c) { return &c->export_clickhouse.batch_rows; }));
  s.push_back(Duration("export.clickhouse.linger", 0, [](Config* c) { return &c->export_clickhouse.linger_ms; }));
  s.push_back(
      Duration("export.clickhouse.max_lag", 0, [](Config* c) { return &c->export_clickhouse.max_lag_ms; }));
  s.push_back(
      Duration("export.clickhouse.timeout", 100, [](Config* c) { return &c->export_clickhouse.timeout_ms; }));
  return s;
}

bool IsSection(const std::vector<Setting>& settings, std::string_view prefix) {
  for (const Setting& s : settings) {
    if (s.key.size() > prefix.size() && s.key.starts_with(prefix) && s.key[prefix.size()] == '.') {
      return true;
    }
  }
  return false;
}

void Apply(const View& view, const std::vector<Setting>& settings, Config* config,
           std::vector<std::string>* errors) {
  for (const Entry& entry : view) {
    const Setting* setting = FindSetting(settings, entry.key);
    if (setting == nullptr) {
      errors->push_back(entry.origin + ": unknown key " + entry.key + UnknownKeyHint(entry.key));
      continue;
    }
    std::string shown = setting->secret ? "(value hidden)" : Display(entry.value);
    if (!setting->apply(entry.value, config, &shown)) {
      errors->push_back(entry.origin + ": invalid value for " + entry.key + ": " + shown +
                        " (allowed: " + setting->allowed + ")");
    }
  }
}

}  // namespace foothold::config
