#include "storage/aggregate/stats_query.h"

#include <algorithm>
#include <map>
#include <memory>
#include <string>

#include <rocksdb/iterator.h>

#include "storage/aggregate/counter_keys.h"

namespace foothold::storage {
namespace {

int64_t CeilTo(int64_t t, int64_t width) { return BucketStart(t + width - 1, width); }

// Calls fn(key, value) for every counter key in [lo, hi).
template <typename Fn>
Status Scan(const Database& db, rocksdb::Iterator* it, const std::string& lo, const std::string& hi,
            Fn&& fn) {
  for (it->Seek(lo); it->Valid(); it->Next()) {
    std::string_view key(it->key().data(), it->key().size());
    if (key >= hi) break;
    fn(key, DecodeCounter(std::string_view(it->value().data(), it->value().size())));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "read counters in " + db.dir());
  return Status::Ok();
}

std::unique_ptr<rocksdb::Iterator> CounterIterator(const Database& db) {
  rocksdb::ReadOptions ro;
  return std::unique_ptr<rocksdb::Iterator>(db.db()->NewIterator(ro, db.counters()));
}

struct Piece {
  Gran gran;
  int64_t lo;  // first bucket start
  int64_t hi;  // past the last bucket
};

// [from, to) (minute-aligned) as the fewest aligned buckets.
std::vector<Piece> Decompose(int64_t from, int64_t to) {
  std::vector<Piece> out;
  auto emit = [&](Gran g, int64_t lo, int64_t hi) {
    if (lo < hi) out.push_back({g, lo, hi});
  };
  int64_t cur = from;
  int64_t next = std::min(CeilTo(cur, kHourMs), to);
  emit(Gran::kMinute, cur, next);
  cur = next;
  next = std::min(CeilTo(cur, kDayBucketMs), BucketStart(to, kHourMs));
  if (next > cur) {
    emit(Gran::kHour, cur, next);
    cur = next;
  }
  next = BucketStart(to, kDayBucketMs);
  if (next > cur) {
    emit(Gran::kDay, cur, next);
    cur = next;
  }
  next = BucketStart(to, kHourMs);
  if (next > cur) {
    emit(Gran::kHour, cur, next);
    cur = next;
  }
  emit(Gran::kMinute, cur, to);
  return out;
}

Status SumSeries(const Database& db, rocksdb::Iterator* it, std::string_view name, char field,
                 const std::vector<Piece>& pieces, uint64_t* sum) {
  *sum = 0;
  for (const Piece& p : pieces) {
    Status s = Scan(db, it, SeriesKey(name, field, p.gran, p.lo), SeriesKey(name, field, p.gran, p.hi),
                    [&](std::string_view, uint64_t v) { *sum += v; });
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

std::string Prefix(const SegmentFilter& segment) {
  return segment.all() ? std::string() : SegmentPrefix(segment.dimension, segment.value);
}

// The days of [from, to) as day-bucket key bounds for `kind` and `name`,
// under the segment's key prefix.
std::pair<std::string, std::string> DayBounds(char kind, std::string_view name, TimeRange r,
                                              const std::string& prefix = {}) {
  return {prefix + DayKey(kind, name, BucketStart(r.from_ms, kDayBucketMs)),
          prefix + DayKey(kind, name, CeilTo(r.to_ms, kDayBucketMs))};
}

// Splits "<text>\0<rest>".
bool SplitName(std::string_view in, std::string_view* name, std::string_view* rest) {
  size_t z = in.find('\0');
  if (z == std::string_view::npos) return false;
  *name = in.substr(0, z);
  *rest = in.substr(z + 1);
  return true;
}

}  // namespace

void FunnelTimeBinRange(int bin, double* lo_ms, double* hi_ms) {
  *lo_ms = TimeBinLowMs(bin);
  *hi_ms = TimeBinHighMs(bin);
}

Status QuerySummary(const Database& db, const AnalyticsDefs& defs, TimeRange range, Summary* out) {
  *out = Summary{};
  const int64_t from = BucketStart(range.from_ms, kMinuteMs);
  const int64_t to = CeilTo(range.to_ms, kMinuteMs);
  out->range = {from, to};
  const std::vector<Piece> pieces = Decompose(from, to);
  auto it = CounterIterator(db);
  Status s = SumSeries(db, it.get(), kSeriesAll, 'e', pieces, &out->events);
  if (s.ok()) s = SumSeries(db, it.get(), kSeriesAll, 's', pieces, &out->sessions);
  auto add = [&](const std::string& name, bool macro) {
    ConversionSummary c{name, macro, 0, 0};
    if (s.ok()) s = SumSeries(db, it.get(), name, 'e', pieces, &c.events);
    if (s.ok()) s = SumSeries(db, it.get(), name, 's', pieces, &c.sessions);
    out->conversions.push_back(std::move(c));
  };
  for (const config::MicroConversion& m : defs.micro) add(m.name, false);
  for (const config::MacroConversion& m : defs.macro) add(m.name, true);
  return s;
}

Status QueryTimeseries(const Database& db, std::string_view name, int64_t bucket_ms, TimeRange range,
                       std::vector<SeriesPoint>* out) {
  out->clear();
  Gran g = bucket_ms == kMinuteMs ? Gran::kMinute : bucket_ms == kHourMs ? Gran::kHour : Gran::kDay;
  const int64_t width = GranMs(g);
  const int64_t lo = BucketStart(range.from_ms, width);
  const int64_t hi = CeilTo(range.to_ms, width);
  for (int64_t b = lo; b < hi; b += width) out->push_back(SeriesPoint{b, 0, 0, 0});
  if (out->empty()) return Status::Ok();
  auto it = CounterIterator(db);
  auto fill = [&](std::string_view series, char field, uint64_t SeriesPoint::*member) {
    return Scan(db, it.get(), SeriesKey(series, field, g, lo), SeriesKey(series, field, g, hi),
                [&](std::string_view key, uint64_t v) {
                  int64_t b = FromOffsetBinary(GetBe64(key.substr(key.size() - 8)));
                  size_t i = static_cast<size_t>((b - lo) / width);
                  if (i < out->size()) (*out)[i].*member += v;
                });
  };
  Status s = fill(name, 'e', &SeriesPoint::events);
  if (s.ok()) s = fill(name, 's', &SeriesPoint::sessions);
  if (s.ok()) s = fill(kSeriesAll, 's', &SeriesPoint::sessions_total);
  return s;
}

Status QueryFunnel(const Database& db, const config::Funnel& funnel, TimeRange range, FunnelCounts* out,
                   const SegmentFilter& segment) {
  const size_t n = funnel.steps.size();
  *out = FunnelCounts{funnel.steps, std::vector<uint64_t>(n, 0),
                      std::vector<std::vector<uint64_t>>(n, std::vector<uint64_t>(kTimeBins, 0))};
  const std::string prefix = Prefix(segment);
  auto [lo, hi] = DayBounds('F', funnel.name, range, prefix);
  const size_t skip = prefix.size() + DayPrefix('F', funnel.name).size() + 8;
  auto it = CounterIterator(db);
  return Scan(db, it.get(), lo, hi, [&](std::string_view key, uint64_t v) {
    std::string_view rest = key.substr(skip);
    if (rest.size() == 2 && rest[0] == 'r') {
      auto step = static_cast<uint8_t>(rest[1]);
      if (step < n) out->reached[step] += v;
    } else if (rest.size() == 3 && rest[0] == 't') {
      auto step = static_cast<uint8_t>(rest[1]);
      auto bin = static_cast<uint8_t>(rest[2]);
      if (step < n && bin < kTimeBins) out->time_bins[step][bin] += v;
    }
  });
}

Status QueryLift(const Database& db, const AnalyticsDefs& defs, std::string_view target,
                 TimeRange range, std::vector<LiftCells>* out, const SegmentFilter& segment) {
  out->clear();
  std::map<std::string, size_t, std::less<>> index;
  for (const config::MicroConversion& m : defs.micro) {
    index[m.name] = out->size();
    out->push_back(LiftCells{m.name});
  }
  const std::string prefix = Prefix(segment);
  auto [lo, hi] = DayBounds('L', target, range, prefix);
  const size_t skip = prefix.size() + DayPrefix('L', target).size() + 8;
  auto it = CounterIterator(db);
  return Scan(db, it.get(), lo, hi, [&](std::string_view key, uint64_t v) {
    std::string_view micro, rest;
    if (!SplitName(key.substr(skip), &micro, &rest) || rest.size() != 1) return;
    auto row = index.find(micro);
    if (row == index.end()) return;  // a micro-conversion no longer defined
    LiftCells& c = (*out)[row->second];
    switch (rest[0]) {
      case 'a': c.a += v; break;
      case 'b': c.b += v; break;
      case 'c': c.c += v; break;
      case 'd': c.d += v; break;
      default: break;
    }
  });
}

Status QueryExperiment(const Database& db, const config::Experiment& experiment, TimeRange range,
                       std::vector<ExperimentDay>* out, const SegmentFilter& segment) {
  out->clear();
  const std::string key_prefix = Prefix(segment);
  auto [lo, hi] = DayBounds('X', experiment.name, range, key_prefix);
  const size_t prefix = key_prefix.size() + DayPrefix('X', experiment.name).size();
  auto slot = [&](ExperimentDay* day, std::string_view variant) -> VariantCounts* {
    for (VariantCounts& v : day->variants) {
      if (v.variant == variant) return &v;
    }
    day->variants.push_back(VariantCounts{std::string(variant), 0, 0});
    return &day->variants.back();
  };
  auto it = CounterIterator(db);
  return Scan(db, it.get(), lo, hi, [&](std::string_view key, uint64_t v) {
    const int64_t day = FromOffsetBinary(GetBe64(key.substr(prefix, 8)));
    std::string_view variant, rest;
    if (!SplitName(key.substr(prefix + 8), &variant, &rest) || rest.size() != 1) return;
    if (out->empty() || out->back().day_ms != day) {
      ExperimentDay d{day, {}};
      for (const std::string& name : experiment.variants) d.variants.push_back({name, 0, 0});
      out->push_back(std::move(d));
    }
    VariantCounts* c = slot(&out->back(), variant);
    if (rest[0] == 'n') c->exposed += v;
    if (rest[0] == 'c') c->converted += v;
  });
}

Status QuerySegmentSessions(const Database& db, const AnalyticsDefs& defs, const SegmentFilter& segment,
                            TimeRange range, SegmentSessions* out) {
  *out = SegmentSessions{};
  const std::string prefix = Prefix(segment);
  auto it = CounterIterator(db);
  auto sum = [&](std::string_view name, uint64_t* total) {
    auto [lo, hi] = DayBounds('C', name, range, prefix);
    return Scan(db, it.get(), lo, hi, [&](std::string_view, uint64_t v) { *total += v; });
  };
  Status s = sum(kSeriesClosed, &out->sessions);
  auto add = [&](const std::string& name, bool macro) {
    SegmentSessions::Conversion c{name, macro, 0};
    if (s.ok()) s = sum(name, &c.sessions);
    out->conversions.push_back(std::move(c));
  };
  for (const config::MicroConversion& m : defs.micro) add(m.name, false);
  for (const config::MacroConversion& m : defs.macro) add(m.name, true);
  return s;
}

Status QueryDimensionValues(const Database& db, std::string_view dimension, std::vector<std::string>* out) {
  out->clear();
  const std::string lo = DimensionValuesPrefix(dimension);
  std::string hi = lo;
  hi.back() = '\x01';  // just past every "<dimension>\0..." key
  auto it = CounterIterator(db);
  return Scan(db, it.get(), lo, hi, [&](std::string_view key, uint64_t v) {
    if (v > 0) out->emplace_back(key.substr(lo.size()));
  });
}

Status ReadAllDimensionValues(const Database& db, std::vector<std::pair<std::string, std::string>>* pairs,
                              rocksdb::ColumnFamilyHandle* counters) {
  pairs->clear();
  auto it = counters == nullptr
                ? CounterIterator(db)
                : std::unique_ptr<rocksdb::Iterator>(db.db()->NewIterator(rocksdb::ReadOptions(), counters));
  return Scan(db, it.get(), "V", "W", [&](std::string_view key, uint64_t v) {
    std::string_view name, value;
    if (v > 0 && SplitName(key.substr(1), &name, &value)) pairs->emplace_back(name, value);
  });
}

}  // namespace foothold::storage
