// Statistics: the small numerical routines behind the analytics reports
// (README.md "Analytics": lift and experiments): normal and chi-square tail
// probabilities, Wilson and Katz intervals, Pearson and Fisher tests on 2x2
// tables, Benjamini-Hochberg q-values, the two-proportion z-test, the mSPRT
// always-valid p-value and the sample-ratio-mismatch test.
//
// Thread safety: every function here is pure (no state, no I/O, no lgamma and
// its global signgam) and may be called from any thread concurrently.
//
// Conventions: counts are int64_t. Input a report cannot support (an empty
// group, a zero cell under a ratio, a negative count, successes > n) never
// divides by zero, asserts or throws: the result is NaN, a ConfidenceInterval
// with defined == false, or, where the limit is meaningful, ±infinity; each
// function says which. All intervals and p-values are two-sided.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

namespace foothold::server {

// Φ⁻¹(0.975): the z of a two-sided 95% interval. Reports and README.md write it as 1.96.
inline constexpr double kZ95 = 1.959963984540054;

// Below this expected count in any cell the chi-square approximation of a 2x2
// table is distrusted and the Lift report uses Fisher's exact test instead.
inline constexpr double kMinExpectedCell = 5.0;

// Fisher's two-sided test counts a table as "at most as likely as the observed
// one" within this relative tolerance, as R's fisher.test does, so that tables
// of equal probability are not split by rounding.
inline constexpr double kFisherRelativeTolerance = 1e-7;

// Prior variance τ² of the true difference in conversion rates for the mSPRT
// mixture N(0, τ²). Johari et al. (2017) advise taking τ from the effects seen
// in past experiments (Optimizely fits it to its history). With no history we
// take τ = 0.01, one percentage point of absolute difference: lifts of 5-30%
// on conversion rates of 1-10% are differences of 0.05-3 points, within a few
// τ. A larger τ reacts faster to big effects but pays more (the
// sqrt(V/(V+τ²)) factor) before it detects small ones. Reports that know
// better pass their own tau2.
inline constexpr double kDefaultMsprtTau2 = 1e-4;

// A two-sided confidence interval. defined == false (and lo, hi NaN) when the
// data cannot support one; each function below says when.
struct ConfidenceInterval {
  bool defined = false;
  double lo = std::numeric_limits<double>::quiet_NaN();
  double hi = std::numeric_limits<double>::quiet_NaN();
};

// ---- Distributions ---------------------------------------------------------

// Φ(z), the standard normal CDF. NaN for NaN.
double NormalCdf(double z);

// 1 − Φ(z), computed directly so that the upper tail keeps its precision
// (NormalSurvival(10) ≈ 7.6e-24, where 1 − NormalCdf(10) would be 0).
double NormalSurvival(double z);

// Two-sided p-value of a standard normal statistic: 2·(1 − Φ(|z|)). 1 at z = 0,
// 0 at ±inf, NaN for NaN.
double TwoSidedPValue(double z);

// P(X > x) for X ~ chi-square with `df` degrees of freedom (the regularized
// upper incomplete gamma Q(df/2, x/2)), by the closed forms for integer df;
// O(df) terms. 1 for x <= 0, 0 for x = +inf. NaN when df < 1 or x is NaN.
// Results below ~1e-300 underflow to 0.
double ChiSquareSurvival(double x, int df);

// ---- One proportion --------------------------------------------------------

// Wilson score interval for successes/n, without continuity correction
// (Newcombe 1998, method 3). Stays inside [0, 1] and is sensible at 0 and n
// successes. Undefined when n <= 0 or successes is outside [0, n].
ConfidenceInterval WilsonInterval(int64_t successes, int64_t n, double z = kZ95);

// ---- 2x2 tables --------------------------------------------------------------
//
// Cells, as in the lift report (storage/README.md "Aggregator"):
// a = exposed and event, b = exposed and no event, c = unexposed and event,
// d = unexposed and no event. Any negative cell makes every result below
// NaN / undefined.

struct RelativeRisk {
  // (a/(a+b)) / (c/(c+d)). NaN when a row is empty or a = c = 0; +inf when
  // c = 0 < a; 0 when a = 0 < c.
  double rr = std::numeric_limits<double>::quiet_NaN();
  // Katz log interval exp(ln rr ± z·sqrt(b/(a(a+b)) + d/(c(c+d)))). Defined
  // only when a > 0 and c > 0 (the log of a zero rate has no standard error);
  // it collapses to [rr, rr] when b = d = 0.
  ConfidenceInterval ci;
};
RelativeRisk KatzRelativeRisk(int64_t a, int64_t b, int64_t c, int64_t d, double z = kZ95);

// (a·d)/(b·c). +inf when b·c = 0 < a·d; 0 when a·d = 0 < b·c; NaN when both
// products are 0 (e.g. an empty row or column).
double OddsRatio(int64_t a, int64_t b, int64_t c, int64_t d);

// Pearson chi-square test of independence, 1 df, WITHOUT Yates' continuity
// correction: chi2 = N(ad − bc)² / (r1·r2·c1·c2). Equals the pooled
// two-proportion z-test (chi2 = z²). NaN when a row or column total is 0 (the
// statistic is 0/0). Check HasSmallExpectedCell first.
double ChiSquare2x2PValue(int64_t a, int64_t b, int64_t c, int64_t d);

// True when some expected count (row total × column total / N) is below
// kMinExpectedCell, or the table is empty or invalid: the caller should use
// FisherExactTwoSided instead of ChiSquare2x2PValue.
bool HasSmallExpectedCell(int64_t a, int64_t b, int64_t c, int64_t d);

// Fisher's exact test, two-sided: the total probability, under the
// hypergeometric law with the observed margins, of the tables whose
// probability is at most (1 + kFisherRelativeTolerance) × the observed one's
// (R's fisher.test rule). 1 when only one table fits the margins (a zero row
// or column). Probabilities are walked outward from the mode by the ratio of
// neighbouring terms, so margins in the billions neither overflow nor lose the
// ties between mirror-image tables; O(min margin) steps at worst, fewer when
// the tails underflow. p-values below ~1e-290 come back as 0.
double FisherExactTwoSided(int64_t a, int64_t b, int64_t c, int64_t d);

// ---- Multiple testing --------------------------------------------------------

// Benjamini-Hochberg adjusted p-values (q-values), as R's
// p.adjust(p, "BH"): q_(i) = min over j >= i of min(1, m·p_(j)/j), in the input
// order. NaN entries stay NaN and are not counted in m (a metric with no test
// must not dilute the others). REQUIRES: each p is in [0, 1] or NaN.
std::vector<double> BenjaminiHochberg(const std::vector<double>& p_values);

// ---- Experiments -------------------------------------------------------------

struct TwoProportionTest {
  // x / n per arm.
  double rate_control = std::numeric_limits<double>::quiet_NaN();
  double rate_variant = std::numeric_limits<double>::quiet_NaN();
  // rate_variant − rate_control with the unpooled Wald interval
  // ± z·sqrt(pc(1−pc)/nc + pv(1−pv)/nv). The interval collapses to a point
  // when both rates are 0 or 1; per-arm Wilson intervals are better there.
  double difference = std::numeric_limits<double>::quiet_NaN();
  ConfidenceInterval difference_ci;
  // difference / rate_control; NaN when rate_control is 0.
  double relative_lift = std::numeric_limits<double>::quiet_NaN();
  // Pooled z = difference / sqrt(p̂(1−p̂)(1/nc + 1/nv)) and its two-sided
  // p-value. NaN when the pooled rate is 0 or 1 (nothing to test).
  double z = std::numeric_limits<double>::quiet_NaN();
  double p_value = std::numeric_limits<double>::quiet_NaN();
};
// Everything is NaN / undefined when an arm is empty or a count is invalid.
TwoProportionTest TwoProportionZ(int64_t x_control, int64_t n_control, int64_t x_variant,
                                 int64_t n_variant, double z = kZ95);

// Cumulative counts of one experiment at one moment (e.g. the end of a day).
struct ProportionSnapshot {
  int64_t x_control = 0;
  int64_t n_control = 0;
  int64_t x_variant = 0;
  int64_t n_variant = 0;
};

// Mixture likelihood ratio of the mSPRT (Johari, Pekelis, Walsh, "Peeking at
// A/B Tests", KDD 2017) for d = p_variant − p_control under the normal
// approximation, with V = pc(1−pc)/nc + pv(1−pv)/nv:
//   Λ = sqrt(V/(V+τ²)) · exp(τ²·d² / (2·V·(V+τ²))),
// evaluated in log space so that it saturates at +inf instead of overflowing.
// When an arm is empty or V = 0 (each rate 0 or 1) there is no variance
// estimate and the snapshot carries no evidence: Λ = 1. NaN for invalid
// counts or tau2 <= 0.
double MsprtLikelihoodRatio(int64_t x_control, int64_t n_control, int64_t x_variant,
                            int64_t n_variant, double tau2 = kDefaultMsprtTau2);

// Always-valid p-value after the given cumulative snapshots, oldest first:
// min(1, min over snapshots of 1/Λ). It never increases as snapshots are
// appended, so a dashboard may be watched continuously without inflating the
// false-positive rate. Snapshots with NaN Λ are skipped; none left gives 1.
double MsprtPValue(const std::vector<ProportionSnapshot>& snapshots,
                   double tau2 = kDefaultMsprtTau2);

// Sample-ratio-mismatch p-value: Pearson chi-square goodness of fit of the
// per-variant exposure counts to the design weights, k − 1 df. Empty weights
// mean equal weights. NaN when k < 2, the counts sum to 0, a count is
// negative, or the weights do not match the counts in size or are not all
// finite and > 0.
double SampleRatioMismatchPValue(const std::vector<int64_t>& counts,
                                 const std::vector<double>& expected_weights = {});

}  // namespace foothold::server
