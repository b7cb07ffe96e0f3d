// The /metrics rejection counters (server/api/metrics.h): every error code of the wire contract
// (proto/error_codes.h, the one list kCodeStatuses) has its own foothold_rejections_total series,
// and a code outside the list lands in "other".
#include <catch2/catch.hpp>

#include <string>

#include "proto/error_codes.h"
#include "server/api/metrics.h"

namespace foothold::server {
namespace {

TEST_CASE("every error code has its own /metrics rejection counter", "[server]") {
  Metrics metrics;
  uint64_t n = 1;
  for (const proto::codes::CodeStatus& c : proto::codes::kCodeStatuses) metrics.AddRejected(c.code, n++);
  const std::string out = metrics.Render(nullptr, false);
  n = 1;
  for (const proto::codes::CodeStatus& c : proto::codes::kCodeStatuses) {
    INFO(c.code);
    CHECK(out.find("foothold_rejections_total{code=\"" + std::string(c.code) + "\"} " + std::to_string(n++) + "\n") !=
          std::string::npos);
  }
  CHECK(out.find("foothold_rejections_total{code=\"other\"}") == std::string::npos);
  CHECK(out.find("foothold_events_total{outcome=\"rejected\"} " + std::to_string(n * (n - 1) / 2) + "\n") !=
        std::string::npos);
}

TEST_CASE("a code outside the contract counts as other", "[server]") {
  Metrics metrics;
  metrics.AddRejected("no_such_code", 3);
  metrics.AddRejected(proto::codes::kClusterUnavailable);
  const std::string out = metrics.Render(nullptr, false);
  CHECK(out.find("foothold_rejections_total{code=\"other\"} 3\n") != std::string::npos);
  CHECK(out.find("foothold_rejections_total{code=\"cluster_unavailable\"} 1\n") != std::string::npos);
}

}  // namespace
}  // namespace foothold::server
