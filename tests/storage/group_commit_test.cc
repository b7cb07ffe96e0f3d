// Group commit: many concurrent appenders, one writer, few WriteBatches;
// every callback exactly once; seqs unique and contiguous. Also a crash
// (SIGKILL) right after an ack loses nothing.
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "tests/storage/test_util.h"

extern char** environ;

namespace foothold::storage {
namespace {

using testing::AppendSync;
using testing::MakeEvent;
using testing::NowMs;
using testing::OpenStore;
using testing::ReadOk;
using testing::TempDir;
using testing::TestOptions;

// Appends from `threads` threads at once; returns every acked seq and
// checks each callback ran once with ok and one outcome per event.
std::vector<uint64_t> ConcurrentAppends(EventStore& store, int threads, int appends_per_thread,
                                        int64_t now, size_t* calls) {
  std::mutex mu;
  std::vector<uint64_t> seqs;
  std::map<std::pair<int, int>, int> callback_count;  // (thread, append) -> calls
  std::vector<int> failures(static_cast<size_t>(threads), 0);
  testing::CallbackLatch latch;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < appends_per_thread; ++i) {
        const size_t n = static_cast<size_t>(1 + (t + i) % 3);  // 1-3 events a request
        std::vector<proto::Event> events;
        for (size_t k = 0; k < n; ++k) {
          events.push_back(MakeEvent("e", "t" + std::to_string(t), now + i));
        }
        Status s = store.Append(std::move(events), [&, t, i, n](AppendResult&& r) {
          std::lock_guard<std::mutex> lock(mu);
          ++callback_count[{t, i}];
          if (!r.status.ok() || r.seqs.size() != n || r.outcomes.size() != n) {
            ++failures[static_cast<size_t>(t)];
          }
          seqs.insert(seqs.end(), r.seqs.begin(), r.seqs.end());
          latch.Arrive();
        });
        if (!s.ok()) ++failures[static_cast<size_t>(t)];  // only this thread writes its slot
      }
    });
  }
  for (auto& th : pool) th.join();
  const size_t total = static_cast<size_t>(threads) * static_cast<size_t>(appends_per_thread);
  latch.Wait(total);
  std::lock_guard<std::mutex> lock(mu);
  CHECK(callback_count.size() == total);
  CHECK(std::all_of(callback_count.begin(), callback_count.end(),
                    [](const auto& kv) { return kv.second == 1; }));
  CHECK(std::all_of(failures.begin(), failures.end(), [](int f) { return f == 0; }));
  *calls = total;
  return seqs;
}

void CheckContiguous(std::vector<uint64_t> seqs, uint64_t first) {
  std::sort(seqs.begin(), seqs.end());
  REQUIRE_FALSE(seqs.empty());
  CHECK(seqs.front() == first);
  bool contiguous = true;
  for (size_t i = 0; i < seqs.size(); ++i) contiguous = contiguous && seqs[i] == first + i;
  CHECK(contiguous);  // also means unique
}

TEST_CASE("concurrent appends share WriteBatches with unique and contiguous", "[storage]") {
  TempDir dir;
  auto store = OpenStore(TestOptions(dir.path()));
  const int64_t now = NowMs();

  SECTION("writer held: everything queued meanwhile commits as one group") {
    size_t calls = 0;
    std::vector<uint64_t> seqs;
    {
      testing::WriterGate gate(*store);
      std::mutex mu;
      std::vector<uint64_t> got;
      // Run the appenders with the writer held; release only after they all
      // returned from Append, so their requests are all in the queue.
      testing::CallbackLatch latch;
      std::vector<std::thread> pool;
      for (int t = 0; t < 8; ++t) {
        pool.emplace_back([&, t] {
          for (int i = 0; i < 100; ++i) {
            Status s = store->Append({MakeEvent("e", "g" + std::to_string(t), now + i)},
                                     [&](AppendResult&& r) {
                                       std::lock_guard<std::mutex> lock(mu);
                                       got.insert(got.end(), r.seqs.begin(), r.seqs.end());
                                       latch.Arrive();
                                     });
            if (!s.ok()) latch.Arrive();  // keep the count honest; checked below
          }
        });
      }
      for (auto& th : pool) th.join();
      CHECK(store->stats().queue_depth_events == 800);
      gate.Release();
      latch.Wait(800);
      calls = 800;
      std::lock_guard<std::mutex> lock(mu);
      seqs = got;
    }
    REQUIRE(seqs.size() == calls);
    CheckContiguous(seqs, 2);  // seq 1 is the gate's event
    StoreStats st = store->stats();
    CHECK(st.groups_committed == 2);  // the gate's group + one for all 800
    CHECK(st.last_group_events == 800);
    CHECK(st.events_committed == 801);
    CHECK(st.next_seq == 802);
  }

  SECTION("free running: fewer groups than appends, every callback once") {
    size_t calls = 0;
    std::vector<uint64_t> seqs = ConcurrentAppends(*store, 8, 300, now, &calls);
    CheckContiguous(seqs, 1);
    StoreStats st = store->stats();
    CHECK(st.events_committed == seqs.size());
    CHECK(st.next_seq == seqs.size() + 1);
    CHECK(st.groups_committed >= 1);
    INFO("groups " << st.groups_committed << " for " << calls << " appends");
    // Eight threads outpace one writer that syncs nothing in between: while
    // it writes a group the others queue. (The writer-held section above
    // pins the exact count; this one checks the natural behaviour.)
    CHECK(st.groups_committed < calls);
    // Every event is readable in its thread's session.
    size_t read = 0;
    for (int t = 0; t < 8; ++t) read += ReadOk(*store, "t" + std::to_string(t)).size();
    CHECK(read == seqs.size());
  }
}

