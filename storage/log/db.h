// Private to storage/: the RocksDB instance behind an EventStore, its column
// families (layout in storage/log/keys.h), their options and the meta records.
// Only storage/*.cc include this; RocksDB never leaks into public headers.
//
// Thread safety: after Open, the handles are immutable and rocksdb::DB is
// thread-safe, so any thread may read and write through them. Close must not
// run concurrently with any other use (EventStore guarantees that).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <rocksdb/cache.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>

#include "proto/status.h"
#include "storage/event_store.h"

namespace foothold::storage {

// A rocksdb::Status as a foothold Status; `context` says what was attempted.
Status FromRocks(const rocksdb::Status& s, std::string_view context);

// What the meta column family holds, as read (or initialised) at open.
struct StoreMeta {
  uint64_t next_seq = 0;        // the first seq not used by any stored record
  std::string instance_secret;  // 64 lowercase hex chars
};

class Database {
 public:
  // Creates data_dir when missing, opens (or creates) the database with every
  // column family. Errors name the directory.
  static Status Open(const StoreOptions& options, std::unique_ptr<Database>* out);
  // For the offline commands (verify, rebuild): NotFound when data_dir holds
  // no store (nothing is created), else Open and LoadMeta.
  static Status OpenExisting(const StoreOptions& options, std::unique_ptr<Database>* out, StoreMeta* meta);

  ~Database();  // Close()s; errors are dropped here, call Close to see them
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Reads the schema version (refusing a newer one), the next seq (the max of
  // meta next_seq and the last log key + 1, so neither a lost meta update nor
  // a lost log tail makes a seq repeat) and the instance secret, creating
  // what is missing on a fresh store.
  Status LoadMeta(StoreMeta* out);

  // Free bytes for an unprivileged writer on the data dir's filesystem (one
  // statvfs: cheap enough to call per group).
  Status FreeBytes(uint64_t* out) const;

  // Clears a RocksDB background error (a full disk, no descriptors left) so
  // writes go on: flushes the memtables and starts a fresh WAL. Ok when
  // there was no error; Busy while RocksDB's own recovery is running.
  Status Resume();

  // Syncs the WAL, flushes every memtable (unless !flush) and closes.
  // Idempotent. After a failed write, pass flush = false: the WAL writer is
  // in an error state, and Debian's librocksdb is built with assertions on,
  // so syncing it then aborts the process. Nothing is lost by skipping: every
  // acked group is already in the WAL and is replayed at the next open. Close
  // also skips it by itself after any RocksDB background error since open
  // (a failed write of the aggregator or of a flush, recovered or not).
  Status Close(bool flush = true);

  rocksdb::DB* db() const { return db_; }
  rocksdb::ColumnFamilyHandle* log() const { return log_; }
  rocksdb::ColumnFamilyHandle* session_index() const { return session_index_; }
  rocksdb::ColumnFamilyHandle* dedupe() const { return dedupe_; }
  rocksdb::ColumnFamilyHandle* visitors() const { return visitors_; }
  rocksdb::ColumnFamilyHandle* identities() const { return identities_; }
  rocksdb::ColumnFamilyHandle* meta() const { return meta_; }
  // Empty until the aggregator writes them. counters has the built-in
  // "uint64add" merge operator (8-byte little-endian operands), so counter
  // deltas can be Merge()d without a read.
  //
  // Generations (storage/README.md "Backfill"): the counters and sessions
  // live in one pair of column families per generation — `counters` and
  // `sessions` for generation 0, `counters.g<N>` and `sessions.g<N>` after.
  // meta `agg_generation` names the active one; counters() and sessions()
  // return its handles, and a rebuild's switch swaps them atomically
  // (ActivateGeneration), so a reader sees one generation or the other.
  rocksdb::ColumnFamilyHandle* sessions() const { return sessions_.load(std::memory_order_acquire); }
  rocksdb::ColumnFamilyHandle* counters() const { return counters_.load(std::memory_order_acquire); }
  const std::string& dir() const { return dir_; }

  struct Generation {
    uint64_t number = 0;
    rocksdb::ColumnFamilyHandle* counters = nullptr;
    rocksdb::ColumnFamilyHandle* sessions = nullptr;
  };
  uint64_t active_generation() const { return active_generation_.load(); }
  // Every generation with column families in the store, by number.
  std::vector<uint64_t> generations() const;
  // Opens (creating when missing) generation `n`'s column families.
  Status OpenGeneration(uint64_t n, Generation* out);
  // Makes `n` (opened before) the generation counters() and sessions()
  // return. The caller has written meta `agg_generation` first.
  void ActivateGeneration(uint64_t n);
  // Generation n's sessions family, or nullptr when it is not open (or dropped).
  rocksdb::ColumnFamilyHandle* generation_sessions(uint64_t n) const;
  // Drops generation `n`'s column families (not the active one). Their
  // handles stay valid until Close, so a reader still holding one finishes.
  Status DropGeneration(uint64_t n);

 private:
  Database() = default;

  std::string dir_;
  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // all open handles, owned
  std::vector<rocksdb::ColumnFamilyHandle*> dropped_;  // dropped generations' handles, owned
  rocksdb::ColumnFamilyHandle* log_ = nullptr;
  rocksdb::ColumnFamilyHandle* session_index_ = nullptr;
  rocksdb::ColumnFamilyHandle* dedupe_ = nullptr;
  rocksdb::ColumnFamilyHandle* visitors_ = nullptr;
  rocksdb::ColumnFamilyHandle* identities_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  std::atomic<rocksdb::ColumnFamilyHandle*> sessions_{nullptr};
  std::atomic<rocksdb::ColumnFamilyHandle*> counters_{nullptr};
  std::atomic<uint64_t> active_generation_{0};
  mutable std::mutex gen_mu_;                  // guards generations_ and handles_ after Open
  std::map<uint64_t, Generation> generations_;  // open, not dropped
  rocksdb::ColumnFamilyOptions counters_opts_;
  rocksdb::ColumnFamilyOptions sessions_opts_;
  // Referenced by raw pointer from the column family options: must outlive db_.
  std::unique_ptr<rocksdb::CompactionFilter> dedupe_filter_;
  std::unique_ptr<rocksdb::CompactionFilter> visitors_filter_;
  std::shared_ptr<rocksdb::Cache> block_cache_;
  std::atomic<bool> had_background_error_{false};  // set by the ErrorListener
};

}  // namespace foothold::storage
