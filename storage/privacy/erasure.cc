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
#include "proto/siphash.h"
#include "storage/aggregate/aggregator.h"
#include "storage/aggregate/rebuild.h"
#include "storage/aggregate/session_state.h"
#include "storage/log/keys.h"
#include "storage/privacy/erasure_export.h"
#include "storage/privacy/erasure_internal.h"

namespace foothold::storage {
namespace {

using namespace privacy_internal;  // storage/privacy/erasure_internal.h

// Linked identities followed from the requested one (anonymous id -> the user
// ids it identified as -> their other anonymous ids ...). A shared device or a
// bot reusing one id could link thousands; the bound keeps one request small.
constexpr size_t kMaxLinkedIdentities = 64;
// Records rewritten per WriteBatch.
constexpr size_t kChunkRecords = 1000;

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

// The value of a suppression entry written with the keyed SipHash; entries
// of older stores have an empty value and the unkeyed Hash64(secret‖kind‖id).
constexpr char kSuppressSipHash[] = "\x02";

// SipHash-2-4's 128-bit key: the first 32 hex digits of the instance secret
// (64 random hex digits, storage/README.md "meta"); a secret that is not hex
// (only tests make one) is used as bytes, cycled.
proto::internal::SipKey KeyFromSecret(std::string_view secret) {
  proto::internal::SipKey key{};
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  bool hex = secret.size() >= 32;
  for (size_t i = 0; hex && i < 32; ++i) hex = nibble(secret[i]) >= 0;
  for (size_t i = 0; i < key.size(); ++i) {
    if (hex) {
      key[i] = static_cast<uint8_t>(nibble(secret[2 * i]) << 4 | nibble(secret[2 * i + 1]));
    } else if (!secret.empty()) {
      key[i] = static_cast<uint8_t>(secret[i % secret.size()]);
    }
  }
  return key;
}

char KindChar(IdentityKind k) {
  return k == IdentityKind::kAnonymousId ? 'a' : k == IdentityKind::kUserId ? 'u' : 's';
}

}  // namespace


Eraser::Eraser(const StoreOptions& options, Database* db, std::string secret)
    : options_(options),
      db_(db),
      secret_(std::move(secret)),
      key_(KeyFromSecret(secret_)),
      export_enabled_(!options.export_clickhouse.url.empty()) {}

uint64_t Eraser::Keyed(char domain, std::string_view id) const {
  std::string data(1, domain);
  data.append(id);
  return proto::internal::SipHash24(key_, data.data(), data.size());
}

std::string Eraser::IdentityHash(IdentityKind kind, std::string_view id) const {
  return std::string(1, KindChar(kind)) + ":" + Hex16(Keyed(KindChar(kind), id));
}

std::string Eraser::LegacyIdentityHash(IdentityKind kind, std::string_view id) const {
  std::string keyed = secret_;
  keyed.push_back(KindChar(kind));
  keyed.append(id);
  return std::string(1, KindChar(kind)) + ":" + Hex16(Hash64(keyed));
}

std::string Eraser::OpaqueSessionId(std::string_view session_id) const {
  return "erased-" + Hex16(Keyed('s', session_id));
}

Status Eraser::Load() {
  std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(rocksdb::ReadOptions(), db_->meta()));
  const rocksdb::Slice prefix(kMetaSuppress);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto& set = View(it->value()) == kSuppressSipHash ? suppressed_ : legacy_suppressed_;
    set.insert(std::string(View(it->key()).substr(prefix.size())));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "read suppression list in " + db_->dir());
  uint64_t last_job = 0;
  uint64_t last_log = 0;
  Status s = LastNumber(*db_, kMetaErasureJob, &last_job);
  if (s.ok()) s = LastNumber(*db_, kMetaErasureLog, &last_log);
  next_job_ = next_log_ = std::max(last_job, last_log) + 1;
  uint64_t last_export = 0;
  if (s.ok()) s = LastNumber(*db_, kMetaErasureExport, &last_export);
  next_export_ = last_export + 1;
  renames_pending_ = last_job != 0;  // any job left: ResumeJobs looks at it
  return s;
}

