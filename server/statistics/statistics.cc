#include "server/statistics/statistics.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>

namespace foothold::server {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Fisher's walk stops once a term falls below this fraction of the modal
// term: everything beyond adds less than ~1e-290 to any p-value.
constexpr double kFisherNegligible = 1e-300;

bool AnyNegative(int64_t a, int64_t b, int64_t c, int64_t d) {
  return a < 0 || b < 0 || c < 0 || d < 0;
}

// Σ_{k<count} t_k with t_0 = exp(log_first) and t_k = t_{k−1}·y/(first_denominator + k − 1):
// the Poisson-like series of the chi-square tail. Each term is formed in log
// space, so e^{−y} may underflow and y^k overflow without spoiling the sum.
double SumPoissonLikeTerms(double log_first, double y, double first_denominator, int count) {
  const double log_y = std::log(y);
  double log_term = log_first;
  double sum = 0;
  for (int k = 0; k < count; ++k) {
    if (k > 0) log_term += log_y - std::log(first_denominator + k - 1);
    sum += std::exp(log_term);
  }
  return sum;
}

}  // namespace

// ---- Distributions ---------------------------------------------------------

double NormalCdf(double z) { return 0.5 * std::erfc(-z / std::numbers::sqrt2); }

double NormalSurvival(double z) { return 0.5 * std::erfc(z / std::numbers::sqrt2); }

double TwoSidedPValue(double z) { return std::erfc(std::fabs(z) / std::numbers::sqrt2); }

double ChiSquareSurvival(double x, int df) {
  if (df < 1 || std::isnan(x)) return kNaN;
  if (x <= 0) return 1.0;
  if (std::isinf(x)) return 0.0;
  const double y = x / 2;
  if (df % 2 == 0) {
    // Q(k, y) = e^{−y} Σ_{j<k} y^j / j!
    return std::min(1.0, SumPoissonLikeTerms(-y, y, 1.0, df / 2));
  }
  // Q(k + 1/2, y) = erfc(√y) + e^{−y} Σ_{j<k} y^{j+1/2} / Γ(j + 3/2)
  const double log_first = -y + 0.5 * std::log(y) - std::log(0.5 * std::sqrt(std::numbers::pi));
  return std::min(1.0, std::erfc(std::sqrt(y)) + SumPoissonLikeTerms(log_first, y, 1.5, df / 2));
}

// ---- One proportion --------------------------------------------------------

ConfidenceInterval WilsonInterval(int64_t successes, int64_t n, double z) {
  if (n <= 0 || successes < 0 || successes > n) return {};
  const double nd = static_cast<double>(n);
  const double p = successes / nd;
  const double z2 = z * z;
  const double center = p + z2 / (2 * nd);
  const double half = z * std::sqrt(p * (1 - p) / nd + z2 / (4 * nd * nd));
  const double denominator = 1 + z2 / nd;
  // The bounds are exactly 0 and 1 at 0 and n successes; clamp the rounding.
  return {true, std::clamp((center - half) / denominator, 0.0, 1.0),
          std::clamp((center + half) / denominator, 0.0, 1.0)};
}

// ---- 2x2 tables --------------------------------------------------------------

RelativeRisk KatzRelativeRisk(int64_t a, int64_t b, int64_t c, int64_t d, double z) {
  RelativeRisk out;
  if (AnyNegative(a, b, c, d) || a + b == 0 || c + d == 0) return out;
  const double with = static_cast<double>(a) / static_cast<double>(a + b);
  const double without = static_cast<double>(c) / static_cast<double>(c + d);
  if (c == 0) {
    out.rr = a == 0 ? kNaN : kInf;
    return out;
  }
  out.rr = with / without;
  if (a == 0) return out;  // rr = 0; ln 0 has no interval.
  const double se = std::sqrt(static_cast<double>(b) / (static_cast<double>(a) * (a + b)) +
                              static_cast<double>(d) / (static_cast<double>(c) * (c + d)));
  out.ci = {true, out.rr * std::exp(-z * se), out.rr * std::exp(z * se)};
  return out;
}

double OddsRatio(int64_t a, int64_t b, int64_t c, int64_t d) {
  if (AnyNegative(a, b, c, d)) return kNaN;
  // Products in double: counts in the millions overflow int64 once squared.
  const double ad = static_cast<double>(a) * static_cast<double>(d);
  const double bc = static_cast<double>(b) * static_cast<double>(c);
  if (bc == 0) return ad == 0 ? kNaN : kInf;
  return ad / bc;
}