TEST_CASE("max_group_events caps a group at whole requests", "[storage]") {
  TempDir dir;
  StoreOptions options = TestOptions(dir.path());
  options.max_group_events = 10;
  auto store = OpenStore(options);
  const int64_t now = NowMs();
  testing::CallbackLatch latch;
  std::mutex mu;
  std::set<uint64_t> groups_seen;  // groups_committed as seen from each callback
  int failed = 0;                  // guarded by mu (Catch2 asserts only on this thread)
  {
    testing::WriterGate gate(*store);
    // 12 requests of 3 events: at most 3 requests (9 events) fit a group.
    for (int i = 0; i < 12; ++i) {
      std::vector<proto::Event> events(3, MakeEvent("e", "cap", now + i));
      REQUIRE(store->Append(std::move(events), [&](AppendResult&& r) {
                std::lock_guard<std::mutex> lock(mu);
                if (!r.status.ok()) ++failed;
                groups_seen.insert(store->stats().groups_committed);
                latch.Arrive();
              }).ok());
    }
    gate.Release();
    latch.Wait(12);
  }
  CHECK(failed == 0);
  StoreStats st = store->stats();
  CHECK(st.groups_committed == 1 + 4);  // the gate, then 4 groups of 9 events
  CHECK(st.last_group_events == 9);
  CHECK(groups_seen.size() == 4);
  // A single request bigger than the cap still commits, alone.
  std::vector<proto::Event> big(25, MakeEvent("big", "cap", now));
  AppendResult r = AppendSync(*store, big);
  CHECK(r.status.ok());
  CHECK(r.seqs.size() == 25);
  CHECK(store->stats().last_group_events == 25);
}

// The HTTP server parks each connection's answer in its AppendCallback and
// wakes its I/O thread from this hook: the hook must follow every callback of
// a group, once a group, on the writer thread.
TEST_CASE("the group hook runs once a group, after the group's callbacks, on the writer thread", "[storage]") {
  TempDir dir;
  auto store = OpenStore(TestOptions(dir.path()));
  const int64_t now = NowMs();
  std::atomic<int> hooks{0};
  std::atomic<bool> hook_on_writer{true};
  store->SetGroupCallbacksDone([&] {
    if (!store->OnWriterThread()) hook_on_writer = false;
    ++hooks;
  });
  CHECK_FALSE(store->OnWriterThread());
  testing::CallbackLatch latch;
  std::mutex mu;
  std::vector<int> hooks_seen;  // by each callback: hooks run before it (guarded by mu)
  int off_writer = 0;           // callbacks not on the writer thread (guarded by mu)
  {
    testing::WriterGate gate(*store);
    for (int i = 0; i < 5; ++i) {
      REQUIRE(store->Append({MakeEvent("e", "hook", now + i)}, [&](AppendResult&&) {
                std::lock_guard<std::mutex> lock(mu);
                hooks_seen.push_back(hooks.load());
                if (!store->OnWriterThread()) ++off_writer;
                latch.Arrive();
              }).ok());
    }
    gate.Release();
    latch.Wait(5);
  }
  // The gate's group, then one group of the five: two hooks, and every
  // callback of the second group ran after the first hook, before the second.
  const auto deadline = std::chrono::steady_clock::now() + testing::kWriterDeadline;
  while (hooks.load() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK(hooks.load() == 2);
  CHECK(hook_on_writer.load());
  std::lock_guard<std::mutex> lock(mu);
  CHECK(hooks_seen == std::vector<int>(5, 1));
  CHECK(off_writer == 0);
  store->SetGroupCallbacksDone(nullptr);
  REQUIRE(AppendSync(*store, {MakeEvent("e", "hook", now)}).status.ok());
  CHECK(hooks.load() == 2);  // removed: not called again
}

// Not run by default ([.]): the child half of the crash test below. It
// appends, waits for the ack, and SIGKILLs itself: no Close, no flush.
TEST_CASE("crash child: append then die", "[.][storage-crash-child]") {
  const char* dir = std::getenv("FOOTHOLD_CRASH_DIR");
  REQUIRE(dir != nullptr);
  StoreOptions options = TestOptions(dir);
  auto store = OpenStore(options);
  const int64_t now = NowMs();
  for (int i = 0; i < 20; ++i) {
    AppendResult r = AppendSync(*store, {MakeEvent("e" + std::to_string(i), "crash", now + i)});
    REQUIRE(r.status.ok());
  }
  ::kill(::getpid(), SIGKILL);
}

// Runs this test binary again with only the hidden test `tag`, with
// FOOTHOLD_CRASH_DIR=dir; returns its wait status.
int RunChild(const std::string& tag, const std::string& dir) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  env_strings.push_back("FOOTHOLD_CRASH_DIR=" + dir);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string self = "/proc/self/exe";
  std::string tag_arg = tag;
  char* argv[] = {self.data(), tag_arg.data(), nullptr};
  pid_t pid = 0;
  REQUIRE(::posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv, envp.data()) == 0);
  int wstatus = 0;
  REQUIRE(::waitpid(pid, &wstatus, 0) == pid);
  return wstatus;
}

