// Private to storage/: compaction filters that let RocksDB drop expired
// entries during compaction instead of a scan, and the wall clock they use.
//
//  - dedupe: an entry stops mattering once its event_id is older than the
//    dedupe window (lookups already ignore it; this reclaims the space).
//  - visitors: a visitor idle longer than the retention horizon would start a
//    new session whether or not its state exists (the gap exceeds any sane
//    session timeout), so dropping it changes no derived session id.
//
// Thread safety: Filter is const and reads only immutable members and the
// clock, so one instance may be used by several compactions at once.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <rocksdb/compaction_filter.h>

namespace foothold::storage {

// Milliseconds since the Unix epoch, from the system clock.
int64_t WallClockMs();

using ClockFn = std::function<int64_t()>;

class DedupeExpiryFilter : public rocksdb::CompactionFilter {
 public:
  DedupeExpiryFilter(int64_t window_ms, ClockFn now_ms);
  bool Filter(int level, const rocksdb::Slice& key, const rocksdb::Slice& value,
              std::string* new_value, bool* value_changed) const override;
  const char* Name() const override { return "foothold.DedupeExpiryFilter"; }

 private:
  int64_t window_ms_;
  ClockFn now_ms_;
};

class VisitorExpiryFilter : public rocksdb::CompactionFilter {
 public:
  VisitorExpiryFilter(int64_t horizon_ms, ClockFn now_ms);
  bool Filter(int level, const rocksdb::Slice& key, const rocksdb::Slice& value,
              std::string* new_value, bool* value_changed) const override;
  const char* Name() const override { return "foothold.VisitorExpiryFilter"; }

 private:
  int64_t horizon_ms_;
  ClockFn now_ms_;
};

}  // namespace foothold::storage
