// Config: the typed, immutable configuration of a foothold process, and its
// loader. Sources, highest precedence first: command-line flags, FOOTHOLD_*
// environment variables (nested keys with "__": FOOTHOLD_STORAGE__DURABILITY),
// the TOML file given by --config, built-in defaults (the inline values below).
// Every value is validated once at load; after that code reads typed fields.
//
// Thread safety: a loaded Config is immutable and may be shared freely.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/ip.h"

namespace foothold::config {

enum class Durability { kWal, kSync };

struct Config {
  // TOML key in brackets; env FOOTHOLD_<KEY> with '.' -> "__", upper case.
  std::string listen = "0.0.0.0:8080";  // [listen] HOST:PORT; port 0 picks a free port
  std::string admin_listen;             // [admin_listen] HOST:PORT; "" = admin endpoints on `listen`
  std::string data_dir = "./data";      // [data_dir] RocksDB directory
  int threads = 0;                      // [threads] I/O threads; 0 = one per core
  std::string log_level = "info";       // [log_level] trace|debug|info|warn|error

  struct Limits {
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
    size_t block_cache_mb = 64;                // [storage.block_cache_mb]
  } storage;

  struct Session {
    int64_t timeout_ms = 30 * 60 * 1000;  // [session.timeout] duration ("30m"); inactivity timeout
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
};

// What the command line asked for.
enum class Command { kServe, kVerify, kHelp, kVersion };

struct LoadResult {
  Command command = Command::kServe;
  Config config;
  // Non-empty: loading failed; print it to stderr and exit with exit_code (2).
  std::string error;
  int exit_code = 0;
};

// Parses argv (flags of DESIGN.md §9), the environment (`envp`, NULL-terminated
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
