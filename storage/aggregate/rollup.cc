#include "storage/aggregate/rollup.h"

#include <algorithm>
#include <tuple>
#include <utility>

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
  size_t end = url.find_first_of("?#", start);
  return url.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
}

bool Before(int64_t t1, uint64_t s1, int64_t t2, uint64_t s2) {
  return std::tie(t1, s1) < std::tie(t2, s2);
}

int64_t Second(int64_t ms) { return BucketStart(ms, 1000) / 1000; }

void Add(CounterDeltas* d, std::string key, int64_t delta) { (*d)[std::move(key)] += delta; }


// ---- State codec: a version byte, then varints (zigzag for signed). ----
constexpr uint8_t kStateVersion = 1;

void PutVar(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
void PutSigned(int64_t v, std::string* out) {
  PutVar((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63), out);
}
void PutStr(std::string_view s, std::string* out) {
  PutVar(s.size(), out);
  out->append(s);
}

struct Reader {
  std::string_view in;
  bool ok = true;
  uint64_t Var() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in.empty()) break;
      uint8_t b = static_cast<uint8_t>(in[0]);
      in.remove_prefix(1);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    ok = false;
    return 0;
  }
  int64_t Signed() {
    uint64_t v = Var();
    return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  std::string Str() {
    uint64_t n = Var();
    if (!ok || n > in.size()) {
      ok = false;
      return {};
    }
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
  // A count of entries, each at least one byte: bounds allocation on corrupt input.
  uint64_t Count() {
    uint64_t n = Var();
    if (n > in.size()) ok = false;
    return ok ? n : 0;
  }
};

}  // namespace

Rollup::Rollup(AnalyticsDefs defs, int64_t session_timeout_ms)
    : defs_(std::move(defs)), timeout_ms_(session_timeout_ms) {
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
  if (counted) {
    // Closing is evaluated against the watermark before this event, exactly
    // as if every due session had been closed right after the previous one.
    auto it = sessions_.find(e.session_id);
    if (it != sessions_.end() && it->second.last_received_ms < watermark_ms_) {
      Close(it->first, it->second, d);
      sessions_.erase(it);
    }
  }
  watermark_ms_ = std::max(watermark_ms_, e.received_at_ms - timeout_ms_);
  if (!counted) return;

  auto [it, created] = sessions_.try_emplace(e.session_id);
  SessionState& s = it->second;
  const int64_t old_received = s.last_received_ms;
  if (created) {
    Open(&s, e);
  } else {
    if (e.event_time_ms < s.start_ms) {
      MoveSeries(kAllId, 's', s.start_ms, e.event_time_ms);
      s.start_ms = e.event_time_ms;
    }
    s.last_received_ms = std::max(s.last_received_ms, e.received_at_ms);
  }
  ++s.events;
  AddSeries(kAllId, 'e', e.event_time_ms, 1);

  const size_t hits_before = s.hits.size();
  if (auto m = by_event_.find(e.event); m != by_event_.end()) {
    for (uint16_t conv : m->second) {
      if (Matches(*matchers_[conv], e)) Occur(&s, conv, e.event_time_ms, e.seq);
    }
  }
  if (!dwell_ids_.empty()) Dwell(&s, e);
  for (const auto& [name, variant] : e.experiments) {
    if (!experiment_ids_.contains(name)) continue;
    auto seen = std::find_if(s.exposures.begin(), s.exposures.end(),
                             [&](const SessionState::Exposure& x) { return x.experiment == name; });
    if (seen == s.exposures.end()) {
      s.exposures.push_back({name, variant, e.event_time_ms, e.seq});
    } else if (Before(e.event_time_ms, e.seq, seen->time_ms, seen->seq)) {
      *seen = {name, variant, e.event_time_ms, e.seq};
    }
  }
  if (record_all_hits_ && s.hits.size() == hits_before && !s.hits_truncated) {
    if (s.hits.size() < kMaxHits) {
      s.hits.push_back({e.event_time_ms, e.seq, SessionState::kOther});
    } else {
      s.hits_truncated = true;
    }
  }
  Track(it->first, created ? INT64_MIN : old_received, s);
  touched_.insert(it->first);
}

void Rollup::Open(SessionState* s, const proto::Event& e) {
  s->start_ms = e.event_time_ms;
  s->last_received_ms = e.received_at_ms;
  AddSeries(kAllId, 's', e.event_time_ms, 1);
}

