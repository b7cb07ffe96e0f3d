// Config: the typed, immutable configuration of a foothold process, and its
// loader. Sources, highest precedence first: command-line flags, FOOTHOLD_*
// environment variables (nested keys with "__": FOOTHOLD_STORAGE__DURABILITY),
// the TOML file given by --config, built-in defaults (the inline values below).
// Every value is validated once at load; after that code reads typed fields.
// The analytics definitions (config/README.md; [[micro_conversion]],
// [[macro_conversion]], [[funnel]], [[experiment]], [[dimension]]) come only from the TOML
// file: they have no environment or flag form, and without a file there are none.
//
// Thread safety: a loaded Config is immutable and may be shared freely.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proto/ip.h"

namespace foothold::config {

enum class Durability { kWal, kSync };

// ---- Analytics definitions (README.md "Analytics"), read only from the TOML file. ----
// Names of conversions, funnels and experiments match [A-Za-z0-9_.:-]{1,64};
// conversion names are unique across micro AND macro conversions.

// One equality predicate of a matcher's `where` table: the event's field must
// equal the value exactly (same type; TOML integers are held as double, as
// JSON numbers are).
struct Predicate {
  std::string field;  // "event", "url", "referrer", "title" (string values) or "props.<key>"
  std::variant<std::string, double, bool> value;  // string, number or bool
};

// Which events count: all of `event`, `where` and `url_prefix` must hold.
struct Matcher {
  std::string event;             // [event] the event name, exactly
  std::vector<Predicate> where;  // [where] equality predicates, all must hold; empty = none
  std::string url_prefix;        // [url_prefix] the url's path starts with this; "" = any url
};

// Dwell: engaged time summed over matching pages crosses a threshold.
struct Dwell {
  std::string url_prefix;      // [dwell.url_prefix] pages whose url path starts with this
  int64_t min_engaged_ms = 0;  // [dwell.min_engaged_s] threshold, given in whole seconds > 0
};

struct MicroConversion {
  enum class Kind { kEvent, kDwell };
  std::string name;               // [name] unique across micro and macro conversions
  Kind kind = Kind::kEvent;       // kEvent: `event` was given; kDwell: `dwell` was given
  Matcher match;                  // kind == kEvent: which events fire it
  Dwell dwell;                    // kind == kDwell: the threshold that fires it
};

struct MacroConversion {
  std::string name;  // [name] unique across micro and macro conversions
  Matcher match;     // [event], [where], [url_prefix]: which events fire it
};

enum class FunnelMode { kOrdered, kStrict, kAny };

struct Funnel {
  std::string name;                // [name] unique among funnels
  std::vector<std::string> steps;  // [steps] 2..16 names of micro or macro conversions, in order
  int64_t window_ms = 0;           // [window] duration > 0 from step 1, inclusive
  FunnelMode mode = FunnelMode::kOrdered;  // [mode] ordered (default) | strict | any
};

struct Experiment {
  std::string name;    // [name] unique among experiments; the key in an event's `experiments`
  std::string target;  // [target] a micro or macro conversion name
  std::vector<std::string> variants;  // [variants] 2..16 distinct; variants[0] is the control
  // [weights] the designed share of each variant, same length as variants, each finite and > 0
  // (any scale: [1, 1] and [50, 50] are the same split); the sample-ratio-mismatch test compares
  // exposures against it. Key absent: 1 per variant (an equal split).
  std::vector<double> weights;
};

// Segments (README.md "Segments"): what a session is split by. A session's
// value is fixed per session (storage/README.md, "Segments"); at most
// max_values distinct values are counted per dimension, the rest as "(other)".
enum class DimensionKind {
  kUtmSource,       // utm_source: the utm_source query parameter of the landing url
  kUtmMedium,       // utm_medium
  kUtmCampaign,     // utm_campaign
  kReferrerDomain,  // referrer_domain: the landing event's referrer host, registrable part
  kDevice,          // device: mobile | tablet | desktop | (unknown), from the User-Agent
  kVisitor,         // visitor: new | returning | (unknown), from the anonymous_id's creation time
  kProp,            // prop: the value of props.<key> on the first event carrying it
  kExperiment,      // experiment: the variant of the session's exposure to <experiment>
};

struct Dimension {
  std::string name;                  // [name] [A-Za-z0-9_-]{1,64}, unique among dimensions
  DimensionKind kind = DimensionKind::kUtmSource;  // [kind] see above; absent: the name, when it is a kind
  std::string key;                   // [key] kind prop only: the props key
  std::string experiment;            // [experiment] kind experiment only: a defined experiment
  size_t max_values = 20;            // [max_values] 1..100 values counted; later ones are "(other)"
};

// ---- Sources (README "Sources and write keys"), read only from the TOML file. ----

// browser: a public write key in page code; the request's own IP and
// User-Agent are the visitor's, and the bot rules apply to them.
// server: a secret key of a backend or mobile app; context.ip and
// context.userAgent of each message are the end user's, and the SDK's own
// User-Agent (okhttp, python-requests, node) never flags an event as a bot.
enum class SourceKind { kBrowser, kServer };

struct Source {
  std::string name;       // [name] [A-Za-z0-9_.:-]{1,64}, unique; stored with each event
  std::string write_key;  // [write_key] 1-256 printable ASCII, no space or ':', unique
  SourceKind kind = SourceKind::kBrowser;  // [kind] browser (default) | server
};

struct Config {
  // TOML key in brackets; env FOOTHOLD_<KEY> with '.' -> "__", upper case.
  std::string listen = "0.0.0.0:8080";  // [listen] HOST:PORT; port 0 picks a free port
  std::string admin_listen;             // [admin_listen] HOST:PORT; "" = admin endpoints on `listen`
  std::string data_dir = "./data";      // [data_dir] RocksDB directory
  int threads = 0;                      // [threads] I/O threads; 0 = one per core
  std::string log_level = "info";       // [log_level] trace|debug|info|warn|error

