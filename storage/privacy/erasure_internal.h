// Private to storage/privacy/: what erasure.cc and erasure_jobs.cc share -
// the job record (storage/README.md "Erasure" documents its bytes), meta keys
// and index reads.
//
// Thread safety: pure functions and reads of the store (any thread); the
// Eraser that uses them is writer-thread only.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <rocksdb/iterator.h>

#include "proto/coding.h"
#include "proto/record.h"
#include "storage/log/keys.h"
#include "storage/privacy/erasure.h"

namespace foothold::storage {
namespace privacy_internal {

inline constexpr uint8_t kJobRunning = 1;
inline constexpr uint8_t kJobRenames = 2;

inline std::string_view View(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

inline std::string Hex16(uint64_t v) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[i] = kDigits[v & 15];
  return out;
}

inline std::string JobKey(uint64_t n) {
  std::string k = kMetaErasureJob;
  PutBe64(n, &k);
  return k;
}

inline std::string LogEntryKey(uint64_t n) {
  std::string k = kMetaErasureLog;
  PutBe64(n, &k);
  return k;
}

inline Status GetRecord(const Database& db, const rocksdb::ReadOptions& ro, uint64_t seq, proto::Event* e,
                 bool* found) {
  std::string v;
  rocksdb::Status s = db.db()->Get(ro, db.log(), LogKey(seq), &v);
  *found = s.ok();
  if (s.IsNotFound()) return Status::Ok();  // retention removed it since it was indexed
  if (!s.ok()) return FromRocks(s, "erasure: read log in " + db.dir());
  Status d = proto::DecodeRecord(v, e);
  if (!d.ok()) return Status::Corruption("erasure: log record " + std::to_string(seq) + ": " + d.message());
  return Status::Ok();
}

// Reads from one snapshot, released with it: the aggregator writes its
// checkpoint and its open-session rows in one batch, so both are read
// together.
class SnapshotReads {
 public:
  explicit SnapshotReads(const Database& db) : db_(db.db()), snap_(db_->GetSnapshot()) { ro.snapshot = snap_; }
  ~SnapshotReads() { db_->ReleaseSnapshot(snap_); }
  SnapshotReads(const SnapshotReads&) = delete;
  SnapshotReads& operator=(const SnapshotReads&) = delete;
  rocksdb::ReadOptions ro;

 private:
  rocksdb::DB* const db_;
  const rocksdb::Snapshot* const snap_;
};

// The aggregator's checkpoint as `ro` sees it (0 when none is stored yet).
inline Status ReadAggCheckpoint(const Database& db, const rocksdb::ReadOptions& ro, uint64_t* checkpoint) {
  *checkpoint = 0;
  std::string v;
  rocksdb::Status g = db.db()->Get(ro, db.meta(), kMetaAggCheckpoint, &v);
  if (g.ok() && v.size() == 8) *checkpoint = GetBe64(v);
  else if (!g.ok() && !g.IsNotFound()) return FromRocks(g, "erasure: read aggregator checkpoint");
  return Status::Ok();
}

// The seqs under a hashed-prefix index (identities or session_index).
inline Status ScanIndex(const Database& db, rocksdb::ColumnFamilyHandle* cf, const std::string& prefix,
                 std::vector<uint64_t>* seqs) {
  std::unique_ptr<rocksdb::Iterator> it(db.db()->NewIterator(rocksdb::ReadOptions(), cf));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string_view key = View(it->key());
    if (key.size() < 16) return Status::Corruption("erasure: malformed index key in " + db.dir());
    seqs->push_back(GetBe64(key.substr(key.size() - 8)));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "erasure: scan index in " + db.dir());
  return Status::Ok();
}

}  // namespace privacy_internal

struct Eraser::Job {
  uint64_t number = 0;  // meta key suffix; also the erasure id of its log entry
  uint8_t state = privacy_internal::kJobRunning;
  IdentityKind kind = IdentityKind::kAnonymousId;
  std::string id;  // only while running
  bool suppress = false;
  int64_t at_ms = 0;
  uint64_t erased = 0;
  uint64_t sessions = 0;
  std::vector<uint64_t> pending;  // seqs redacted while their session was open
  // Every identity followed so far (kind, id), only while running: a later
  // discovery (the last step, or a resume after a crash) starts from them,
  // since the records that linked them may already be redacted.
  std::vector<std::pair<char, std::string>> linked;

  std::string Encode() const {
    std::string v;
    v.push_back(static_cast<char>(state));
    v.push_back(static_cast<char>(kind));
    v.push_back(suppress ? 1 : 0);
    proto::PutVarsigned64(&v, at_ms);
    proto::PutVarint64(&v, erased);
    proto::PutVarint64(&v, sessions);
    proto::PutLengthPrefixed(&v, state == privacy_internal::kJobRunning ? std::string_view(id) : std::string_view());
    proto::PutVarint64(&v, pending.size());
    for (uint64_t s : pending) proto::PutVarint64(&v, s);
    // A trailer older job records lack (decoded as none).
    const bool running = state == privacy_internal::kJobRunning;
    proto::PutVarint64(&v, running ? linked.size() : 0);
    for (size_t i = 0; running && i < linked.size(); ++i) {
      v.push_back(linked[i].first);
      proto::PutLengthPrefixed(&v, linked[i].second);
    }
    return v;
  }

  bool Decode(std::string_view v) {
    if (v.size() < 3) return false;
    state = static_cast<uint8_t>(v[0]);
    kind = static_cast<IdentityKind>(v[1]);
    suppress = v[2] != 0;
    v.remove_prefix(3);
    std::string_view s;
    uint64_t n = 0;
    if (!proto::GetVarsigned64(&v, &at_ms) || !proto::GetVarint64(&v, &erased) ||
        !proto::GetVarint64(&v, &sessions) || !proto::GetLengthPrefixed(&v, &s) ||
        !proto::GetVarint64(&v, &n)) {
      return false;
    }
    id = std::string(s);
    pending.clear();
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t seq = 0;
      if (!proto::GetVarint64(&v, &seq)) return false;
      pending.push_back(seq);
    }
    linked.clear();
    if (!v.empty()) {
      if (!proto::GetVarint64(&v, &n)) return false;
      for (uint64_t i = 0; i < n; ++i) {
        if (v.empty()) return false;
        const char k = v[0];
        v.remove_prefix(1);
        if (!proto::GetLengthPrefixed(&v, &s)) return false;
        linked.emplace_back(k, std::string(s));
      }
    }
    return v.empty() && (state == privacy_internal::kJobRunning || state == privacy_internal::kJobRenames) &&
           static_cast<uint8_t>(kind) <= static_cast<uint8_t>(IdentityKind::kSessionId);
  }
};

// An erasure in progress: what the first discovery found, and how far the
// chunks got. Lives between the writer's groups (Begin, then Step per task).
struct Eraser::ActiveItem {
  uint64_t seq = 0;
  std::string session_id;  // the record's, when found: a record that changed since is left alone
  bool closed = false;     // its session is closed in the aggregator: the id becomes opaque
};

struct Eraser::Active {
  Job job;
  std::vector<ActiveItem> items;  // the first discovery, written chunk by chunk
  size_t next = 0;
  std::set<std::string> sessions;                     // every session found (counted once)
  std::set<std::pair<char, std::string>> identities;  // every identity followed
  std::set<std::string> pending_sessions;             // redacted while open
  std::set<std::string> session_keys;  // (identity, session) index keys the last batch deletes
};

}  // namespace foothold::storage
