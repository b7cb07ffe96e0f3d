// The reach projection behind /v1/stats/opportunities (server/statistics/projection.h):
// the worked example of the README, edge cases, and the coverage of its
// intervals over simulated tables with a fixed seed.
#include "server/statistics/projection.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <random>

namespace foothold::server {
namespace {

// README.md "Opportunities": video watchers buy 4.2x as often and 6% watch; at
// 28% reach the rate is (0.28·4.2 + 0.72) / (0.06·4.2 + 0.94) = 1.896 / 1.192
// of today's, i.e. +59%.
TEST_CASE("ProjectedRateRatio gives the worked example's +59%", "[server][statistics]") {
  CHECK(ProjectedRateRatio(4.2, 0.06, 0.28) == Approx(1.896 / 1.192).epsilon(1e-12));
  CHECK(std::round((ProjectedRateRatio(4.2, 0.06, 0.28) - 1) * 100) == 59);
  CHECK(ProjectedRateRatio(4.2, 0.06, 0.06) == Approx(1.0));  // same reach, same rate
  CHECK(ProjectedRateRatio(1.0, 0.06, 0.9) == Approx(1.0));  // no association, no gain
  CHECK(ProjectedRateRatio(0.5, 0.2, 0.4) < 1.0);     // a negative association loses
  CHECK(std::isnan(ProjectedRateRatio(4.2, 0.06, 1.5)));
  CHECK(std::isnan(ProjectedRateRatio(-1, 0.06, 0.28)));
  CHECK(std::isnan(ProjectedRateRatio(NAN, 0.06, 0.28)));
}

TEST_CASE("ProjectReach on a table with the worked example's shape", "[server][statistics]") {
  // 100 000 sessions, 6% reach; cr_with 0.084 = 4.2 x cr_without 0.02.
  const int64_t a = 504, b = 6000 - 504, c = 1880, d = 94000 - 1880;
  ReachProjection p = ProjectReach(a, b, c, d, 0.28);
  CHECK(p.reach == Approx(0.06));
  CHECK(p.baseline == Approx((504.0 + 1880.0) / 100000));
  CHECK(p.projected == Approx(0.28 * 0.084 + 0.72 * 0.02));
  CHECK(p.change == Approx(1.896 / 1.192 - 1).epsilon(1e-9));
  REQUIRE(p.projected_ci.defined);
  CHECK(p.projected_ci.lo < p.projected);
  CHECK(p.projected < p.projected_ci.hi);
  REQUIRE(p.change_ci.defined);
  CHECK(p.change_ci.lo < p.change);
  CHECK(p.change < p.change_ci.hi);
  CHECK(p.change_ci.lo > 0.4);  // with 504 converting watchers the gain is clear
  CHECK(p.change_ci.hi < 0.8);
  // At today's reach the projection is today's rate; the change's interval
  // is narrow but not a point, since today's true reach is itself estimated.
  ReachProjection same = ProjectReach(a, b, c, d, p.reach);
  CHECK(same.projected == Approx(p.baseline));
  CHECK(same.change == Approx(0).margin(1e-12));
  REQUIRE(same.change_ci.defined);
  CHECK(same.change_ci.lo < 0);
  CHECK(same.change_ci.hi > 0);
  CHECK(same.change_ci.hi - same.change_ci.lo < 0.02);
}

TEST_CASE("ProjectReach says undefined instead of dividing by zero", "[server][statistics]") {
  CHECK(std::isnan(ProjectReach(0, 0, 10, 90, 0.5).projected));  // nobody did it
  CHECK(std::isnan(ProjectReach(10, 90, 0, 0, 0.5).projected));  // everybody did it
  CHECK(std::isnan(ProjectReach(-1, 90, 10, 90, 0.5).projected));
  CHECK(std::isnan(ProjectReach(10, 90, 10, 90, 1.01).projected));
  CHECK(std::isnan(ProjectReach(10, 90, 10, 90, NAN).projected));
  ReachProjection none = ProjectReach(0, 100, 0, 900, 0.5);  // nobody converted
  CHECK(none.projected == 0);
  CHECK_FALSE(none.projected_ci.defined);
  CHECK_FALSE(none.change_ci.defined);
}

// Draw tables from known cell probabilities, project, and count how often the
// 95% intervals hold the true projected rate and the true change: the delta
// method should land near 95% at these sizes (checked within ±2.5 points).
TEST_CASE("ProjectReach's intervals cover the truth about 95% of the time", "[server][statistics]") {
  const double reach = 0.06, cr_without = 0.02, rr = 4.2, at = 0.28;
  const double cr_with = cr_without * rr;
  const double truth = at * cr_with + (1 - at) * cr_without;
  const double truth_change = ProjectedRateRatio(rr, reach, at) - 1;
  std::mt19937_64 rng(20261128);
  constexpr int kTables = 2000, kSessions = 20000;
  int covered = 0, change_covered = 0;
  for (int t = 0; t < kTables; ++t) {
    // Per-cell binomial splits of a multinomial draw of kSessions sessions.
    std::binomial_distribution<int64_t> with(kSessions, reach);
    const int64_t n1 = with(rng), n0 = kSessions - n1;
    const int64_t a = std::binomial_distribution<int64_t>(n1, cr_with)(rng);
    const int64_t c = std::binomial_distribution<int64_t>(n0, cr_without)(rng);
    ReachProjection p = ProjectReach(a, n1 - a, c, n0 - c, at);
    REQUIRE(p.projected_ci.defined);
    covered += p.projected_ci.lo <= truth && truth <= p.projected_ci.hi;
    change_covered += p.change_ci.lo <= truth_change && truth_change <= p.change_ci.hi;
  }
  const double coverage = static_cast<double>(covered) / kTables;
  const double change_coverage = static_cast<double>(change_covered) / kTables;
  std::printf("reach projection: 95%% interval coverage over %d simulated tables: projected rate %.3f, "
              "change %.3f\n", kTables, coverage, change_coverage);
  CHECK(coverage == Approx(0.95).margin(0.025));
  CHECK(change_coverage == Approx(0.95).margin(0.025));
}

}  // namespace
}  // namespace foothold::server
