// A hidden benchmark, not a test: `foothold_tests "[.bench]"` feeds the real
// EventStore (writer, RocksDB, aggregator) with synthetic browser traffic in
// the two session shapes of the README's benchmark section, and prints what it
// did: events, sessions opened and still open, aggregator passes, peak RSS.
// Run it under `perf stat --per-thread -e instructions:u` (or callgrind) to
// get a repeatable cost per event per thread; scripts/bench_aggregate.sh does
// that. It asserts only that everything was aggregated, never a timing.
//
// Knobs (environment):
//   FOOTHOLD_BENCH_SHAPE   fresh (default): visits of FOOTHOLD_BENCH_VISIT events (10),
//                          FOOTHOLD_BENCH_CONCURRENT (1000) visits interleaved at a time;
//                          long: a pool of FOOTHOLD_BENCH_POOL (4096) sessions that never end.
//   FOOTHOLD_BENCH_EVENTS  events in all (200000)
//   FOOTHOLD_BENCH_CHUNK   events per append; the test waits for the aggregator after each,
//                          so every aggregator pass reads exactly one chunk (2000, i.e. what a
//                          live pass reads at ~100 k events/s)
//   FOOTHOLD_BENCH_STEP_MS received_at advance per event (18: 200 k events span an hour, so
//                          fresh visits close under the 30-minute timeout); 0 keeps every
//                          session open
//   FOOTHOLD_BENCH_DIR     where the store goes (a temp dir under /tmp by default)
//   FOOTHOLD_BENCH_CONFIG  the config file (config/foothold.toml, the shipped one)
#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <string>

#include "config/config.h"
#include "tests/storage/test_util.h"

namespace foothold::storage {
namespace {

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoll(v, nullptr, 10) : fallback;
}

std::string EnvStr(const char* name, const char* fallback) {
  const char* v = getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

// VmHWM (peak RSS) in MiB.
double PeakRssMib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  }
  return 0;
}

StoreOptions ShippedConfigOptions(const std::string& dir) {
  const std::string config =
      EnvStr("FOOTHOLD_BENCH_CONFIG", (std::string(FOOTHOLD_SOURCE_DIR) + "/config/foothold.toml").c_str());
  const char* argv[] = {"foothold", "--config", config.c_str(), "--data-dir", dir.c_str()};
  const char* envp[] = {nullptr};
  config::LoadResult r = config::LoadConfig(5, argv, envp);
  INFO(r.error);
  REQUIRE(r.error.empty());
  StoreOptions o = StoreOptionsFromConfig(r.config);
  o.retention_interval_ms = 0;
  o.clock_ticks = false;
  o.aggregator_stop_ms = 600000;
  return o;
}

// One event of a shopper's visit, ~300 bytes like a tracker beacon, with the
// shipped config's conversions in a shop's proportions.
proto::Event ShopperEvent(std::mt19937_64& rng, const std::string& session, int64_t t) {
  static const char* kMix[] = {"page_view",   "page_view",      "page_view",  "engagement",
                               "engagement",  "engagement",     "site_search", "video_play",
                               "add_to_cart", "begin_checkout", "purchase",    "wishlist_add"};
  proto::Event e;
  e.event = kMix[rng() % (sizeof(kMix) / sizeof(kMix[0]))];
  e.session_id = session;
  e.anonymous_id = "v-" + session;
  e.event_time_ms = e.received_at_ms = t;
  e.ts_ms = t;
  const int product = static_cast<int>(rng() % 500) + 1;
  e.url = "https://shop.example.com/p/" + std::to_string(product) + "-trail-running-shoes?ref=home";
  e.title = "Trail running shoes X" + std::to_string(product) + " | Shop Example";
  e.user_agent =
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36";
  e.ip = "203.0.113.0";
  if (e.event == "engagement") e.engaged_ms = static_cast<int64_t>(rng() % 40000) + 5000;
  if (e.event == "page_view" && rng() % 3 != 0) {
    e.experiments.emplace_back("video_autoplay", rng() % 2 ? "control" : "autoplay");
  }
  proto::Prop p;
  p.key = "category";
  p.type = proto::PropType::kString;
  p.str = "running";
  e.props.push_back(p);
  return e;
}

TEST_CASE("aggregator cost per event by session shape", "[.bench]") {
  const std::string shape = EnvStr("FOOTHOLD_BENCH_SHAPE", "fresh");
  REQUIRE((shape == "fresh" || shape == "long"));
  const int64_t total = EnvInt("FOOTHOLD_BENCH_EVENTS", 200000);
  const int64_t chunk = EnvInt("FOOTHOLD_BENCH_CHUNK", 2000);
  const int64_t step_ms = EnvInt("FOOTHOLD_BENCH_STEP_MS", 18);
  const int64_t visit = EnvInt("FOOTHOLD_BENCH_VISIT", 10);
  const int64_t concurrent = EnvInt("FOOTHOLD_BENCH_CONCURRENT", 1000);
  const int64_t pool = EnvInt("FOOTHOLD_BENCH_POOL", 4096);
  REQUIRE((total > 0 && chunk > 0 && chunk <= 20000 && visit > 0 && concurrent > 0 && pool > 0));

  testing::TempDir tmp;
  const std::string dir = EnvStr("FOOTHOLD_BENCH_DIR", tmp.Sub("store").c_str());
  StoreOptions options = ShippedConfigOptions(dir);
  std::unique_ptr<EventStore> store = testing::OpenStore(options);

  std::mt19937_64 rng(42);
  int64_t t = 1763596800000;  // 2025-11-20T00:00Z
  // fresh: slot i holds visit ids[i], which has had used[i] events so far.
  std::vector<int64_t> ids(static_cast<size_t>(concurrent)), used(static_cast<size_t>(concurrent), 0);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int64_t>(i);
  int64_t next_visit = concurrent;
  uint64_t sessions_started = shape == "fresh" ? static_cast<uint64_t>(concurrent) : static_cast<uint64_t>(pool);
  char name[40];
  for (int64_t done = 0; done < total;) {
    std::vector<proto::Event> events;
    for (int64_t k = 0; k < chunk && done < total; ++k, ++done) {
      if (shape == "fresh") {
        const size_t slot = rng() % ids.size();
        if (used[slot] == visit) {
          ids[slot] = next_visit++;
          used[slot] = 0;
          ++sessions_started;
        }
        ++used[slot];
        std::snprintf(name, sizeof(name), "bench-visit-%010lld", static_cast<long long>(ids[slot]));
      } else {
        std::snprintf(name, sizeof(name), "bench-pool-%06lld", static_cast<long long>(rng() % static_cast<uint64_t>(pool)));
      }
      t += step_ms;
      events.push_back(ShopperEvent(rng, name, t));
    }
    AppendResult r = testing::AppendSync(*store, std::move(events));
    REQUIRE(r.status.ok());
    REQUIRE(store->WaitAggregated(600000));
  }
  const AggregatorStats agg = store->aggregator_stats();
  CHECK(agg.events_aggregated == static_cast<uint64_t>(total));
  std::printf("BENCH shape=%s events=%lld chunk=%lld sessions_started=%llu open=%llu closed=%llu "
              "passes=%llu peak_rss_mib=%.1f\n",
              shape.c_str(), static_cast<long long>(total), static_cast<long long>(chunk),
              static_cast<unsigned long long>(sessions_started),
              static_cast<unsigned long long>(agg.open_sessions),
              static_cast<unsigned long long>(agg.sessions_closed),
              static_cast<unsigned long long>(agg.batches), PeakRssMib());
  REQUIRE(store->Close().ok());
}

}  // namespace
}  // namespace foothold::storage
