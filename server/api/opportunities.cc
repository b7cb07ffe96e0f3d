// The opportunities report (see opportunities.h). The numbers come from
// server/statistics/projection.h; this file picks the reach to project to,
// orders the rows and writes the JSON.
#include "server/api/opportunities.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "server/api/report_json.h"
#include "server/api/segments_report.h"
#include "server/statistics/projection.h"
#include "storage/cluster.h"
#include "storage/event_store.h"

namespace foothold::server {
namespace {

using report::Json;

constexpr uint64_t kMinSessions = 100;   // closed sessions before the table means anything (as lift)
constexpr uint64_t kMinConversions = 10;

// Without segments, the level a micro-conversion's reach is projected to when
// the request names none: twice its reach now, at most every session.
constexpr double kDefaultReachFactor = 2.0;
constexpr const char* kDefaultReachBasis = "twice its current reach (at most 1)";
// With [[dimension]]s: its best segment's reach, over segments with at least
// this many closed sessions (a handful of sessions says nothing about reach).
constexpr uint64_t kMinSegmentSessions = 100;
constexpr const char* kSegmentReachBasis =
    "its best segment's reach: the highest share of sessions doing it in any value of any [[dimension]] "
    "with at least 100 closed sessions (never below its current reach)";

struct BestSegment {
  std::string dimension, value;
  double reach = -1;  // < 0: none with enough sessions
};

// Per micro-conversion (by name): the segment where its reach is highest.
// O(dimensions × values × days).
Status BestSegments(const storage::EventStore& store, const config::Config& config, const std::string& target,
                    storage::TimeRange range, std::map<std::string, BestSegment>* out) {
  for (const config::Dimension& d : config.dimensions) {
    std::vector<std::string> values;
    Status st = SegmentValues(store, config, d.name, &values);
    if (!st.ok()) return st;
    for (const std::string& v : values) {
      std::vector<storage::LiftCells> cells;
      st = store.QueryLift(target, range, &cells, {d.name, v});
      if (!st.ok()) return st;
      for (const storage::LiftCells& c : cells) {
        const uint64_t n = c.a + c.b + c.c + c.d;
        if (n < kMinSegmentSessions) continue;
        const double reach = static_cast<double>(c.a + c.b) / static_cast<double>(n);
        BestSegment& best = (*out)[c.micro];
        if (reach > best.reach) best = {d.name, v, reach};
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Response Opportunities(const storage::EventStore& store, const config::Config& config, const StatsQuery& q) {
  std::string target = q.target;
  if (target.empty() && !config.macro_conversions.empty()) target = config.macro_conversions[0].name;
  bool known = false;
  for (const auto& m : config.macro_conversions) known |= m.name == target;
  if (!known) {
    return ErrorResponse(proto::codes::kNotFound, "no macro-conversion named '" + target +
                                                      "' (opportunities targets are macro-conversions)");
  }
  std::vector<storage::LiftCells> cells;
  size_t dwell_skipped = 0;
  if (q.cluster) {  // the cluster lift's cells (storage/cluster.h), the same projection
    const storage::StoreOptions options = storage::StoreOptionsFromConfig(config);
    Status st = storage::QueryClusterLift(options.export_clickhouse, store.analytics(), target, q.range,
                                          q.now_ms - config.session.timeout_ms, &cells, &dwell_skipped);
    if (!st.ok()) return report::ClusterError(st);
  } else {
    Status st = store.QueryLift(target, q.range, &cells, q.where);
    if (!st.ok()) return report::Unavailable(st);
  }
  // The default reach: the best segment's when there are dimensions to look
  // in (this node's counters, the whole population: not with where= or scope=cluster).
  const bool by_segment = q.reach < 0 && !config.dimensions.empty() && q.where.all() && !q.cluster;
  std::map<std::string, BestSegment> best;
  if (by_segment) {
    Status st = BestSegments(store, config, target, q.range, &best);
    if (!st.ok()) return report::Unavailable(st);
  }

  struct Row {
    const storage::LiftCells* cells;
    double at_reach;
    RelativeRisk rr;
    ReachProjection projection;
  };
  std::vector<Row> rows;
  for (const storage::LiftCells& c : cells) {
    auto a = static_cast<int64_t>(c.a), b = static_cast<int64_t>(c.b);
    auto cc = static_cast<int64_t>(c.c), d = static_cast<int64_t>(c.d);
    const uint64_t n = c.a + c.b + c.c + c.d;
    const double reach = n == 0 ? 0.0 : static_cast<double>(c.a + c.b) / static_cast<double>(n);
    double at = q.reach >= 0 ? q.reach : std::min(1.0, kDefaultReachFactor * reach);
    if (by_segment) at = std::max(reach, best[c.micro].reach);
    rows.push_back({&c, at, KatzRelativeRisk(a, b, cc, d), ProjectReach(a, b, cc, d, at)});
  }
  // Predictors (a finite rr) by biggest projected gain first; then
  // prerequisites (no converting session without it: rr unbounded), by gain;
  // then rows without a projection, in config order.
  auto rank = [](const Row& r) {
    if (std::isnan(r.projection.change)) return 2;
    return std::isfinite(r.rr.rr) ? 0 : 1;
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const Row& x, const Row& y) {
    if (rank(x) != rank(y)) return rank(x) < rank(y);
    return rank(x) < 2 && x.projection.change > y.projection.change;
  });

  const storage::LiftCells* any = cells.empty() ? nullptr : &cells[0];
  const uint64_t sessions = any ? any->a + any->b + any->c + any->d : 0;
  const uint64_t converted = any ? any->a + any->c : 0;
  const double min_support = std::min(25.0, 0.02 * static_cast<double>(sessions));
  Json j;
  j.Open();
  if (q.cluster) j.Key("scope").Str("cluster");
  j.Key("target").Str(target);
  report::AppendDays(q.range, &j);
  j.Key("sessions").Uint(sessions).Key("sessions_converted").Uint(converted);
  j.Key("conversion_rate").Num(report::Ratio(converted, sessions));
  j.Key("label").Str("association-based estimate");
  j.Key("interpretation").Str(
      "association-based estimate: the projected rate assumes sessions that do X keep converting at "
      "cr_with and the rest at cr_without when X's reach rises; where X only marks visitors who would "
      "convert anyway the real gain is smaller, so read it as an optimistic bound");
  AppendWhere(q.where, &j);
  j.Key("reach_basis").Str(q.reach >= 0 ? "the reach= parameter" : by_segment ? kSegmentReachBasis : kDefaultReachBasis);
  j.Key("enough_data").Bool(sessions >= kMinSessions && converted >= kMinConversions);
  j.Key("notes").OpenArray();
  j.Str("intervals: 95%, delta method on the log scale over the multinomial cells (a, b, c, d), so the "
        "sampling error of the reach and of both rates counts; the target reach is taken as given");
  if (sessions < kMinSessions) {
    j.Str("not enough data: " + std::to_string(sessions) + " closed sessions in the range; at least " +
          std::to_string(kMinSessions) + " are needed");
  }
  if (converted < kMinConversions) {
    j.Str("not enough data: " + std::to_string(converted) + " converted sessions; at least " +
          std::to_string(kMinConversions) + " are needed");
  }
  if (dwell_skipped > 0) j.Str("dwell conversions are counted per node only (left out here)");
  j.CloseArray();
  j.Key("micro_conversions").OpenArray();
  for (const Row& r : rows) {
    const storage::LiftCells& c = *r.cells;
    const ReachProjection& p = r.projection;
    j.Open().Key("name").Str(c.micro);
    j.Key("sessions_with").Uint(c.a + c.b);
    j.Key("reach").Num(report::Ratio(c.a + c.b, sessions));
    j.Key("reach_ci95").Interval(WilsonInterval(static_cast<int64_t>(c.a + c.b), static_cast<int64_t>(sessions)));
    j.Key("cr_with").Num(report::Ratio(c.a, c.a + c.b)).Key("cr_without").Num(report::Ratio(c.c, c.c + c.d));
    j.Key("rr").Num(r.rr.rr).Key("rr_ci95").Interval(r.rr.ci);
    j.Key("at_reach").Num(r.at_reach);
    if (by_segment) {
      const BestSegment& b = best[c.micro];
      j.Key("best_segment");
      if (b.reach < 0) {
        j.Null();
      } else {
        j.Open().Key("dimension").Str(b.dimension).Key("value").Str(b.value).Key("reach").Num(b.reach).Close();
      }
    }
    j.Key("projected_conversion_rate").Num(p.projected);
    j.Key("projected_conversion_rate_ci95").Interval(p.projected_ci);
    j.Key("change").Num(p.change).Key("change_ci95").Interval(p.change_ci);
    j.Key("support_ok").Bool(sessions > 0 && static_cast<double>(c.a + c.b) >= min_support);
    if (c.a + c.b == 0) {
      j.Key("note").Str("no closed session did this in the range: nothing to project from");
    } else if (c.c + c.d == 0) {
      j.Key("note").Str("every closed session did this: its reach cannot rise");
    } else if (c.a > 0 && c.c == 0) {
      j.Key("note").Str("every converting session did this first: a prerequisite (rr unbounded), not a "
                        "predictor; more sessions doing it need not mean more conversions");
    }
    j.Close();
  }
  j.CloseArray();
  report::AppendAggregator(store, &j);
  if (q.cluster) report::AppendExport(store, &j);
  return report::Ok(j.Close().Take());
}

}  // namespace foothold::server
