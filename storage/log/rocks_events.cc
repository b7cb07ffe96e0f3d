#include "storage/log/rocks_events.h"

#include <cstdio>
#include <string>

#include <spdlog/spdlog.h>

namespace foothold::storage {
namespace {

const char* ReasonName(rocksdb::BackgroundErrorReason reason) {
  switch (reason) {
    case rocksdb::BackgroundErrorReason::kFlush: return "memtable flush";
    case rocksdb::BackgroundErrorReason::kCompaction: return "compaction";
    case rocksdb::BackgroundErrorReason::kWriteCallback: return "WAL write";
    case rocksdb::BackgroundErrorReason::kMemTable: return "memtable insert";
    case rocksdb::BackgroundErrorReason::kManifestWrite: return "manifest write";
    case rocksdb::BackgroundErrorReason::kFlushNoWAL: return "flush (no WAL)";
    case rocksdb::BackgroundErrorReason::kManifestWriteNoWAL: return "manifest write (no WAL)";
  }
  return "unknown";
}

}  // namespace

void RocksLogger::Logv(const char* format, va_list ap) {
  Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
}

void RocksLogger::Logv(rocksdb::InfoLogLevel level, const char* format, va_list ap) {
  if (level < GetInfoLogLevel()) return;
  char buf[1024];
  va_list copy;
  va_copy(copy, ap);
  int n = std::vsnprintf(buf, sizeof(buf), format, copy);
  va_end(copy);
  if (n < 0) return;
  std::string_view line(buf, static_cast<size_t>(n) < sizeof(buf) ? static_cast<size_t>(n) : sizeof(buf) - 1);
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.remove_suffix(1);
  switch (level) {
    case rocksdb::InfoLogLevel::DEBUG_LEVEL: spdlog::debug("rocksdb: {}", line); break;
    case rocksdb::InfoLogLevel::INFO_LEVEL:
    case rocksdb::InfoLogLevel::HEADER_LEVEL: spdlog::info("rocksdb: {}", line); break;
    case rocksdb::InfoLogLevel::WARN_LEVEL: spdlog::warn("rocksdb: {}", line); break;
    default: spdlog::error("rocksdb: {}", line); break;
  }
}

void ErrorListener::OnBackgroundError(rocksdb::BackgroundErrorReason reason, rocksdb::Status* error) {
  had_error_->store(true);
  spdlog::error("store: RocksDB background error during {}: {} (writes stop until it is recovered)",
                ReasonName(reason), error->ToString());
}

void ErrorListener::OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason reason, rocksdb::Status error,
                                         bool* auto_recovery) {
  spdlog::warn("store: RocksDB starts its own recovery from the {} error: {} (auto={})",
               ReasonName(reason), error.ToString(), *auto_recovery);
}

void ErrorListener::OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) {
  if (info.new_bg_error.ok()) {
    spdlog::info("store: RocksDB recovered from: {}", info.old_bg_error.ToString());
  } else {
    spdlog::warn("store: RocksDB recovery from {} ended with: {}", info.old_bg_error.ToString(),
                 info.new_bg_error.ToString());
  }
}

}  // namespace foothold::storage