void Rollup::Occur(SessionState* s, uint16_t conv, int64_t time_ms, uint64_t seq) {
  AddSeries(conv, 'e', time_ms, 1);
  ++conv_events_[conv];
  auto f = std::find_if(s->first.begin(), s->first.end(),
                        [&](const SessionState::First& f) { return f.conv == conv; });
  if (f == s->first.end()) {
    s->first.push_back({conv, time_ms, seq});
    AddSeries(conv, 's', time_ms, 1);
    ++conv_sessions_[conv];
  } else if (Before(time_ms, seq, f->time_ms, f->seq)) {
    MoveSeries(conv, 's', f->time_ms, time_ms);
    f->time_ms = time_ms;
    f->seq = seq;
  }
  if (s->hits.size() < kMaxHits) {
    s->hits.push_back({time_ms, seq, conv});
  } else {
    s->hits_truncated = true;
  }
}

void Rollup::AddSeries(uint16_t name, char field, int64_t t_ms, int64_t delta) {
  for (Gran g : kGrans) series_[{name, field, static_cast<char>(g), BucketStart(t_ms, GranMs(g))}] += delta;
}

void Rollup::MoveSeries(uint16_t name, char field, int64_t from_ms, int64_t to_ms) {
  for (Gran g : kGrans) {
    int64_t from = BucketStart(from_ms, GranMs(g));
    int64_t to = BucketStart(to_ms, GranMs(g));
    if (from == to) continue;
    series_[{name, field, static_cast<char>(g), from}] -= 1;
    series_[{name, field, static_cast<char>(g), to}] += 1;
  }
}

void Rollup::DrainSeries(CounterDeltas* d) {
  for (const auto& [cell, delta] : series_) {
    if (delta == 0) continue;
    const std::string_view name = cell.name == kAllId ? std::string_view(kSeriesAll)
                                  : cell.name == kClosedId ? std::string_view(kSeriesClosed)
                                                           : std::string_view(names_[cell.name]);
    (*d)[SeriesKey(name, cell.field, static_cast<Gran>(cell.gran), cell.bucket_ms)] += delta;
  }
  series_.clear();
}

void Rollup::Dwell(SessionState* s, const proto::Event& e) {
  const std::string_view path = UrlPath(e.url);
  if (path.empty()) return;
  for (uint16_t conv : dwell_ids_) {
    const config::MicroConversion& def = defs_.micro[conv];
    if (!path.starts_with(def.dwell.url_prefix)) continue;
    auto page = std::find_if(s->pages.begin(), s->pages.end(), [&](const SessionState::PageView& p) {
      return p.conv == conv && p.path == path;
    });
    if (page == s->pages.end() || e.event == "page_view") {
      if (page == s->pages.end()) {
        if (s->pages.size() >= kMaxPages) s->pages.erase(s->pages.begin());
        s->pages.push_back({conv, false, 0, std::string(path)});
        page = s->pages.end() - 1;
      } else {
        *page = {conv, false, 0, std::string(path)};
      }
    }
    if (e.engaged_ms && *e.engaged_ms > 0) page->engaged_ms += *e.engaged_ms;
    if (!page->fired && page->engaged_ms >= dwell_min_ms_[conv]) {
      page->fired = true;
      Occur(s, conv, e.event_time_ms, e.seq);
    }
  }
}

void Rollup::Track(const std::string& id, int64_t old_received_ms, const SessionState& s) {
  // One entry per session, filed under the second it opened; CloseDue moves
  // it forward when the session turns out to be newer. Memory stays
  // O(open sessions) however long and busy the sessions are.
  if (old_received_ms == INT64_MIN) by_second_[Second(s.last_received_ms)].push_back(id);
}

void Rollup::CloseDue(CounterDeltas* d) {
  while (!by_second_.empty()) {
    auto bucket = by_second_.begin();
    const int64_t sec = bucket->first;
    if (sec * 1000 >= watermark_ms_) break;  // everything here and later is newer
    std::vector<std::string> keep;
    for (std::string& id : bucket->second) {
      auto it = sessions_.find(id);
      if (it == sessions_.end()) continue;  // closed already
      const int64_t now_sec = Second(it->second.last_received_ms);
      if (now_sec > sec) {  // active since it was filed: file it under its newest second
        by_second_[now_sec].push_back(std::move(id));
        continue;
      }
      if (it->second.last_received_ms < watermark_ms_) {
        Close(it->first, it->second, d);
        sessions_.erase(it);
      } else {
        keep.push_back(std::move(id));
      }
    }
    if (!keep.empty()) {  // the watermark falls inside this second
      bucket->second = std::move(keep);
      break;
    }
    by_second_.erase(bucket);
  }
}

