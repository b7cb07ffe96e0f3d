// LoadConfig: defaults, each source, precedence, commands, and shipped config.

#include "config/config.h"

#include <catch2/catch.hpp>

#include "tests/config/config_test_util.h"

namespace foothold::config {
namespace {

using testing::Load;
using testing::TempDir;

// Field-by-field, because proto::Cidr has no operator==.
void CheckSameConfig(const Config& a, const Config& b) {
  CHECK(a.listen == b.listen);
  CHECK(a.admin_listen == b.admin_listen);
  CHECK(a.data_dir == b.data_dir);
  CHECK(a.threads == b.threads);
  CHECK(a.log_level == b.log_level);
  CHECK(a.limits.max_body_bytes == b.limits.max_body_bytes);
  CHECK(a.limits.max_decompressed_bytes == b.limits.max_decompressed_bytes);
  CHECK(a.limits.max_events == b.limits.max_events);
  CHECK(a.limits.max_event_bytes == b.limits.max_event_bytes);
  CHECK(a.limits.max_header_bytes == b.limits.max_header_bytes);
  CHECK(a.storage.durability == b.storage.durability);
  CHECK(a.storage.retention_days == b.storage.retention_days);
  CHECK(a.storage.queue_capacity == b.storage.queue_capacity);
  CHECK(a.storage.max_group_events == b.storage.max_group_events);
  CHECK(a.storage.block_cache_mb == b.storage.block_cache_mb);
  CHECK(a.session.timeout_ms == b.session.timeout_ms);
  CHECK(a.dedupe.window_ms == b.dedupe.window_ms);
  CHECK(a.time.max_past_ms == b.time.max_past_ms);
  CHECK(a.time.max_future_ms == b.time.max_future_ms);
  CHECK(a.privacy.ip_mode == b.privacy.ip_mode);
  CHECK(a.privacy.hash_secret == b.privacy.hash_secret);
  REQUIRE(a.trusted_proxies.size() == b.trusted_proxies.size());
  for (size_t i = 0; i < a.trusted_proxies.size(); ++i) {
    CHECK(a.trusted_proxies[i].base.v6 == b.trusted_proxies[i].base.v6);
    CHECK(a.trusted_proxies[i].base.bytes == b.trusted_proxies[i].base.bytes);
    CHECK(a.trusted_proxies[i].prefix_len == b.trusted_proxies[i].prefix_len);
  }
  CHECK(a.cors_allowed_origins == b.cors_allowed_origins);
  CHECK(a.admin.token == b.admin.token);
  CHECK(a.tracker.script_paths == b.tracker.script_paths);
  CHECK(a.tracker.collect_paths == b.tracker.collect_paths);
  CHECK(a.demo.enabled == b.demo.enabled);
  CHECK(a.shutdown.drain_delay_ms == b.shutdown.drain_delay_ms);
  CHECK(a.shutdown.deadline_ms == b.shutdown.deadline_ms);
  CHECK(a.http.header_timeout_ms == b.http.header_timeout_ms);
  CHECK(a.http.body_timeout_ms == b.http.body_timeout_ms);
  CHECK(a.http.idle_timeout_ms == b.http.idle_timeout_ms);
  CHECK(a.http.max_connections == b.http.max_connections);
  CHECK(a.http.rate_limit_per_ip == b.http.rate_limit_per_ip);
  CHECK(a.http.rate_limit_burst == b.http.rate_limit_burst);
}

// Asserts a load failed with exit status 2 and an error containing every fragment.
void CheckError(const LoadResult& r, std::initializer_list<std::string> fragments) {
  INFO("error: " << r.error);
  CHECK(r.exit_code == 2);
  CHECK_FALSE(r.error.empty());
  for (const std::string& f : fragments) CHECK_THAT(r.error, Catch::Contains(f));
}

TEST_CASE("no flags, environment or file gives the documented defaults", "[config]") {
  LoadResult r = Load({});
  REQUIRE(r.error.empty());
  CHECK(r.exit_code == 0);
  CHECK(r.command == Command::kServe);
  CheckSameConfig(r.config, Config{});
  CHECK(r.config.listen == "0.0.0.0:8080");
  CHECK(r.config.data_dir == "./data");
  CHECK(r.config.admin_listen.empty());
  CHECK(r.config.cors_allowed_origins == std::vector<std::string>{"*"});
  CHECK(r.config.session.timeout_ms == 30 * 60 * 1000);
}

TEST_CASE("the shipped config/foothold.toml loads and its settings equal the defaults",
          "[config]") {
  LoadResult r = Load({"--config", FOOTHOLD_SOURCE_DIR "/config/foothold.toml"});
  INFO(r.error);
  REQUIRE(r.error.empty());
  CHECK(r.exit_code == 0);
  CheckSameConfig(r.config, Config{});
}

TEST_CASE("a config file alone sets keys in every section", "[config]") {
  TempDir dir;
  const std::string path = dir.Write("f.toml", R"(
listen = "127.0.0.1:9000"
admin_listen = "[::1]:9001"
data_dir = "/var/lib/foothold"
threads = 4
log_level = "debug"
trusted_proxies = ["10.0.0.0/8", "::1"]
[limits]
max_body_bytes = "2MiB"
max_decompressed_bytes = 16777216
max_events = 100
max_event_bytes = "64KiB"
max_header_bytes = "16KiB"
[storage]
durability = "sync"
retention_days = 7
queue_capacity = 5000
max_group_events = 256
block_cache_mb = 128
[session]
timeout = "45m"
[dedupe]
window = "2d"
[time]
max_past = "48h"
max_future = 0
[privacy]
ip_mode = "hash"
hash_secret = "s3cret"
[cors]
allowed_origins = ["https://a.example", "https://b.example:8443"]
[admin]
token = "abc123"
[shutdown]
drain_delay = "0s"
deadline = 2500
[http]
header_timeout = "5s"
body_timeout = "1m"
idle_timeout = "90s"
max_connections = 100
rate_limit = 12.5
rate_limit_burst = 50
)");
  LoadResult r = Load({"--config", path});
  INFO(r.error);
  REQUIRE(r.error.empty());
  const Config& c = r.config;
  CHECK(c.listen == "127.0.0.1:9000");
  CHECK(c.admin_listen == "[::1]:9001");
  CHECK(c.data_dir == "/var/lib/foothold");
  CHECK(c.threads == 4);
  CHECK(c.log_level == "debug");
  REQUIRE(c.trusted_proxies.size() == 2);
  CHECK(c.trusted_proxies[0].prefix_len == 8);
  CHECK(c.trusted_proxies[1].base.v6);
  CHECK(c.trusted_proxies[1].prefix_len == 128);
  CHECK(c.limits.max_body_bytes == 2u << 20);
  CHECK(c.limits.max_decompressed_bytes == 16u << 20);
  CHECK(c.limits.max_events == 100);
  CHECK(c.limits.max_event_bytes == 64u << 10);
  CHECK(c.limits.max_header_bytes == 16u << 10);
  CHECK(c.storage.durability == Durability::kSync);
  CHECK(c.storage.retention_days == 7);
  CHECK(c.storage.queue_capacity == 5000);
  CHECK(c.storage.max_group_events == 256);
  CHECK(c.storage.block_cache_mb == 128);
  CHECK(c.session.timeout_ms == 45 * 60 * 1000);
  CHECK(c.dedupe.window_ms == 2LL * 24 * 3600 * 1000);
  CHECK(c.time.max_past_ms == 48LL * 3600 * 1000);
  CHECK(c.time.max_future_ms == 0);
  CHECK(c.privacy.ip_mode == proto::IpMode::kHash);
  CHECK(c.privacy.hash_secret == "s3cret");
  CHECK(c.cors_allowed_origins ==
        std::vector<std::string>{"https://a.example", "https://b.example:8443"});
  CHECK(c.admin.token == "abc123");
  CHECK(c.shutdown.drain_delay_ms == 0);
  CHECK(c.shutdown.deadline_ms == 2500);
  CHECK(c.http.header_timeout_ms == 5000);
  CHECK(c.http.body_timeout_ms == 60000);
  CHECK(c.http.idle_timeout_ms == 90000);
  CHECK(c.http.max_connections == 100);
  CHECK(c.http.rate_limit_per_ip == 12.5);
  CHECK(c.http.rate_limit_burst == 50);
}

TEST_CASE("environment variables alone set top-level and nested keys", "[config]") {
  LoadResult r = Load(
      {}, {"PATH=/usr/bin", "FOOTHOLD_LISTEN=127.0.0.1:0", "FOOTHOLD_ADMIN_LISTEN=localhost:9100",
           "FOOTHOLD_DATA_DIR=/tmp/d", "FOOTHOLD_THREADS=2", "FOOTHOLD_LOG_LEVEL=WARN",
           "FOOTHOLD_STORAGE__DURABILITY=sync", "FOOTHOLD_LIMITS__MAX_EVENTS=100",
           "FOOTHOLD_LIMITS__MAX_BODY_BYTES=512KiB", "FOOTHOLD_PRIVACY__IP_MODE=hash",
           "FOOTHOLD_SESSION__TIMEOUT=1h30m", "FOOTHOLD_HTTP__RATE_LIMIT=0.5",
           "FOOTHOLD_CORS__ALLOWED_ORIGINS=https://a.example, https://b.example",
           "FOOTHOLD_TRUSTED_PROXIES=10.0.0.0/8,::1", "FOOTHOLD_ADMIN__TOKEN=t0k"});
  INFO(r.error);
  REQUIRE(r.error.empty());
  const Config& c = r.config;
  CHECK(c.listen == "127.0.0.1:0");
  CHECK(c.admin_listen == "localhost:9100");
  CHECK(c.data_dir == "/tmp/d");
  CHECK(c.threads == 2);
  CHECK(c.log_level == "warn");  // enum values are case-insensitive, stored lower case
  CHECK(c.storage.durability == Durability::kSync);
  CHECK(c.limits.max_events == 100);
  CHECK(c.limits.max_body_bytes == 512u << 10);
  CHECK(c.privacy.ip_mode == proto::IpMode::kHash);
  CHECK(c.session.timeout_ms == 90 * 60 * 1000);
  CHECK(c.http.rate_limit_per_ip == 0.5);
  CHECK(c.cors_allowed_origins ==
        std::vector<std::string>{"https://a.example", "https://b.example"});
  CHECK(c.trusted_proxies.size() == 2);
  CHECK(c.admin.token == "t0k");
}

TEST_CASE("an empty list variable clears the list", "[config]") {
  LoadResult r = Load({}, {"FOOTHOLD_CORS__ALLOWED_ORIGINS=", "FOOTHOLD_TRUSTED_PROXIES="});
  REQUIRE(r.error.empty());
  CHECK(r.config.cors_allowed_origins.empty());
  CHECK(r.config.trusted_proxies.empty());
}

TEST_CASE("flags alone, as --flag value and --flag=value", "[config]") {
  LoadResult r = Load({"--listen", "127.0.0.1:0", "--admin-listen=127.0.0.1:0", "--data-dir", "/d",
                       "--threads=8", "--log-level", "error"});
  INFO(r.error);
  REQUIRE(r.error.empty());
  CHECK(r.command == Command::kServe);
  CHECK(r.config.listen == "127.0.0.1:0");
  CHECK(r.config.admin_listen == "127.0.0.1:0");  // port 0 twice is fine: two free ports
  CHECK(r.config.data_dir == "/d");
  CHECK(r.config.threads == 8);
  CHECK(r.config.log_level == "error");
  CHECK(Load({"--admin-listen="}).config.admin_listen.empty());
}

TEST_CASE("flags beat environment, which beats the file, which beats defaults", "[config]") {
  TempDir dir;
  const std::string path = dir.Write("f.toml",
                                     "listen = \"127.0.0.1:1001\"\n"
                                     "data_dir = \"/from-file\"\n"
                                     "threads = 3\n"
                                     "[storage]\nretention_days = 30\n");
  LoadResult r = Load({"--config", path, "--listen", "127.0.0.1:1003"},
                      {"FOOTHOLD_LISTEN=127.0.0.1:1002", "FOOTHOLD_DATA_DIR=/from-env"});
  INFO(r.error);
  REQUIRE(r.error.empty());
  CHECK(r.config.listen == "127.0.0.1:1003");    // flag
  CHECK(r.config.data_dir == "/from-env");       // env over file
  CHECK(r.config.threads == 3);                  // file over default
  CHECK(r.config.storage.retention_days == 30);  // file
  CHECK(r.config.log_level == "info");           // default
}

TEST_CASE("FOOTHOLD_CONFIG names the file unless --config is given", "[config]") {
  TempDir dir;
  const std::string a = dir.Write("a.toml", "threads = 1\n");
  const std::string b = dir.Write("b.toml", "threads = 2\n");
  CHECK(Load({}, {"FOOTHOLD_CONFIG=" + a}).config.threads == 1);
  CHECK(Load({"--config=" + b}, {"FOOTHOLD_CONFIG=" + a}).config.threads == 2);
  LoadResult empty = Load({}, {"FOOTHOLD_CONFIG="});
  CHECK(empty.error.empty());
}

TEST_CASE("verify takes the same flags", "[config]") {
  LoadResult r = Load({"verify", "--data-dir", "/some/dir"});
  REQUIRE(r.error.empty());
  CHECK(r.command == Command::kVerify);
  CHECK(r.config.data_dir == "/some/dir");
  CHECK(Load({"--data-dir=/x", "verify"}).command == Command::kVerify);
  CheckError(Load({"verify", "--data-dir", "/x", "--bogus"}), {"unknown flag --bogus"});
  CheckError(Load({"verify", "verify"}), {"unexpected argument \"verify\""});
}

TEST_CASE("rebuild takes the same flags, and aggregator.auto_rebuild comes from file and environment", "[config]") {
  LoadResult r = Load({"rebuild", "--data-dir", "/some/dir"});
  REQUIRE(r.error.empty());
  CHECK(r.command == Command::kRebuild);
  CHECK(r.config.data_dir == "/some/dir");
  CHECK(r.config.aggregator.auto_rebuild);
  CheckError(Load({"rebuild", "verify"}), {"unexpected argument \"verify\""});
  TempDir dir;
  const std::string off = dir.Write("off.toml", "[aggregator]\nauto_rebuild = false\n");
  CHECK_FALSE(Load({"--config", off}).config.aggregator.auto_rebuild);
  CHECK(Load({"--config", off}, {"FOOTHOLD_AGGREGATOR__AUTO_REBUILD=true"}).config.aggregator.auto_rebuild);
  CheckError(Load({}, {"FOOTHOLD_AGGREGATOR__AUTO_REBUILD=maybe"}), {"aggregator.auto_rebuild"});
}

TEST_CASE("--help and --version answer whatever the environment holds", "[config]") {
  for (const char* flag : {"--help", "-h"}) {
    LoadResult r = Load({flag}, {"FOOTHOLD_BOGUS=1"});
    CHECK(r.command == Command::kHelp);
    CHECK(r.error.empty());
    CHECK(r.exit_code == 0);
  }
  LoadResult v = Load({"--version"}, {"FOOTHOLD_CONFIG=/does/not/exist.toml"});
  CHECK(v.command == Command::kVersion);
  CHECK(v.error.empty());
  CHECK(v.exit_code == 0);
  const std::string usage = UsageText();
  for (const char* part :
       {"--config", "--listen", "--admin-listen", "--data-dir", "--threads", "--log-level",
        "verify", "--version", "--help", "FOOTHOLD_STORAGE__DURABILITY", "precedence"}) {
    CHECK_THAT(usage, Catch::Contains(part, Catch::CaseSensitive::No));
  }
}

TEST_CASE("command line mistakes exit 2 and say what is wrong", "[config]") {
  CheckError(Load({"--bogus", "1"}), {"unknown flag --bogus"});
  CheckError(Load({"--listen"}), {"missing value", "--listen"});
  CheckError(Load({"--threads", "--listen", "1.2.3.4:5"}), {"missing value", "--threads"});
  CheckError(Load({"serve"}), {"unexpected argument \"serve\""});
  CheckError(Load({"--config="}), {"--config"});
  CheckError(Load({"--threads", "300"}),
             {"flag --threads", "invalid value for threads", "\"300\"", "0..256"});
  CheckError(Load({"--log-level=loud"}),
             {"flag --log-level", "log_level", "\"loud\"", "trace, debug, info, warn, error"});
  CheckError(Load({"--listen", "localhost"}),
             {"flag --listen", "invalid value for listen", "HOST:PORT"});
}

TEST_CASE("environment mistakes name the variable and the key", "[config]") {
  CheckError(Load({}, {"FOOTHOLD_STORAGE__DURABLITY=sync"}),
             {"environment variable FOOTHOLD_STORAGE__DURABLITY", "unknown key storage.durablity"});
  CheckError(Load({}, {"FOOTHOLD_LISTN=1.2.3.4:80"}), {"FOOTHOLD_LISTN", "unknown key"});
  CheckError(Load({}, {"FOOTHOLD_STORAGE__DURABILITY=fast"}),
             {"environment variable FOOTHOLD_STORAGE__DURABILITY",
              "invalid value for storage.durability: \"fast\" (allowed: wal, sync)"});
  CheckError(Load({}, {"FOOTHOLD_TRUSTED_PROXIES=10.0.0.0/8,10.0.0.300/8"}),
             {"trusted_proxies", "\"10.0.0.300/8\"", "CIDR"});
  CheckError(Load({}, {"FOOTHOLD_CORS__ALLOWED_ORIGINS=*,https://a.example"}),
             {"cors.allowed_origins", "\"*\""});
  CheckError(Load({}, {"FOOTHOLD_CONFIG=/does/not/exist.toml"}),
             {"/does/not/exist.toml", "No such file"});
}

TEST_CASE("Kubernetes service-link variables are not mistaken for settings", "[config]") {
  LoadResult r = Load(
      {}, {"FOOTHOLD_SERVICE_HOST=10.96.0.10", "FOOTHOLD_SERVICE_PORT=8080",
           "FOOTHOLD_SERVICE_PORT_HTTP=8080", "FOOTHOLD_PORT=tcp://10.96.0.10:8080",
           "FOOTHOLD_PORT_8080_TCP=tcp://10.96.0.10:8080", "FOOTHOLD_PORT_8080_TCP_ADDR=10.96.0.10",
           "FOOTHOLD_PORT_8080_TCP_PORT=8080", "FOOTHOLD_PORT_8080_TCP_PROTO=tcp",
           "FOOTHOLD_ADMIN_SERVICE_HOST=10.96.0.11", "FOOTHOLD_ADMIN_PORT=tcp://10.96.0.11:9090"});
  INFO(r.error);
  CHECK(r.error.empty());
  CheckSameConfig(r.config, Config{});
  CheckError(Load({}, {"FOOTHOLD_PORT=8080"}), {"FOOTHOLD_PORT", "unknown key port"});
}

TEST_CASE("every kind of invalid value is refused with its key and range", "[config]") {
  struct Case {
    const char* env;
    const char* key;
    const char* allowed;
  };
  const Case cases[] = {
      {"FOOTHOLD_LISTEN=0.0.0.0:65536", "listen", "port 0..65535"},
      {"FOOTHOLD_LISTEN=", "listen", "HOST:PORT"},
      {"FOOTHOLD_ADMIN_LISTEN=:9000", "admin_listen", "HOST:PORT"},
      {"FOOTHOLD_DATA_DIR=", "data_dir", "non-empty"},
      {"FOOTHOLD_THREADS=-1", "threads", "0..256"},
      {"FOOTHOLD_THREADS=two", "threads", "0..256"},
      {"FOOTHOLD_LIMITS__MAX_EVENTS=0", "limits.max_events", "1..1000000"},
      {"FOOTHOLD_LIMITS__MAX_BODY_BYTES=0", "limits.max_body_bytes", "1B..1GiB"},
      {"FOOTHOLD_LIMITS__MAX_BODY_BYTES=1MB", "limits.max_body_bytes", "KiB"},
      {"FOOTHOLD_LIMITS__MAX_HEADER_BYTES=2MiB", "limits.max_header_bytes", "1B..1MiB"},
      {"FOOTHOLD_STORAGE__RETENTION_DAYS=0", "storage.retention_days", "1..36500"},
      {"FOOTHOLD_STORAGE__QUEUE_CAPACITY=0", "storage.queue_capacity", "1.."},
      {"FOOTHOLD_STORAGE__MAX_GROUP_EVENTS=0", "storage.max_group_events", "1.."},
      {"FOOTHOLD_STORAGE__BLOCK_CACHE_MB=0", "storage.block_cache_mb", "1.."},
      {"FOOTHOLD_SESSION__TIMEOUT=0", "session.timeout", "1ms..365d"},
      {"FOOTHOLD_SESSION__TIMEOUT=30 minutes", "session.timeout", "\"30m\""},
      {"FOOTHOLD_DEDUPE__WINDOW=0s", "dedupe.window", "1ms.."},
      {"FOOTHOLD_TIME__MAX_PAST=400d", "time.max_past", "..365d"},
      {"FOOTHOLD_TIME__MAX_FUTURE=-1s", "time.max_future", "0..365d"},
      {"FOOTHOLD_PRIVACY__IP_MODE=anonymize", "privacy.ip_mode", "truncate, hash, full, none"},
      {"FOOTHOLD_CORS__ALLOWED_ORIGINS=https://a.example/", "cors.allowed_origins", "without path"},
      {"FOOTHOLD_ADMIN__TOKEN=has space", "admin.token", "printable ASCII"},
      {"FOOTHOLD_SHUTDOWN__DRAIN_DELAY=soon", "shutdown.drain_delay", "0..365d"},
      {"FOOTHOLD_SHUTDOWN__DEADLINE=-5", "shutdown.deadline", "0..365d"},
      {"FOOTHOLD_HTTP__HEADER_TIMEOUT=0", "http.header_timeout", "1ms.."},
      {"FOOTHOLD_HTTP__BODY_TIMEOUT=0ms", "http.body_timeout", "1ms.."},
      {"FOOTHOLD_HTTP__IDLE_TIMEOUT=x", "http.idle_timeout", "1ms.."},
      {"FOOTHOLD_HTTP__MAX_CONNECTIONS=0", "http.max_connections", "1.."},
      {"FOOTHOLD_HTTP__RATE_LIMIT=-1", "http.rate_limit", "0.."},
      {"FOOTHOLD_HTTP__RATE_LIMIT=nan", "http.rate_limit", "0.."},
      {"FOOTHOLD_HTTP__RATE_LIMIT_BURST=inf", "http.rate_limit_burst", "0.."},
  };
  for (const Case& c : cases) {
    INFO(c.env);
    CheckError(Load({}, {c.env}), {std::string("invalid value for ") + c.key + ":", c.allowed});
  }
}

TEST_CASE("secrets are never echoed in error messages", "[config]") {
  LoadResult r = Load({}, {"FOOTHOLD_ADMIN__TOKEN=sup3r secret"});
  CheckError(r, {"admin.token", "hidden"});
  CHECK_THAT(r.error, !Catch::Contains("sup3r"));
}

TEST_CASE("every invalid source is reported, one per line", "[config]") {
  LoadResult r = Load({"--threads=999"}, {"FOOTHOLD_LOG_LEVEL=loud"});
  CheckError(r, {"threads", "log_level"});
  CHECK(r.error.find('\n') != std::string::npos);
}

TEST_CASE("admin_listen must not repeat listen", "[config]") {
  CheckError(Load({"--listen=127.0.0.1:9000", "--admin-listen=127.0.0.1:9000"}),
             {"admin_listen", "same address as listen"});
}

TEST_CASE("config file mistakes name the file, line and key", "[config]") {
  TempDir dir;
  CheckError(Load({"--config", dir.path() + "/missing.toml"}), {"missing.toml", "cannot read"});
  CheckError(Load({"--config", dir.path()}), {"directory"});

  const std::string typo = dir.Write("typo.toml", "[storage]\ndurabilty = \"sync\"\n");
  CheckError(Load({"--config", typo}), {typo + ":2", "unknown key storage.durabilty"});

  const std::string section = dir.Write("section.toml", "[storag]\n");
  CheckError(Load({"--config", section}), {section + ":1", "unknown section [storag]"});

  const std::string nested = dir.Write("nested.toml", "[storage.extra]\nx = 1\n");
  CheckError(Load({"--config", nested}), {"unknown section [storage.extra]"});

  const std::string syntax = dir.Write("syntax.toml", "listen = \"127.0.0.1:80\"\nthreads = = 4\n");
  CheckError(Load({"--config", syntax}), {syntax + ":2:"});

  const std::string bad = dir.Write("bad.toml", "[storage]\ndurability = \"fast\"\n");
  CheckError(Load({"--config", bad}),
             {bad + ":2", "invalid value for storage.durability: \"fast\" (allowed: wal, sync)"});
}

TEST_CASE("config file values of the wrong TOML type are refused", "[config]") {
  TempDir dir;
  auto load = [&](const std::string& toml) {
    return Load({"--config", dir.Write("t.toml", toml)});
  };
  CheckError(load("listen = 8080\n"), {"invalid value for listen: 8080"});
  CheckError(load("threads = 2.5\n"), {"invalid value for threads: 2.5"});
  CheckError(load("threads = true\n"), {"invalid value for threads: true"});
  CheckError(load("trusted_proxies = [1, 2]\n"), {"invalid value for trusted_proxies"});
  CheckError(load("[admin]\ntoken = 12345\n"), {"invalid value for admin.token"});
  CheckError(load("[storage]\ndurability = [\"wal\"]\n"), {"invalid value for storage.durability"});
  // Numbers written as strings, and lists as one comma string, are fine.
  LoadResult ok = load(
      "threads = \"3\"\ntrusted_proxies = \"10.0.0.0/8, 192.168.0.0/16\"\n"
      "[storage]\nretention_days = 1_000\n");
  INFO(ok.error);
  REQUIRE(ok.error.empty());
  CHECK(ok.config.threads == 3);
  CHECK(ok.config.trusted_proxies.size() == 2);
  CHECK(ok.config.storage.retention_days == 1000);
}


TEST_CASE("tracker paths and demo.enabled: parsed from file and environment, validated", "[config]") {
  TempDir dir;
  const std::string path = dir.Write("t.toml", R"(
[tracker]
script_path = ["/s/app.js", "/static/x-1.js"]
collect_path = ["/e"]
[demo]
enabled = true
)");
  LoadResult r = Load({"--config", path});
  INFO(r.error);
  REQUIRE(r.error.empty());
  CHECK(r.config.tracker.script_paths == std::vector<std::string>{"/s/app.js", "/static/x-1.js"});
  CHECK(r.config.tracker.collect_paths == std::vector<std::string>{"/e"});
  CHECK(r.config.demo.enabled);
  CHECK(Load({}, {"FOOTHOLD_DEMO__ENABLED=FALSE"}).config.demo.enabled == false);
  CHECK(Load({}, {"FOOTHOLD_TRACKER__COLLECT_PATH=/a,/b"}).config.tracker.collect_paths ==
        std::vector<std::string>{"/a", "/b"});

  for (const char* bad : {"/v1/collect", "/v1/x", "/foothold.js", "/demo/", "/demo", "/dashboard", "/dashboard/a",
                          "/healthz", "/metrics", "x", "/", "/a b", "/a?b", "/a#b", "/a%20"}) {
    LoadResult b = Load({}, {std::string("FOOTHOLD_TRACKER__SCRIPT_PATH=") + bad});
    INFO(bad);
    CHECK(b.exit_code == 2);
    CHECK(b.error.find("invalid value for tracker.script_path") != std::string::npos);
  }
  LoadResult both = Load({}, {"FOOTHOLD_TRACKER__SCRIPT_PATH=/x", "FOOTHOLD_TRACKER__COLLECT_PATH=/x"});
  CHECK(both.exit_code == 2);
  CHECK(both.error.find("both name \"/x\"") != std::string::npos);
  LoadResult demo = Load({}, {"FOOTHOLD_DEMO__ENABLED=true", "FOOTHOLD_TRACKER__COLLECT_PATH=/p/e"});
  CHECK(demo.exit_code == 2);
  CHECK(demo.error.find("under /p/") != std::string::npos);
  CHECK(Load({}, {"FOOTHOLD_TRACKER__COLLECT_PATH=/p/e"}).exit_code == 0);
  CHECK(Load({}, {"FOOTHOLD_DEMO__ENABLED=yes"}).error.find("demo.enabled") != std::string::npos);
}

}  // namespace
}  // namespace foothold::config
