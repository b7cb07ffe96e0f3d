// Erasure and suppression (storage/privacy/erasure.h is the contract).
#include "storage/privacy/erasure.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include <rocksdb/iterator.h>
#include <rocksdb/snapshot.h>
#include <rocksdb/write_batch.h>

#include "proto/coding.h"
#include "proto/record.h"
#include "storage/aggregate/aggregator.h"
#include "storage/aggregate/dimensions.h"
#include "storage/aggregate/session_state.h"
#include "storage/log/keys.h"

namespace foothold::storage {
namespace {

// Linked identities followed from the requested one (anonymous id -> the user
// ids it identified as -> their other anonymous ids ...). A shared device or a
// bot reusing one id could link thousands; the bound keeps one request small.
constexpr size_t kMaxLinkedIdentities = 64;
// Records rewritten per WriteBatch.
constexpr size_t kChunkRecords = 1000;

constexpr uint8_t kJobRunning = 1;
constexpr uint8_t kJobRenames = 2;

std::string_view View(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

std::string Hex16(uint64_t v) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[i] = kDigits[v & 15];
  return out;
}

// scheme://host/path of a url: the query string and fragment go.
std::string StripUrl(std::string_view url) {
  size_t end = url.find_first_of("?#");
  return std::string(url.substr(0, end));
}

template <typename Fn>
void ForEachPredicate(const AnalyticsDefs& defs, Fn&& fn) {
  for (const config::MicroConversion& m : defs.micro) {
    for (const config::Predicate& p : m.match.where) fn(p);
  }
  for (const config::MacroConversion& m : defs.macro) {
    for (const config::Predicate& p : m.match.where) fn(p);
  }
}

// Whether `value` equals the literal of some predicate on `field`.
bool IsLiteral(const AnalyticsDefs& defs, std::string_view field, const std::string& value) {
  bool found = false;
  ForEachPredicate(defs, [&](const config::Predicate& p) {
    const std::string* s = std::get_if<std::string>(&p.value);
    found = found || (p.field == field && s != nullptr && *s == value);
  });
  return found;
}

bool PropIsLiteral(const AnalyticsDefs& defs, const proto::Prop& prop) {
  const std::string field = "props." + prop.key;
  bool found = false;
  ForEachPredicate(defs, [&](const config::Predicate& p) {
    if (found || p.field != field) return;
    if (const auto* s = std::get_if<std::string>(&p.value)) {
      found = prop.type == proto::PropType::kString && prop.str == *s;
    } else if (const auto* n = std::get_if<double>(&p.value)) {
      found = prop.type == proto::PropType::kNumber && prop.number == *n;
    } else if (const auto* b = std::get_if<bool>(&p.value)) {
      found = prop.type == proto::PropType::kBool && prop.boolean == *b;
    }
  });
  return found;
}

std::string JobKey(uint64_t n) {
  std::string k = kMetaErasureJob;
  PutBe64(n, &k);
  return k;
}

std::string LogEntryKey(uint64_t n) {
  std::string k = kMetaErasureLog;
  PutBe64(n, &k);
  return k;
}

// The last number used under a meta prefix ("erasure_job/", "erasure_log/").
Status LastNumber(const Database& db, std::string_view prefix, uint64_t* out) {
  std::unique_ptr<rocksdb::Iterator> it(db.db()->NewIterator(rocksdb::ReadOptions(), db.meta()));
  std::string end(prefix);
  end.back() = static_cast<char>(end.back() + 1);
  it->SeekForPrev(end);
  if (it->Valid() && it->key().starts_with(rocksdb::Slice(prefix.data(), prefix.size())) &&
      it->key().size() == prefix.size() + 8) {
    *out = GetBe64(View(it->key()).substr(prefix.size()));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "read erasure records in " + db.dir());
  return Status::Ok();
}

Status GetRecord(const Database& db, const rocksdb::ReadOptions& ro, uint64_t seq, proto::Event* e,
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

// The seqs under a hashed-prefix index (identities or session_index).
Status ScanIndex(const Database& db, rocksdb::ColumnFamilyHandle* cf, const std::string& prefix,
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

char KindChar(IdentityKind k) {
  return k == IdentityKind::kAnonymousId ? 'a' : k == IdentityKind::kUserId ? 'u' : 's';
}

}  // namespace

proto::Event RedactRecord(const proto::Event& e, const AnalyticsDefs& defs, std::string session_id) {
  proto::Event r;
  r.event = e.event;
  r.source = e.source;  // a configured source name, not about the person
  r.session_id = std::move(session_id);
  r.ts_ms = e.ts_ms;
  r.engaged_ms = e.engaged_ms;
  r.experiments = e.experiments;
  r.received_at_ms = e.received_at_ms;
  r.event_time_ms = e.event_time_ms;
  r.seq = e.seq;
  r.bot = e.bot;
  r.flags = e.flags;
  if (IsLiteral(defs, "url", e.url)) {
    r.url = e.url;
  } else {
    r.url = StripUrl(e.url);
    // The stripped url must not start matching a `where url = ...` the
    // original did not match; a bare "?" keeps the path and breaks equality.
    if (r.url != e.url && IsLiteral(defs, "url", r.url)) r.url += "?";
  }
  if (IsLiteral(defs, "referrer", e.referrer)) r.referrer = e.referrer;
  if (IsLiteral(defs, "title", e.title)) r.title = e.title;
  for (const proto::Prop& p : e.props) {
    if (PropIsLiteral(defs, p)) r.props.push_back(p);
  }
  // Segments read the same values from the redacted record (coarsened: see dimensions.h);
  // as above, nothing kept may start matching a `where` literal the original did not.
  KeepForDimensions(defs.dimensions, e, &r);
  if (r.url != e.url && r.url.find('?') != std::string::npos && IsLiteral(defs, "url", r.url)) r.url += "&";
  if (r.referrer != e.referrer && IsLiteral(defs, "referrer", r.referrer)) r.referrer += "?";
  return r;
}

struct Eraser::Job {
  uint64_t number = 0;  // meta key suffix; also the erasure id of its log entry
  uint8_t state = kJobRunning;
  IdentityKind kind = IdentityKind::kAnonymousId;
  std::string id;  // only while running
  bool suppress = false;
  int64_t at_ms = 0;
  uint64_t erased = 0;
  uint64_t sessions = 0;
  std::vector<uint64_t> pending;  // seqs redacted while their session was open

  std::string Encode() const {
    std::string v;
    v.push_back(static_cast<char>(state));
    v.push_back(static_cast<char>(kind));
    v.push_back(suppress ? 1 : 0);
    proto::PutVarsigned64(&v, at_ms);
    proto::PutVarint64(&v, erased);
    proto::PutVarint64(&v, sessions);
    proto::PutLengthPrefixed(&v, state == kJobRunning ? std::string_view(id) : std::string_view());
    proto::PutVarint64(&v, pending.size());
    for (uint64_t s : pending) proto::PutVarint64(&v, s);
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
    return v.empty() && (state == kJobRunning || state == kJobRenames) &&
           static_cast<uint8_t>(kind) <= static_cast<uint8_t>(IdentityKind::kSessionId);
  }
};

Eraser::Eraser(const StoreOptions& options, Database* db, std::string secret)
    : options_(options), db_(db), secret_(std::move(secret)) {}

std::string Eraser::IdentityHash(IdentityKind kind, std::string_view id) const {
  std::string keyed = secret_;
  keyed.push_back(KindChar(kind));
  keyed.append(id);
  return std::string(1, KindChar(kind)) + ":" + Hex16(Hash64(keyed));
}

Status Eraser::Load() {
  std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(rocksdb::ReadOptions(), db_->meta()));
  const rocksdb::Slice prefix(kMetaSuppress);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    suppressed_.insert(std::string(View(it->key()).substr(prefix.size())));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "read suppression list in " + db_->dir());
  uint64_t last_job = 0;
  uint64_t last_log = 0;
  Status s = LastNumber(*db_, kMetaErasureJob, &last_job);
  if (s.ok()) s = LastNumber(*db_, kMetaErasureLog, &last_log);
  next_job_ = next_log_ = std::max(last_job, last_log) + 1;
  renames_pending_ = last_job != 0;  // any job left: ResumeJobs looks at it
  return s;
}

bool Eraser::Suppressed(const proto::Event& e) const {
  if (suppressed_.empty()) return false;
  return (!e.anonymous_id.empty() && suppressed_.contains(IdentityHash(IdentityKind::kAnonymousId, e.anonymous_id))) ||
         (!e.user_id.empty() && suppressed_.contains(IdentityHash(IdentityKind::kUserId, e.user_id))) ||
         (!e.session_id.empty() && suppressed_.contains(IdentityHash(IdentityKind::kSessionId, e.session_id)));
}

Status Eraser::WriteJob(const Job& job, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  rocksdb::Status s = db_->db()->Put(wo, db_->meta(), JobKey(job.number), job.Encode());
  return s.ok() ? Status::Ok() : FromRocks(s, "erasure: write job in " + db_->dir());
}

Status Eraser::Erase(const ErasureRequest& request, int64_t now_ms, ErasureResult* out) {
  *out = ErasureResult{};
  if (request.id.empty()) return Status::InvalidArgument("erasure: empty id");
  Job job;
  job.number = next_job_++;
  job.kind = request.kind;
  job.id = request.id;
  job.suppress = request.suppress;
  job.at_ms = now_ms;
  // Durable before anything is rewritten: a crash from here on is resumed.
  Status s = WriteJob(job, /*sync=*/true);
  if (!s.ok()) return s;
  return RunJob(&job, out);
}

Status Eraser::RunJob(Job* job, ErasureResult* out) {
  const Database& db = *db_;
  // 1. The identities to follow and the sessions they touch.
  std::set<std::string> sessions;
  std::set<std::pair<char, std::string>> identities;
  std::vector<std::pair<char, std::string>> todo;
  if (job->kind == IdentityKind::kSessionId) {
    sessions.insert(job->id);
  } else {
    todo.emplace_back(job->kind == IdentityKind::kUserId ? kIdentityUser : kIdentityAnonymous, job->id);
  }
  rocksdb::ReadOptions plain;
  while (!todo.empty() && identities.size() < kMaxLinkedIdentities) {
    auto ident = todo.back();
    todo.pop_back();
    if (!identities.insert(ident).second) continue;
    std::vector<uint64_t> seqs;
    Status s = ScanIndex(db, db.identities(), IdentityPrefix(ident.first, ident.second), &seqs);
    if (!s.ok()) return s;
    for (uint64_t seq : seqs) {
      proto::Event e;
      bool found = false;
      s = GetRecord(db, plain, seq, &e, &found);
      if (!s.ok()) return s;
      const std::string& field = ident.first == kIdentityUser ? e.user_id : e.anonymous_id;
      if (!found || field != ident.second) continue;  // a hash collision or a redacted record
      sessions.insert(e.session_id);
      if (!e.anonymous_id.empty()) todo.emplace_back(kIdentityAnonymous, e.anonymous_id);
      if (!e.user_id.empty()) todo.emplace_back(kIdentityUser, e.user_id);
    }
  }

  // 2. Every record of those sessions, and whether each session is closed:
  // no open-session row and every record at or below the aggregator's
  // checkpoint, read in one snapshot (the aggregator writes both in one batch).
  const rocksdb::Snapshot* snap = db.db()->GetSnapshot();
  struct Release {
    rocksdb::DB* db;
    const rocksdb::Snapshot* snap;
    ~Release() { db->ReleaseSnapshot(snap); }
  } release{db.db(), snap};
  rocksdb::ReadOptions ro;
  ro.snapshot = snap;
  uint64_t checkpoint = 0;
  {
    std::string v;
    rocksdb::Status g = db.db()->Get(ro, db.meta(), kMetaAggCheckpoint, &v);
    if (g.ok() && v.size() == 8) checkpoint = GetBe64(v);
    else if (!g.ok() && !g.IsNotFound()) return FromRocks(g, "erasure: read aggregator checkpoint");
  }
  struct Found {
    proto::Event e;
    bool closed = false;
  };
  std::vector<Found> records;
  for (const std::string& sid : sessions) {
    std::vector<uint64_t> seqs;
    Status s = ScanIndex(db, db.session_index(), SessionIndexPrefix(sid), &seqs);
    if (!s.ok()) return s;
    const size_t first = records.size();
    bool closed = true;
    for (uint64_t seq : seqs) {
      Found f;
      bool found = false;
      s = GetRecord(db, ro, seq, &f.e, &found);
      if (!s.ok()) return s;
      if (!found || f.e.session_id != sid) continue;
      closed = closed && seq <= checkpoint;
      records.push_back(std::move(f));
    }
    if (records.size() == first) continue;
    ++job->sessions;
    std::string head;
    rocksdb::Status g = db.db()->Get(ro, db.sessions(), SessionHeadKey(sid), &head);
    if (g.ok()) closed = false;
    else if (!g.IsNotFound()) return FromRocks(g, "erasure: read session state");
    for (size_t i = first; i < records.size(); ++i) records[i].closed = closed;
  }

  // 3. Rewrite in chunks; each chunk carries the job's progress.
  const bool sync = options_.durability == config::Durability::kSync;
  std::string buf;
  for (size_t at = 0; at < records.size() || at == 0; at += kChunkRecords) {
    const size_t end = std::min(records.size(), at + kChunkRecords);
    const bool last = end == records.size();
    rocksdb::WriteBatch batch;
    rocksdb::Status b;
    for (size_t i = at; i < end; ++i) {
      const proto::Event& e = records[i].e;
      std::string sid = records[i].closed ? "erased-" + Hex16(Hash64(secret_ + "s" + e.session_id)) : e.session_id;
      proto::Event r = RedactRecord(e, options_.analytics, std::move(sid));
      buf.clear();
      proto::EncodeRecord(r, &buf);
      if (b.ok()) b = batch.Put(db.log(), LogKey(e.seq), buf);
      if (b.ok()) b = batch.Delete(db.session_index(), SessionIndexKey(e.session_id, e.event_time_ms, e.seq));
      if (b.ok() && !e.anonymous_id.empty()) b = batch.Delete(db.identities(), IdentityKey(kIdentityAnonymous, e.anonymous_id, e.seq));
      if (b.ok() && !e.user_id.empty()) b = batch.Delete(db.identities(), IdentityKey(kIdentityUser, e.user_id, e.seq));
      if (!records[i].closed) job->pending.push_back(e.seq);
      ++job->erased;
    }
    if (last) {
      std::string v;
      proto::PutVarsigned64(&v, job->at_ms);
      proto::PutLengthPrefixed(&v, IdentityHash(job->kind, job->id));
      proto::PutVarint64(&v, job->erased);
      proto::PutVarint64(&v, job->sessions);
      v.push_back(job->suppress ? 1 : 0);
      if (b.ok()) b = batch.Put(db.meta(), LogEntryKey(job->number), v);
      if (job->suppress) {
        std::vector<std::string> keys;
        if (job->kind == IdentityKind::kSessionId) keys.push_back(IdentityHash(IdentityKind::kSessionId, job->id));
        for (const auto& [k, id] : identities) {
          keys.push_back(IdentityHash(k == kIdentityUser ? IdentityKind::kUserId : IdentityKind::kAnonymousId, id));
        }
        for (const std::string& k : keys) {
          if (b.ok()) b = batch.Put(db.meta(), std::string(kMetaSuppress) + k, {});
        }
      }
      job->state = kJobRenames;
      if (b.ok()) b = job->pending.empty() ? batch.Delete(db.meta(), JobKey(job->number))
                                           : batch.Put(db.meta(), JobKey(job->number), job->Encode());
    } else if (b.ok()) {
      b = batch.Put(db.meta(), JobKey(job->number), job->Encode());
    }
    if (b.ok()) {
      rocksdb::WriteOptions wo;
      wo.sync = sync;
      b = db.db()->Write(wo, &batch);
    }
    if (!b.ok()) return FromRocks(b, "erasure: write in " + db.dir());
    if (last) break;
  }
  if (job->suppress) {
    if (job->kind == IdentityKind::kSessionId) suppressed_.insert(IdentityHash(IdentityKind::kSessionId, job->id));
    for (const auto& [k, id] : identities) {
      suppressed_.insert(IdentityHash(k == kIdentityUser ? IdentityKind::kUserId : IdentityKind::kAnonymousId, id));
    }
  }
  next_log_ = std::max(next_log_, job->number + 1);
  if (!job->pending.empty()) renames_pending_ = true;
  std::set<std::string> pending_sessions;
  for (const Found& f : records) {
    if (!f.closed) pending_sessions.insert(f.e.session_id);
  }
  out->erasure_id = job->number;
  out->events_erased = job->erased;
  out->sessions_erased = job->sessions;
  out->sessions_pending = pending_sessions.size();
  return Status::Ok();
}

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
    if (job.state == kJobRunning) {
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
  const rocksdb::Snapshot* snap = db.db()->GetSnapshot();
  struct Release {
    rocksdb::DB* db;
    const rocksdb::Snapshot* snap;
    ~Release() { db->ReleaseSnapshot(snap); }
  } release{db.db(), snap};
  rocksdb::ReadOptions ro;
  ro.snapshot = snap;
  uint64_t checkpoint = 0;
  std::string v;
  rocksdb::Status g = db.db()->Get(ro, db.meta(), kMetaAggCheckpoint, &v);
  if (g.ok() && v.size() == 8) checkpoint = GetBe64(v);
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
    g = db.db()->Get(ro, db.sessions(), SessionHeadKey(sid), &head);
    if (!g.ok() && !g.IsNotFound()) return FromRocks(g, "erasure: read session state");
    bool closed = g.IsNotFound();
    for (const auto& e : events) closed = closed && e.seq <= checkpoint;
    for (const auto& e : late) closed = closed && e.seq <= checkpoint;
    if (!closed) {
      for (const auto& e : events) still.push_back(e.seq);
      continue;
    }
    const std::string opaque = "erased-" + Hex16(Hash64(secret_ + "s" + sid));
    for (const auto& e : late) {
      if (b.ok()) b = batch.Delete(db.session_index(), SessionIndexKey(e.session_id, e.event_time_ms, e.seq));
      if (b.ok() && !e.anonymous_id.empty()) b = batch.Delete(db.identities(), IdentityKey(kIdentityAnonymous, e.anonymous_id, e.seq));
      if (b.ok() && !e.user_id.empty()) b = batch.Delete(db.identities(), IdentityKey(kIdentityUser, e.user_id, e.seq));
      events.push_back(e);
    }
    for (const auto& e : events) {
      buf.clear();
      proto::EncodeRecord(RedactRecord(e, options_.analytics, opaque), &buf);
      if (b.ok()) b = batch.Put(db.log(), LogKey(e.seq), buf);
    }
  }
  if (still.size() == job->pending.size()) return Status::Ok();  // nothing closed yet
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
  return Status::Ok();
}

}  // namespace foothold::storage
