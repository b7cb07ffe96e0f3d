// Cluster-wide reports as SQL over the exported table (storage/cluster.h).
// The matchers of config/config.h become SQL conditions with the rollup's
// meaning (storage/aggregate/rollup.cc): the event name exactly, `where`
// equalities typed like the JSON value (a string predicate never matches a
// number prop), and url_prefix on the url's path.
#include "storage/cluster.h"

#include <charconv>
#include <string>
#include <vector>

#include "storage/export/clickhouse_http.h"

namespace foothold::storage {
namespace {

constexpr int64_t kMinuteMs = 60 * 1000;

int64_t FloorTo(int64_t t, int64_t w) { return t - ((t % w) + w) % w; }

// A ClickHouse string literal.
std::string Lit(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

std::string Int(int64_t v) { return std::to_string(v); }

// The url's path like the rollup's UrlPath: "/p/1" for "https://h/p/1?x" and
// "/p/1?x"; "/" for a bare "https://h"; "" without a scheme or leading '/'.
const char kUrlPath[] =
    "if(extract(url, '^(?:[^/]*?://[^/]*|//[^/]*)?(/[^?#]*)') != '', "
    "extract(url, '^(?:[^/]*?://[^/]*|//[^/]*)?(/[^?#]*)'), "
    "if(position(url, '://') > 0 OR startsWith(url, '//'), '/', ''))";

std::string MatcherSql(const config::Matcher& m) {
  std::string sql = "(event = " + Lit(m.event);
  if (!m.url_prefix.empty()) sql += " AND startsWith(" + std::string(kUrlPath) + ", " + Lit(m.url_prefix) + ")";
  for (const config::Predicate& p : m.where) {
    if (!p.field.starts_with("props.")) {
      const std::string* want = std::get_if<std::string>(&p.value);
      // Only string values can equal event/url/referrer/title.
      sql += want == nullptr ? " AND 0" : " AND " + p.field + " = " + Lit(*want);
      continue;
    }
    const std::string key = Lit(p.field.substr(sizeof("props.") - 1));
    const std::string raw = "visitParamExtractRaw(props, " + key + ")";
    const std::string text = "prop_values[indexOf(prop_keys, " + key + ")]";
    if (const auto* s = std::get_if<std::string>(&p.value)) {
      sql += " AND has(prop_keys, " + key + ") AND startsWith(" + raw + ", '\"') AND " + text + " = " + Lit(*s);
    } else if (const auto* n = std::get_if<double>(&p.value)) {
      char buf[32];
      const std::string number(buf, std::to_chars(buf, buf + sizeof buf, *n).ptr);
      sql += " AND has(prop_keys, " + key + ") AND NOT startsWith(" + raw + ", '\"') AND " + raw +
             " NOT IN ('true', 'false', 'null') AND " + text + " = " + Lit(number);
    } else if (const auto* b = std::get_if<bool>(&p.value)) {
      sql += " AND " + raw + " = " + Lit(*b ? "true" : "false");
    }
  }
  return sql + ")";
}

std::vector<uint64_t> ParseNumbers(std::string_view tsv) {
  std::vector<uint64_t> out;
  while (!tsv.empty()) {
    const size_t end = tsv.find_first_of("\t\n");
    std::string_view cell = tsv.substr(0, end);
    uint64_t v = 0;
    if (!cell.empty() && std::from_chars(cell.data(), cell.data() + cell.size(), v).ec == std::errc()) {
      out.push_back(v);
    }
    if (end == std::string_view::npos) break;
    tsv.remove_prefix(end + 1);
  }
  return out;
}

Status Endpoint(const ExportOptions& ex, ClickHouseEndpoint* ep) {
  if (ex.url.empty()) return Status::InvalidArgument("cluster scope needs [export.clickhouse] url");
  Status s = ParseClickHouseUrl(ex.url, ep);
  ep->user = ex.user;
  ep->password = ex.password;
  ep->timeout_ms = ex.timeout_ms;
  return s;
}

// Runs `sql` (FORMAT TabSeparated) and parses every cell as a number.
Status RunNumbers(const ExportOptions& ex, const std::string& sql, std::vector<uint64_t>* out) {
  ClickHouseEndpoint ep;
  Status s = Endpoint(ex, &ep);
  if (!s.ok()) return s;
  HttpAnswer a = ClickHouseHttp(ep).Post(sql, "", "&wait_end_of_query=1");
  if (a.failure != HttpFailure::kNone) {
    return Status::Unavailable(std::string("ClickHouse (") + HttpFailureName(a.failure) + "): " + a.error);
  }
  *out = ParseNumbers(a.body);
  return Status::Ok();
}

// The SQL condition of a conversion by name; false when it is a dwell one (or unknown).
bool ConversionSql(const AnalyticsDefs& defs, std::string_view name, std::string* sql) {
  for (const config::MicroConversion& m : defs.micro) {
    if (m.name == name) {
      if (m.kind == config::MicroConversion::Kind::kDwell) return false;
      *sql = MatcherSql(m.match);
      return true;
    }
  }
  for (const config::MacroConversion& m : defs.macro) {
    if (m.name == name) {
      *sql = MatcherSql(m.match);
      return true;
    }
  }
  return false;
}

constexpr int64_t kDayMs = 24 * 3600 * 1000;

// The closed sessions of a day-of-session-start report: `columns` are the
// per-session aggregates wanted, computed over non-bot rows read FINAL.
std::string ClosedSessions(const ExportOptions& ex, TimeRange range, int64_t closed_before_ms,
                           const std::string& columns) {
  const int64_t day_from = FloorTo(range.from_ms, kDayMs);
  const int64_t day_to = FloorTo(range.to_ms + kDayMs - 1, kDayMs);
  return "SELECT session_id, min(event_time) AS start_ms, max(received_at) AS last_rx" + columns + " FROM " +
         ex.database + "." + ex.table + " FINAL WHERE bot = 0 GROUP BY session_id HAVING start_ms >= " +
         Int(day_from) + " AND start_ms < " + Int(day_to) + " AND last_rx < " + Int(closed_before_ms);
}

}  // namespace

Status QueryClusterLift(const ExportOptions& ex, const AnalyticsDefs& defs, std::string_view target, TimeRange range,
                        int64_t closed_before_ms, std::vector<LiftCells>* out, size_t* dwell_skipped) {
  out->clear();
  *dwell_skipped = 0;
  std::string target_sql;
  if (!ConversionSql(defs, target, &target_sql)) {
    return Status::InvalidArgument("lift target '" + std::string(target) + "' is not an event conversion");
  }
  std::string columns = ", countIf(" + target_sql + ") AS t_n, minIf((event_time, seq), " + target_sql + ") AS t_first";
  std::string outer = "SELECT 0";
  for (const config::MicroConversion& m : defs.micro) {
    if (m.kind == config::MicroConversion::Kind::kDwell) {
      ++*dwell_skipped;
      continue;
    }
    const std::string x = "x" + std::to_string(out->size());
    const std::string match = MatcherSql(m.match);
    columns += ", countIf(" + match + ") AS " + x + "_n, minIf((event_time, seq), " + match + ") AS " + x + "_first";
    const std::string did = "(" + x + "_n > 0 AND (t_n = 0 OR " + x + "_first < t_first))";
    outer += ", countIf(" + did + " AND t_n > 0), countIf(" + did + " AND t_n = 0), countIf(NOT " + did +
             " AND t_n > 0), countIf(NOT " + did + " AND t_n = 0)";
    out->push_back(LiftCells{m.name});
  }
  const std::string sql =
      outer + " FROM (" + ClosedSessions(ex, range, closed_before_ms, columns) + ") FORMAT TabSeparated";
  std::vector<uint64_t> v;
  Status s = RunNumbers(ex, sql, &v);
  if (!s.ok()) return s;
  if (v.size() != 1 + 4 * out->size()) return Status::Unavailable("ClickHouse answered an unexpected lift result");
  for (size_t i = 0; i < out->size(); ++i) {
    LiftCells& c = (*out)[i];
    c.a = v[1 + 4 * i];
    c.b = v[2 + 4 * i];
    c.c = v[3 + 4 * i];
    c.d = v[4 + 4 * i];
  }
  return Status::Ok();
}

Status QueryClusterExperiment(const ExportOptions& ex, const AnalyticsDefs& defs, const config::Experiment& x,
                              TimeRange range, int64_t closed_before_ms, std::vector<ExperimentDay>* out) {
  out->clear();
  std::string target_sql;
  if (!ConversionSql(defs, x.target, &target_sql)) {
    return Status::InvalidArgument("experiment target '" + x.target + "' is not an event conversion");
  }
  const std::string exposed = "has(experiment_names, " + Lit(x.name) + ")";
  const std::string columns =
      ", countIf(" + exposed + ") AS x_n, minIf((event_time, seq), " + exposed + ") AS x_first" +
      ", argMinIf(experiment_variants[indexOf(experiment_names, " + Lit(x.name) + ")], (event_time, seq), " +
      exposed + ") AS variant, countIf(" + target_sql + ") AS t_n, maxIf((event_time, seq), " + target_sql +
      ") AS t_last";
  // One row per (day, variant): day, variant index in the config (0 = not listed), exposed, converted.
  std::string index = "multiIf(";
  for (size_t i = 0; i < x.variants.size(); ++i) index += "variant = " + Lit(x.variants[i]) + ", " + Int(int64_t(i) + 1) + ", ";
  index += "0)";
  const std::string sql = "SELECT intDiv(start_ms, " + Int(kDayMs) + ") * " + Int(kDayMs) + " AS day, " + index +
                          " AS v, count(), countIf(t_n > 0 AND t_last >= x_first) FROM (" +
                          ClosedSessions(ex, range, closed_before_ms, columns) +
                          ") WHERE x_n > 0 GROUP BY day, v ORDER BY day, v FORMAT TabSeparated";
  std::vector<uint64_t> v;
  Status s = RunNumbers(ex, sql, &v);
  if (!s.ok()) return s;
  if (v.size() % 4 != 0) return Status::Unavailable("ClickHouse answered an unexpected experiment result");
  for (size_t i = 0; i < v.size(); i += 4) {
    const int64_t day = static_cast<int64_t>(v[i]);
    if (out->empty() || out->back().day_ms != day) {
      ExperimentDay d{day, {}};
      for (const std::string& name : x.variants) d.variants.push_back({name, 0, 0});
      out->push_back(std::move(d));
    }
    ExperimentDay& d = out->back();
    const size_t idx = static_cast<size_t>(v[i + 1]);
    if (idx == 0) {
      d.variants.push_back({"$other", v[i + 2], v[i + 3]});
    } else if (idx <= x.variants.size()) {
      d.variants[idx - 1].exposed = v[i + 2];
      d.variants[idx - 1].converted = v[i + 3];
    }
  }
  return Status::Ok();
}

Status QueryClusterFunnel(const ExportOptions& ex, const AnalyticsDefs& defs, const config::Funnel& funnel,
                          TimeRange range, int64_t closed_before_ms, FunnelCounts* out) {
  const size_t n = funnel.steps.size();
  *out = FunnelCounts{funnel.steps, std::vector<uint64_t>(n, 0),
                      std::vector<std::vector<uint64_t>>(n, std::vector<uint64_t>(kFunnelTimeBins, 0))};
  if (funnel.mode != config::FunnelMode::kOrdered) {
    return Status::InvalidArgument("funnel '" + funnel.name + "' is not mode = \"ordered\": windowFunnel on "
                                   "ClickHouse 18.16 has no strict or any mode");
  }
  const int64_t day_from = FloorTo(range.from_ms, kDayMs);
  const int64_t day_to = FloorTo(range.to_ms + kDayMs - 1, kDayMs);
  if (day_to - day_from > 40 * kDayMs) {
    return Status::InvalidArgument("cluster funnels cover at most 40 days (windowFunnel counts ms in a UInt32)");
  }
  std::string conds;
  for (const std::string& step : funnel.steps) {
    std::string cond;
    if (!ConversionSql(defs, step, &cond)) {
      return Status::InvalidArgument("funnel step '" + step + "' is a dwell conversion: counted per node only");
    }
    conds += ", " + cond;
  }
  // Per session: its start, its newest receipt, and the deepest step reached
  // (timestamps are ms since the first day, so the window keeps ms precision).
  const std::string inner =
      "SELECT session_id, min(event_time) AS start_ms, max(received_at) AS last_rx, windowFunnel(" +
      Int(funnel.window_ms) + ")(toUInt32(greatest(event_time - " + Int(day_from) + ", 0))" + conds +
      ") AS level FROM " + ex.database + "." + ex.table + " FINAL WHERE bot = 0 GROUP BY session_id" +
      " HAVING start_ms >= " + Int(day_from) + " AND start_ms < " + Int(day_to) + " AND last_rx < " +
      Int(closed_before_ms);
  const std::string sql = "SELECT level, count() FROM (" + inner + ") GROUP BY level FORMAT TabSeparated";
  std::vector<uint64_t> v;
  Status s = RunNumbers(ex, sql, &v);
  if (!s.ok()) return s;
  if (v.size() % 2 != 0) return Status::Unavailable("ClickHouse answered an unexpected funnel result");
  for (size_t i = 0; i < v.size(); i += 2) {
    for (size_t k = 0; k < n && k < v[i]; ++k) out->reached[k] += v[i + 1];
  }
  return Status::Ok();
}

Status QueryClusterSummary(const ExportOptions& ex, const AnalyticsDefs& defs, TimeRange range, Summary* out,
                           size_t* dwell_skipped) {
  *out = Summary{};
  *dwell_skipped = 0;

  const int64_t from = FloorTo(range.from_ms, kMinuteMs);
  const int64_t to = FloorTo(range.to_ms + kMinuteMs - 1, kMinuteMs);
  out->range = {from, to};
  const std::string in = "BETWEEN " + Int(from) + " AND " + Int(to - 1);

  struct Conv {
    std::string name;
    bool macro;
    std::string match;
  };
  std::vector<Conv> convs;
  for (const config::MicroConversion& m : defs.micro) {
    if (m.kind == config::MicroConversion::Kind::kDwell) {
      ++*dwell_skipped;
      continue;
    }
    convs.push_back({m.name, false, MatcherSql(m.match)});
  }
  for (const config::MacroConversion& m : defs.macro) convs.push_back({m.name, true, MatcherSql(m.match)});

  // Per session: its start and counts; then sums over sessions. Every row is
  // read FINAL, so a batch the exporter sent twice counts once.
  std::string inner = "SELECT session_id, min(event_time) AS start_ms, countIf(event_time " + in + ") AS n_all";
  std::string outer = "SELECT sum(n_all), countIf(start_ms " + in + ")";
  for (size_t i = 0; i < convs.size(); ++i) {
    const std::string c = "c" + std::to_string(i);
    inner += ", countIf(" + convs[i].match + " AND event_time " + in + ") AS " + c + "_n";
    inner += ", countIf(" + convs[i].match + ") AS " + c + "_any";
    inner += ", minIf(event_time, " + convs[i].match + ") AS " + c + "_first";
    outer += ", sum(" + c + "_n), countIf(" + c + "_any > 0 AND " + c + "_first " + in + ")";
  }
  inner += " FROM " + ex.database + "." + ex.table + " FINAL WHERE bot = 0 GROUP BY session_id";
  const std::string sql = outer + " FROM (" + inner + ") FORMAT TabSeparated";

  std::vector<uint64_t> v;
  Status s = RunNumbers(ex, sql, &v);
  if (!s.ok()) return s;
  if (v.size() != 2 + 2 * convs.size()) return Status::Unavailable("ClickHouse answered an unexpected result");
  out->events = v[0];
  out->sessions = v[1];
  for (size_t i = 0; i < convs.size(); ++i) {
    out->conversions.push_back({convs[i].name, convs[i].macro, v[2 + 2 * i], v[3 + 2 * i]});
  }
  return Status::Ok();
}

Status QueryClusterSourceSeries(const ExportOptions& ex, std::string_view source, int64_t bucket_ms, TimeRange range,
                                std::vector<SeriesPoint>* out) {
  out->clear();
  const int64_t lo = FloorTo(range.from_ms, bucket_ms);
  const int64_t hi = FloorTo(range.to_ms + bucket_ms - 1, bucket_ms);
  for (int64_t b = lo; b < hi; b += bucket_ms) out->push_back(SeriesPoint{b, 0, 0, 0});
  if (out->empty()) return Status::Ok();
  const std::string table = ex.database + "." + ex.table;
  const std::string w = Int(bucket_ms);
  const std::string in = "BETWEEN " + Int(lo) + " AND " + Int(hi - 1);
  // The source's non-bot events per bucket of event_time, then the sessions
  // that started in each bucket (all sources: sessions are not split by source).
  const std::string sql =
      "SELECT 0, intDiv(event_time, " + w + ") * " + w + " AS b, count() FROM " + table +
      " FINAL WHERE bot = 0 AND source = " + Lit(source) + " AND event_time " + in + " GROUP BY b UNION ALL " +
      "SELECT 1, intDiv(start_ms, " + w + ") * " + w + " AS b, count() FROM (SELECT session_id, min(event_time) AS "
      "start_ms FROM " + table + " FINAL WHERE bot = 0 GROUP BY session_id) WHERE start_ms " + in +
      " GROUP BY b FORMAT TabSeparated";
  std::vector<uint64_t> v;
  Status s = RunNumbers(ex, sql, &v);
  if (!s.ok()) return s;
  if (v.size() % 3 != 0) return Status::Unavailable("ClickHouse answered an unexpected result");
  for (size_t i = 0; i < v.size(); i += 3) {
    const int64_t b = static_cast<int64_t>(v[i + 1]);
    if (b < lo || b >= hi) continue;
    SeriesPoint& p = (*out)[static_cast<size_t>((b - lo) / bucket_ms)];
    (v[i] == 0 ? p.events : p.sessions_total) += v[i + 2];
  }
  return Status::Ok();
}

}  // namespace foothold::storage
