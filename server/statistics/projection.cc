// Reach projection (see projection.h).
#include "server/statistics/projection.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace foothold::server {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool IsShare(double x) { return x >= 0.0 && x <= 1.0; }  // false for NaN

// exp(log x ± z·se) around x > 0; undefined when se is not finite.
ConfidenceInterval LogInterval(double x, double se, double z) {
  ConfidenceInterval ci;
  if (!(x > 0) || !std::isfinite(se) || se < 0) return ci;
  ci.defined = true;
  ci.lo = x * std::exp(-z * se);
  ci.hi = x * std::exp(z * se);
  return ci;
}

// Standard error of Σ g_i π̂_i for cell shares π̂ of a multinomial with n trials.
double MultinomialSe(const std::array<double, 4>& g, const std::array<double, 4>& pi, double n) {
  double mean = 0, second = 0;
  for (size_t i = 0; i < 4; ++i) {
    mean += g[i] * pi[i];
    second += g[i] * g[i] * pi[i];
  }
  return std::sqrt(std::max(0.0, second - mean * mean) / n);
}

}  // namespace

double ProjectedRateRatio(double rr, double reach, double at_reach) {
  if (!IsShare(reach) || !IsShare(at_reach) || !(rr >= 0)) return kNaN;
  const double now = reach * rr + 1 - reach;
  return now > 0 ? (at_reach * rr + 1 - at_reach) / now : kNaN;
}

ReachProjection ProjectReach(int64_t a, int64_t b, int64_t c, int64_t d, double at_reach, double z) {
  ReachProjection p;
  if (a < 0 || b < 0 || c < 0 || d < 0 || !IsShare(at_reach)) return p;
  const double n = static_cast<double>(a) + static_cast<double>(b) + static_cast<double>(c) +
                   static_cast<double>(d);
  if (a + b == 0 || c + d == 0) return p;
  const std::array<double, 4> pi = {static_cast<double>(a) / n, static_cast<double>(b) / n,
                                    static_cast<double>(c) / n, static_cast<double>(d) / n};
  const double with_n = pi[0] + pi[1], without_n = pi[2] + pi[3];
  const double cw = pi[0] / with_n, cwo = pi[2] / without_n;
  p.reach = with_n;
  p.baseline = pi[0] + pi[2];
  p.projected = at_reach * cw + (1 - at_reach) * cwo;
  p.change = p.baseline > 0 ? p.projected / p.baseline - 1 : kNaN;

  // Gradients over π of cr_with = πa/(πa+πb) and cr_without = πc/(πc+πd).
  const std::array<double, 4> dcw = {pi[1] / (with_n * with_n), -pi[0] / (with_n * with_n), 0, 0};
  const std::array<double, 4> dcwo = {0, 0, pi[3] / (without_n * without_n), -pi[2] / (without_n * without_n)};
  if (p.projected > 0) {
    std::array<double, 4> g{};  // ∂ log projected / ∂π
    for (size_t i = 0; i < 4; ++i) g[i] = (at_reach * dcw[i] + (1 - at_reach) * dcwo[i]) / p.projected;
    p.projected_ci = LogInterval(p.projected, MultinomialSe(g, pi, n), z);
    if (p.baseline > 0) {
      // ∂ log(projected / baseline) / ∂π, with baseline = πa + πc.
      const std::array<double, 4> db = {1, 0, 1, 0};
      for (size_t i = 0; i < 4; ++i) g[i] -= db[i] / p.baseline;
      ConfidenceInterval ratio = LogInterval(p.projected / p.baseline, MultinomialSe(g, pi, n), z);
      if (ratio.defined) p.change_ci = {true, ratio.lo - 1, ratio.hi - 1};
    }
  }
  return p;
}

}  // namespace foothold::server
