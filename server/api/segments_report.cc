#include "server/api/segments_report.h"

#include <algorithm>

#include "proto/error_codes.h"
#include "server/statistics/statistics.h"
#include "storage/event_store.h"

namespace foothold::server {
namespace {

using report::Json;

// One segment's block: sessions and each conversion's sessions and rate.
void AppendSessions(const storage::SegmentSessions& s, Json* j) {
  j->Key("sessions").Uint(s.sessions);
  j->Key("conversions").OpenArray();
  for (const storage::SegmentSessions::Conversion& c : s.conversions) {
    j->Open().Key("name").Str(c.name).Key("kind").Str(c.macro ? "macro" : "micro");
    j->Key("sessions").Uint(c.sessions).Key("rate").Num(report::Ratio(c.sessions, s.sessions));
    j->Key("rate_ci95").Interval(WilsonInterval(static_cast<int64_t>(c.sessions), static_cast<int64_t>(s.sessions)));
    j->Close();
  }
  j->CloseArray();
}

}  // namespace

const config::Dimension* FindDimension(const config::Config& config, std::string_view name) {
  for (const config::Dimension& d : config.dimensions) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

std::string_view DimensionKindName(config::DimensionKind kind) {
  using K = config::DimensionKind;
  switch (kind) {
    case K::kUtmSource: return "utm_source";
    case K::kUtmMedium: return "utm_medium";
    case K::kUtmCampaign: return "utm_campaign";
    case K::kReferrerDomain: return "referrer_domain";
    case K::kDevice: return "device";
    case K::kVisitor: return "visitor";
    case K::kProp: return "prop";
    case K::kExperiment: return "experiment";
  }
  return "";
}

bool ValidateSegments(const config::Config& config, std::string_view rest, const StatsQuery& q,
                      Response* error) {
  if (q.by.empty() && q.where.all()) return true;
  auto fail = [&](std::string_view code, std::string message) {
    *error = ErrorResponse(code, message);
    return false;
  };
  for (const std::string* name : {&q.by, &q.where.dimension}) {
    if (name->empty() || FindDimension(config, *name) != nullptr) continue;
    std::string known;
    for (const config::Dimension& d : config.dimensions) known += (known.empty() ? "" : ", ") + d.name;
    return fail(proto::codes::kUnknownDimension,
                "no dimension named '" + *name + "' (configured: " + (known.empty() ? "none" : known) + ")");
  }
  if (!q.by.empty() && !q.where.all()) return fail(proto::codes::kQueryInvalid, "give by or where, not both");
  if (q.cluster) {
    return fail(proto::codes::kQueryInvalid, "by and where are answered from this node's counters: drop scope=cluster");
  }
  const bool by_ok = rest == "summary" || rest == "lift" || rest.starts_with("funnels/");
  const bool where_ok = by_ok || rest == "opportunities" || rest.starts_with("experiments/");
  if (!q.by.empty() && !by_ok) {
    return fail(proto::codes::kQueryInvalid, "by applies to summary, funnels and lift");
  }
  if (!q.where.all() && !where_ok) {
    return fail(proto::codes::kQueryInvalid, "where applies to summary, funnels, lift, experiments and opportunities");
  }
  return true;
}

Status SegmentValues(const storage::EventStore& store, const config::Config& config, std::string_view dimension,
                     std::vector<std::string>* out) {
  out->clear();
  const config::Dimension* d = FindDimension(config, dimension);
  if (d != nullptr && d->kind == config::DimensionKind::kExperiment) {
    for (const config::Experiment& x : config.experiments) {
      if (x.name == d->experiment) *out = x.variants;
    }
    out->push_back("$other");
    out->push_back("(none)");
    return Status::Ok();
  }
  Status st = store.QueryDimensionValues(dimension, out);
  if (st.ok() && std::find(out->begin(), out->end(), "(other)") == out->end()) out->push_back("(other)");
  return st;
}

void AppendWhere(const storage::SegmentFilter& where, Json* j) {
  if (where.all()) return;
  j->Key("where").Open().Key("dimension").Str(where.dimension).Key("value").Str(where.value).Close();
}

Response SegmentedSummary(const storage::EventStore& store, const config::Config& config, const StatsQuery& q) {
  Json j;
  j.Open();
  report::AppendDays(q.range, &j);
  j.Key("basis").Str("closed sessions by UTC day of session start (segment counters)");
  AppendWhere(q.where, &j);
  if (!q.where.all()) {
    storage::SegmentSessions s;
    Status st = store.QuerySegmentSessions(q.where, q.range, &s);
    if (!st.ok()) return report::Unavailable(st);
    AppendSessions(s, &j);
  } else {
    std::vector<std::string> values;
    Status st = SegmentValues(store, config, q.by, &values);
    std::vector<std::pair<std::string, storage::SegmentSessions>> blocks;
    uint64_t total = 0;
    for (size_t i = 0; st.ok() && i < values.size(); ++i) {
      storage::SegmentSessions s;
      st = store.QuerySegmentSessions({q.by, values[i]}, q.range, &s);
      if (st.ok() && s.sessions > 0) {
        total += s.sessions;
        blocks.emplace_back(values[i], std::move(s));
      }
    }
    if (!st.ok()) return report::Unavailable(st);
    // Most sessions first; ties by value.
    std::stable_sort(blocks.begin(), blocks.end(),
                     [](const auto& a, const auto& b) { return a.second.sessions > b.second.sessions; });
    j.Key("by").Str(q.by).Key("sessions").Uint(total).Key("segments").OpenArray();
    for (const auto& [value, s] : blocks) {
      j.Open().Key("value").Str(value).Key("share").Num(report::Ratio(s.sessions, total));
      AppendSessions(s, &j);
      j.Close();
    }
    j.CloseArray();
  }
  report::AppendAggregator(store, &j);
  return report::Ok(j.Close().Take());
}

}  // namespace foothold::server
