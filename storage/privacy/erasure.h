// Private to storage/: erasure of a visitor and the suppression list
// (storage/README.md "Erasure", README.md "Privacy").
//
// An erasure finds a person's records through the `identities` and
// `session_index` column families (never a log scan), widens the set to every
// session those records belong to, and rewrites each record redacted in
// place: what the rollup reads stays (RedactRecord), so counters, funnels,
// lift, experiments and `foothold verify` are unchanged, while the journey
// readback of those sessions answers 404. It runs in phases, each phase's
// WriteBatch carrying the job record, so a crash anywhere resumes and never
// leaves a half:
//   1. the job record (meta "erasure_job/n", state running, with the id) is
//      written and synced before anything else;
//   2. records are redacted in chunks, one writer task each (ingestion goes on
//      in between); each chunk deletes their index entries and updates the
//      job (count, seqs whose session is still open);
//   3. the last batch finds again what is still indexed (events of these
//      people stored while the chunks ran; starting from every identity
//      followed before, which the job record keeps while it runs), redacts it, writes the erasure log
//      entry and the suppression keys, and turns the job into "renames
//      pending" without the id (or deletes it).
// With the ClickHouse exporter configured, every batch that rewrites records
// also queues their seqs for the exporter, which replaces the exported rows
// (storage/privacy/erasure_export.h, storage/export/README.md "Erasure").
// A session still open in the aggregator keeps its session_id in the
// redacted records until it closes; then (ResumeJobs, polled by the writer)
// the session_id is replaced with an opaque keyed hash, the same for every
// record of the session, so a recount groups them exactly as before.
//
// Race with the aggregator: the aggregator reads a record either before or
// after its rewrite, and both versions give the rollup the same input (the
// session id only changes once the session is closed and every record of it
// is at or below the aggregator's checkpoint, read in one snapshot with the
// open-session rows: the aggregator never reads those records again).
//
// Thread safety: writer-thread only (the Writer calls every method between
// groups), except construction. An erasure runs in steps between groups, so
// ingestion goes on while it runs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "proto/event.h"
#include "proto/siphash.h"
#include "proto/status.h"
#include "storage/event_store.h"
#include "storage/log/db.h"

namespace foothold::storage {

// The redacted copy of `e` (README.md "Privacy" lists what is kept): ids,
// event_id, ip, user_agent, referrer, title and props go; url keeps scheme,
// host and path; event, times, seq, flags, bot, engaged_ms and experiments
// stay. A field or prop that a configured `where` predicate compares keeps its
// value when it equals that predicate's literal (the operator's own string),
// so every matcher gives the same answer on the redacted record.
// `session_id` replaces e.session_id.
proto::Event RedactRecord(const proto::Event& e, const AnalyticsDefs& defs, std::string session_id);

class Eraser {
 public:
  Eraser(const StoreOptions& options, Database* db, std::string secret);
  ~Eraser();
  Eraser(const Eraser&) = delete;
  Eraser& operator=(const Eraser&) = delete;

  // Reads the suppression list and the erasure counters. Call once before use.
  Status Load();

  // True when the event names a suppressed anonymous_id, user_id or session_id.
  bool Suppressed(const proto::Event& e) const;

  // Begin + Step until finished, in one call (tests; the Writer steps).
  Status Erase(const ErasureRequest& request, int64_t now_ms, ErasureResult* out);

  // An erasure in bounded steps, so ingestion goes on in between (the Writer
  // runs each step as a task between two groups). Begin writes the job
  // record (synced) and finds the records; each Step rewrites at most
  // kChunkRecords of them in one WriteBatch, and the last one finds again
  // what is still indexed for those people (events stored meanwhile), and
  // writes it with the erasure log entry and the suppression keys, so the
  // suppression list takes over exactly where the redaction stopped. A crash
  // between steps leaves the job record: it is resumed at the next open.
  // Begin answers Busy while another erasure is running (busy()).
  Status Begin(const ErasureRequest& request, int64_t now_ms);
  Status Step(ErasureResult* out, bool* finished);
  bool busy() const { return active_ != nullptr; }
  // Drops the running erasure (the store failed): its job record resumes it at the next open.
  void Abandon();

  // Resumes jobs a crash interrupted and renames the sessions of finished
  // jobs that have closed since. Cheap when there is nothing to do.
  Status ResumeJobs();
  bool renames_pending() const { return renames_pending_; }

  // "a:" / "u:" / "s:" + 16 hex digits of SipHash-2-4 (proto/siphash.h) of the
  // kind letter and the id, keyed with the instance secret's first 128 bits.
  std::string IdentityHash(IdentityKind kind, std::string_view id) const;
  // The same shape with the hash of stores written before SipHash,
  // Hash64(secret ‖ kind ‖ id): suppression entries with an empty value are
  // of that kind and are still honoured (never rewritten: the ids are gone).
  std::string LegacyIdentityHash(IdentityKind kind, std::string_view id) const;

 private:
  struct Job;
  struct Active;
  struct ActiveItem;
  Status RunJob(Job* job, ErasureResult* out);
  Status Discover(Active* a, std::vector<ActiveItem>* items);
  Status WriteItems(Active* a, const ActiveItem* items, size_t n, bool final);
  std::vector<std::string> SuppressionKeys(const Active& a) const;
  Status Rename(Job* job);
  Status WriteJob(const Job& job, bool sync);
  uint64_t Keyed(char domain, std::string_view id) const;
  // "erased-" + 16 hex of the keyed hash: the id a closed erased session takes.
  std::string OpaqueSessionId(std::string_view session_id) const;

  const StoreOptions options_;
  Database* const db_;
  const std::string secret_;
  const proto::internal::SipKey key_;
  std::unordered_set<std::string> suppressed_;         // IdentityHash values (entry value "\x02")
  std::unordered_set<std::string> legacy_suppressed_;  // LegacyIdentityHash values (empty entry value)
  uint64_t next_job_ = 1;
  uint64_t next_log_ = 1;
  const bool export_enabled_;    // [export.clickhouse] set: rewrites queue their ClickHouse phase
  uint64_t next_export_ = 1;     // the next "erasure_export/" number (storage/privacy/erasure_export.h)
  bool renames_pending_ = false;
  std::unique_ptr<Active> active_;  // the erasure between its steps, if any
};

// The erasure log, oldest first: at most the `limit` newest entries. Any thread.
Status ReadErasureLog(const Database& db, size_t limit, std::vector<ErasureLogEntry>* out);

}  // namespace foothold::storage
