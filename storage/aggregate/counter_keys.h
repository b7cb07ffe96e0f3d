// Private to storage/: the key layout of the `counters` column family, shared
// by the aggregator that writes it, the stats queries that read it and
// `foothold verify` that recounts it. Every value is a uint64 (8 bytes,
// little-endian) maintained with the "uint64add" merge operator; a negative
// delta is merged as its two's complement, so counts can move between
// buckets (an out-of-order event moving a session's first occurrence).
//
//   series      'T' name 0 field gran be64(ob(bucket_start_ms))
//                 field 'e' events | 's' sessions with a first occurrence in the bucket
//                 gran  'm' minute | 'h' hour | 'd' day   (UTC)
//                 name "$all": every non-bot event ('e') and sessions by start ('s')
//                 name "$closed": closed sessions by day of start ('s', 'd' only)
//                 name "$source:<source name>": non-bot events of that [[source]] ('e' only)
//   lift        'L' target 0 be64(ob(day)) micro 0 cell          cell a|b|c|d
//   funnel      'F' funnel 0 be64(ob(day)) 'r' u8(step)          sessions reaching the step
//               'F' funnel 0 be64(ob(day)) 't' u8(step) u8(bin)  time from step 1, histogram
//   experiment  'X' experiment 0 be64(ob(day)) variant 0 field   field n exposed | c converted
//   segment     'D' dimension 0 value 0 k    k: a lift, funnel or experiment key as above, or
//                 'C' name 0 be64(ob(day))   closed sessions in which conversion `name` occurred,
//                                            or every closed session for name "$closed"
//               the closed-session counters again, of the sessions with that value of that
//               [[dimension]] only (storage/README.md, "Segments")
//   value       'V' dimension 0 value        1 once: the value is one of the dimension's
//                                            max_values counted values (the first seen in log order)
//
// The unsegmented keys never change with dimensions: a store without them
// (or written before segments existed) recounts the same under verify.
//
// Names never contain 0 (they match [A-Za-z0-9_.:-]+, variants are checked at
// config load, dimension values hold no control byte), so a name followed by 0 is an unambiguous prefix. Days,
// buckets and "day of session start" are all UTC bucket starts in ms.
//
// Thread safety: pure functions and constants.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "proto/coding.h"
#include "storage/log/keys.h"

