#include "server/api/reports.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <vector>

#include "proto/error_codes.h"
#include "proto/json_out.h"
#include "proto/percent.h"
#include "proto/validate.h"
#include "server/api/opportunities.h"
#include "server/api/report_json.h"
#include "server/api/segments_report.h"
#include "server/api/service.h"
#include "server/statistics/statistics.h"
#include "storage/cluster.h"
#include "storage/event_store.h"

namespace foothold::server {
namespace {

using report::AppendAggregator;
using report::AppendExport;
using report::ClusterError;
using report::AppendDays;
using report::Json;
using report::kDayMs;
using report::Ok;
using report::Ratio;
using report::Unavailable;

constexpr int64_t kMinuteMs = 60 * 1000;
constexpr int64_t kHourMs = 60 * kMinuteMs;
constexpr size_t kMaxPoints = 10000;
// Below these an experiment comparison is reported as not enough data.
constexpr uint64_t kMinExposedPerVariant = 100;
constexpr uint64_t kMinConversions = 10;
constexpr uint64_t kMinLiftSessions = 100;  // closed sessions before a lift table means anything
constexpr double kSrmAlpha = 0.001;  // the usual SRM alarm threshold

// ---- /v1/stats/summary (and ?scope=cluster: the same JSON from ClickHouse) ----
Response Summary(const storage::EventStore& store, const config::Config& config, const StatsQuery& q) {
  storage::Summary s;
  size_t dwell_skipped = 0;
  if (q.cluster) {
    const storage::StoreOptions options = storage::StoreOptionsFromConfig(config);
    Status st = storage::QueryClusterSummary(options.export_clickhouse, store.analytics(), q.range, &s,
                                             &dwell_skipped);
    if (!st.ok()) {
      Response r = ErrorResponse(proto::codes::kClusterUnavailable, st.message());
      r.headers.emplace_back("Retry-After", "5");
      return r;
    }
  } else {
    Status st = store.QuerySummary(q.range, &s);
    if (!st.ok()) return Unavailable(st);
  }
  Json j;
  j.Open();
  if (q.cluster) {
    j.Key("scope").Str("cluster");
    if (dwell_skipped > 0) {
      j.Key("notes").OpenArray().Str("dwell conversions are counted per node only (left out here)").CloseArray();
    }
  }
  j.Time("from", s.range.from_ms).Time("to", s.range.to_ms);
  j.Key("events").Uint(s.events).Key("sessions").Uint(s.sessions);
  j.Key("conversions").OpenArray();
  for (const storage::ConversionSummary& c : s.conversions) {
    j.Open().Key("name").Str(c.name).Key("kind").Str(c.macro ? "macro" : "micro");
    j.Key("events").Uint(c.events).Key("sessions").Uint(c.sessions);
    j.Key("rate").Num(Ratio(c.sessions, s.sessions)).Close();
  }
  j.CloseArray();
  AppendAggregator(store, &j);
  if (q.cluster) AppendExport(store, &j);
  return Ok(j.Close().Take());
}

// ---- /v1/stats/timeseries ----
Response Timeseries(const storage::EventStore& store, const config::Config& config, const StatsQuery& q) {
  if (q.name.empty() == q.source.empty()) {
    return ErrorResponse(proto::codes::kQueryInvalid,
                         "give name (a conversion name) or source (a [[source]] name), one of them");
  }
  bool known = false;
  for (const auto& m : config.micro_conversions) known |= m.name == q.name;
  for (const auto& m : config.macro_conversions) known |= m.name == q.name;
  for (const auto& s : config.source_list) known |= s.name == q.source;
  if (!known) {
    return ErrorResponse(proto::codes::kNotFound, q.source.empty() ? "no conversion named '" + q.name + "'"
                                                                    : "no source named '" + q.source + "'");
  }
  // A source's series: its events per bucket ("$source:<name>"; sessions are not split by source).
  const std::string series = q.source.empty() ? q.name : "$source:" + q.source;
  const int64_t bucket = q.bucket_ms != 0 ? q.bucket_ms : kHourMs;
  const uint64_t points = static_cast<uint64_t>((q.range.to_ms - q.range.from_ms) / bucket) + 2;
  if (points > kMaxPoints) {
    return ErrorResponse(proto::codes::kRangeTooLarge,
                         "at most " + std::to_string(kMaxPoints) + " buckets per request: use a larger bucket");
  }
  std::vector<storage::SeriesPoint> points_out;
  if (q.cluster) {  // a source's series from ClickHouse (README.md, Cluster-wide view)
    const storage::StoreOptions options = storage::StoreOptionsFromConfig(config);
    Status st = storage::QueryClusterSourceSeries(options.export_clickhouse, q.source, bucket, q.range, &points_out);
    if (!st.ok()) {
      Response r = ErrorResponse(proto::codes::kClusterUnavailable, st.message());
      r.headers.emplace_back("Retry-After", "5");
      return r;
    }
  } else {
    Status st = store.QueryTimeseries(series, bucket, q.range, &points_out);
    if (!st.ok()) return Unavailable(st);
  }
  Json j;
  if (q.source.empty()) {
    j.Open().Key("name").Str(q.name);
  } else {
    j.Open().Key("source").Str(q.source);
  }
  if (q.cluster) j.Key("scope").Str("cluster");
  j.Key("bucket").Str(bucket == kMinuteMs ? "minute" : bucket == kHourMs ? "hour" : "day");
  j.Time("from", q.range.from_ms).Time("to", q.range.to_ms);
  j.Key("points").OpenArray();
  for (const storage::SeriesPoint& p : points_out) {
    j.Open().Key("t").Str(proto::FormatRfc3339(p.bucket_ms)).Key("t_ms").Int(p.bucket_ms);
    j.Key("events").Uint(p.events).Key("sessions").Uint(p.sessions);
    j.Key("sessions_total").Uint(p.sessions_total);
    j.Key("rate").Num(Ratio(p.sessions, p.sessions_total)).Close();
  }
  j.CloseArray();
  return Ok(j.Close().Take());
}

// ---- /v1/stats/funnels/{name} ----
// sessions_entered and the steps of one set of counts.
void AppendFunnelSteps(const storage::FunnelCounts& c, Json* j);

Response Funnel(const storage::EventStore& store, const config::Config& config, const config::Funnel& f,
                const StatsQuery& q) {
  storage::FunnelCounts c;
  if (q.cluster) {
    const storage::StoreOptions options = storage::StoreOptionsFromConfig(config);
    Status st = storage::QueryClusterFunnel(options.export_clickhouse, store.analytics(), f, q.range,
                                            q.now_ms - config.session.timeout_ms, &c);
    if (!st.ok()) return ClusterError(st);
  } else {
    Status st = store.QueryFunnel(f, q.range, &c, q.where);
    if (!st.ok()) return Unavailable(st);
  }
  Json j;
  j.Open();
  if (q.cluster) j.Key("scope").Str("cluster");
  j.Key("funnel").Str(f.name);
  j.Key("mode").Str(f.mode == config::FunnelMode::kOrdered ? "ordered"
                    : f.mode == config::FunnelMode::kStrict ? "strict"
                                                            : "any");
  j.Key("window_ms").Int(f.window_ms);
  AppendDays(q.range, &j);
  AppendWhere(q.where, &j);
  std::vector<std::string> values;  // by=: the dimension's values
  std::vector<storage::FunnelCounts> counts;
  if (!q.by.empty()) {
    Status st = SegmentValues(store, config, q.by, &values);
    for (size_t i = 0; st.ok() && i < values.size(); ++i) {
      counts.emplace_back();
      st = store.QueryFunnel(f, q.range, &counts.back(), {q.by, values[i]});
    }
    if (!st.ok()) return Unavailable(st);
    j.Key("by").Str(q.by).Key("segments").OpenArray();
    for (size_t i = 0; i < values.size(); ++i) {
      if (counts[i].reached.empty() || counts[i].reached[0] == 0) continue;  // no session entered
      j.Open().Key("value").Str(values[i]);
      AppendFunnelSteps(counts[i], &j);
      j.Close();
    }
    j.CloseArray();
  }
  const uint64_t started = c.reached.empty() ? 0 : c.reached[0];
  if (q.by.empty()) AppendFunnelSteps(c, &j);
  j.Key("notes").OpenArray();
  if (q.cluster) {
    j.Str("cluster scope: ClickHouse's windowFunnel gives the deepest step, not step times; time_to_convert is "
          "null; a session counts once no event reached any replica for session.timeout");
  } else {
    j.Str("times to convert are from step 1, read from log-spaced histogram bins (within about 9%)");
  }
  if (started == 0 && q.by.empty()) j.Str("not enough data: no closed session entered the funnel in the range");
  j.CloseArray();
  AppendAggregator(store, &j);
  if (q.cluster) AppendExport(store, &j);
  return Ok(j.Close().Take());
}

void AppendFunnelSteps(const storage::FunnelCounts& c, Json* jp) {
  Json& j = *jp;
  const uint64_t started = c.reached.empty() ? 0 : c.reached[0];
  j.Key("sessions_entered").Uint(started);
  j.Key("steps").OpenArray();
  for (size_t k = 0; k < c.reached.size(); ++k) {
    const uint64_t prev = k == 0 ? started : c.reached[k - 1];
    j.Open().Key("step").Uint(k + 1).Key("name").Str(c.steps[k]);
    j.Key("sessions").Uint(c.reached[k]);
    j.Key("conversion_from_start").Num(Ratio(c.reached[k], started));
    j.Key("conversion_from_previous").Num(Ratio(c.reached[k], prev));
    j.Key("drop_off").Uint(prev - std::min(prev, c.reached[k]));
    j.Key("drop_off_rate").Num(k == 0 ? std::nan("") : 1.0 - Ratio(c.reached[k], prev));
    j.Key("conversion_from_previous_ci95");
    if (k == 0) {
      j.Null();
    } else {
      j.Interval(WilsonInterval(static_cast<int64_t>(c.reached[k]), static_cast<int64_t>(prev)));
    }
    j.Key("time_to_convert_ms");
    if (k == 0) {
      j.Null();
    } else {
      j.Open().Key("median").Num(HistogramQuantileMs(c.time_bins[k], 0.5));
      j.Key("p90").Num(HistogramQuantileMs(c.time_bins[k], 0.9)).Close();
    }
    j.Close();
  }
  j.CloseArray();
}

// ---- /v1/stats/lift ----
void AppendLiftBody(const std::vector<storage::LiftCells>& rows, size_t dwell_skipped, Json* j);

Response Lift(const storage::EventStore& store, const config::Config& config, const StatsQuery& q) {
  std::string target = q.target;
  if (target.empty() && !config.macro_conversions.empty()) target = config.macro_conversions[0].name;
  bool known = false;
  for (const auto& m : config.macro_conversions) known |= m.name == target;
  if (!known) {
    return ErrorResponse(proto::codes::kNotFound,
                         "no macro-conversion named '" + target + "' (lift targets are macro-conversions)");
  }
  std::vector<storage::LiftCells> rows;
  size_t dwell_skipped = 0;
  if (q.cluster) {
    const storage::StoreOptions options = storage::StoreOptionsFromConfig(config);
    Status st = storage::QueryClusterLift(options.export_clickhouse, store.analytics(), target, q.range,
                                          q.now_ms - config.session.timeout_ms, &rows, &dwell_skipped);
    if (!st.ok()) return ClusterError(st);
  } else {
    Status st = store.QueryLift(target, q.range, &rows, q.where);
    if (!st.ok()) return Unavailable(st);
  }

  Json j;
  j.Open();
  if (q.cluster) j.Key("scope").Str("cluster");
  j.Key("target").Str(target);
  AppendDays(q.range, &j);
  AppendWhere(q.where, &j);
  if (q.by.empty()) {
    AppendLiftBody(rows, dwell_skipped, &j);
  } else {
    std::vector<std::string> values;
    Status st = SegmentValues(store, config, q.by, &values);
    j.Key("by").Str(q.by).Key("segments").OpenArray();
    for (size_t i = 0; st.ok() && i < values.size(); ++i) {
      std::vector<storage::LiftCells> cells;
      st = store.QueryLift(target, q.range, &cells, {q.by, values[i]});
      if (!st.ok() || cells.empty() || cells[0].a + cells[0].b + cells[0].c + cells[0].d == 0) continue;
      j.Open().Key("value").Str(values[i]);
      AppendLiftBody(cells, 0, &j);
      j.Close();
    }
    if (!st.ok()) return Unavailable(st);
    j.CloseArray();
  }
  AppendAggregator(store, &j);
  if (q.cluster) AppendExport(store, &j);
  return Ok(j.Close().Take());
}

// The lift table of one set of cells: totals, notes and one row per
// micro-conversion (highest relative risk first, q-values across them).
void AppendLiftBody(const std::vector<storage::LiftCells>& rows, size_t dwell_skipped, Json* jp) {
  struct Row {
    const storage::LiftCells* cells;
    RelativeRisk rr;
    double odds = 0, p = 0, q = 0;
    bool fisher = false;
  };
  std::vector<Row> out;
  std::vector<double> p_values;
  for (const storage::LiftCells& c : rows) {
    auto a = static_cast<int64_t>(c.a), b = static_cast<int64_t>(c.b);
    auto cc = static_cast<int64_t>(c.c), d = static_cast<int64_t>(c.d);
    Row r{&c, KatzRelativeRisk(a, b, cc, d), OddsRatio(a, b, cc, d)};
    r.fisher = HasSmallExpectedCell(a, b, cc, d);
    r.p = r.fisher ? FisherExactTwoSided(a, b, cc, d) : ChiSquare2x2PValue(a, b, cc, d);
    p_values.push_back(r.p);
    out.push_back(r);
  }
  std::vector<double> q_values = BenjaminiHochberg(p_values);
  for (size_t i = 0; i < out.size(); ++i) out[i].q = q_values[i];
  // Highest relative risk first; undefined ones last, by name.
  std::stable_sort(out.begin(), out.end(), [](const Row& x, const Row& y) {
    const bool xd = !std::isnan(x.rr.rr), yd = !std::isnan(y.rr.rr);
    if (xd != yd) return xd;
    return xd && x.rr.rr > y.rr.rr;
  });

  const storage::LiftCells* any = rows.empty() ? nullptr : &rows[0];
  const uint64_t sessions = any ? any->a + any->b + any->c + any->d : 0;
  const uint64_t converted = any ? any->a + any->c : 0;
  const double min_support = std::min(25.0, 0.02 * static_cast<double>(sessions));
  Json& j = *jp;
  j.Key("sessions").Uint(sessions).Key("sessions_converted").Uint(converted);
  j.Key("conversion_rate").Num(Ratio(converted, sessions));
  j.Key("interpretation").Str(
      "association, not causation: sessions that did X converted rr times as often as sessions that "
      "did not; X may only mark visitors who were going to convert anyway");
  j.Key("enough_data").Bool(sessions >= kMinLiftSessions && converted >= kMinConversions);
  j.Key("notes").OpenArray();
  if (sessions < kMinLiftSessions) {
    j.Str("not enough data: " + std::to_string(sessions) + " closed sessions in the range; at least " +
          std::to_string(kMinLiftSessions) + " are needed (sessions count here once the watermark closes them)");
  }
  if (converted < kMinConversions) {
    j.Str("not enough data: " + std::to_string(converted) + " converted sessions; at least " +
          std::to_string(kMinConversions) + " are needed");
  }
  if (dwell_skipped > 0) j.Str("dwell conversions are counted per node only (left out here)");
  j.CloseArray();
  j.Key("micro_conversions").OpenArray();
  for (const Row& r : out) {
    const storage::LiftCells& c = *r.cells;
    j.Open().Key("name").Str(c.micro);
    j.Key("a").Uint(c.a).Key("b").Uint(c.b).Key("c").Uint(c.c).Key("d").Uint(c.d);
    j.Key("cr_with").Num(Ratio(c.a, c.a + c.b)).Key("cr_without").Num(Ratio(c.c, c.c + c.d));
    j.Key("rr").Num(r.rr.rr).Key("rr_ci95").Interval(r.rr.ci);
    j.Key("odds_ratio").Num(r.odds);
    j.Key("test").Str(r.fisher ? "fisher_exact" : "chi_square");
    j.Key("p_value").Num(r.p).Key("q_value").Num(r.q);
    j.Key("support_ok").Bool(sessions > 0 && static_cast<double>(c.a + c.b) >= min_support);
    // JSON has no infinity: say in words what a null rr means.
    if (c.a > 0 && c.c == 0) {
      j.Key("note").Str("every converting session did this first: rr is unbounded (a prerequisite, "
                        "not a predictor)");
    } else if (c.a + c.b == 0) {
      j.Key("note").Str("no closed session did this in the range");
    } else if (c.a == 0 && c.c > 0) {
      j.Key("note").Str("no session that did this converted");
    }
    j.Close();
  }
  j.CloseArray();
}

// ---- /v1/stats/experiments/{name} ----
Response Experiment(const storage::EventStore& store, const config::Config& config, const config::Experiment& x,
                    const StatsQuery& q) {
  std::vector<storage::ExperimentDay> days;
  if (q.cluster) {
    const storage::StoreOptions options = storage::StoreOptionsFromConfig(config);
    Status st = storage::QueryClusterExperiment(options.export_clickhouse, store.analytics(), x, q.range,
                                                q.now_ms - config.session.timeout_ms, &days);
    if (!st.ok()) return ClusterError(st);
  } else {
    Status st = store.QueryExperiment(x, q.range, &days, q.where);
    if (!st.ok()) return Unavailable(st);
  }
  // Totals per variant (config order, then "$other"), and the cumulative
  // control-vs-variant snapshot at the end of every day for the mSPRT.
  std::vector<storage::VariantCounts> total;
  for (const std::string& v : x.variants) total.push_back({v, 0, 0});
  std::vector<std::vector<ProportionSnapshot>> snapshots(x.variants.size());
  for (const storage::ExperimentDay& day : days) {
    for (const storage::VariantCounts& v : day.variants) {
      auto it = std::find_if(total.begin(), total.end(), [&](const auto& t) { return t.variant == v.variant; });
      if (it == total.end()) {
        total.push_back({v.variant, 0, 0});
        it = total.end() - 1;
      }
      it->exposed += v.exposed;
      it->converted += v.converted;
    }
    for (size_t i = 1; i < x.variants.size(); ++i) {
      snapshots[i].push_back({static_cast<int64_t>(total[0].converted), static_cast<int64_t>(total[0].exposed),
                              static_cast<int64_t>(total[i].converted), static_cast<int64_t>(total[i].exposed)});
    }
  }

  std::vector<std::string> notes;
  bool enough = true;
  uint64_t conversions = 0;
  for (size_t i = 0; i < x.variants.size(); ++i) {
    conversions += total[i].converted;
    if (total[i].exposed < kMinExposedPerVariant) {
      enough = false;
      notes.push_back("not enough data: variant '" + total[i].variant + "' has " +
                      std::to_string(total[i].exposed) + " exposed sessions; at least " +
                      std::to_string(kMinExposedPerVariant) + " per variant are needed");
    }
  }
  if (conversions < kMinConversions) {
    enough = false;
    notes.push_back("not enough data: " + std::to_string(conversions) + " converted sessions; at least " +
                    std::to_string(kMinConversions) + " are needed");
  }
  std::vector<int64_t> exposed;
  for (size_t i = 0; i < x.variants.size(); ++i) exposed.push_back(static_cast<int64_t>(total[i].exposed));
  // The designed split (config weights, equal when none are given) is what SRM tests against.
  std::vector<double> weights = x.weights;
  if (weights.size() != x.variants.size()) weights.assign(x.variants.size(), 1.0);
  const double weight_sum = std::accumulate(weights.begin(), weights.end(), 0.0);
  const double srm = SampleRatioMismatchPValue(exposed, weights);
  if (!std::isnan(srm) && srm < kSrmAlpha) {
    notes.push_back("sample ratio mismatch: exposures do not match the configured split (weights) at "
                    "p < 0.001; the assignment or its logging is broken, so the comparison cannot be trusted");
  }
  if (total.size() > x.variants.size()) {
    notes.push_back("sessions exposed to variants not in the config are listed as '$other' and left out");
  }
  if (enough && notes.empty()) {
    notes.push_back("p_value is for one look; watch always_valid_p_value when checking repeatedly");
  }

  Json j;
  j.Open();
  if (q.cluster) j.Key("scope").Str("cluster");
  j.Key("experiment").Str(x.name).Key("target").Str(x.target).Key("control").Str(x.variants[0]);
  AppendDays(q.range, &j);
  AppendWhere(q.where, &j);
  j.Key("enough_data").Bool(enough);
  j.Key("variants").OpenArray();
  for (size_t i = 0; i < total.size(); ++i) {
    const storage::VariantCounts& v = total[i];
    j.Open().Key("variant").Str(v.variant).Key("exposed").Uint(v.exposed).Key("converted").Uint(v.converted);
    // Configured variants carry their designed share; "$other" has none.
    if (i < weights.size()) j.Key("expected_share").Num(weights[i] / weight_sum);
    j.Key("rate").Num(Ratio(v.converted, v.exposed));
    j.Key("rate_ci95").Interval(WilsonInterval(static_cast<int64_t>(v.converted), static_cast<int64_t>(v.exposed)));
    j.Close();
  }
  j.CloseArray();
  j.Key("comparisons").OpenArray();
  for (size_t i = 1; i < x.variants.size(); ++i) {
    TwoProportionTest t = TwoProportionZ(static_cast<int64_t>(total[0].converted), static_cast<int64_t>(total[0].exposed),
                                         static_cast<int64_t>(total[i].converted), static_cast<int64_t>(total[i].exposed));
    j.Open().Key("variant").Str(total[i].variant).Key("against").Str(total[0].variant);
    j.Key("difference").Num(t.difference).Key("difference_ci95").Interval(t.difference_ci);
    j.Key("relative_lift").Num(t.relative_lift).Key("z").Num(t.z).Key("p_value").Num(t.p_value);
    j.Key("always_valid_p_value").Num(MsprtPValue(snapshots[i]));
    j.Close();
  }
  j.CloseArray();
  j.Key("sample_ratio_mismatch_p_value").Num(srm);
  j.Key("notes").OpenArray();
  for (const std::string& n : notes) j.Str(n);
  j.CloseArray();
  AppendAggregator(store, &j);
  if (q.cluster) AppendExport(store, &j);
  return Ok(j.Close().Take());
}

// ---- /v1/stats/definitions ----
// What the config defines, so a reader (the dashboard) can list the funnels,
// experiments and lift targets without being told their names.
// `dimensions`: each [[dimension]] with the values a by= report lists (README.md "Segments").
Response Definitions(const storage::EventStore& store, const config::Config& config) {
  Json j;
  j.Open().Key("conversions").OpenArray();
  for (const auto& m : config.micro_conversions) j.Open().Key("name").Str(m.name).Key("kind").Str("micro").Close();
  for (const auto& m : config.macro_conversions) j.Open().Key("name").Str(m.name).Key("kind").Str("macro").Close();
  j.CloseArray().Key("funnels").OpenArray();
  for (const config::Funnel& f : config.funnels) {
    j.Open().Key("name").Str(f.name).Key("steps").OpenArray();
    for (const std::string& step : f.steps) j.Str(step);
    j.CloseArray().Key("window_ms").Int(f.window_ms).Close();
  }
  j.CloseArray().Key("experiments").OpenArray();
  for (const config::Experiment& x : config.experiments) {
    j.Open().Key("name").Str(x.name).Key("target").Str(x.target).Key("variants").OpenArray();
    for (const std::string& v : x.variants) j.Str(v);
    j.CloseArray().Key("weights").OpenArray();
    for (double w : x.weights) j.Num(w);
    j.CloseArray().Close();
  }
  j.CloseArray().Key("dimensions").OpenArray();
  for (const config::Dimension& d : config.dimensions) {
    std::vector<std::string> values;
    Status st = SegmentValues(store, config, d.name, &values);
    if (!st.ok()) return Unavailable(st);
    j.Open().Key("name").Str(d.name).Key("kind").Str(DimensionKindName(d.kind));
    j.Key("max_values").Uint(d.max_values).Key("values").OpenArray();
    for (const std::string& v : values) j.Str(v);
    j.CloseArray().Close();
  }
  j.CloseArray();
  AppendAggregator(store, &j);
  return Ok(j.Close().Take());
}

}  // namespace

double HistogramQuantileMs(const std::vector<uint64_t>& bins, double q) {
  const uint64_t total = std::accumulate(bins.begin(), bins.end(), uint64_t{0});
  if (total == 0) return std::nan("");
  const double rank = q * static_cast<double>(total);
  double seen = 0;
  for (size_t b = 0; b < bins.size(); ++b) {
    if (bins[b] == 0) continue;
    if (seen + static_cast<double>(bins[b]) >= rank) {
      double lo = 0, hi = 0;
      storage::FunnelTimeBinRange(static_cast<int>(b), &lo, &hi);
      const double frac = std::clamp((rank - seen) / static_cast<double>(bins[b]), 0.0, 1.0);
      if (lo <= 0) return hi * frac;            // bin 0: [0, 1 s), linear
      return lo * std::pow(hi / lo, frac);      // log-spaced: geometric
    }
    seen += static_cast<double>(bins[b]);
  }
  return std::nan("");
}

Response StatsReport(const storage::EventStore& store, const config::Config& config,
                     std::string_view rest, const StatsQuery& q) {
  if (q.cluster) {
    if (!config.export_clickhouse.enabled()) {
      return ErrorResponse(proto::codes::kClusterNotConfigured,
                           "scope=cluster reads ClickHouse: set [export.clickhouse] url on this replica");
    }
    if (rest == "timeseries" && q.source.empty()) {
      return ErrorResponse(proto::codes::kQueryInvalid,
                           "scope=cluster is answered for summary, funnels, lift, opportunities, experiments and "
                           "timeseries?source=; a conversion's cluster time "
                           "series is SQL on the exported table (README.md, Cluster-wide view)");
    }
  }
  if (Response error; !ValidateSegments(config, rest, q, &error)) return error;
  if (rest == "summary") return q.by.empty() && q.where.all() ? Summary(store, config, q)
                                                              : SegmentedSummary(store, config, q);
  if (rest == "timeseries") return Timeseries(store, config, q);
  if (rest == "lift") return Lift(store, config, q);
  if (rest == "opportunities") return Opportunities(store, config, q);
  if (rest == "definitions") return Definitions(store, config);
  auto named = [&](std::string_view prefix, std::string* name) {
    if (!rest.starts_with(prefix)) return false;
    return proto::PercentDecode(rest.substr(prefix.size()), false, name) && !name->empty();
  };
  std::string name;
  if (named("funnels/", &name)) {
    for (const config::Funnel& f : config.funnels) {
      if (f.name == name) return Funnel(store, config, f, q);
    }
    return ErrorResponse(proto::codes::kNotFound, "no funnel named '" + name + "'");
  }
  if (named("experiments/", &name)) {
    for (const config::Experiment& x : config.experiments) {
      if (x.name == name) return Experiment(store, config, x, q);
    }
    return ErrorResponse(proto::codes::kNotFound, "no experiment named '" + name + "'");
  }
  return ErrorResponse(proto::codes::kNotFound,
                       "no such report (summary, timeseries, lift, opportunities, funnels/{name}, experiments/{name}, "
                       "definitions)");
}

}  // namespace foothold::server