bool Eraser::Suppressed(const proto::Event& e) const {
  auto listed = [&](const std::unordered_set<std::string>& set, auto hash) {
    return !set.empty() &&
           ((!e.anonymous_id.empty() && set.contains((this->*hash)(IdentityKind::kAnonymousId, e.anonymous_id))) ||
            (!e.user_id.empty() && set.contains((this->*hash)(IdentityKind::kUserId, e.user_id))) ||
            (!e.session_id.empty() && set.contains((this->*hash)(IdentityKind::kSessionId, e.session_id))));
  };
  return listed(suppressed_, &Eraser::IdentityHash) || listed(legacy_suppressed_, &Eraser::LegacyIdentityHash);
}

Status Eraser::WriteJob(const Job& job, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  rocksdb::Status s = db_->db()->Put(wo, db_->meta(), JobKey(job.number), job.Encode());
  return s.ok() ? Status::Ok() : FromRocks(s, "erasure: write job in " + db_->dir());
}

Status Eraser::Discover(Active* a, std::vector<ActiveItem>* items) {
  const Database& db = *db_;
  Job* job = &a->job;
  // 1. The identities to follow and the sessions they touch.
  std::set<std::string> sessions;
  std::set<std::pair<char, std::string>> identities;
  std::vector<std::pair<char, std::string>> to_follow;
  if (job->kind == IdentityKind::kSessionId) {
    sessions.insert(job->id);
  } else {
    to_follow.emplace_back(job->kind == IdentityKind::kUserId ? kIdentityUser : kIdentityAnonymous, job->id);
  }
  // A later discovery (the last step, or a resumed job) starts from every
  // identity and session found before: the records that linked them may be
  // redacted by now, and no longer lead to them.
  for (const auto& ident : job->linked) to_follow.push_back(ident);
  for (const auto& ident : a->identities) to_follow.push_back(ident);
  sessions.insert(a->sessions.begin(), a->sessions.end());
  rocksdb::ReadOptions plain;
  while (!to_follow.empty() && identities.size() < kMaxLinkedIdentities) {
    auto ident = to_follow.back();
    to_follow.pop_back();
    if (!identities.insert(ident).second) continue;
    // Per-record keys (older stores), then (identity, session) keys expanded
    // through the session index by the session hash they end with.
    std::vector<uint64_t> seqs;
    Status s = ScanIndex(db, db.identities(), IdentityPrefix(ident.first, ident.second), &seqs);
    if (!s.ok()) return s;
    const char session_kind = ident.first == kIdentityUser ? kIdentityUserSession : kIdentityAnonymousSession;
    std::vector<uint64_t> hashes;
    s = ScanIndex(db, db.identities(), IdentityPrefix(session_kind, ident.second), &hashes);
    if (!s.ok()) return s;
    for (uint64_t h : hashes) {
      std::string prefix;
      PutBe64(h, &prefix);
      s = ScanIndex(db, db.session_index(), prefix, &seqs);
      if (!s.ok()) return s;
      // Remembered for the last batch, which deletes the key (the session
      // is erased whole); one left with no record is deleted there too.
      std::string key = IdentityPrefix(session_kind, ident.second);
      PutBe64(h, &key);
      a->session_keys.insert(std::move(key));
    }
    for (uint64_t seq : seqs) {
      proto::Event e;
      bool found = false;
      s = GetRecord(db, plain, seq, &e, &found);
      if (!s.ok()) return s;
      const std::string& field = ident.first == kIdentityUser ? e.user_id : e.anonymous_id;
      if (!found || field != ident.second) continue;  // a hash collision or a redacted record
      sessions.insert(e.session_id);
      if (!e.anonymous_id.empty()) to_follow.emplace_back(kIdentityAnonymous, e.anonymous_id);
      if (!e.user_id.empty()) to_follow.emplace_back(kIdentityUser, e.user_id);
    }
  }
  a->identities.insert(identities.begin(), identities.end());
  job->linked.assign(a->identities.begin(), a->identities.end());

  // 2. Every record of those sessions, and whether each session is closed:
  // no open-session row and every record at or below the aggregator's
  // checkpoint, read in one snapshot (the aggregator writes both in one batch).
  SnapshotReads snapshot(db);
  const rocksdb::ReadOptions& ro = snapshot.ro;
  uint64_t checkpoint = 0;
  if (Status c = ReadAggCheckpoint(db, ro, &checkpoint); !c.ok()) return c;
  for (const std::string& sid : sessions) {
    std::vector<uint64_t> seqs;
    Status s = ScanIndex(db, db.session_index(), SessionIndexPrefix(sid), &seqs);
    if (!s.ok()) return s;
    const size_t first = items->size();
    bool closed = true;
    for (uint64_t seq : seqs) {
      proto::Event e;
      bool found = false;
      s = GetRecord(db, ro, seq, &e, &found);
      if (!s.ok()) return s;
      if (!found || e.session_id != sid) continue;
      closed = closed && seq <= checkpoint;
      items->push_back({seq, sid, false});
    }
    if (items->size() == first) continue;
    if (a->sessions.insert(sid).second) ++job->sessions;
    std::string head;
    rocksdb::Status g = db.db()->Get(ro, db.sessions(), SessionHeadKey(sid), &head);
    if (g.ok()) closed = false;
    else if (!g.IsNotFound()) return FromRocks(g, "erasure: read session state");
    if (closed) {
      // A rebuild in progress must be done with the session too (storage/README.md "Backfill").
      uint64_t max_seq = 0;
      for (size_t i = first; i < items->size(); ++i) max_seq = std::max(max_seq, (*items)[i].seq);
      s = RebuildDoneWith(db, ro, sid, max_seq, &closed);
      if (!s.ok()) return s;
    }
    for (size_t i = first; i < items->size(); ++i) (*items)[i].closed = closed;
  }
  return Status::Ok();
}