namespace foothold::storage {

inline constexpr int64_t kMinuteMs = 60 * 1000;
inline constexpr int64_t kHourMs = 60 * kMinuteMs;
inline constexpr int64_t kDayBucketMs = 24 * kHourMs;

inline constexpr char kSeriesAll[] = "$all";
inline constexpr char kSeriesClosed[] = "$closed";

// The series of one source's events; source names are [A-Za-z0-9_.:-]{1,64}
// (config), so they hold no 0 either.
inline std::string SourceSeriesName(std::string_view source) { return "$source:" + std::string(source); }

enum class Gran : char { kMinute = 'm', kHour = 'h', kDay = 'd' };
inline constexpr Gran kGrans[] = {Gran::kMinute, Gran::kHour, Gran::kDay};

inline int64_t GranMs(Gran g) {
  switch (g) {
    case Gran::kMinute: return kMinuteMs;
    case Gran::kHour: return kHourMs;
    case Gran::kDay: return kDayBucketMs;
  }
  return kDayBucketMs;
}

// The start of the bucket holding t (floor division: correct for t < 0 too).
inline int64_t BucketStart(int64_t t_ms, int64_t width_ms) {
  int64_t q = t_ms / width_ms;
  if (t_ms % width_ms != 0 && t_ms < 0) --q;
  return q * width_ms;
}

inline std::string SeriesPrefix(std::string_view name, char field, Gran g) {
  std::string k;
  k.reserve(name.size() + 12);
  k.push_back('T');
  k.append(name);
  k.push_back('\0');
  k.push_back(field);
  k.push_back(static_cast<char>(g));
  return k;
}

inline std::string SeriesKey(std::string_view name, char field, Gran g, int64_t bucket_ms) {
  std::string k = SeriesPrefix(name, field, g);
  PutBe64(OffsetBinary(bucket_ms), &k);
  return k;
}

inline std::string DayPrefix(char kind, std::string_view name) {
  std::string k;
  k.push_back(kind);
  k.append(name);
  k.push_back('\0');
  return k;
}

inline std::string DayKey(char kind, std::string_view name, int64_t day_ms) {
  std::string k = DayPrefix(kind, name);
  PutBe64(OffsetBinary(day_ms), &k);
  return k;
}

inline std::string LiftKey(std::string_view target, int64_t day_ms, std::string_view micro, char cell) {
  std::string k = DayKey('L', target, day_ms);
  k.append(micro);
  k.push_back('\0');
  k.push_back(cell);
  return k;
}

inline std::string FunnelReachedKey(std::string_view funnel, int64_t day_ms, size_t step) {
  std::string k = DayKey('F', funnel, day_ms);
  k.push_back('r');
  k.push_back(static_cast<char>(step));
  return k;
}

inline std::string FunnelTimeKey(std::string_view funnel, int64_t day_ms, size_t step, int bin) {
  std::string k = DayKey('F', funnel, day_ms);
  k.push_back('t');
  k.push_back(static_cast<char>(step));
  k.push_back(static_cast<char>(bin));
  return k;
}

inline std::string ExperimentKey(std::string_view experiment, int64_t day_ms, std::string_view variant,
                                 char field) {
  std::string k = DayKey('X', experiment, day_ms);
  k.append(variant);
  k.push_back('\0');
  k.push_back(field);
  return k;
}

// The prefix of every counter of the sessions whose `dimension` has `value`.
inline std::string SegmentPrefix(std::string_view dimension, std::string_view value) {
  std::string k;
  k.reserve(dimension.size() + value.size() + 3);
  k.push_back('D');
  k.append(dimension);
  k.push_back('\0');
  k.append(value);
  k.push_back('\0');
  return k;
}

// Closed sessions with `conversion` (or "$closed": all), by day of start; segment counters only.
inline std::string SessionsWithKey(std::string_view conversion, int64_t day_ms) {
  return DayKey('C', conversion, day_ms);
}

inline std::string DimensionValuesPrefix(std::string_view dimension) { return DayPrefix('V', dimension); }
inline std::string DimensionValueKey(std::string_view dimension, std::string_view value) {
  return DimensionValuesPrefix(dimension) + std::string(value);
}

// Time-to-convert histogram bins: bin 0 holds [0, 1 s); bin b >= 1 holds
// [2^((b-1)/4), 2^(b/4)) seconds: four bins per doubling, so a median read
// back from the bins is within ~9% of the true value. Bin 127 is the cap
// (2^31.5 s, beyond any funnel window).
inline constexpr int kTimeBins = 128;

inline int TimeBin(int64_t ms) {
  if (ms < 1000) return 0;
  double b = std::floor(std::log2(static_cast<double>(ms) / 1000.0) * 4.0) + 1.0;
  if (b >= kTimeBins - 1) return kTimeBins - 1;
  return static_cast<int>(b);
}

// [lo, hi) of a bin in ms.
inline double TimeBinLowMs(int bin) { return bin == 0 ? 0.0 : 1000.0 * std::exp2((bin - 1) / 4.0); }
inline double TimeBinHighMs(int bin) { return 1000.0 * std::exp2(bin / 4.0); }

// A counter value as stored by uint64add (8 bytes little-endian); anything
// else reads as 0 (never written by foothold).
inline uint64_t DecodeCounter(std::string_view v) {
  return v.size() == 8 ? proto::DecodeFixed64(v.data()) : 0;
}

inline std::string EncodeCounter(uint64_t x) {
  std::string v;
  proto::PutFixed64(&v, x);
  return v;
}

}  // namespace foothold::storage
