// Each test checks a function of server/statistics/statistics.h against a published worked
// example, named in the comment above it. Where a source prints fewer digits
// than we can check, the extra digits were computed independently (Python
// mpmath at 40 digits, or exact rational arithmetic) and are marked so.
#include "server/statistics/statistics.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

namespace foothold::server {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Rounds to `digits` decimals, to compare with a source's printed figures.
double Round(double x, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(x * scale) / scale;
}

// Any table of the standard normal distribution, e.g. Abramowitz & Stegun,
// "Handbook of Mathematical Functions", Table 26.1: Φ(1) = 0.8413447461,
// Φ(1.96) = 0.9750021048; the upper tail at z = 10 is 7.619853024e-24.
TEST_CASE("Normal tail probabilities match the standard normal table", "[server][statistics]") {
  CHECK(NormalCdf(1.0) == Approx(0.8413447461).epsilon(1e-10));
  CHECK(NormalCdf(1.96) == Approx(0.9750021048).epsilon(1e-10));
  CHECK(NormalCdf(0.0) == 0.5);
  CHECK(NormalSurvival(1.0) == Approx(1 - 0.8413447461).epsilon(1e-9));
  CHECK(NormalSurvival(10.0) == Approx(7.619853024e-24).epsilon(1e-9));
  CHECK(TwoSidedPValue(kZ95) == Approx(0.05).epsilon(1e-12));
  CHECK(TwoSidedPValue(-kZ95) == Approx(0.05).epsilon(1e-12));
  CHECK(TwoSidedPValue(0.0) == 1.0);
  CHECK(TwoSidedPValue(kInf) == 0.0);
  CHECK(std::isnan(TwoSidedPValue(kNaN)));
}

// NIST/SEMATECH e-Handbook of Statistical Methods, 1.3.6.7.4 "Critical Values
// of the Chi-Square Distribution": upper 5% points 3.841 (1 df), 5.991 (2),
// 7.815 (3), 11.070 (5), 18.307 (10). Values for large df, far tails and
// both parities: mpmath gammainc(df/2, x/2, inf, regularized=True).
TEST_CASE("ChiSquareSurvival matches tabulated critical values", "[server][statistics]") {
  CHECK(ChiSquareSurvival(3.841, 1) == Approx(0.05).epsilon(1e-3));
  CHECK(ChiSquareSurvival(5.991, 2) == Approx(0.05).epsilon(1e-3));
  CHECK(ChiSquareSurvival(7.815, 3) == Approx(0.05).epsilon(1e-3));
  CHECK(ChiSquareSurvival(11.070, 5) == Approx(0.05).epsilon(1e-3));
  CHECK(ChiSquareSurvival(18.307, 10) == Approx(0.05).epsilon(1e-3));
  CHECK(ChiSquareSurvival(3.841458820694124, 1) == Approx(0.05).epsilon(1e-12));

  CHECK(ChiSquareSurvival(10, 2) == Approx(0.0067379469990854671).epsilon(1e-12));
  CHECK(ChiSquareSurvival(20, 5) == Approx(0.0012497305630313754).epsilon(1e-12));
  CHECK(ChiSquareSurvival(100, 10) == Approx(5.4497019829205293e-17).epsilon(1e-10));
  CHECK(ChiSquareSurvival(2000, 1000) == Approx(4.1436785914549917e-69).epsilon(1e-9));
  CHECK(ChiSquareSurvival(900, 1001) == Approx(0.98991038268446569).epsilon(1e-10));

  CHECK(ChiSquareSurvival(0, 3) == 1.0);
  CHECK(ChiSquareSurvival(-1, 3) == 1.0);
  CHECK(ChiSquareSurvival(kInf, 3) == 0.0);
  CHECK(ChiSquareSurvival(1500, 1) == 0.0);  // 3.9e-328 underflows, as documented
  CHECK(std::isnan(ChiSquareSurvival(1, 0)));
  CHECK(std::isnan(ChiSquareSurvival(kNaN, 2)));
}

// Newcombe, "Two-sided confidence intervals for the single proportion:
// comparison of seven methods", Stat Med 1998;17:857-872, worked examples for
// method 3 (Wilson score, no continuity correction): 81/263 -> 0.2553-0.3662,
// 15/148 -> 0.0624-0.1605, 0/20 -> 0.0000-0.1611, 1/29 -> 0.0061-0.1718.
TEST_CASE("WilsonInterval reproduces Newcombe 1998 method 3", "[server][statistics]") {
  struct Case {
    int64_t x, n;
    double lo, hi;
  };
  for (const Case& c : std::vector<Case>{{81, 263, 0.2553, 0.3662},
                                         {15, 148, 0.0624, 0.1605},
                                         {0, 20, 0.0000, 0.1611},
                                         {1, 29, 0.0061, 0.1718}}) {
    ConfidenceInterval ci = WilsonInterval(c.x, c.n);
    INFO(c.x << "/" << c.n);
    REQUIRE(ci.defined);
    CHECK(Round(ci.lo, 4) == Approx(c.lo).margin(1e-12));
    CHECK(Round(ci.hi, 4) == Approx(c.hi).margin(1e-12));
  }
  // All successes mirrors no successes: the upper bound is exactly 1.
  CHECK(WilsonInterval(20, 20).hi == 1.0);
  CHECK(WilsonInterval(20, 20).lo == Approx(1 - 0.1611).margin(1e-4));
  CHECK(WilsonInterval(0, 20).lo == 0.0);
}

TEST_CASE("WilsonInterval is undefined without a sample", "[server][statistics]") {
  CHECK_FALSE(WilsonInterval(0, 0).defined);
  CHECK(std::isnan(WilsonInterval(0, 0).lo));
  CHECK_FALSE(WilsonInterval(5, 4).defined);
  CHECK_FALSE(WilsonInterval(-1, 4).defined);
}

// Wikipedia, "Relative risk", worked example (table shared with "Number needed
// to treat"): example 1, experimental 15 events / 135 non-events, control 100 /
// 150 -> RR = 0.25, OR = 0.167; example 2, 75/75 vs 100/150 -> RR = 1.25,
// OR = 1.5. The page prints no interval; the Katz bounds below were computed
// by hand (mpmath) from the Katz formula in README.md "Analytics", once with z = 1.96 exactly and
// once with kZ95, and match the BU School of Public Health module EP713
// formula exp(ln RR ± 1.96·sqrt(1/a − 1/N1 + 1/c − 1/N0)).
TEST_CASE("KatzRelativeRisk matches the Wikipedia worked example", "[server][statistics]") {
  RelativeRisk r = KatzRelativeRisk(15, 135, 100, 150, 1.96);
  CHECK(r.rr == Approx(0.25).epsilon(1e-12));
  REQUIRE(r.ci.defined);
  CHECK(r.ci.lo == Approx(0.151097874265).epsilon(1e-9));
  CHECK(r.ci.hi == Approx(0.413639174636).epsilon(1e-9));

  r = KatzRelativeRisk(15, 135, 100, 150);
  CHECK(r.ci.lo == Approx(0.15109927231).epsilon(1e-9));
  CHECK(r.ci.hi == Approx(0.413635347441).epsilon(1e-9));

  r = KatzRelativeRisk(75, 75, 100, 150);
  CHECK(r.rr == Approx(1.25).epsilon(1e-12));
  CHECK(r.ci.lo == Approx(1.00256015426).epsilon(1e-9));
  CHECK(r.ci.hi == Approx(1.55850997406).epsilon(1e-9));
}

TEST_CASE("KatzRelativeRisk reports zero cells without dividing by zero", "[server][statistics]") {
  // Nobody without X converted: X looks infinitely better, but no interval.
  RelativeRisk r = KatzRelativeRisk(5, 10, 0, 100);
  CHECK(r.rr == kInf);
  CHECK_FALSE(r.ci.defined);
  // Nobody with X converted.
  r = KatzRelativeRisk(0, 10, 5, 100);
  CHECK(r.rr == 0.0);
  CHECK_FALSE(r.ci.defined);
  // Nobody converted at all, an empty row, a negative count.
  CHECK(std::isnan(KatzRelativeRisk(0, 10, 0, 100).rr));
  CHECK(std::isnan(KatzRelativeRisk(0, 0, 5, 100).rr));
  CHECK(std::isnan(KatzRelativeRisk(5, 10, 5, -1).rr));
  CHECK_FALSE(KatzRelativeRisk(0, 0, 5, 100).ci.defined);
  // Everyone converted in both rows: the interval degenerates to the point.
  r = KatzRelativeRisk(7, 0, 3, 0);
  CHECK(r.rr == 1.0);
  CHECK(r.ci.defined);
  CHECK(r.ci.lo == 1.0);
  CHECK(r.ci.hi == 1.0);
}

// Same Wikipedia worked example: OR = (15/135)/(100/150) = 0.167 and
// (75/75)/(100/150) = 1.5.
TEST_CASE("OddsRatio matches the Wikipedia worked example", "[server][statistics]") {
  CHECK(Round(OddsRatio(15, 135, 100, 150), 3) == Approx(0.167).margin(1e-12));
  CHECK(OddsRatio(75, 75, 100, 150) == Approx(1.5).epsilon(1e-12));
  CHECK(OddsRatio(5, 0, 3, 4) == kInf);
  CHECK(OddsRatio(0, 5, 3, 4) == 0.0);
  CHECK(std::isnan(OddsRatio(0, 5, 0, 4)));
  CHECK(std::isnan(OddsRatio(0, 0, 3, 4)));
  CHECK(std::isnan(OddsRatio(-1, 5, 3, 4)));
  // Counts in the millions: a·d would overflow int64 if squared, not here.
  CHECK(OddsRatio(3'000'000'000, 1'000'000'000, 1'000'000'000, 3'000'000'000) ==
        Approx(9.0).epsilon(1e-12));
}

// usablestats.com "Ask Stats" question 866: 118 of 3303 vs 80 of 3303 with
// breast cancer; pooled two-proportion z = 2.74195, two-sided p = .00611.
// Pearson's chi-square without continuity correction is that z squared, so it
// gives the same p. (Digits beyond the page's: mpmath, p = 0.0061076220588.)
TEST_CASE("ChiSquare2x2PValue equals the pooled z-test of the usablestats example",
          "[server][statistics]") {
  const double p = ChiSquare2x2PValue(118, 3303 - 118, 80, 3303 - 80);
  CHECK(Round(p, 5) == Approx(0.00611).margin(1e-12));
  CHECK(p == Approx(0.0061076220588).epsilon(1e-9));
  // The same table read by columns instead of rows gives the same statistic.
  CHECK(ChiSquare2x2PValue(118, 80, 3303 - 118, 3303 - 80) == Approx(p).epsilon(1e-12));
  CHECK(ChiSquare2x2PValue(10, 10, 10, 10) == 1.0);
  CHECK(std::isnan(ChiSquare2x2PValue(0, 0, 10, 10)));  // empty row
  CHECK(std::isnan(ChiSquare2x2PValue(0, 10, 0, 10)));  // nobody converted
  CHECK(std::isnan(ChiSquare2x2PValue(1, 2, 3, -4)));
}

TEST_CASE("HasSmallExpectedCell sends sparse tables to Fisher", "[server][statistics]") {
  CHECK(HasSmallExpectedCell(3, 1, 1, 3));  // every expected cell is 2
  CHECK_FALSE(HasSmallExpectedCell(118, 3185, 80, 3223));
  CHECK_FALSE(HasSmallExpectedCell(5, 5, 5, 5));  // expected 5 is enough
  CHECK(HasSmallExpectedCell(1, 1000, 3, 1000));  // expected event cells ~2
  CHECK(HasSmallExpectedCell(0, 0, 0, 0));
  CHECK(HasSmallExpectedCell(-1, 10, 10, 10));
}

// R, example(fisher.test): Fisher's "lady tasting tea", TeaTasting =
// matrix(c(3, 1, 1, 3)), two-sided p-value = 0.4857 (exactly 17/35).
// Wikipedia, "Fisher's exact test", example: men 1 studying / 9 not, women
// 11 / 3, two-sided p = 0.002759. stats.stackexchange.com question 924:
// 3 of 1,000,000 vs 10 of 1,000,000, two-sided Fisher p = 0.092284.
// Others: exact rational arithmetic (Python fractions) or, for margins in the
// millions, mpmath log-gamma sums at 30 digits.
TEST_CASE("FisherExactTwoSided matches published examples", "[server][statistics]") {
  CHECK(Round(FisherExactTwoSided(3, 1, 1, 3), 4) == Approx(0.4857).margin(1e-12));
  CHECK(FisherExactTwoSided(3, 1, 1, 3) == Approx(17.0 / 35).epsilon(1e-12));
  CHECK(Round(FisherExactTwoSided(1, 9, 11, 3), 6) == Approx(0.002759).margin(1e-12));
  CHECK(FisherExactTwoSided(1, 9, 11, 3) == Approx(0.0027594561852200836).epsilon(1e-10));
  CHECK(Round(FisherExactTwoSided(3, 999'997, 10, 999'990), 6) == Approx(0.092284).margin(1e-12));
  CHECK(FisherExactTwoSided(10, 6, 5, 16) == Approx(0.02327711471204241).epsilon(1e-10));
  // Mirror-image tables tie exactly; both tails count (2/252).
  CHECK(FisherExactTwoSided(0, 5, 5, 0) == Approx(2.0 / 252).epsilon(1e-12));
  CHECK(FisherExactTwoSided(5, 0, 0, 5) == Approx(2.0 / 252).epsilon(1e-12));
  // Margins in the millions.
  CHECK(FisherExactTwoSided(1'000'000, 1'000'000, 1'003'000, 997'000) ==
        Approx(0.00270863863235708).epsilon(1e-7));
  CHECK(FisherExactTwoSided(1200, 998'800, 1100, 998'900) ==
        Approx(0.0388544822066654).epsilon(1e-8));
}

TEST_CASE("FisherExactTwoSided stays finite at the edges", "[server][statistics]") {
  CHECK(FisherExactTwoSided(0, 0, 0, 0) == 1.0);
  CHECK(FisherExactTwoSided(0, 0, 4, 7) == 1.0);    // empty row: one table only
  CHECK(FisherExactTwoSided(0, 12, 0, 7) == 1.0);   // empty column
  CHECK(FisherExactTwoSided(50, 50, 50, 50) == Approx(1.0).epsilon(1e-12));
  CHECK(std::isnan(FisherExactTwoSided(1, -1, 1, 1)));
  // Margins in the billions: no overflow, and an extreme table underflows to
  // a p-value of (about) zero rather than NaN.
  const double p = FisherExactTwoSided(2'000'000'000, 2'000'000'000, 2'000'100'000, 1'999'900'000);
  CHECK(p >= 0.0);
  CHECK(p <= 1.0);
  CHECK(FisherExactTwoSided(1'000'000, 0, 0, 1'000'000) == 0.0);
  // A symmetric table with billions of rows is the mode: p = 1.
  CHECK(FisherExactTwoSided(1'500'000'000, 1'500'000'000, 1'500'000'000, 1'500'000'000) ==
        Approx(1.0).epsilon(1e-9));
}

// Benjamini & Hochberg, "Controlling the false discovery rate", JRSS B 1995,
// worked example: fifteen p-values from a clinical trial (Neuhaus et al.); at
// q* = 0.05 the procedure rejects the four smallest (Bonferroni: three). The q-values are what R's
// p.adjust(p, "BH") returns, computed by hand (m·p_(i)/i, running minimum
// from the top) in Python.
TEST_CASE("BenjaminiHochberg reproduces the 1995 paper example", "[server][statistics]") {
  const std::vector<double> p = {0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344,
                                 0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0000};
  const std::vector<double> expected = {0.0015,   0.003,    0.0095,         0.035625,
                                        0.0603,   0.0638571428571, 0.0638571428571,
                                        0.0645,   0.0765,   0.486,          0.581181818182,
                                        0.714875, 0.753230769231,  0.813214285714, 1.0};
  const std::vector<double> q = BenjaminiHochberg(p);
  REQUIRE(q.size() == p.size());
  int rejected = 0;
  for (size_t i = 0; i < q.size(); ++i) {
    INFO("i = " << i);
    CHECK(q[i] == Approx(expected[i]).epsilon(1e-10));
    if (q[i] <= 0.05) ++rejected;
  }
  CHECK(rejected == 4);
}

// Hand-computed (m = 6 non-NaN values; sorted 0.005, 0.01, 0.03, 0.04, 0.04,
// 0.5; m·p/i = 0.03, 0.03, 0.06, 0.06, 0.048, 0.5; running minimum from the
// top = 0.03, 0.03, 0.048, 0.048, 0.048, 0.5), same as p.adjust(.., "BH")
// after dropping the NA.
TEST_CASE("BenjaminiHochberg keeps order and passes NaN through", "[server][statistics]") {
  const std::vector<double> q = BenjaminiHochberg({0.04, 0.01, kNaN, 0.03, 0.005, 0.04, 0.5});
  REQUIRE(q.size() == 7);
  CHECK(q[0] == Approx(0.048));
  CHECK(q[1] == Approx(0.03));
  CHECK(std::isnan(q[2]));
  CHECK(q[3] == Approx(0.048));
  CHECK(q[4] == Approx(0.03));
  CHECK(q[5] == Approx(0.048));
  CHECK(q[6] == Approx(0.5));
  CHECK(BenjaminiHochberg({}).empty());
  CHECK(std::isnan(BenjaminiHochberg({kNaN})[0]));
  CHECK(BenjaminiHochberg({0.9, 0.95}) == std::vector<double>{0.95, 0.95});
}

// usablestats.com "Ask Stats" question 866 again, as an experiment: control
// 80/3303, variant 118/3303. The page: difference .01150, pooled z = 2.74195,
// two-sided p = .00611. Interval and lift by hand (mpmath): unpooled 95%
// Wald interval 0.0032857-0.0197237, relative lift 38/80 = 0.475.
TEST_CASE("TwoProportionZ matches the usablestats example", "[server][statistics]") {
  const TwoProportionTest t = TwoProportionZ(80, 3303, 118, 3303);
  CHECK(Round(t.difference, 5) == Approx(0.01150).margin(1e-12));
  CHECK(t.z == Approx(2.74195).epsilon(1e-5));
  CHECK(Round(t.p_value, 5) == Approx(0.00611).margin(1e-12));
  CHECK(t.rate_control == Approx(80.0 / 3303));
  CHECK(t.rate_variant == Approx(118.0 / 3303));
  CHECK(t.relative_lift == Approx(0.475).epsilon(1e-12));
  REQUIRE(t.difference_ci.defined);
  CHECK(t.difference_ci.lo == Approx(0.00328573389583).epsilon(1e-9));
  CHECK(t.difference_ci.hi == Approx(0.0197236515114).epsilon(1e-9));
  // Swapping the arms flips the sign, not the p-value.
  const TwoProportionTest s = TwoProportionZ(118, 3303, 80, 3303);
  CHECK(s.z == Approx(-t.z));
  CHECK(s.p_value == Approx(t.p_value));
}

TEST_CASE("TwoProportionZ degrades to NaN instead of dividing by zero", "[server][statistics]") {
  TwoProportionTest t = TwoProportionZ(0, 0, 5, 100);
  CHECK(std::isnan(t.difference));
  CHECK(std::isnan(t.p_value));
  CHECK_FALSE(t.difference_ci.defined);
  // No control conversions: a difference and a test, but no relative lift.
  t = TwoProportionZ(0, 100, 5, 100);
  CHECK(t.difference == Approx(0.05));
  CHECK(std::isnan(t.relative_lift));
  CHECK(t.p_value < 0.05);
  // Nobody converted anywhere: nothing to test.
  t = TwoProportionZ(0, 100, 0, 120);
  CHECK(t.difference == 0.0);
  CHECK(std::isnan(t.z));
  CHECK(std::isnan(t.p_value));
  CHECK(t.difference_ci.defined);
  CHECK_FALSE(TwoProportionZ(7, 5, 1, 5).difference_ci.defined);  // x > n
}

// Johari, Pekelis, Walsh, "Peeking at A/B Tests" (KDD 2017), normal mixture
// with τ² = 1e-4. Hand-computed: 100/1000 vs 130/1000 gives d = 0.03,
// V = 0.09/1000 + 0.1131/1000 = 2.031e-4, Λ = sqrt(V/(V+τ²))·exp(τ²d²/
// (2V(V+τ²))) = 0.8185815·exp(0.7309868) = 1.70032026652473 (mpmath).
TEST_CASE("MsprtLikelihoodRatio matches a hand computation", "[server][statistics]") {
  CHECK(MsprtLikelihoodRatio(100, 1000, 130, 1000, 1e-4) ==
        Approx(1.70032026652473).epsilon(1e-12));
  CHECK(MsprtLikelihoodRatio(100, 1000, 130, 1000) == Approx(1.70032026652473).epsilon(1e-12));
  CHECK(MsprtLikelihoodRatio(10, 100, 20, 100, 0.01) == Approx(2.21506343914161).epsilon(1e-12));
  // No difference: Λ = sqrt(V/(V+τ²)) < 1, evidence for the null.
  CHECK(MsprtLikelihoodRatio(100, 1000, 100, 1000) < 1.0);
  CHECK(std::isnan(MsprtLikelihoodRatio(100, 1000, 130, 1000, 0.0)));
  CHECK(std::isnan(MsprtLikelihoodRatio(100, 10, 130, 1000)));
}

TEST_CASE("MsprtPValue is a running minimum that behaves under peeking",
          "[server][statistics]") {
  // Daily cumulative counts with a real 10% -> 12% difference.
  std::vector<ProportionSnapshot> days;
  for (int64_t day = 1; day <= 20; ++day) {
    const int64_t n = 1000 * day;
    days.push_back({n / 10, n, n * 12 / 100, n});
  }
  double previous = 1.0;
  for (size_t k = 1; k <= days.size(); ++k) {
    const double p = MsprtPValue({days.begin(), days.begin() + static_cast<std::ptrdiff_t>(k)});
    CHECK(p <= previous);
    CHECK(p >= 0.0);
    previous = p;
  }
  CHECK(previous < 0.01);
  // 1000/10000 vs 1200/10000 in one look: 1/Λ = 4.77e-4 (mpmath).
  CHECK(MsprtPValue({{1000, 10000, 1200, 10000}}) == Approx(0.000477482632132175).epsilon(1e-10));

  // Identical rates every day: no evidence at all.
  std::vector<ProportionSnapshot> same;
  for (int64_t day = 1; day <= 20; ++day) {
    same.push_back({50 * day, 1000 * day, 50 * day, 1000 * day});
  }
  CHECK(MsprtPValue(same) == 1.0);
  CHECK(MsprtPValue({}) == 1.0);
}

TEST_CASE("MsprtPValue never yields NaN as the variance vanishes", "[server][statistics]") {
  // V = 0 exactly: both arms at 0% or 100% conversion, or an empty arm.
  CHECK(MsprtLikelihoodRatio(0, 1000, 0, 1000) == 1.0);
  CHECK(MsprtLikelihoodRatio(0, 5, 5, 5) == 1.0);
  CHECK(MsprtLikelihoodRatio(0, 0, 0, 0) == 1.0);
  CHECK(MsprtPValue({{0, 0, 0, 0}, {0, 10, 0, 10}, {0, 5, 5, 5}}) == 1.0);
  // V tiny but positive: one conversion in a billion, with and without a gap.
  const double same = MsprtPValue({{1, 1'000'000'000, 1, 1'000'000'000}});
  CHECK_FALSE(std::isnan(same));
  CHECK(same == 1.0);
  const double gap = MsprtPValue({{1, 1'000'000'000, 1'000'000, 1'000'000'000}});
  CHECK_FALSE(std::isnan(gap));
  CHECK(gap == 0.0);  // Λ overflows to +inf, 1/Λ = 0
  // Invalid snapshots are skipped, not propagated.
  CHECK(MsprtPValue({{5, 1, 0, 1}, {1000, 10000, 1200, 10000}}) ==
        Approx(0.000477482632132175).epsilon(1e-10));
}

// Kohavi, Tang & Xu, "Trustworthy Online Controlled Experiments" (2020),
// ch. 21, and Fabijan et al., "Diagnosing Sample Ratio Mismatch in Online
// Controlled Experiments" (KDD 2019): a 50/50 design with 821,588 vs 815,482
// users, p ≈ 1.8e-6 (chi2 = 22.774; 1.8218e-6 by mpmath).
// Mendel's (1866) dihybrid pea cross, the stock textbook goodness-of-fit
// example: 315 round yellow, 108 round green, 101 wrinkled yellow, 32 wrinkled
// green against 9:3:3:1 -> chi2 = 0.470 on 3 df, p = 0.925.
TEST_CASE("SampleRatioMismatchPValue matches the published examples", "[server][statistics]") {
  const double srm = SampleRatioMismatchPValue({821'588, 815'482});
  CHECK(srm == Approx(1.82179287262e-6).epsilon(1e-8));
  CHECK(Round(srm * 1e6, 1) == Approx(1.8).margin(1e-12));
  CHECK(SampleRatioMismatchPValue({821'588, 815'482}, {0.5, 0.5}) == Approx(srm).epsilon(1e-12));

  const double mendel = SampleRatioMismatchPValue({315, 108, 101, 32}, {9, 3, 3, 1});
  CHECK(Round(mendel, 3) == Approx(0.925).margin(1e-12));
  CHECK(mendel == Approx(0.925425895104).epsilon(1e-10));

  CHECK(SampleRatioMismatchPValue({500, 500, 500}) == 1.0);
}

TEST_CASE("SampleRatioMismatchPValue rejects what it cannot test", "[server][statistics]") {
  CHECK(std::isnan(SampleRatioMismatchPValue({})));
  CHECK(std::isnan(SampleRatioMismatchPValue({100})));
  CHECK(std::isnan(SampleRatioMismatchPValue({0, 0})));
  CHECK(std::isnan(SampleRatioMismatchPValue({10, -1})));
  CHECK(std::isnan(SampleRatioMismatchPValue({10, 10}, {1, 1, 1})));
  CHECK(std::isnan(SampleRatioMismatchPValue({10, 10}, {1, 0})));
  CHECK(std::isnan(SampleRatioMismatchPValue({10, 10}, {1, kNaN})));
  // A variant nobody reached is a mismatch, not an error.
  CHECK(SampleRatioMismatchPValue({1000, 0}) < 1e-100);
}

}  // namespace
}  // namespace foothold::server
