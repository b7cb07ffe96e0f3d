// The segment counting of Rollup (rollup.h, "Segments"; storage/README.md,
// "Segments"): which value of each [[dimension]] a session is counted under,
// the cardinality cap, and the segment counters written when it closes.
#include <algorithm>

#include "storage/aggregate/counter_keys.h"
#include "storage/aggregate/dimensions.h"
#include "storage/aggregate/rollup.h"

namespace foothold::storage {

void Rollup::LoadDimensionValues(const std::vector<std::pair<std::string, std::string>>& values) {
  for (const auto& [name, value] : values) {
    for (Dim& dim : dims_) {
      if (dim.def->name == name) dim.values.insert(value);
    }
  }
}

std::string Rollup::Admit(size_t i, std::string value, CounterDeltas* d) {
  Dim& dim = dims_[i];
  if (dim.values.contains(value)) return value;
  // Values loaded from a store whose cap was larger stay counted; new ones
  // only while fewer than max_values are.
  if (dim.values.size() >= dim.def->max_values) return kValueOther;
  dim.values.insert(value);
  (*d)[DimensionValueKey(dim.def->name, value)] += 1;
  return value;
}

void Rollup::OpenSegments(SessionState* s, const proto::Event& e, CounterDeltas* d) {
  s->dims.clear();
  for (size_t i = 0; i < dims_.size(); ++i) {
    const config::Dimension& def = *dims_[i].def;
    if (!FromLandingEvent(def.kind)) continue;
    s->dims.emplace_back(def.name, Admit(i, LandingValue(def, e, timeout_ms_), d));
  }
}

void Rollup::PropSegments(SessionState* s, const proto::Event& e, CounterDeltas* d) {
  if (e.props.empty()) return;
  for (size_t i = 0; i < dims_.size(); ++i) {
    const config::Dimension& def = *dims_[i].def;
    if (def.kind != config::DimensionKind::kProp) continue;
    auto has = [&](const auto& p) { return p.first == def.name; };
    if (std::any_of(s->dims.begin(), s->dims.end(), has)) continue;  // set by an earlier event
    std::string value;
    if (PropValue(def, e, &value)) s->dims.emplace_back(def.name, Admit(i, std::move(value), d));
  }
}

void Rollup::CloseSegments(const SessionState& s, const std::vector<std::string>& keys, int64_t day,
                           CounterDeltas* d) const {
  for (const Dim& dim : dims_) {
    const config::Dimension& def = *dim.def;
    std::string value;
    if (def.kind == config::DimensionKind::kExperiment) {
      // Bounded by the config (its variants, "$other", "(none)"): no cap needed.
      value = kValueNone;
      for (const SessionState::Exposure& x : s.exposures) {
        if (x.experiment != def.experiment) continue;
        auto known = experiment_ids_.find(x.experiment);
        const std::vector<std::string>& variants = experiments_[known->second].variants;
        const bool listed = std::find(variants.begin(), variants.end(), x.variant) != variants.end();
        value = listed ? x.variant : "$other";
      }
    } else {
      auto it = std::find_if(s.dims.begin(), s.dims.end(), [&](const auto& p) { return p.first == def.name; });
      // A prop never seen is "(none)"; a landing value missing means the
      // dimension was defined after the session opened.
      value = it != s.dims.end() ? it->second : def.kind == config::DimensionKind::kProp ? kValueNone : kValueUnknown;
    }
    const std::string prefix = SegmentPrefix(def.name, value);
    auto add = [&](const std::string& key) { (*d)[prefix + key] += 1; };
    add(SessionsWithKey(kSeriesClosed, day));
    for (const SessionState::Occurrence& o : s.first) {
      if (o.conv < names_.size()) add(SessionsWithKey(names_[o.conv], day));
    }
    for (const std::string& key : keys) add(key);
  }
}

}  // namespace foothold::storage