void Rollup::Close(const std::string& id, const SessionState& s, CounterDeltas* d) {
  ++sessions_closed_;
  touched_.insert(id);
  const int64_t day = BucketStart(s.start_ms, kDayBucketMs);
  series_[{kClosedId, 's', static_cast<char>(Gran::kDay), day}] += 1;

  auto first_of = [&](uint16_t conv) -> const SessionState::First* {
    for (const SessionState::First& f : s.first) {
      if (f.conv == conv) return &f;
    }
    return nullptr;
  };
  // Lift: for every macro-conversion target, each micro-conversion's cell.
  for (size_t t = micro_count_; t < names_.size(); ++t) {
    const SessionState::First* target = first_of(static_cast<uint16_t>(t));
    for (size_t x = 0; x < micro_count_; ++x) {
      const SessionState::First* micro = first_of(static_cast<uint16_t>(x));
      bool did = micro != nullptr &&
                 (target == nullptr || Before(micro->time_ms, micro->seq, target->time_ms, target->seq));
      char cell = target != nullptr ? (did ? 'a' : 'c') : (did ? 'b' : 'd');
      Add(d, LiftKey(names_[t], day, names_[x], cell), 1);
    }
  }

  if (!funnels_.empty()) {
    std::vector<SessionState::Hit> hits = s.hits;  // arrival order -> (event_time, seq)
    std::sort(hits.begin(), hits.end(), [](const auto& a, const auto& b) {
      return Before(a.time_ms, a.seq, b.time_ms, b.seq);
    });
    for (const Funnel& f : funnels_) CloseFunnel(f, hits, day, d);
  }

  for (const SessionState::Exposure& x : s.exposures) {
    auto known = experiment_ids_.find(x.experiment);
    if (known == experiment_ids_.end()) continue;
    const Experiment& exp = experiments_[known->second];
    const bool listed = std::find(exp.variants.begin(), exp.variants.end(), x.variant) != exp.variants.end();
    const std::string variant = listed ? x.variant : "$other";
    Add(d, ExperimentKey(exp.name, day, variant, 'n'), 1);
    bool converted = false;
    if (const SessionState::First* f = first_of(exp.target)) {
      converted = !Before(f->time_ms, f->seq, x.time_ms, x.seq);
    }
    for (const SessionState::Hit& h : s.hits) {
      if (converted) break;
      converted = h.conv == exp.target && !Before(h.time_ms, h.seq, x.time_ms, x.seq);
    }
    if (converted) Add(d, ExperimentKey(exp.name, day, variant, 'c'), 1);
  }
}

// PostHog's funnel state machine (funnel-udf steps.rs), per session over its
// hits in (event_time, seq) order. chain[k] holds the step times of the
// newest chain that reached step k; the first chain to reach the deepest step
// is the one reported, with its times to convert.
void Rollup::CloseFunnel(const Funnel& f, const std::vector<SessionState::Hit>& hits, int64_t day,
                         CounterDeltas* d) const {
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
    Add(d, FunnelReachedKey(f.name, day, k), 1);
    if (k > 0) Add(d, FunnelTimeKey(f.name, day, k, TimeBin(best[k] - best[0])), 1);
  }
}

std::vector<std::string> Rollup::TakeTouched() {
  std::vector<std::string> out(touched_.begin(), touched_.end());
  touched_.clear();
  std::sort(out.begin(), out.end());
  return out;
}

int64_t Rollup::NextCloseMs() const {
  if (by_second_.empty()) return INT64_MAX;
  return by_second_.begin()->first * 1000 + timeout_ms_;
}

const SessionState* Rollup::Find(const std::string& session_id) const {
  auto it = sessions_.find(session_id);
  return it == sessions_.end() ? nullptr : &it->second;
}

