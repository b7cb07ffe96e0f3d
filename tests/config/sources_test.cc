// [[source]] entries, sources.require_write_key and the segment limits
// (README "Sources and write keys").
#include <catch2/catch.hpp>

#include <string>

#include "config/config.h"
#include "tests/config/config_test_util.h"

namespace foothold::config {
namespace {

using testing::Load;
using testing::TempDir;

LoadResult LoadToml(const TempDir& dir, const std::string& toml) {
  return Load({"--config", dir.Write("s.toml", toml)});
}

void CheckRefused(const LoadResult& r, std::initializer_list<std::string> fragments) {
  CHECK(r.exit_code == 2);
  for (const std::string& f : fragments) {
    INFO(r.error);
    CHECK(r.error.find(f) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("sources: name, write key, kind, and the defaults", "[config]") {
  TempDir dir;
  LoadResult none = Load({});
  CHECK(none.config.source_list.empty());
  CHECK_FALSE(none.config.sources.require_write_key);
  CHECK(none.config.segment.max_message_bytes == 32 * 1024);
  CHECK(none.config.segment.max_batch_bytes == 500 * 1000);

  LoadResult r = LoadToml(dir, R"(
[sources]
require_write_key = true

[segment]
max_message_bytes = "64KiB"
max_batch_bytes = 1000000

[[source]]
name = "web"
write_key = "pk_live_123"

[[source]]
name = "backend"
write_key = "sk_live_456"
kind = "server"
)");
  INFO(r.error);
  REQUIRE(r.error.empty());
  CHECK(r.config.sources.require_write_key);
  CHECK(r.config.segment.max_message_bytes == 64 * 1024);
  CHECK(r.config.segment.max_batch_bytes == 1000000);
  REQUIRE(r.config.source_list.size() == 2);
  CHECK(r.config.source_list[0].name == "web");
  CHECK(r.config.source_list[0].write_key == "pk_live_123");
  CHECK(r.config.source_list[0].kind == SourceKind::kBrowser);
  CHECK(r.config.source_list[1].name == "backend");
  CHECK(r.config.source_list[1].kind == SourceKind::kServer);

  LoadResult env = Load({}, {"FOOTHOLD_SOURCES__REQUIRE_WRITE_KEY=true"});
  INFO(env.error);
  CHECK(env.config.sources.require_write_key);
}

TEST_CASE("sources: mistakes are refused, naming the entry", "[config]") {
  TempDir dir;
  CheckRefused(LoadToml(dir, "[[source]]\nname = \"a\"\n"), {"source \"a\": write_key is required"});
  CheckRefused(LoadToml(dir, "[[source]]\nname = \"a\"\nwrite_key = \"has space\"\n"),
               {"source \"a\": invalid write_key"});
  CheckRefused(LoadToml(dir, "[[source]]\nname = \"a\"\nwrite_key = \"k:x\"\n"), {"invalid write_key"});
  CheckRefused(LoadToml(dir, "[[source]]\nname = \"a\"\nwrite_key = \"k\"\nkind = \"mobile\"\n"),
               {"invalid kind \"mobile\" (allowed: browser, server)"});
  CheckRefused(LoadToml(dir, "[[source]]\nname = \"a\"\nwrite_key = \"k\"\nsecret = 1\n"),
               {"unknown key \"secret\""});
  CheckRefused(LoadToml(dir, "[[source]]\nname = \"a b\"\nwrite_key = \"k\"\n"), {"invalid name"});
  CheckRefused(LoadToml(dir, "[[source]]\nname = \"a\"\nwrite_key = \"k\"\n[[source]]\nname = \"a\"\nwrite_key = \"j\"\n"),
               {"name \"a\" is already defined"});
  CheckRefused(LoadToml(dir, "[[source]]\nname = \"a\"\nwrite_key = \"k\"\n[[source]]\nname = \"b\"\nwrite_key = \"k\"\n"),
               {"source \"b\": write_key is already the key of source \"a\""});
  CheckRefused(LoadToml(dir, "[sources]\nrequire_write_key = \"maybe\"\n"), {"sources.require_write_key"});
}

}  // namespace foothold::config