double ChiSquare2x2PValue(int64_t a, int64_t b, int64_t c, int64_t d) {
  if (AnyNegative(a, b, c, d)) return kNaN;
  const double r1 = static_cast<double>(a + b), r2 = static_cast<double>(c + d);
  const double c1 = static_cast<double>(a + c), c2 = static_cast<double>(b + d);
  const double margins = r1 * r2 * c1 * c2;
  if (margins == 0) return kNaN;
  const double cross = static_cast<double>(a) * static_cast<double>(d) -
                       static_cast<double>(b) * static_cast<double>(c);
  // N·cross² / margins, divided stepwise so it stays finite for huge tables.
  const double chi2 = (cross / r1) * (cross / r2) * ((r1 + r2) / c1) / c2;
  return ChiSquareSurvival(chi2, 1);
}

bool HasSmallExpectedCell(int64_t a, int64_t b, int64_t c, int64_t d) {
  if (AnyNegative(a, b, c, d)) return true;
  const double n = static_cast<double>(a) + b + c + d;
  if (n == 0) return true;
  // The smallest expected cell is (smallest row total)·(smallest column total)/N.
  const double row = static_cast<double>(std::min(a + b, c + d));
  const double column = static_cast<double>(std::min(a + c, b + d));
  return row * column / n < kMinExpectedCell;
}

double FisherExactTwoSided(int64_t a, int64_t b, int64_t c, int64_t d) {
  if (AnyNegative(a, b, c, d)) return kNaN;
  // With margins fixed, the table is determined by its top-left cell x, which
  // is hypergeometric on [lo, hi]. Neighbouring probabilities have the ratio
  //   P(x+1)/P(x) = (r1 − x)(c1 − x) / ((x + 1)(r2 − c1 + x + 1)),
  // so weights relative to the modal table need neither factorials nor logs.
  const int64_t r1 = a + b, r2 = c + d, c1 = a + c;
  const int64_t lo = std::max<int64_t>(0, c1 - r2), hi = std::min(r1, c1);
  if (lo == hi) return 1.0;
  auto up = [&](int64_t x) {  // P(x+1)/P(x)
    return (static_cast<double>(r1 - x) * static_cast<double>(c1 - x)) /
           (static_cast<double>(x + 1) * static_cast<double>(r2 - c1 + x + 1));
  };
  auto down = [&](int64_t x) {  // P(x−1)/P(x)
    return (static_cast<double>(x) * static_cast<double>(r2 - c1 + x)) /
           (static_cast<double>(r1 - x + 1) * static_cast<double>(c1 - x + 1));
  };
  const double n = static_cast<double>(r1 + r2);
  const int64_t mode = std::clamp(
      static_cast<int64_t>(std::floor((r1 + 1.0) * (c1 + 1.0) / (n + 2.0))), lo, hi);

  // The observed table's weight, by the same products the main walk uses, so
  // that it and its mirror-image tables compare equal up to rounding.
  double observed = 1.0;
  for (int64_t x = mode; x < a && observed >= kFisherNegligible; ++x) observed *= up(x);
  for (int64_t x = mode; x > a && observed >= kFisherNegligible; --x) observed *= down(x);
  if (observed < kFisherNegligible) observed = 0;
  const double limit = observed * (1 + kFisherRelativeTolerance);

  double total = 1.0, tail = 1.0 <= limit ? 1.0 : 0.0;
  double w = 1.0;
  for (int64_t x = mode; x < hi && w >= kFisherNegligible; ++x) {
    w *= up(x);
    total += w;
    if (w <= limit) tail += w;
  }
  w = 1.0;
  for (int64_t x = mode; x > lo && w >= kFisherNegligible; --x) {
    w *= down(x);
    total += w;
    if (w <= limit) tail += w;
  }
  return std::min(1.0, tail / total);
}

// ---- Multiple testing --------------------------------------------------------

