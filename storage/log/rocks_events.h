// Private to storage/: what RocksDB says, routed into foothold's log.
//
// RocksLogger replaces RocksDB's own info LOG file: its warnings and errors go
// to spdlog (stderr) instead of a file in the data directory. Besides putting
// RocksDB's causes next to foothold's messages, this removes a crash: RocksDB's
// file logger, once one of its writes failed (a full disk), asserts on the
// next log line, and Debian's librocksdb is built with assertions on, so the
// process aborted while RocksDB was logging the very error it had hit.
//
// ErrorListener logs background errors (with the reason: flush, compaction,
// WAL write, ...) and RocksDB's own recovery attempts and their outcome.
//
// Thread safety: both are called by RocksDB from any of its threads; they
// hold no state of their own and spdlog is thread-safe.
#pragma once

#include <atomic>
#include <cstdarg>
#include <memory>

#include <rocksdb/env.h>
#include <rocksdb/listener.h>

namespace foothold::storage {

class RocksLogger : public rocksdb::Logger {
 public:
  RocksLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override;
  void Logv(rocksdb::InfoLogLevel level, const char* format, va_list ap) override;
};

class ErrorListener : public rocksdb::EventListener {
 public:
  // `had_error` (owned by the Database, which outlives RocksDB's use of the
  // listener) is set on the first background error.
  explicit ErrorListener(std::atomic<bool>* had_error) : had_error_(had_error) {}
  const char* Name() const override { return "FootholdErrorListener"; }
  void OnBackgroundError(rocksdb::BackgroundErrorReason reason, rocksdb::Status* error) override;
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason reason, rocksdb::Status error,
                            bool* auto_recovery) override;
  void OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) override;

 private:
  std::atomic<bool>* had_error_;
};

}  // namespace foothold::storage
