// Descriptor budget: at start-up foothold raises its soft RLIMIT_NOFILE to the
// hard limit and splits what it got between client connections and RocksDB,
// so that a flood of connections can never leave RocksDB without a
// descriptor for its next WAL or SST (it would stop writing; see
// README "Reliability under faults").
//
// Thread safety: plain functions; RaiseNofileLimit changes the process-wide
// limit and is called once from main before any thread starts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace foothold::server {

struct DescriptorPlan {
  uint64_t limit = 0;           // the soft RLIMIT_NOFILE in force
  size_t max_connections = 0;   // http.max_connections, capped to fit under `limit`
  int rocksdb_max_open_files = 0;  // SST files RocksDB keeps open (its table cache)
  uint64_t reserve = 0;         // descriptors kept for RocksDB's own files and the process
  bool capped = false;          // max_connections is below the configured value
};

// Descriptors kept besides connections and open SSTs: WALs, MANIFEST, flush
// and compaction outputs, directory handles, listeners, epoll/eventfds per I/O
// thread, stdio, the random device.
inline constexpr uint64_t kProcessReserve = 128;

// Splits `limit` descriptors: RocksDB's table cache gets a quarter (32..1000),
// kProcessReserve stays free, connections get the rest, at most `configured`.
// max_connections is 0 when the limit is too small for even a few connections.
DescriptorPlan PlanDescriptors(uint64_t limit, size_t configured);

// Raises the soft RLIMIT_NOFILE to the hard limit (capped at what the kernel
// allows per process). *before gets the old soft limit, *after the new one;
// false when getrlimit/setrlimit failed (*after is then the unchanged limit).
bool RaiseNofileLimit(uint64_t* before, uint64_t* after, std::string* error);

}  // namespace foothold::server