TEST_CASE("an acked event survives a SIGKILL right after the ack", "[storage]") {
  TempDir dir;
  int wstatus = RunChild("[storage-crash-child]", dir.path());
  REQUIRE(WIFSIGNALED(wstatus));
  REQUIRE(WTERMSIG(wstatus) == SIGKILL);

  auto store = OpenStore(TestOptions(dir.path()));
  auto events = ReadOk(*store, "crash");
  CHECK(events.size() == 20);
  CHECK(store->stats().next_seq == 21);
}

// Not run by default ([.]): the child half of the write-failure test below.
// A file size limit makes the WAL write fail for real once it grows past
// 1 MiB (EFBIG), with no test hook in the store.
TEST_CASE("failure child: writes fail past a file size limit", "[.][storage-fail-child]") {
  const char* dir = std::getenv("FOOTHOLD_CRASH_DIR");
  REQUIRE(dir != nullptr);
  ::signal(SIGXFSZ, SIG_IGN);  // get EFBIG from write(2) instead of dying
  struct rlimit limit = {1 << 20, 1 << 20};
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
  auto store = OpenStore(TestOptions(std::string(dir) + "/db"));
  std::atomic<int> hooks{0};
  store->SetGroupCallbacksDone([&] { ++hooks; });
  const int64_t now = NowMs();
  proto::Event big = MakeEvent("big", "fail", now);
  big.url.assign(64 << 10, 'u');
  AppendResult failed;
  int acked = 0;
  for (int i = 0; i < 64; ++i) {
    AppendResult r = AppendSync(*store, {big});
    if (!r.status.ok()) {
      failed = std::move(r);
      break;
    }
    ++acked;
  }
  INFO("acked " << acked);
  REQUIRE_FALSE(failed.status.ok());
  // The failed group's callback is followed by the group hook too (HTTP answers parked in it go out).
  const auto deadline = std::chrono::steady_clock::now() + testing::kWriterDeadline;
  while (hooks.load() < acked + 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK(hooks.load() == acked + 1);
  CHECK(failed.outcomes.empty());
  CHECK(failed.seqs.empty());
  CHECK_FALSE(store->healthy());
  CHECK(store->stats().write_failures == 1);
  CHECK(store->stats().events_committed == static_cast<uint64_t>(acked));
  bool called = false;
  Status s = store->Append({MakeEvent("after", "fail", now)}, [&](AppendResult&&) { called = true; });
  CHECK(s.code() == Status::Code::kUnavailable);
  CHECK(store->RunRetentionForTest(now) == 0);
  (void)store->Close();  // may fail too (the flush hits the same limit)
  CHECK_FALSE(called);
  std::ofstream(std::string(dir) + "/acked") << acked;  // for the parent
}

TEST_CASE("a failed write fails its group, turns the store unhealthy, refuses appends",
          "[storage]") {
  TempDir dir;
  int wstatus = RunChild("[storage-fail-child]", dir.path());
  REQUIRE(WIFEXITED(wstatus));
  REQUIRE(WEXITSTATUS(wstatus) == 0);  // the child's assertions passed
  int acked = -1;
  std::ifstream(dir.path() + "/acked") >> acked;
  REQUIRE(acked > 0);
  // Reopened without the limit: the torn WAL tail (the failed group) is
  // dropped, every acked event is there, and seqs continue after them.
  auto store = OpenStore(TestOptions(dir.Sub("db")));
  CHECK(ReadOk(*store, "fail").size() == static_cast<size_t>(acked));
  CHECK(store->stats().next_seq == static_cast<uint64_t>(acked) + 1);
  CHECK(store->healthy());
}

}  // namespace
}  // namespace foothold::storage