  struct Limits {
    // Two body limits: as sent (the HTTP parser's body_limit), and after any
    // gunzip (the decoder's proto::Limits::max_decoded_bytes).
    size_t max_body_bytes = 1 << 20;          // [limits.max_body_bytes] as sent (1 MiB)
    size_t max_decompressed_bytes = 8 << 20;  // [limits.max_decompressed_bytes] after gunzip (8 MiB)
    size_t max_events = 500;                  // [limits.max_events] per request
    size_t max_event_bytes = 32 << 10;        // [limits.max_event_bytes] per event (32 KiB)
    size_t max_header_bytes = 8 << 10;        // [limits.max_header_bytes] request header block (8 KiB)
  } limits;

  struct Storage {
    Durability durability = Durability::kWal;  // [storage.durability] wal|sync
    int retention_days = 90;                   // [storage.retention_days] log retention, >= 1
    size_t queue_capacity = 100000;            // [storage.queue_capacity] events waiting for the writer
    size_t max_group_events = 10000;           // [storage.max_group_events] events per WriteBatch
    size_t group_commit_us = 200;              // [storage.group_commit_us] linger for more events (µs); 0 = none
    // [storage.block_cache_mb] RocksDB's block cache; under batch load it fills with blocks read
    // once (README.md "Running", storage.block_cache_mb), so it is one of the larger holders of RSS
    size_t block_cache_mb = 32;
    // [storage.min_free_bytes] free space the data dir's filesystem keeps: below it collect
    // answers 503 storage_full and /readyz 503, before RocksDB ever meets a full disk (256 MiB)
    size_t min_free_bytes = size_t{256} << 20;
  } storage;

  struct Session {
    int64_t timeout_ms = 30 * 60 * 1000;  // [session.timeout] duration ("30m"); inactivity timeout
    // [session.max_events] events of one session indexed for readback; later ones are stored,
    // aggregated and counted (foothold_session_overflow_events_total), not indexed; 0 = no cap
    size_t max_events = 100000;
  } session;

  struct Dedupe {
    int64_t window_ms = 24LL * 3600 * 1000;  // [dedupe.window] duration ("24h")
  } dedupe;

  struct Time {
    int64_t max_past_ms = 72LL * 3600 * 1000;  // [time.max_past] duration ("72h")
    int64_t max_future_ms = 60 * 1000;         // [time.max_future] duration ("1m")
  } time;

  struct Privacy {
    proto::IpMode ip_mode = proto::IpMode::kTruncate;  // [privacy.ip_mode] truncate|hash|full|none
    std::string hash_secret;  // [privacy.hash_secret] key for ip_mode=hash; "" = generated per data dir
  } privacy;

  std::vector<proto::Cidr> trusted_proxies;      // [trusted_proxies] CIDR list; default none
  std::vector<std::string> cors_allowed_origins = {"*"};  // [cors.allowed_origins]

  // The first-party tracker (README "Browser tracker"). Paths start with '/', hold no '?', '#' or
  // spaces, and never shadow a built-in route (/v1/..., /foothold.js, /demo/..., /dashboard...,
  // /healthz, /readyz, /metrics) nor each other.
  struct Tracker {
    std::vector<std::string> script_paths;   // [tracker.script_path] extra paths serving foothold.js; default none
    std::vector<std::string> collect_paths;  // [tracker.collect_path] aliases of /v1/collect (POST, pixel GET, OPTIONS); default none
  } tracker;

  struct Aggregator {
    // [aggregator.auto_rebuild] at start, when the analytics definitions (or session.timeout)
    // differ from those the counters were counted with, recount the retained log into fresh
    // counters in the background and switch to them (README "Backfill"); false = keep the
    // counters and warn (run `foothold rebuild`)
    bool auto_rebuild = true;
    // [aggregator.feed_events] the writer hands committed events to the aggregator in memory
    // through a queue of at most this many; it reads the log back for what the queue missed.
    // 0 = always read the log
    size_t feed_events = 8192;
  } aggregator;

