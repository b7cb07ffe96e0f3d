#include "storage/log/retention.h"

#include <map>
#include <memory>
#include <set>
#include <string>

#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include "proto/record.h"
#include "storage/log/keys.h"

namespace foothold::storage {

Status Retention::Step(int64_t cutoff_ms, bool sync, uint64_t* deleted, bool* done) {
  *deleted = 0;
  *done = false;
  rocksdb::WriteBatch batch;
  std::map<std::string, std::set<std::string>> sessions;  // session id -> its (identity, session) keys
  uint64_t first = 0;
  uint64_t last = 0;
  proto::Event e;
  const uint64_t floor = floor_.Last();
  {
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;  // old records are read once, to be deleted: keep the cache for readers
    std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(ro, db_->log()));
    for (it->Seek(LogKey(floor_seq_)); it->Valid(); it->Next()) {
      if (*deleted == kBatchRecords) break;
      auto seq = ParseLogKey(std::string_view(it->key().data(), it->key().size()));
      if (!seq) return Status::Corruption("retention: malformed log key in " + db_->dir());
      Status s = proto::DecodeRecord(std::string_view(it->value().data(), it->value().size()), &e);
      if (!s.ok()) {
        return Status::Corruption("retention: log record " + std::to_string(*seq) + " in " +
                                  db_->dir() + ": " + s.message());
      }
      if (e.received_at_ms >= cutoff_ms || *seq > floor) {
        *done = true;
        break;
      }
      if (*deleted == 0) first = *seq;
      last = *seq;
      rocksdb::Status d =
          batch.Delete(db_->session_index(), SessionIndexKey(e.session_id, e.event_time_ms, *seq));
      if (!d.ok()) return FromRocks(d, "retention: batch delete");
      if (!e.anonymous_id.empty()) d = batch.Delete(db_->identities(), IdentityKey(kIdentityAnonymous, e.anonymous_id, *seq));
      if (d.ok() && !e.user_id.empty()) d = batch.Delete(db_->identities(), IdentityKey(kIdentityUser, e.user_id, *seq));
      if (!d.ok()) return FromRocks(d, "retention: batch delete");
      // The (identity, session) keys go with the session's last record (below).
      auto& ids = sessions[e.session_id];
      if (!e.anonymous_id.empty()) ids.insert(IdentitySessionKey(kIdentityAnonymousSession, e.anonymous_id, e.session_id));
      if (!e.user_id.empty()) ids.insert(IdentitySessionKey(kIdentityUserSession, e.user_id, e.session_id));
      ++*deleted;
    }
    if (!it->status().ok()) return FromRocks(it->status(), "retention: scan log in " + db_->dir());
    if (!it->Valid()) *done = true;  // ran off the end: nothing older remains
  }
  if (*deleted == 0) return Status::Ok();

  // A session with no record after this batch is gone: its (identity,
  // session) keys too. One seek per session of the batch, in the session
  // index (a collision on the session hash only keeps a key longer).
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(rocksdb::ReadOptions(), db_->session_index()));
    for (const auto& [sid, keys] : sessions) {
      const std::string prefix = SessionIndexPrefix(sid);
      bool alive = false;
      for (it->Seek(prefix); !alive && it->Valid() && it->key().starts_with(prefix); it->Next()) {
        auto seq = SessionIndexSeq(std::string_view(it->key().data(), it->key().size()));
        alive = seq && *seq > last;
      }
      if (!it->status().ok()) return FromRocks(it->status(), "retention: scan session index in " + db_->dir());
      for (const std::string& k : alive ? std::set<std::string>() : keys) {
        rocksdb::Status d = batch.Delete(db_->identities(), k);
        if (!d.ok()) return FromRocks(d, "retention: batch delete");
      }
    }
  }

  // seqs in [first, last] are exactly the records visited: the log has no
  // other keys between them.
  rocksdb::Status r = batch.DeleteRange(db_->log(), LogKey(first), LogKey(last + 1));
  if (!r.ok()) return FromRocks(r, "retention: batch delete range");
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  rocksdb::Status w = db_->db()->Write(wo, &batch);
  if (!w.ok()) {
    *deleted = 0;
    *done = true;
    return FromRocks(w, "retention: write in " + db_->dir());
  }
  floor_seq_ = last + 1;
  return Status::Ok();
}

Status Retention::Run(int64_t cutoff_ms, bool sync, uint64_t* deleted) {
  *deleted = 0;
  for (;;) {
    uint64_t n = 0;
    bool done = false;
    Status s = Step(cutoff_ms, sync, &n, &done);
    *deleted += n;
    if (!s.ok() || done) return s;
  }
}

}  // namespace foothold::storage
