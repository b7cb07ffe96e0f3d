// Erasure jobs after their first run: resumption at open, the renames of
// sessions that closed since, and the erasure log (storage/privacy/erasure.h
// is the contract).
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <rocksdb/iterator.h>
#include <rocksdb/snapshot.h>
#include <rocksdb/write_batch.h>

#include "storage/aggregate/aggregator.h"
#include "storage/aggregate/rebuild.h"
#include "storage/aggregate/session_state.h"
#include "storage/privacy/erasure.h"
#include "storage/privacy/erasure_export.h"
#include "storage/privacy/erasure_internal.h"

namespace foothold::storage {

using namespace privacy_internal;

Status Eraser::ResumeJobs() {
  if (!renames_pending_) return Status::Ok();
  std::vector<Job> jobs;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(rocksdb::ReadOptions(), db_->meta()));
    const rocksdb::Slice prefix(kMetaErasureJob);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      Job job;
      std::string_view key = View(it->key());
      if (key.size() != prefix.size() + 8 || !job.Decode(View(it->value()))) {
        return Status::Corruption("erasure: malformed job record in " + db_->dir());
      }
      job.number = GetBe64(key.substr(prefix.size()));
      jobs.push_back(std::move(job));
    }
    if (!it->status().ok()) return FromRocks(it->status(), "erasure: read jobs in " + db_->dir());
  }
  bool left = false;
  for (Job& job : jobs) {
    Status s;
    if (active_ && job.number == active_->job.number) continue;  // running now, chunk by chunk
    if (job.state == kJobRunning) {
      if (active_) {  // one at a time: this one after the running one
        left = true;
        continue;
      }
      // Interrupted by a crash: run it again. What an earlier chunk redacted
      // is no longer indexed, so it is not found twice; the count carries on.
      ErasureResult ignored;
      s = RunJob(&job, &ignored);
    } else {
      s = Rename(&job);
    }
    if (!s.ok()) return s;
    left = left || !job.pending.empty();
  }
  renames_pending_ = left;
  return Status::Ok();
}

Status Eraser::Rename(Job* job) {
  const Database& db = *db_;
  SnapshotReads snapshot(db);
  const rocksdb::ReadOptions& ro = snapshot.ro;
  uint64_t checkpoint = 0;
  // An unreadable checkpoint reads as 0, as none stored: nothing counts as
  // closed, and the renames wait for the next tick.
  (void)ReadAggCheckpoint(db, ro, &checkpoint);
  // The redacted records of each still-open session, plus records of the
  // same session stored since (a tab left open, not suppressed): they belong
  // to the same aggregator session and are erased with it.
  std::map<std::string, std::vector<proto::Event>> by_session;
  for (uint64_t seq : job->pending) {
    proto::Event e;
    bool found = false;
    Status s = GetRecord(db, ro, seq, &e, &found);
    if (!s.ok()) return s;
    if (found) by_session[e.session_id].push_back(std::move(e));
  }
  rocksdb::WriteBatch batch;
  rocksdb::Status b;
  std::vector<uint64_t> still;
  std::string buf;
  for (auto& [sid, events] : by_session) {
    std::vector<uint64_t> late_seqs;
    Status s = ScanIndex(db, db.session_index(), SessionIndexPrefix(sid), &late_seqs);
    if (!s.ok()) return s;
    std::vector<proto::Event> late;
    for (uint64_t seq : late_seqs) {
      proto::Event e;
      bool found = false;
      s = GetRecord(db, ro, seq, &e, &found);
      if (!s.ok()) return s;
      if (found && e.session_id == sid) late.push_back(std::move(e));
    }
    std::string head;
    rocksdb::Status g = db.db()->Get(ro, db.sessions(), SessionHeadKey(sid), &head);
    if (!g.ok() && !g.IsNotFound()) return FromRocks(g, "erasure: read session state");
    bool closed = g.IsNotFound();
    for (const auto& e : events) closed = closed && e.seq <= checkpoint;
    for (const auto& e : late) closed = closed && e.seq <= checkpoint;
    if (closed) {
      // A rebuild in progress must be done with the session too (storage/README.md "Backfill").
      uint64_t max_seq = 0;
      for (const auto& e : events) max_seq = std::max(max_seq, e.seq);
      for (const auto& e : late) max_seq = std::max(max_seq, e.seq);
      s = RebuildDoneWith(db, ro, sid, max_seq, &closed);
      if (!s.ok()) return s;
    }
    if (!closed) {
      for (const auto& e : events) still.push_back(e.seq);
      continue;
    }
    const std::string opaque = OpaqueSessionId(sid);
    for (const auto& e : late) {
      if (b.ok()) b = batch.Delete(db.session_index(), SessionIndexKey(e.session_id, e.event_time_ms, e.seq));
      if (b.ok() && !e.anonymous_id.empty()) b = batch.Delete(db.identities(), IdentityKey(kIdentityAnonymous, e.anonymous_id, e.seq));
      if (b.ok() && !e.user_id.empty()) b = batch.Delete(db.identities(), IdentityKey(kIdentityUser, e.user_id, e.seq));
      if (b.ok() && !e.anonymous_id.empty()) b = batch.Delete(db.identities(), IdentitySessionKey(kIdentityAnonymousSession, e.anonymous_id, sid));
      if (b.ok() && !e.user_id.empty()) b = batch.Delete(db.identities(), IdentitySessionKey(kIdentityUserSession, e.user_id, sid));
      events.push_back(e);
    }
    for (const auto& e : events) {
      buf.clear();
      proto::EncodeRecord(RedactRecord(e, options_.analytics, opaque), &buf);
      if (b.ok()) b = batch.Put(db.log(), LogKey(e.seq), buf);
    }
  }
  if (still.size() == job->pending.size()) return Status::Ok();  // nothing closed yet
  if (b.ok() && export_enabled_) {
    std::vector<uint64_t> seqs;
    for (const auto& [sid, events] : by_session) {
      for (const auto& e : events) seqs.push_back(e.seq);
    }
    std::erase_if(seqs, [&](uint64_t seq) { return std::find(still.begin(), still.end(), seq) != still.end(); });
    b = batch.Put(db.meta(), ErasureExportKey(next_export_++), EncodeErasureExport(job->number, std::move(seqs)));
  }
  job->pending = std::move(still);
  if (b.ok()) b = job->pending.empty() ? batch.Delete(db.meta(), JobKey(job->number))
                                       : batch.Put(db.meta(), JobKey(job->number), job->Encode());
  if (b.ok()) {
    rocksdb::WriteOptions wo;
    wo.sync = options_.durability == config::Durability::kSync;
    b = db.db()->Write(wo, &batch);
  }
  return b.ok() ? Status::Ok() : FromRocks(b, "erasure: rename sessions in " + db.dir());
}