// One WriteBatch: `items` redacted (each read again now: retention or a
// rename may have changed it since the discovery), their index entries
// deleted, the job's progress; the final one also the erasure log entry and
// the suppression keys.
Status Eraser::WriteItems(Active* a, const ActiveItem* items, size_t n, bool final) {
  const Database& db = *db_;
  Job* job = &a->job;
  rocksdb::WriteBatch batch;
  rocksdb::Status b;
  rocksdb::ReadOptions plain;
  std::string buf;
  std::vector<uint64_t> rewritten;
  for (size_t i = 0; i < n; ++i) {
    proto::Event e;
    bool found = false;
    Status s = GetRecord(db, plain, items[i].seq, &e, &found);
    if (!s.ok()) return s;
    // Gone (retention) or renamed by another job's rename since the discovery:
    // left alone. (Nothing else rewrites a record that is still indexed.)
    if (!found || e.session_id != items[i].session_id) continue;
    std::string sid = items[i].closed ? OpaqueSessionId(e.session_id) : e.session_id;
    proto::Event r = RedactRecord(e, options_.analytics, std::move(sid));
    buf.clear();
    proto::EncodeRecord(r, &buf);
    if (b.ok()) b = batch.Put(db.log(), LogKey(e.seq), buf);
    if (b.ok()) b = batch.Delete(db.session_index(), SessionIndexKey(e.session_id, e.event_time_ms, e.seq));
    if (b.ok() && !e.anonymous_id.empty()) b = batch.Delete(db.identities(), IdentityKey(kIdentityAnonymous, e.anonymous_id, e.seq));
    if (b.ok() && !e.user_id.empty()) b = batch.Delete(db.identities(), IdentityKey(kIdentityUser, e.user_id, e.seq));
    // The (identity, session) keys stay until the last batch: a crash before
    // it must still find the rest of the session through them.
    if (!e.anonymous_id.empty()) a->session_keys.insert(IdentitySessionKey(kIdentityAnonymousSession, e.anonymous_id, e.session_id));
    if (!e.user_id.empty()) a->session_keys.insert(IdentitySessionKey(kIdentityUserSession, e.user_id, e.session_id));
    if (!items[i].closed) {
      job->pending.push_back(e.seq);
      a->pending_sessions.insert(e.session_id);
    }
    rewritten.push_back(e.seq);
    ++job->erased;
  }
  if (b.ok() && export_enabled_ && !rewritten.empty()) {
    b = batch.Put(db.meta(), ErasureExportKey(next_export_++), EncodeErasureExport(job->number, std::move(rewritten)));
  }
  if (final) {
    for (const std::string& k : a->session_keys) {
      if (b.ok()) b = batch.Delete(db.identities(), k);
    }
    std::string v;
    proto::PutVarsigned64(&v, job->at_ms);
    proto::PutLengthPrefixed(&v, IdentityHash(job->kind, job->id));
    proto::PutVarint64(&v, job->erased);
    proto::PutVarint64(&v, job->sessions);
    v.push_back(job->suppress ? 1 : 0);
    if (b.ok()) b = batch.Put(db.meta(), LogEntryKey(job->number), v);
    if (job->suppress) {
      for (const std::string& k : SuppressionKeys(*a)) {
        if (b.ok()) b = batch.Put(db.meta(), std::string(kMetaSuppress) + k, kSuppressSipHash);
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
    wo.sync = options_.durability == config::Durability::kSync;
    b = db.db()->Write(wo, &batch);
  }
  return b.ok() ? Status::Ok() : FromRocks(b, "erasure: write in " + db.dir());
}

std::vector<std::string> Eraser::SuppressionKeys(const Active& a) const {
  std::vector<std::string> keys;
  if (a.job.kind == IdentityKind::kSessionId) keys.push_back(IdentityHash(IdentityKind::kSessionId, a.job.id));
  for (const auto& [k, id] : a.identities) {
    keys.push_back(IdentityHash(k == kIdentityUser ? IdentityKind::kUserId : IdentityKind::kAnonymousId, id));
  }
  return keys;
}

Eraser::~Eraser() = default;

void Eraser::Abandon() { active_.reset(); }

Status Eraser::Erase(const ErasureRequest& request, int64_t now_ms, ErasureResult* out) {
  Status s = Begin(request, now_ms);
  for (bool finished = false; s.ok() && !finished;) s = Step(out, &finished);
  return s;
}

Status Eraser::Begin(const ErasureRequest& request, int64_t now_ms) {
  if (request.id.empty()) return Status::InvalidArgument("erasure: empty id");
  if (active_) return Status::Busy("erasure: another erasure is running");
  auto a = std::make_unique<Active>();
  a->job.number = next_job_++;
  a->job.kind = request.kind;
  a->job.id = request.id;
  a->job.suppress = request.suppress;
  a->job.at_ms = now_ms;
  // Durable before anything is rewritten: a crash from here on is resumed.
  Status s = WriteJob(a->job, /*sync=*/true);
  if (s.ok()) s = Discover(a.get(), &a->items);
  if (s.ok()) active_ = std::move(a);
  return s;
}

Status Eraser::Step(ErasureResult* out, bool* finished) {
  *finished = false;
  if (!active_) return Status::InvalidArgument("erasure: nothing running");
  Active* a = active_.get();
  Status s;
  if (a->items.size() - a->next > kChunkRecords) {
    s = WriteItems(a, a->items.data() + a->next, kChunkRecords, /*final=*/false);
    a->next += kChunkRecords;
    if (!s.ok()) active_.reset();  // the job record stays: resumed at the next open
    return s;
  }
  // The last batch: find again what is still indexed - the rest of the
  // first discovery plus whatever the writer stored for these people while
  // the chunks ran - and redact it together with the log entry and the
  // suppression keys, in one batch between two groups: everything stored
  // before it is erased, everything after it is suppressed (when asked).
  std::vector<ActiveItem> rest;
  s = Discover(a, &rest);
  if (s.ok()) s = WriteItems(a, rest.data(), rest.size(), /*final=*/true);
  if (!s.ok()) {
    active_.reset();
    return s;
  }
  for (const std::string& k : a->job.suppress ? SuppressionKeys(*a) : std::vector<std::string>()) suppressed_.insert(k);
  next_log_ = std::max(next_log_, a->job.number + 1);
  if (!a->job.pending.empty()) renames_pending_ = true;
  out->erasure_id = a->job.number;
  out->events_erased = a->job.erased;
  out->sessions_erased = a->job.sessions;
  out->sessions_pending = a->pending_sessions.size();
  active_.reset();
  *finished = true;
  return Status::Ok();
}

Status Eraser::RunJob(Job* job, ErasureResult* out) {
  auto a = std::make_unique<Active>();
  a->job = *job;
  Status s = Discover(a.get(), &a->items);
  if (!s.ok()) return s;
  active_ = std::move(a);
  for (bool finished = false; s.ok() && !finished;) s = Step(out, &finished);
  return s;
}

}  // namespace foothold::storage
