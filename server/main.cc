// foothold: the collector binary. See README.md ("Running") and config/README.md.
#include <cstdio>
#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "config/config.h"
#include "server/http/descriptors.h"
#include "server/http_server.h"
#include "storage/event_store.h"
#include "storage/rebuild.h"
#include "storage/verify.h"

namespace {

int Serve(const foothold::config::Config& loaded) {
  using namespace foothold;
  // Descriptors: take the hard limit, and keep connections below it with a
  // reserve for RocksDB (server/http/descriptors.h).
  config::Config config = loaded;
  uint64_t before = 0, limit = 0;
  std::string rlimit_error;
  if (!server::RaiseNofileLimit(&before, &limit, &rlimit_error)) {
    spdlog::warn("descriptors: {}; keeping the limit of {}", rlimit_error, limit);
  }
  const server::DescriptorPlan plan = server::PlanDescriptors(limit, loaded.http.max_connections);
  if (plan.max_connections == 0) {
    spdlog::error("descriptors: RLIMIT_NOFILE is {} (hard limit included), too few to serve: foothold keeps {} "
                  "for RocksDB and itself; raise it (ulimit -n, LimitNOFILE=)",
                  limit, plan.reserve);
    return 1;
  }
  config.http.max_connections = plan.max_connections;
  spdlog::info("descriptors: limit {} (was {}); http.max_connections {}{}; RocksDB keeps up to {} SST files "
               "open; {} reserved for RocksDB and the process",
               limit, before, plan.max_connections,
               plan.capped ? " (configured " + std::to_string(loaded.http.max_connections) + ", capped to fit)" : "",
               plan.rocksdb_max_open_files, plan.reserve);

  storage::StoreOptions store_options = storage::StoreOptionsFromConfig(config);
  store_options.max_open_files = plan.rocksdb_max_open_files;
  std::unique_ptr<storage::EventStore> store;
  Status s = storage::EventStore::Open(store_options, &store);
  if (!s.ok()) {
    spdlog::error("cannot open the store in {}: {}", config.data_dir, s.ToString());
    return 1;
  }
  spdlog::info("store open in {} (durability={})", config.data_dir,
               config.storage.durability == config::Durability::kSync ? "sync" : "wal");
  {
    server::HttpServer http(config, store.get());
    s = http.Start();
    if (!s.ok()) {
      spdlog::error("{}", s.ToString());
      store->Close();
      return 1;
    }
    http.Wait();
    // Close the store while the server's objects still exist: requests still
    // queued past the shutdown deadline are committed now, and their
    // completions touch the server's metrics and connections.
    s = store->Close();
  }
  if (!s.ok()) {
    spdlog::error("closing the store: {}", s.ToString());
    return 1;
  }
  spdlog::info("store closed; bye");
  return 0;
}

// `foothold verify`: 0 when the counters equal a recount of the log, 1 on
// any difference (the first ones printed), 2 when the store cannot be read.
int Verify(const foothold::config::Config& config) {
  using namespace foothold;
  storage::VerifyReport report;
  Status s = storage::Verify(storage::StoreOptionsFromConfig(config), &report);
  if (!s.ok()) {
    std::fprintf(stderr, "foothold verify: %s\n", s.ToString().c_str());
    return 2;
  }
  if (report.log_truncated) {
    std::printf("note: the log starts at seq %llu: retention removed older records, so the "
                "counters they fed cannot match a recount\n",
                static_cast<unsigned long long>(report.first_seq));
  }
  for (const std::string& d : report.differences) std::printf("mismatch: %s\n", d.c_str());
  std::printf("%s: recounted %llu records up to seq %llu; %llu counters and %llu open sessions "
              "compared; %llu mismatches\n",
              report.ok() ? "ok" : "FAILED", static_cast<unsigned long long>(report.records),
              static_cast<unsigned long long>(report.checkpoint_seq),
              static_cast<unsigned long long>(report.counters_checked),
              static_cast<unsigned long long>(report.sessions_checked),
              static_cast<unsigned long long>(report.mismatches));
  return report.ok() ? 0 : 1;
}

// `foothold rebuild`: recount the retained log with the configured
// definitions into a fresh counters generation and switch to it (README.md
// "Backfill"). 0 on success, 2 when the store cannot be read or written.
int Rebuild(const foothold::config::Config& config) {
  using namespace foothold;
  storage::RebuildReport report;
  Status s = storage::RebuildOffline(storage::StoreOptionsFromConfig(config), &report);
  if (!s.ok()) {
    std::fprintf(stderr, "foothold rebuild: %s\n", s.ToString().c_str());
    return 2;
  }
  const double per_cpu = report.cpu_seconds > 0 ? static_cast<double>(report.records) / report.cpu_seconds : 0;
  std::printf("ok: recounted %llu records up to seq %llu into counters generation %llu; "
              "%.2f CPU-seconds (%.0f records per CPU-second), %.2f s wall\n",
              static_cast<unsigned long long>(report.records),
              static_cast<unsigned long long>(report.checkpoint_seq),
              static_cast<unsigned long long>(report.generation), report.cpu_seconds, per_cpu,
              report.wall_seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv, char** envp) {
  using namespace foothold;
  config::LoadResult loaded = config::LoadConfig(argc, argv, envp);
  if (!loaded.error.empty()) {
    std::fprintf(stderr, "foothold: %s\n", loaded.error.c_str());
    return loaded.exit_code != 0 ? loaded.exit_code : 2;
  }
  switch (loaded.command) {
    case config::Command::kHelp:
      std::fputs(config::UsageText().c_str(), stdout);
      return 0;
    case config::Command::kVersion:
      std::printf("foothold %s\n", FOOTHOLD_VERSION);
      return 0;
    case config::Command::kVerify:
      return Verify(loaded.config);
    case config::Command::kRebuild:
      return Rebuild(loaded.config);
    case config::Command::kServe:
      break;
  }
  const config::Config& config = loaded.config;
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  return Serve(config);
}
