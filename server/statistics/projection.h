// Reach projection: what the overall conversion rate would be if a
// micro-conversion's reach (its share of sessions) rose to a chosen level,
// holding each group's conversion rate fixed — the opportunities report
// (README.md "Opportunities"). It is an association-based estimate: where the
// micro-conversion marks visitors who would convert anyway, the real gain of
// raising its reach is smaller.
//
// Thread safety: pure functions, callable from any thread concurrently.
#pragma once

#include <cstdint>
#include <limits>

#include "server/statistics/statistics.h"

namespace foothold::server {

// The ratio of the projected to the current overall rate, from the relative
// risk alone: (at_reach·rr + 1 − at_reach) / (reach·rr + 1 − reach). With
// rr 4.2 at 6% reach raised to 28% this is 1.896 / 1.192 = 1.59 (+59%).
// NaN when an argument is NaN, a reach is outside [0, 1] or rr < 0.
double ProjectedRateRatio(double rr, double reach, double at_reach);

struct ReachProjection {
  double reach = std::numeric_limits<double>::quiet_NaN();     // (a+b)/N now
  double baseline = std::numeric_limits<double>::quiet_NaN();  // (a+c)/N now
  // at_reach·cr_with + (1 − at_reach)·cr_without, with a 95% interval.
  double projected = std::numeric_limits<double>::quiet_NaN();
  ConfidenceInterval projected_ci;
  // projected / baseline − 1, with a 95% interval.
  double change = std::numeric_limits<double>::quiet_NaN();
  ConfidenceInterval change_ci;
};

// The projection from the lift cells of one micro-conversion (a = did it and
// converted, b = did it and did not, c = converted without it, d = neither;
// N = a+b+c+d). Both intervals come from the delta method on the log scale
// over the multinomial (a, b, c, d)/N, so the sampling error of the reach and
// of both conversion rates counts, and the bounds stay positive:
//   log projected ± z·se,  log(projected/baseline) ± z·se,
//   se² = (Σ g_i² π_i − (Σ g_i π_i)²) / N, g = the gradient over the cell shares π.
// at_reach is taken as given (not estimated). Everything is NaN/undefined when
// a row is empty (cr_with or cr_without has no estimate), a count is negative
// or at_reach is outside [0, 1]; an interval is undefined when the rate it
// takes the log of is 0.
ReachProjection ProjectReach(int64_t a, int64_t b, int64_t c, int64_t d, double at_reach,
                             double z = kZ95);

}  // namespace foothold::server