std::string Rollup::EncodeState(const SessionState& s) {
  std::string out;
  out.push_back(static_cast<char>(kStateVersion));
  PutSigned(s.start_ms, &out);
  PutSigned(s.last_received_ms, &out);
  PutVar(s.events, &out);
  PutVar(s.hits_truncated ? 1 : 0, &out);
  PutVar(s.first.size(), &out);
  for (const auto& f : s.first) {
    PutVar(f.conv, &out);
    PutSigned(f.time_ms, &out);
    PutVar(f.seq, &out);
  }
  PutVar(s.hits.size(), &out);
  for (const auto& h : s.hits) {
    PutVar(h.conv, &out);
    PutSigned(h.time_ms, &out);
    PutVar(h.seq, &out);
  }
  PutVar(s.exposures.size(), &out);
  for (const auto& x : s.exposures) {
    PutStr(x.experiment, &out);
    PutStr(x.variant, &out);
    PutSigned(x.time_ms, &out);
    PutVar(x.seq, &out);
  }
  PutVar(s.pages.size(), &out);
  for (const auto& p : s.pages) {
    PutVar(p.conv, &out);
    PutVar(p.fired ? 1 : 0, &out);
    PutSigned(p.engaged_ms, &out);
    PutStr(p.path, &out);
  }
  return out;
}

Status Rollup::DecodeState(std::string_view in, SessionState* out) {
  *out = SessionState{};
  if (in.empty() || static_cast<uint8_t>(in[0]) != kStateVersion) {
    return Status::Corruption("session state: unknown version");
  }
  Reader r{in.substr(1)};
  out->start_ms = r.Signed();
  out->last_received_ms = r.Signed();
  out->events = r.Var();
  out->hits_truncated = r.Var() != 0;
  for (uint64_t n = r.Count(); n > 0 && r.ok; --n) {
    auto conv = static_cast<uint16_t>(r.Var());
    int64_t t = r.Signed();
    out->first.push_back({conv, t, r.Var()});
  }
  for (uint64_t n = r.Count(); n > 0 && r.ok; --n) {
    auto conv = static_cast<uint16_t>(r.Var());
    int64_t t = r.Signed();
    out->hits.push_back({t, r.Var(), conv});
  }
  for (uint64_t n = r.Count(); n > 0 && r.ok; --n) {
    std::string experiment = r.Str();
    std::string variant = r.Str();
    int64_t t = r.Signed();
    out->exposures.push_back({std::move(experiment), std::move(variant), t, r.Var()});
  }
  for (uint64_t n = r.Count(); n > 0 && r.ok; --n) {
    auto conv = static_cast<uint16_t>(r.Var());
    bool fired = r.Var() != 0;
    int64_t engaged = r.Signed();
    out->pages.push_back({conv, fired, engaged, r.Str()});
  }
  if (!r.ok || !r.in.empty()) return Status::Corruption("session state: truncated or malformed");
  return Status::Ok();
}

Status Rollup::Restore(std::string session_id, std::string_view encoded,
                       const std::vector<std::string>& stored_names) {
  SessionState s;
  Status st = DecodeState(encoded, &s);
  if (!st.ok()) return Status::Corruption("session " + session_id + ": " + st.message());
  if (stored_names != names_) {
    // Definitions were edited since the state was written: follow names.
    auto remap = [&](uint16_t conv) -> uint16_t {
      if (conv == SessionState::kOther || conv >= stored_names.size()) return SessionState::kOther;
      auto it = std::find(names_.begin(), names_.end(), stored_names[conv]);
      return it == names_.end() ? SessionState::kOther : static_cast<uint16_t>(it - names_.begin());
    };
    for (auto& f : s.first) f.conv = remap(f.conv);
    std::erase_if(s.first, [](const auto& f) { return f.conv == SessionState::kOther; });
    for (auto& h : s.hits) h.conv = remap(h.conv);
    for (auto& p : s.pages) p.conv = remap(p.conv);
    std::erase_if(s.pages, [&](const auto& p) {
      return p.conv == SessionState::kOther || dwell_min_ms_[p.conv] == 0;
    });
  }
  auto [it, created] = sessions_.insert_or_assign(std::move(session_id), std::move(s));
  (void)created;
  by_second_[Second(it->second.last_received_ms)].push_back(it->first);
  return Status::Ok();
}

}  // namespace foothold::storage
