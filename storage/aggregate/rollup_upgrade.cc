// Rollup's upgrades of stored session states (rollup.h; storage/README.md,
// "Session state", Upgrades): remapping conversion ids written under other
// definitions, and converting version 1 states to head + chunks.
#include <algorithm>

#include "storage/aggregate/rollup.h"

namespace foothold::storage {

uint16_t Rollup::RemapConv(uint16_t conv, const std::vector<std::string>& stored_names) const {
  if (conv == SessionState::kOther || conv >= stored_names.size()) return SessionState::kOther;
  auto it = std::find(names_.begin(), names_.end(), stored_names[conv]);
  return it == names_.end() ? SessionState::kOther : static_cast<uint16_t>(it - names_.begin());
}

void Rollup::RemapHead(SessionState* s, const std::vector<std::string>& stored_names) const {
  if (stored_names == names_) return;
  for (auto* list : {&s->first, &s->last}) {
    for (auto& o : *list) o.conv = RemapConv(o.conv, stored_names);
    std::erase_if(*list, [](const auto& o) { return o.conv == SessionState::kOther; });
  }
  std::erase_if(s->last, [&](const auto& o) { return !experiment_target_[o.conv]; });
  for (auto& h : s->pending) h.conv = RemapConv(h.conv, stored_names);
  for (auto& p : s->pages) p.conv = RemapConv(p.conv, stored_names);
  std::erase_if(s->pages, [&](const auto& p) {
    return p.conv == SessionState::kOther || dwell_min_ms_[p.conv] == 0;
  });
}

std::vector<std::pair<uint64_t, std::string>> Rollup::UpgradeV1Hits(
    SessionState* s, const std::vector<SessionState::Hit>& hits) const {
  // Replays RecordHit (and the sealing at event boundaries) over the recorded
  // hits: the same `last`, pending hits and chunks as if these events had
  // been applied by this version.
  Entry en;
  en.state = std::move(*s);
  en.state.hits = 0;
  en.state.last.clear();
  en.state.pending.clear();
  en.state.chunks = 0;
  for (size_t i = 0; i < hits.size(); ++i) {
    RecordHit(&en, hits[i].conv, hits[i].time_ms, hits[i].seq);
    const bool event_ends = i + 1 == hits.size() || hits[i + 1].seq != hits[i].seq;
    if (event_ends && en.state.pending.size() >= kHitChunk) Seal(&en);
  }
  *s = std::move(en.state);
  std::vector<std::pair<uint64_t, std::string>> rows;
  for (const auto& chunk : en.new_chunks) rows.emplace_back(chunk.front().seq, EncodeHits(chunk));
  return rows;
}

}  // namespace foothold::storage