Status ReadErasureLog(const Database& db, size_t limit, std::vector<ErasureLogEntry>* out) {
  out->clear();
  std::unique_ptr<rocksdb::Iterator> it(db.db()->NewIterator(rocksdb::ReadOptions(), db.meta()));
  const rocksdb::Slice prefix(kMetaErasureLog);
  std::string end(kMetaErasureLog);
  end.back() = static_cast<char>(end.back() + 1);
  // Newest first from the end, then reversed: the log can grow long.
  for (it->SeekForPrev(end); it->Valid() && it->key().starts_with(prefix) && out->size() < limit; it->Prev()) {
    std::string_view key = View(it->key());
    std::string_view v = View(it->value());
    ErasureLogEntry e;
    std::string_view identity;
    if (key.size() != prefix.size() + 8 || !proto::GetVarsigned64(&v, &e.at_ms) ||
        !proto::GetLengthPrefixed(&v, &identity) || !proto::GetVarint64(&v, &e.events_erased) ||
        !proto::GetVarint64(&v, &e.sessions_erased) || v.size() != 1) {
      return Status::Corruption("erasure log: malformed entry in " + db.dir());
    }
    e.erasure_id = GetBe64(key.substr(prefix.size()));
    e.identity = std::string(identity);
    e.suppressed = v[0] != 0;
    out->push_back(std::move(e));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "read erasure log in " + db.dir());
  std::reverse(out->begin(), out->end());
  std::vector<ErasureExport> exports;
  Status s = ReadErasureExports(db, 0, &exports);
  if (!s.ok()) return s;
  std::set<uint64_t> pending;
  for (const ErasureExport& x : exports) pending.insert(x.erasure_id);
  for (ErasureLogEntry& e : *out) {
    e.export_pending = pending.contains(e.erasure_id);
    // A job record left after the erasure log entry: a session still open.
    std::string job;
    rocksdb::Status g = db.db()->Get(rocksdb::ReadOptions(), db.meta(), JobKey(e.erasure_id), &job);
    if (!g.ok() && !g.IsNotFound()) return FromRocks(g, "read erasure jobs in " + db.dir());
    e.sessions_open = g.ok();
  }
  return Status::Ok();
}

}  // namespace foothold::storage
