// Helpers shared by the storage tests (besides tests/test_util.h): event
// builders, a synchronous Append, and a gate that holds the writer thread inside a
// callback so tests can line up queued work deterministically (no sleeps,
// no timing assertions).
//
// Thread safety: the builders are single-threaded; WriterGate's
// Release may be called from any thread.
#pragma once

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "proto/event.h"
#include "storage/event_store.h"
#include "tests/proto/event_check.h"
#include "tests/test_util.h"

namespace foothold::storage::testing {

using foothold::testing::NowMs;
using foothold::testing::TempDir;
using foothold::testing::WaitUntil;

// How long a test waits for the writer before failing: generous, never asserted.
inline constexpr std::chrono::seconds kWriterDeadline{60};

// Options for tests: no periodic retention (tests call RunRetentionForTest),
// no clock ticks, a small block cache.
inline StoreOptions TestOptions(const std::string& dir) {
  StoreOptions o;
  o.data_dir = dir;
  o.retention_interval_ms = 0;
  o.clock_ticks = false;  // tests drive the watermark with the events they append
  o.block_cache_bytes = 4 << 20;
  return o;
}

inline std::unique_ptr<EventStore> OpenStore(const StoreOptions& options) {
  std::unique_ptr<EventStore> store;
  Status s = EventStore::Open(options, &store);
  INFO(s.ToString());
  REQUIRE(s.ok());
  REQUIRE(store != nullptr);
  return store;
}

// An event as the server would hand it over: received now-ish, a client id.
inline proto::Event MakeEvent(std::string name, std::string session_id, int64_t event_time_ms,
                              int64_t received_at_ms = 0) {
  proto::Event e;
  e.event = std::move(name);
  e.session_id = std::move(session_id);
  e.event_time_ms = event_time_ms;
  e.received_at_ms = received_at_ms != 0 ? received_at_ms : event_time_ms;
  e.ts_ms = event_time_ms;
  return e;
}

// An event without session_id, to be sessionized by the store.
inline proto::Event VisitorEvent(std::string anonymous_id, int64_t event_time_ms,
                                 int64_t received_at_ms = 0) {
  proto::Event e = MakeEvent("page_view", "", event_time_ms, received_at_ms);
  e.anonymous_id = std::move(anonymous_id);
  return e;
}

// Every field except those the store assigns (seq, and session_id + flag
// when sessionized): what went in comes back out.
using proto::testing::CheckSameClientFields;

// Appends and waits for the callback. REQUIREs that Append accepted.
inline AppendResult AppendSync(EventStore& store, std::vector<proto::Event> events) {
  // Shared with the callback, which may still run after a failed wait.
  auto done = std::make_shared<std::promise<AppendResult>>();
  auto f = done->get_future();
  Status s = store.Append(std::move(events), [done](AppendResult&& r) { done->set_value(std::move(r)); });
  INFO(s.ToString());
  REQUIRE(s.ok());
  REQUIRE(f.wait_for(kWriterDeadline) == std::future_status::ready);
  return f.get();
}

inline std::vector<proto::Event> ReadOk(const EventStore& store, const std::string& session_id) {
  std::vector<proto::Event> out;
  Status s = store.ReadSession(session_id, &out);
  INFO(session_id + ": " + s.ToString());
  REQUIRE(s.ok());
  return out;
}

// Holds the writer thread inside the callback of a one-event append until
// Release(): everything appended meanwhile waits in the queue.
class WriterGate {
 public:
  explicit WriterGate(EventStore& store) {
    auto entered = entered_.get_future();
    std::shared_future<void> release = release_.get_future().share();
    Status s = store.Append({MakeEvent("gate", "gate-session", NowMs())},
                           [this, release](AppendResult&& r) {
                             gate_status_ = r.status;
                             entered_.set_value();
                             release.wait();
                           });
    REQUIRE(s.ok());
    // Not bounded on purpose: failing here would destroy the gate while the
    // writer may still enter its callback. The writer reaches it unless the
    // store is broken, which the test's other waits then report.
    entered.wait();  // the writer is now parked in the callback
  }
  ~WriterGate() { Release(); }

  void Release() {
    if (!released_.exchange(true)) release_.set_value();
  }
  const Status& gate_status() const { return gate_status_; }

 private:
  std::promise<void> entered_;
  std::promise<void> release_;
  std::atomic<bool> released_{false};
  Status gate_status_;
};

// Counts callbacks; Wait blocks until `n` have arrived.
class CallbackLatch {
 public:
  void Arrive() {
    std::lock_guard<std::mutex> lock(mu_);
    ++count_;
    cv_.notify_all();
  }
  void Wait(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return count_ >= n; });  // unbounded: callbacks capture the latch
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t count_ = 0;
};

}  // namespace foothold::storage::testing