  struct Demo {
    bool enabled = false;  // [demo.enabled] serve the demo shop at /demo/ (default false)
  } demo;

  struct Admin {
    std::string token;  // [admin.token] bearer token for stats/sessions/metrics; "" = open
  } admin;

  struct Shutdown {
    int64_t drain_delay_ms = 5000;   // [shutdown.drain_delay] /readyz is 503 this long before closing
    int64_t deadline_ms = 10000;     // [shutdown.deadline] max wait for in-flight requests after that
  } shutdown;

  struct Http {
    int64_t header_timeout_ms = 10000;   // [http.header_timeout] time to receive a request's headers
    int64_t body_timeout_ms = 30000;     // [http.body_timeout] time to receive a request's body
    int64_t idle_timeout_ms = 60000;     // [http.idle_timeout] keep-alive idle time
    size_t max_connections = 20000;      // [http.max_connections] beyond: accepted and closed
    double rate_limit_per_ip = 0;        // [http.rate_limit] requests/s per client IP; 0 = off
    double rate_limit_burst = 0;         // [http.rate_limit_burst] bucket size; 0 = 2 x rate
  } http;

  struct Sources {
    // [sources.require_write_key] /v1/collect needs a known write key too
    // (Basic auth user or ?writeKey=); false = keyless native beacons allowed.
    bool require_write_key = false;
  } sources;

  struct Segment {
    size_t max_message_bytes = 32 << 10;  // [segment.max_message_bytes] one Segment message (32 KiB)
    size_t max_batch_bytes = 500 * 1000;  // [segment.max_batch_bytes] one batch body, decompressed (500 KB)
  } segment;

  // [[source]] entries in file order; only from the TOML file. Empty: the
  // Segment endpoints accept any write key (or none) as an unnamed browser source.
  std::vector<Source> source_list;

  // [export.clickhouse]: tail the journey log into a ClickHouse table over its
  // HTTP interface (storage/export/README.md). Off while `url` is "".
  struct ExportClickHouse {
    std::string url;                   // [export.clickhouse.url] "http://HOST:PORT" of ClickHouse's HTTP interface; "" = off
    std::string database = "foothold";  // [export.clickhouse.database] [A-Za-z0-9_]{1,64}
    std::string table = "events";       // [export.clickhouse.table] [A-Za-z0-9_]{1,64}; DDL in deploy/clickhouse/events.sql
    std::string user = "default";       // [export.clickhouse.user] sent as X-ClickHouse-User
    std::string password;               // [export.clickhouse.password] sent as X-ClickHouse-Key; "" = none
    std::string node;                   // [export.clickhouse.node] this collector's name in the table's key; "" = the hostname
    size_t batch_rows = 10000;          // [export.clickhouse.batch_rows] most log records per INSERT, 1..1000000
    int64_t linger_ms = 1000;           // [export.clickhouse.linger] wait this long for a full batch; 0 = send at once
    int64_t max_lag_ms = 7LL * 24 * 3600 * 1000;  // [export.clickhouse.max_lag] retention waits for the exporter until its lag passes this; 0 = forever
    int64_t timeout_ms = 10000;         // [export.clickhouse.timeout] connect + request + response deadline per HTTP call
    bool enabled() const { return !url.empty(); }
  } export_clickhouse;

  // Analytics definitions, in file order; only from the TOML file (see above).
  std::vector<MicroConversion> micro_conversions;  // [[micro_conversion]]
  std::vector<MacroConversion> macro_conversions;  // [[macro_conversion]]
  std::vector<Funnel> funnels;                     // [[funnel]]
  std::vector<Experiment> experiments;             // [[experiment]]
  std::vector<Dimension> dimensions;               // [[dimension]]
};

// What the command line asked for.
enum class Command { kServe, kVerify, kRebuild, kHelp, kVersion };

struct LoadResult {
  Command command = Command::kServe;
  Config config;
  // Non-empty: loading failed; print it to stderr and exit with exit_code (2).
  std::string error;
  int exit_code = 0;
};

// Parses argv (flags of config/README.md), the environment (`envp`, NULL-terminated
// "KEY=VALUE" strings) and the --config file, applies precedence, validates.
LoadResult LoadConfig(int argc, const char* const* argv, const char* const* envp);

// The --help text.
std::string UsageText();

// A listen address split for binding.
struct HostPort {
  std::string host;  // without brackets: "0.0.0.0", "::1", "localhost"
  uint16_t port = 0;
};

// Parses "HOST:PORT": a dotted-quad IPv4 address, a bracketed IPv6 literal
// ("[::1]:8080") or a hostname, then a port 0-65535. Config::listen and a
// non-empty Config::admin_listen always pass it after LoadConfig.
bool ParseHostPort(std::string_view text, HostPort* out);

}  // namespace foothold::config
