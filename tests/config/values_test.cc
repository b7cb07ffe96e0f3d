// Value syntaxes: durations, sizes, HOST:PORT, CORS origins.

#include "config/values.h"

#include <catch2/catch.hpp>

#include "config/config.h"

namespace foothold::config {
namespace {

int64_t Ms(const char* text) {
  int64_t ms = -1;
  REQUIRE(ParseDurationMs(text, &ms));
  return ms;
}

uint64_t Bytes(const char* text) {
  uint64_t bytes = 0;
  REQUIRE(ParseSizeBytes(text, &bytes));
  return bytes;
}

TEST_CASE("durations take ms, s, m, h, d and bare milliseconds", "[config]") {
  CHECK(Ms("500ms") == 500);
  CHECK(Ms("30s") == 30000);
  CHECK(Ms("30m") == 30 * 60 * 1000);
  CHECK(Ms("24h") == 24LL * 3600 * 1000);
  CHECK(Ms("2d") == 2LL * 24 * 3600 * 1000);
  CHECK(Ms("1h30m") == 90 * 60 * 1000);
  CHECK(Ms("1s500ms") == 1500);
  CHECK(Ms("250") == 250);
  CHECK(Ms("0") == 0);
  CHECK(Ms("0s") == 0);
}

TEST_CASE("malformed durations are refused", "[config]") {
  int64_t ms = 0;
  for (const char* bad : {"", "s", "-5s", "-5", "+5s", "30 s", " 30s", "30sec", "1.5h", "30S",
                          "1h30", "5w", "99999999999999999999ms", "9999999999999d"}) {
    INFO(bad);
    CHECK_FALSE(ParseDurationMs(bad, &ms));
  }
}

TEST_CASE("sizes take bytes and binary units", "[config]") {
  CHECK(Bytes("0") == 0);
  CHECK(Bytes("1000") == 1000);
  CHECK(Bytes("512B") == 512);
  CHECK(Bytes("32KiB") == 32 * 1024);
  CHECK(Bytes("1MiB") == 1 << 20);
  CHECK(Bytes("8 MiB") == 8 << 20);
  CHECK(Bytes("2GiB") == 2ULL << 30);
  uint64_t n = 0;
  for (const char* bad : {"", "MiB", "1MB", "1KB", "1mib", "1.5MiB", "-1", "1  MiB", "1 ", "1MiBs",
                          "99999999999999999999", "17179869184GiB"}) {
    INFO(bad);
    CHECK_FALSE(ParseSizeBytes(bad, &n));
  }
}

TEST_CASE("durations and sizes format in their shortest exact unit", "[config]") {
  CHECK(FormatDuration(30 * 60 * 1000) == "30m");
  CHECK(FormatDuration(1500) == "1500ms");
  CHECK(FormatDuration(2LL * 24 * 3600 * 1000) == "2d");
  CHECK(FormatSize(1 << 20) == "1MiB");
  CHECK(FormatSize(1000) == "1000B");
}

TEST_CASE("HOST:PORT takes IPv4, bracketed IPv6 and hostnames", "[config]") {
  HostPort hp;
  REQUIRE(ParseHostPort("0.0.0.0:8080", &hp));
  CHECK(hp.host == "0.0.0.0");
  CHECK(hp.port == 8080);
  REQUIRE(ParseHostPort("[::1]:0", &hp));
  CHECK(hp.host == "::1");
  CHECK(hp.port == 0);
  REQUIRE(ParseHostPort("collector-1.internal.example:65535", &hp));
  CHECK(hp.host == "collector-1.internal.example");
  CHECK(hp.port == 65535);
  CHECK(ParseHostPort("localhost:9000", &hp));
  for (const char* bad :
       {"", "8080", ":8080", "0.0.0.0", "0.0.0.0:", "0.0.0.0:65536", "0.0.0.0:-1", "0.0.0.0:http",
        "::1:8080", "[::1]8080", "[1.2.3.4]:80", "[]:80", "10.0.0.300:80", "1.2.3:80",
        "bad_host:80", "-bad.example:80", "a..example:80", "host :80"}) {
    INFO(bad);
    CHECK_FALSE(ParseHostPort(bad, &hp));
  }
}

TEST_CASE("CORS origins are normalized like the Origin header", "[config]") {
  std::string out;
  REQUIRE(ParseOrigin("https://Shop.Example", &out));
  CHECK(out == "https://shop.example");
  REQUIRE(ParseOrigin("https://shop.example:443", &out));
  CHECK(out == "https://shop.example");
  REQUIRE(ParseOrigin("http://localhost:3000", &out));
  CHECK(out == "http://localhost:3000");
  REQUIRE(ParseOrigin("http://[::1]:8080", &out));
  CHECK(out == "http://[::1]:8080");
  REQUIRE(ParseOrigin("http://127.0.0.1", &out));
  CHECK(out == "http://127.0.0.1");
  for (const char* bad :
       {"", "*", "shop.example", "ftp://shop.example", "https://", "https://shop.example/",
        "https://shop.example/path", "https://shop.example?q", "https://u@shop.example",
        "https://shop.example:99999", "https://shop example"}) {
    INFO(bad);
    CHECK_FALSE(ParseOrigin(bad, &out));
  }
}

}  // namespace
}  // namespace foothold::config
