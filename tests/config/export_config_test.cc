// [export.clickhouse]: the exporter's keys from file, environment and flags'
// neighbours, their defaults, and clear errors for bad values.
#include <catch2/catch.hpp>

#include "tests/config/config_test_util.h"

namespace foothold::config {
namespace {

using testing::Load;
using testing::TempDir;

void SameExport(const Config::ExportClickHouse& a, const Config::ExportClickHouse& b) {
  CHECK(a.url == b.url);
  CHECK(a.database == b.database);
  CHECK(a.table == b.table);
  CHECK(a.user == b.user);
  CHECK(a.password == b.password);
  CHECK(a.node == b.node);
  CHECK(a.batch_rows == b.batch_rows);
  CHECK(a.linger_ms == b.linger_ms);
  CHECK(a.max_lag_ms == b.max_lag_ms);
  CHECK(a.timeout_ms == b.timeout_ms);
}

TEST_CASE("export.clickhouse is off by default and the shipped file says the defaults", "[config]") {
  LoadResult r = Load({"--config", FOOTHOLD_SOURCE_DIR "/config/foothold.toml"});
  INFO(r.error);
  REQUIRE(r.error.empty());
  CHECK_FALSE(r.config.export_clickhouse.enabled());
  SameExport(r.config.export_clickhouse, Config{}.export_clickhouse);
  CHECK(Config{}.export_clickhouse.max_lag_ms == 7LL * 24 * 3600 * 1000);
}

TEST_CASE("export.clickhouse keys from the file and the environment", "[config]") {
  TempDir dir;
  const std::string path = dir.Write("f.toml", R"(
[export.clickhouse]
url = "http://clickhouse:8123/"
database = "analytics"
table = "journey"
user = "writer"
password = "pw"
node = "collector-0"
batch_rows = 5000
linger = "250ms"
max_lag = "2d"
timeout = "3s"
)");
  LoadResult r = Load({"--config", path}, {"FOOTHOLD_EXPORT__CLICKHOUSE__NODE=collector-1"});
  INFO(r.error);
  REQUIRE(r.error.empty());
  const Config::ExportClickHouse& x = r.config.export_clickhouse;
  CHECK(x.enabled());
  CHECK(x.url == "http://clickhouse:8123/");
  CHECK(x.database == "analytics");
  CHECK(x.table == "journey");
  CHECK(x.user == "writer");
  CHECK(x.password == "pw");
  CHECK(x.node == "collector-1");  // the environment beats the file
  CHECK(x.batch_rows == 5000);
  CHECK(x.linger_ms == 250);
  CHECK(x.max_lag_ms == 2LL * 24 * 3600 * 1000);
  CHECK(x.timeout_ms == 3000);
}

TEST_CASE("bad export.clickhouse values exit 2 naming the key", "[config]") {
  struct Case {
    std::string env;
    std::string fragment;
  };
  for (const Case& c : std::vector<Case>{
           {"FOOTHOLD_EXPORT__CLICKHOUSE__URL=https://ch:8443", "export.clickhouse.url"},
           {"FOOTHOLD_EXPORT__CLICKHOUSE__URL=http://ch:8123/db", "export.clickhouse.url"},
           {"FOOTHOLD_EXPORT__CLICKHOUSE__URL=http://ch:0", "export.clickhouse.url"},
           {"FOOTHOLD_EXPORT__CLICKHOUSE__TABLE=events; DROP TABLE x", "export.clickhouse.table"},
           {"FOOTHOLD_EXPORT__CLICKHOUSE__DATABASE=", "export.clickhouse.database"},
           {"FOOTHOLD_EXPORT__CLICKHOUSE__BATCH_ROWS=0", "export.clickhouse.batch_rows"},
           {"FOOTHOLD_EXPORT__CLICKHOUSE__LINGER=soon", "export.clickhouse.linger"},
           {"FOOTHOLD_EXPORT__CLICKHOUSE__TIMEOUT=10ms", "export.clickhouse.timeout"},
           {"FOOTHOLD_EXPORT__CLICKHOUSE__NODE=a b", "export.clickhouse.node"},
           {"FOOTHOLD_EXPORT__CLICKHOUSE__COMPRESSION=lz4", "unknown key export.clickhouse.compression"},
       }) {
    LoadResult r = Load({}, {c.env});
    INFO(c.env);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.error, Catch::Contains(c.fragment));
  }
  // The password is never echoed.
  LoadResult r = Load({}, {"FOOTHOLD_EXPORT__CLICKHOUSE__PASSWORD=has space"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.error, Catch::Contains("(value hidden)"));
  CHECK_THAT(r.error, !Catch::Contains("has space"));
}

}  // namespace
}  // namespace foothold::config