std::vector<double> BenjaminiHochberg(const std::vector<double>& p_values) {
  std::vector<double> q(p_values.size(), kNaN);
  std::vector<size_t> order;
  order.reserve(p_values.size());
  for (size_t i = 0; i < p_values.size(); ++i) {
    if (!std::isnan(p_values[i])) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t x, size_t y) { return p_values[x] < p_values[y]; });
  const double m = static_cast<double>(order.size());
  // From the largest p down, a running minimum keeps q monotone in p and gives
  // tied p-values the same q.
  double running = 1.0;
  for (size_t rank = order.size(); rank > 0; --rank) {
    const size_t i = order[rank - 1];
    running = std::min(running, p_values[i] * m / static_cast<double>(rank));
    q[i] = running;
  }
  return q;
}

// ---- Experiments -------------------------------------------------------------

TwoProportionTest TwoProportionZ(int64_t x_control, int64_t n_control, int64_t x_variant,
                                 int64_t n_variant, double z) {
  TwoProportionTest out;
  if (n_control <= 0 || n_variant <= 0 || x_control < 0 || x_variant < 0 ||
      x_control > n_control || x_variant > n_variant) {
    return out;
  }
  const double nc = static_cast<double>(n_control), nv = static_cast<double>(n_variant);
  const double pc = x_control / nc, pv = x_variant / nv;
  out.rate_control = pc;
  out.rate_variant = pv;
  out.difference = pv - pc;
  const double se = std::sqrt(pc * (1 - pc) / nc + pv * (1 - pv) / nv);
  out.difference_ci = {true, out.difference - z * se, out.difference + z * se};
  out.relative_lift = pc > 0 ? out.difference / pc : kNaN;
  const double pooled = (static_cast<double>(x_control) + x_variant) / (nc + nv);
  const double se_pooled = std::sqrt(pooled * (1 - pooled) * (1 / nc + 1 / nv));
  if (se_pooled > 0) {
    out.z = out.difference / se_pooled;
    out.p_value = TwoSidedPValue(out.z);
  }
  return out;
}

double MsprtLikelihoodRatio(int64_t x_control, int64_t n_control, int64_t x_variant,
                            int64_t n_variant, double tau2) {
  if (!(tau2 > 0) || x_control < 0 || x_variant < 0 || n_control < 0 || n_variant < 0 ||
      x_control > n_control || x_variant > n_variant) {
    return kNaN;
  }
  if (n_control == 0 || n_variant == 0) return 1.0;
  const double nc = static_cast<double>(n_control), nv = static_cast<double>(n_variant);
  const double pc = x_control / nc, pv = x_variant / nv;
  const double v = pc * (1 - pc) / nc + pv * (1 - pv) / nv;
  if (!(v > 0)) return 1.0;
  const double d = pv - pc;
  const double log_lambda = 0.5 * std::log(v / (v + tau2)) + tau2 * d * d / (2 * v * (v + tau2));
  return std::exp(log_lambda);  // +inf once log_lambda passes ~709.
}

double MsprtPValue(const std::vector<ProportionSnapshot>& snapshots, double tau2) {
  double p = 1.0;
  for (const ProportionSnapshot& s : snapshots) {
    const double lambda =
        MsprtLikelihoodRatio(s.x_control, s.n_control, s.x_variant, s.n_variant, tau2);
    if (std::isnan(lambda)) continue;
    p = std::min(p, 1 / lambda);  // 1/+inf = 0; 1/0 = +inf leaves p alone.
  }
  return p;
}

double SampleRatioMismatchPValue(const std::vector<int64_t>& counts,
                                 const std::vector<double>& expected_weights) {
  const size_t k = counts.size();
  if (k < 2) return kNaN;
  std::vector<double> weights = expected_weights;
  if (weights.empty()) weights.assign(k, 1.0);
  if (weights.size() != k) return kNaN;
  double total = 0, weight_sum = 0;
  for (size_t i = 0; i < k; ++i) {
    if (counts[i] < 0 || !std::isfinite(weights[i]) || !(weights[i] > 0)) return kNaN;
    total += static_cast<double>(counts[i]);
    weight_sum += weights[i];
  }
  if (total == 0 || !std::isfinite(weight_sum)) return kNaN;
  double chi2 = 0;
  for (size_t i = 0; i < k; ++i) {
    const double expected = total * (weights[i] / weight_sum);
    const double diff = static_cast<double>(counts[i]) - expected;
    chi2 += diff * diff / expected;
  }
  return ChiSquareSurvival(chi2, static_cast<int>(k - 1));
}

}  // namespace foothold::server
