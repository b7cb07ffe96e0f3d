#include "storage/aggregate/rollup.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "proto/coding.h"
#include "storage/aggregate/counter_keys.h"

namespace foothold::storage {
namespace {

// The path of a url: "/p/1" for "https://shop.example/p/1?x#y" and for "/p/1?x".
std::string_view UrlPath(std::string_view url) {
  size_t start = 0;
  if (!url.starts_with("/")) {
    size_t scheme = url.find("://");
    if (scheme == std::string_view::npos) return {};
    start = url.find('/', scheme + 3);
    if (start == std::string_view::npos) return "/";
  } else if (url.starts_with("//")) {  // scheme-relative: //host/path
    start = url.find('/', 2);
    if (start == std::string_view::npos) return "/";
  }
  // Two memchr scans: string_view::find_first_of("?#") calls memchr on "?#" per character.
  const size_t end = std::min(url.find('?', start), url.find('#', start));
  return url.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
}

bool Before(int64_t t1, uint64_t s1, int64_t t2, uint64_t s2) {
  return std::tie(t1, s1) < std::tie(t2, s2);
}

int64_t Second(int64_t ms) { return BucketStart(ms, 1000) / 1000; }

void Add(CounterDeltas* d, std::string key, int64_t delta) { (*d)[std::move(key)] += delta; }

// The closing wheel's packed id lists: length-prefixed ids, one after another.
void AppendId(std::string_view id, std::string* out) { proto::PutLengthPrefixed(out, id); }

// REQUIRES: *in starts with an id written by AppendId.
std::string_view NextId(std::string_view* in) {
  std::string_view id;
  if (!proto::GetLengthPrefixed(in, &id)) in->remove_prefix(in->size());  // never: written above
  return id;
}

}  // namespace

Rollup::Rollup(AnalyticsDefs defs, int64_t session_timeout_ms, SessionSource* source,
               size_t cache_sessions)
    : defs_(std::move(defs)),
      timeout_ms_(session_timeout_ms),
      source_(source),
      cache_sessions_(cache_sessions) {
  micro_count_ = defs_.micro.size();
  auto add = [&](const std::string& name, const config::Matcher* m, int64_t dwell_ms) {
    auto id = static_cast<uint16_t>(names_.size());
    names_.push_back(name);
    matchers_.push_back(m);
    dwell_min_ms_.push_back(dwell_ms);
    if (m != nullptr) by_event_[m->event].push_back(id);
    if (dwell_ms > 0) dwell_ids_.push_back(id);
  };
  for (const config::MicroConversion& m : defs_.micro) {
    if (m.kind == config::MicroConversion::Kind::kDwell) {
      add(m.name, nullptr, std::max<int64_t>(1, m.dwell.min_engaged_ms));
    } else {
      add(m.name, &m.match, 0);
    }
  }
  for (const config::MacroConversion& m : defs_.macro) add(m.name, &m.match, 0);
  conv_events_.assign(names_.size(), 0);
  conv_sessions_.assign(names_.size(), 0);
  auto id_of = [&](const std::string& name) -> uint16_t {
    auto it = std::find(names_.begin(), names_.end(), name);
    return it == names_.end() ? SessionState::kOther : static_cast<uint16_t>(it - names_.begin());
  };
  for (const config::Funnel& f : defs_.funnels) {
    Funnel c{f.name, {}, f.window_ms, f.mode};
    for (const std::string& step : f.steps) c.steps.push_back(id_of(step));
    if (f.mode == config::FunnelMode::kStrict) record_all_hits_ = true;
    funnels_.push_back(std::move(c));
  }
  for (const config::Experiment& x : defs_.experiments) {
    experiment_ids_[x.name] = static_cast<uint16_t>(experiments_.size());
    experiments_.push_back(Experiment{x.name, id_of(x.target), x.variants});
  }
  funnel_step_.assign(names_.size(), false);
  experiment_target_.assign(names_.size(), false);
  for (const Funnel& f : funnels_) {
    for (uint16_t step : f.steps) {
      if (step < names_.size()) funnel_step_[step] = true;
    }
  }
  for (const Experiment& x : experiments_) {
    if (x.target < names_.size()) experiment_target_[x.target] = true;
  }
  for (const config::Dimension& dim : defs_.dimensions) {
    dims_.push_back(Dim{&dim, {}});
    prop_dims_ = prop_dims_ || dim.kind == config::DimensionKind::kProp;
  }
}

bool Rollup::Matches(const config::Matcher& m, const proto::Event& e) const {
  if (!m.url_prefix.empty() && !UrlPath(e.url).starts_with(m.url_prefix)) return false;
  for (const config::Predicate& p : m.where) {
    const std::string* str = nullptr;
    if (p.field == "event") str = &e.event;
    else if (p.field == "url") str = &e.url;
    else if (p.field == "referrer") str = &e.referrer;
    else if (p.field == "title") str = &e.title;
    if (str != nullptr) {
      const std::string* want = std::get_if<std::string>(&p.value);
      if (want == nullptr || *want != *str) return false;
      continue;
    }
    std::string_view key = std::string_view(p.field).substr(sizeof("props.") - 1);
    auto prop = std::find_if(e.props.begin(), e.props.end(),
                             [&](const proto::Prop& q) { return q.key == key; });
    if (prop == e.props.end()) return false;
    bool equal = false;
    if (const auto* s = std::get_if<std::string>(&p.value)) {
      equal = prop->type == proto::PropType::kString && prop->str == *s;
    } else if (const auto* n = std::get_if<double>(&p.value)) {
      equal = prop->type == proto::PropType::kNumber && prop->number == *n;
    } else if (const auto* b = std::get_if<bool>(&p.value)) {
      equal = prop->type == proto::PropType::kBool && prop->boolean == *b;
    }
    if (!equal) return false;
  }
  return true;
}


void Rollup::Apply(const proto::Event& e, CounterDeltas* d) {
  const bool counted = !e.bot && (e.flags & proto::kFlagClockTick) == 0;
  Entry* en = nullptr;
  if (counted) {
    // Closing is evaluated against the watermark before this event, exactly
    // as if every due session had been closed right after the previous one.
    en = Lookup(e.session_id);
    if (en != nullptr && en->state.last_received_ms < watermark_ms_) {
      auto it = sessions_.find(e.session_id);
      Close(it->first, en, d);
      Erase(it);
      en = nullptr;
    }
  }
  watermark_ms_ = std::max(watermark_ms_, e.received_at_ms - timeout_ms_);
  if (!counted) return;

  if (en == nullptr) {
    auto it = Insert(e.session_id, SessionState{});
    en = &it->second;
    ++open_sessions_;
    Open(&en->state, e);
    if (!dims_.empty()) OpenSegments(&en->state, e, d);
    File(Second(e.received_at_ms), e.session_id);
  } else {
    SessionState& s = en->state;
    if (e.event_time_ms < s.start_ms) {
      MoveSeries(kAllId, 's', s.start_ms, e.event_time_ms);
      s.start_ms = e.event_time_ms;
    }
    s.last_received_ms = std::max(s.last_received_ms, e.received_at_ms);
  }
  SessionState& s = en->state;
  ++s.events;
  AddSeries(kAllId, 'e', e.event_time_ms, 1);
  if (!e.source.empty()) {
    auto [src, added] = source_ids_.try_emplace(e.source, static_cast<uint16_t>(kSourceBase + source_series_.size()));
    if (added && source_series_.size() >= kMaxSources) {
      source_ids_.erase(src);
    } else {
      if (added) source_series_.push_back(SourceSeriesName(e.source));
      AddSeries(src->second, 'e', e.event_time_ms, 1);
    }
  }

  const uint64_t hits_before = s.hits;
  if (auto m = by_event_.find(e.event); m != by_event_.end()) {
    for (uint16_t conv : m->second) {
      if (Matches(*matchers_[conv], e)) Occur(en, conv, e.event_time_ms, e.seq);
    }
  }
  if (!dwell_ids_.empty()) Dwell(en, e);
  if (prop_dims_) PropSegments(&s, e, d);
  for (const auto& [name, variant] : e.experiments) {
    if (!experiment_ids_.contains(name)) continue;
    auto seen = std::find_if(s.exposures.begin(), s.exposures.end(),
                             [&n = name](const SessionState::Exposure& x) { return x.experiment == n; });
    if (seen == s.exposures.end()) {
      s.exposures.push_back({name, variant, e.event_time_ms, e.seq});
    } else if (Before(e.event_time_ms, e.seq, seen->time_ms, seen->seq)) {
      *seen = {name, variant, e.event_time_ms, e.seq};
    }
  }
  if (record_all_hits_ && s.hits == hits_before && !s.hits_truncated) {
    RecordHit(en, SessionState::kOther, e.event_time_ms, e.seq);
  }
  if (s.pending.size() >= kHitChunk) Seal(en);
  MarkDirty(e.session_id, en);
}

Rollup::Entry* Rollup::Lookup(const std::string& id) {
  if (auto it = sessions_.find(id); it != sessions_.end()) {
    if (source_ != nullptr) lru_.splice(lru_.begin(), lru_, it->second.lru);
    return &it->second;
  }
  if (source_ == nullptr || !status_.ok() || closed_now_.contains(id)) return nullptr;
  SessionState s;
  Status st = source_->ReadHead(id, &s);
  if (st.code() == Status::Code::kNotFound) return nullptr;
  if (!st.ok()) {
    status_ = st;
    return nullptr;
  }
  return &Insert(id, std::move(s))->second;
}

Rollup::Sessions::iterator Rollup::Insert(const std::string& id, SessionState state) {
  auto [it, created] = sessions_.try_emplace(id);
  (void)created;  // REQUIRES: not in memory
  it->second.state = std::move(state);
  if (source_ != nullptr) {
    lru_.push_front(&it->first);
    it->second.lru = lru_.begin();
  }
  return it;
}

void Rollup::Erase(Sessions::iterator it) {
  if (source_ != nullptr) lru_.erase(it->second.lru);
  sessions_.erase(it);
}

void Rollup::MarkDirty(const std::string& id, Entry* en) {
  if (en->dirty) return;
  en->dirty = true;
  dirty_.push_back(id);
}

void Rollup::Open(SessionState* s, const proto::Event& e) {
  s->start_ms = e.event_time_ms;
  s->last_received_ms = e.received_at_ms;
  AddSeries(kAllId, 's', e.event_time_ms, 1);
}

void Rollup::Occur(Entry* en, uint16_t conv, int64_t time_ms, uint64_t seq) {
  SessionState* s = &en->state;
  AddSeries(conv, 'e', time_ms, 1);
  ++conv_events_[conv];
  auto f = std::find_if(s->first.begin(), s->first.end(),
                        [&](const SessionState::Occurrence& f) { return f.conv == conv; });
  if (f == s->first.end()) {
    s->first.push_back({conv, time_ms, seq});
    AddSeries(conv, 's', time_ms, 1);
    ++conv_sessions_[conv];
  } else if (Before(time_ms, seq, f->time_ms, f->seq)) {
    MoveSeries(conv, 's', f->time_ms, time_ms);
    f->time_ms = time_ms;
    f->seq = seq;
  }
  RecordHit(en, conv, time_ms, seq);
}

uint32_t Rollup::KeptAs(uint16_t conv) const {
  if (conv != SessionState::kOther && funnel_step_[conv]) return conv;
  // A strict funnel breaks on any event that is not one of its steps.
  return record_all_hits_ ? SessionState::kOther : kDrop;
}

void Rollup::RecordHit(Entry* en, uint16_t conv, int64_t time_ms, uint64_t seq) const {
  SessionState& s = en->state;
  if (s.hits >= kMaxHits) {
    s.hits_truncated = true;
    return;
  }
  ++s.hits;
  if (conv != SessionState::kOther && experiment_target_[conv]) {
    auto l = std::find_if(s.last.begin(), s.last.end(),
                          [&](const SessionState::Occurrence& o) { return o.conv == conv; });
    if (l == s.last.end()) {
      s.last.push_back({conv, time_ms, seq});
    } else if (Before(l->time_ms, l->seq, time_ms, seq)) {
      *l = {conv, time_ms, seq};
    }
  }
  const uint32_t kept = KeptAs(conv);
  if (kept != kDrop) s.pending.push_back({time_ms, seq, static_cast<uint16_t>(kept)});
}

void Rollup::Seal(Entry* en) const {
  en->new_chunks.push_back(std::move(en->state.pending));
  en->state.pending.clear();
  ++en->state.chunks;
}

// Only minute cells are summed per event; DrainSeries adds each to its hour
// and day too (minutes nest in hours and UTC days), one map update per event
// instead of three. A counter's delta is the same sum either way.
void Rollup::AddSeries(uint16_t name, char field, int64_t t_ms, int64_t delta) {
  series_[{name, field, static_cast<char>(Gran::kMinute), BucketStart(t_ms, GranMs(Gran::kMinute))}] += delta;
}

void Rollup::MoveSeries(uint16_t name, char field, int64_t from_ms, int64_t to_ms) {
  const int64_t from = BucketStart(from_ms, GranMs(Gran::kMinute));
  const int64_t to = BucketStart(to_ms, GranMs(Gran::kMinute));
  if (from == to) return;
  series_[{name, field, static_cast<char>(Gran::kMinute), from}] -= 1;
  series_[{name, field, static_cast<char>(Gran::kMinute), to}] += 1;
}

void Rollup::DrainSeries(CounterDeltas* d) {
  for (const auto& [cell, delta] : series_) {
    if (delta == 0) continue;
    const std::string_view name = cell.name == kAllId      ? std::string_view(kSeriesAll)
                                  : cell.name == kClosedId ? std::string_view(kSeriesClosed)
                                  : cell.name >= kSourceBase
                                      ? std::string_view(source_series_[cell.name - kSourceBase])
                                      : std::string_view(names_[cell.name]);
    if (cell.gran != static_cast<char>(Gran::kMinute)) {  // "$closed": day cells only
      (*d)[SeriesKey(name, cell.field, static_cast<Gran>(cell.gran), cell.bucket_ms)] += delta;
      continue;
    }
    for (Gran g : kGrans) {  // a minute's start: its hour and day as well
      (*d)[SeriesKey(name, cell.field, g, BucketStart(cell.bucket_ms, GranMs(g)))] += delta;
    }
  }
  series_.clear();
}

void Rollup::Dwell(Entry* en, const proto::Event& e) {
  SessionState* s = &en->state;
  const std::string_view path = UrlPath(e.url);
  if (path.empty()) return;
  uint64_t hash = 0;  // computed once a dwell conversion's prefix matches
  for (uint16_t conv : dwell_ids_) {
    const config::MicroConversion& def = defs_.micro[conv];
    if (!path.starts_with(def.dwell.url_prefix)) continue;
    if (hash == 0) hash = PagePathHash(path);
    auto page = std::find_if(s->pages.begin(), s->pages.end(), [&](const SessionState::PageView& p) {
      return p.conv == conv && p.path_hash == hash;
    });
    if (page == s->pages.end() || e.event == "page_view") {
      if (page == s->pages.end()) {
        if (s->pages.size() >= kMaxPages) s->pages.erase(s->pages.begin());
        s->pages.push_back({conv, false, 0, hash});
        page = s->pages.end() - 1;
      } else {
        *page = {conv, false, 0, hash};
      }
    }
    if (e.engaged_ms && *e.engaged_ms > 0) page->engaged_ms += *e.engaged_ms;
    if (!page->fired && page->engaged_ms >= dwell_min_ms_[conv]) {
      page->fired = true;
      Occur(en, conv, e.event_time_ms, e.seq);
    }
  }
}

void Rollup::File(int64_t sec, std::string_view id) { AppendId(id, &by_second_[sec]); }

void Rollup::AddStoredSession(std::string_view session_id, int64_t last_received_ms) {
  ++open_sessions_;
  File(Second(last_received_ms), session_id);
}

void Rollup::CloseDue(CounterDeltas* d) {
  // One entry per session, filed under the second it opened; this moves it
  // forward when the session turns out to be newer. Memory stays O(open
  // sessions) however long and busy the sessions are.
  while (!by_second_.empty() && status_.ok()) {
    auto bucket = by_second_.begin();
    const int64_t sec = bucket->first;
    if (sec * 1000 >= watermark_ms_) break;  // everything here and later is newer
    const std::string ids = std::move(bucket->second);
    by_second_.erase(bucket);
    std::string keep;
    std::string id;
    for (std::string_view rest = ids; !rest.empty();) {
      id.assign(NextId(&rest));
      Entry* en = Lookup(id);
      if (en == nullptr) continue;  // closed already
      const int64_t now_sec = Second(en->state.last_received_ms);
      if (now_sec > sec) {  // active since it was filed: file it under its newest second
        File(now_sec, id);
        continue;
      }
      if (en->state.last_received_ms < watermark_ms_) {
        auto it = sessions_.find(id);
        Close(it->first, en, d);
        Erase(it);
      } else {
        AppendId(id, &keep);
      }
    }
    if (!keep.empty()) {  // the watermark falls inside this second
      by_second_[sec] = std::move(keep);
      break;
    }
  }
}

void Rollup::Close(const std::string& id, Entry* en, CounterDeltas* d) {
  const SessionState& s = en->state;
  ++sessions_closed_;
  --open_sessions_;
  std::vector<SessionState::Hit> hits;
  if (source_ != nullptr) {
    std::vector<uint64_t> rows;
    if (s.chunks > en->new_chunks.size()) {
      // Earlier batches stored some of its chunks (this batch's are in new_chunks).
      Status st = source_->ReadHits(id, &hits, &rows);
      if (!st.ok() && status_.ok()) status_ = st;
    }
    closed_.emplace_back(id, std::move(rows));
    closed_now_.insert(id);
  }
  for (const auto& chunk : en->new_chunks) hits.insert(hits.end(), chunk.begin(), chunk.end());
  hits.insert(hits.end(), s.pending.begin(), s.pending.end());

  const int64_t day = BucketStart(s.start_ms, kDayBucketMs);
  series_[{kClosedId, 's', static_cast<char>(Gran::kDay), day}] += 1;
  std::vector<std::string> keys;  // the close-time counters this session adds 1 to

  auto find = [](const std::vector<SessionState::Occurrence>& list,
                 uint16_t conv) -> const SessionState::Occurrence* {
    for (const SessionState::Occurrence& o : list) {
      if (o.conv == conv) return &o;
    }
    return nullptr;
  };
  // Lift: for every macro-conversion target, each micro-conversion's cell.
  for (size_t t = micro_count_; t < names_.size(); ++t) {
    const SessionState::Occurrence* target = find(s.first, static_cast<uint16_t>(t));
    for (size_t x = 0; x < micro_count_; ++x) {
      const SessionState::Occurrence* micro = find(s.first, static_cast<uint16_t>(x));
      bool did = micro != nullptr &&
                 (target == nullptr || Before(micro->time_ms, micro->seq, target->time_ms, target->seq));
      char cell = target != nullptr ? (did ? 'a' : 'c') : (did ? 'b' : 'd');
      keys.push_back(LiftKey(names_[t], day, names_[x], cell));
    }
  }

  if (!funnels_.empty()) {
    // Arrival order -> (event_time, seq); one event's hits keep their order.
    std::stable_sort(hits.begin(), hits.end(), [](const auto& a, const auto& b) {
      return Before(a.time_ms, a.seq, b.time_ms, b.seq);
    });
    for (const Funnel& f : funnels_) CloseFunnel(f, hits, day, &keys);
  }

  for (const SessionState::Exposure& x : s.exposures) {
    auto known = experiment_ids_.find(x.experiment);
    if (known == experiment_ids_.end()) continue;
    const Experiment& exp = experiments_[known->second];
    const bool listed = std::find(exp.variants.begin(), exp.variants.end(), x.variant) != exp.variants.end();
    const std::string variant = listed ? x.variant : "$other";
    keys.push_back(ExperimentKey(exp.name, day, variant, 'n'));
    bool converted = false;
    for (const auto* list : {&s.first, &s.last}) {
      if (const SessionState::Occurrence* o = find(*list, exp.target)) {
        converted = converted || !Before(o->time_ms, o->seq, x.time_ms, x.seq);
      }
    }
    if (converted) keys.push_back(ExperimentKey(exp.name, day, variant, 'c'));
  }
  if (!dims_.empty()) CloseSegments(s, keys, day, d);
  for (std::string& k : keys) Add(d, std::move(k), 1);
}
// PostHog's funnel state machine (funnel-udf steps.rs), per session over its
// hits in (event_time, seq) order. chain[k] holds the step times of the
// newest chain that reached step k; the first chain to reach the deepest step
// is the one reported, with its times to convert.
void Rollup::CloseFunnel(const Funnel& f, const std::vector<SessionState::Hit>& hits, int64_t day,
                         std::vector<std::string>* keys) const {
  const size_t n = f.steps.size();
  std::vector<int64_t> best;  // step times of the reported chain
  if (f.mode == config::FunnelMode::kAny) {
    for (size_t i = 0; i < hits.size(); ++i) {
      if (std::find(f.steps.begin(), f.steps.end(), hits[i].conv) == f.steps.end()) continue;
      const int64_t t0 = hits[i].time_ms;
      std::vector<bool> seen(n, false);
      std::vector<int64_t> times;
      for (size_t j = i; j < hits.size() && hits[j].time_ms - t0 <= f.window_ms; ++j) {
        for (size_t k = 0; k < n; ++k) {  // one event per step: its first unseen step
          if (f.steps[k] == hits[j].conv && !seen[k]) {
            seen[k] = true;
            times.push_back(hits[j].time_ms);
            break;
          }
        }
      }
      if (times.size() > best.size()) best = std::move(times);
    }
  } else {
    std::vector<std::vector<int64_t>> chain(n);  // empty: step not reached
    std::vector<bool> matched(n);
    for (const SessionState::Hit& h : hits) {
      for (size_t k = 0; k < n; ++k) matched[k] = f.steps[k] == h.conv;
      for (size_t k = n; k-- > 0;) {  // reverse: one event advances at most one step
        if (!matched[k]) continue;
        if (k == 0) {
          chain[0] = {h.time_ms};  // a new step 1 restarts the chain
        } else if (!chain[k - 1].empty() && h.time_ms - chain[k - 1][0] <= f.window_ms) {
          chain[k] = chain[k - 1];
          chain[k].push_back(h.time_ms);
        } else {
          continue;
        }
        if (chain[k].size() > best.size()) best = chain[k];
      }
      if (f.mode == config::FunnelMode::kStrict) {
        for (size_t k = 0; k < n; ++k) {
          if (!matched[k]) chain[k].clear();
        }
      }
    }
  }
  for (size_t k = 0; k < best.size(); ++k) {
    keys->push_back(FunnelReachedKey(f.name, day, k));
    if (k > 0) keys->push_back(FunnelTimeKey(f.name, day, k, TimeBin(best[k] - best[0])));
  }
}

int64_t Rollup::NextCloseMs() const {
  if (by_second_.empty()) return INT64_MAX;
  return by_second_.begin()->first * 1000 + timeout_ms_;
}

void Rollup::PutRows(const std::string& id, const Entry& en, std::vector<Row>* rows) const {
  rows->push_back({SessionHeadKey(id), EncodeHead(en.state), false});
  for (const auto& chunk : en.new_chunks) {
    rows->push_back({SessionHitKey(id, chunk.front().seq), EncodeHits(chunk), false});
  }
}

void Rollup::Persist(SessionSink* sink, bool all) {
  // Sorted by key: RocksDB inserts a sorted batch into its memtable with far
  // fewer comparisons. Deletes come first for a key (a session closed and
  // opened again under the same id in one batch).
  std::vector<Row> rows;
  if (all) {
    for (const auto& [id, en] : sessions_) PutRows(id, en, &rows);
  } else {
    for (const auto& [id, seqs] : closed_) {
      rows.push_back({SessionHeadKey(id), {}, true});
      for (uint64_t seq : seqs) rows.push_back({SessionHitKey(id, seq), {}, true});
    }
    closed_.clear();
    closed_now_.clear();
    for (const std::string& id : dirty_) {
      auto it = sessions_.find(id);
      if (it == sessions_.end() || !it->second.dirty) continue;  // closed since, or done
      PutRows(id, it->second, &rows);
      it->second.dirty = false;
      if (source_ != nullptr) it->second.new_chunks.clear();  // stored now: Close reads them back
    }
    dirty_.clear();
  }
  // Sorting positions, not the rows: no key or value string is moved.
  std::vector<uint32_t> order(rows.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&rows](uint32_t a, uint32_t b) { return rows[a].key < rows[b].key; });
  for (uint32_t i : order) {
    const Row& r = rows[i];
    if (r.erase) {
      sink->Delete(r.key);
    } else {
      sink->Put(r.key, r.value);
    }
  }
}

void Rollup::Evict() {
  if (source_ == nullptr) return;
  while (sessions_.size() > cache_sessions_ && !lru_.empty()) {
    auto it = sessions_.find(*lru_.back());
    if (it->second.dirty) break;  // not persisted yet: never before Persist
    Erase(it);
  }
}

}  // namespace foothold::storage
