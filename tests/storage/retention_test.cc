// Retention (storage/README.md): log records older than retention_days (by
// received_at) are removed with their session_index entries; newer ones stay.
#include <thread>

#include "tests/storage/test_util.h"

namespace foothold::storage {
namespace {

using testing::AppendSync;
using testing::MakeEvent;
using testing::NowMs;
using testing::OpenStore;
using testing::ReadOk;
using testing::TempDir;
using testing::TestOptions;

constexpr int64_t kDay = 24LL * 3600 * 1000;

TEST_CASE("retention removes old records and their index entries, keeps new ones", "[storage]") {
  TempDir dir;
  StoreOptions options = TestOptions(dir.path());
  options.retention_days = 30;
  const int64_t now = NowMs();
  const int64_t old = now - 40 * kDay;
  {
    auto store = OpenStore(options);
    // Received in this order, as the log holds them.
    REQUIRE(AppendSync(*store, {MakeEvent("o1", "old", old, old), MakeEvent("o2", "old", old + 1, old),
                                MakeEvent("m1", "mixed", old + 2, old)})
                .status.ok());
    REQUIRE(AppendSync(*store, {MakeEvent("o3", "old", old + 3, old + kDay)}).status.ok());
    REQUIRE(AppendSync(*store, {MakeEvent("m2", "mixed", now, now), MakeEvent("n1", "new", now, now),
                                MakeEvent("n2", "new", now + 1, now)})
                .status.ok());

    REQUIRE(store->WaitAggregated(30000));  // retention never deletes what is not counted yet
    CHECK(store->RunRetentionForTest(now) == 4);
    CHECK(store->stats().retention_deleted == 4);

    std::vector<proto::Event> out;
    CHECK(store->ReadSession("old", &out).code() == Status::Code::kNotFound);
    auto mixed = ReadOk(*store, "mixed");
    REQUIRE(mixed.size() == 1);
    CHECK(mixed[0].event == "m2");
    CHECK(ReadOk(*store, "new").size() == 2);

    CHECK(store->RunRetentionForTest(now) == 0);  // nothing left to remove
    // 25 days on, the 40-day-old cutoff still keeps the new records.
    CHECK(store->RunRetentionForTest(now + 25 * kDay) == 0);
    // New appends keep their place in seq order.
    CHECK(AppendSync(*store, {MakeEvent("n3", "new", now + 2, now)}).seqs ==
          std::vector<uint64_t>{8});
  }
  // Removed records stay removed after reopen; seqs are not reused.
  auto store = OpenStore(options);
  std::vector<proto::Event> out;
  CHECK(store->ReadSession("old", &out).code() == Status::Code::kNotFound);
  CHECK(ReadOk(*store, "new").size() == 3);
  CHECK(store->stats().next_seq == 9);
}

TEST_CASE("retention of the whole log in several batches and seq still continues", "[storage]") {
  TempDir dir;
  StoreOptions options = TestOptions(dir.path());
  options.retention_days = 1;
  const int64_t now = NowMs();
  constexpr int kEvents = 5000;  // more than one retention batch
  {
    auto store = OpenStore(options);
    for (int chunk = 0; chunk < 5; ++chunk) {
      std::vector<proto::Event> events;
      for (int i = 0; i < kEvents / 5; ++i) {
        events.push_back(MakeEvent("e", "s" + std::to_string(i % 7), now - 2 * kDay + i, now - 2 * kDay));
      }
      REQUIRE(AppendSync(*store, std::move(events)).status.ok());
    }
    REQUIRE(store->WaitAggregated(30000));
    CHECK(store->RunRetentionForTest(now) == kEvents);
    std::vector<proto::Event> out;
    for (int s = 0; s < 7; ++s) {
      CHECK(store->ReadSession("s" + std::to_string(s), &out).code() == Status::Code::kNotFound);
    }
  }
  // The log is empty now: the next seq comes from meta alone.
  auto store = OpenStore(options);
  CHECK(store->stats().next_seq == kEvents + 1);
  CHECK(AppendSync(*store, {MakeEvent("after", "s0", now, now)}).seqs ==
        std::vector<uint64_t>{kEvents + 1});
}

TEST_CASE("retention keeps old records the aggregator has not counted yet", "[storage]") {
  TempDir dir;
  StoreOptions options = TestOptions(dir.path());
  options.retention_days = 1;
  options.aggregate_live = false;  // the aggregator counts only at Close
  const int64_t now = NowMs();
  {
    auto store = OpenStore(options);
    REQUIRE(AppendSync(*store, {MakeEvent("old", "k", now - 2 * kDay, now - 2 * kDay)}).status.ok());
    CHECK(store->aggregator_stats().pending_events == 1);
    CHECK(store->RunRetentionForTest(now) == 0);
    CHECK(ReadOk(*store, "k").size() == 1);
  }  // Close lets the aggregator catch up
  options.aggregate_live = true;
  auto store = OpenStore(options);
  CHECK(store->aggregator_stats().checkpoint_seq == 1);
  CHECK(store->RunRetentionForTest(now) == 1);
}

TEST_CASE("the periodic pass runs at open on the writer thread", "[storage]") {
  TempDir dir;
  StoreOptions options = TestOptions(dir.path());
  options.retention_days = 10;
  const int64_t now = NowMs();
  {
    auto store = OpenStore(options);  // periodic retention off (test options)
    REQUIRE(AppendSync(*store, {MakeEvent("old", "p", now - 11 * kDay, now - 11 * kDay),
                                MakeEvent("new", "p", now, now)})
                .status.ok());
  }
  options.retention_interval_ms = 3600 * 1000;
  auto store = OpenStore(options);
  // Wait (no timing assertion) for the pass the writer runs right after open.
  while (store->stats().retention_deleted < 1) std::this_thread::yield();
  auto events = ReadOk(*store, "p");
  REQUIRE(events.size() == 1);
  CHECK(events[0].event == "new");
  CHECK(store->stats().retention_deleted == 1);
}

TEST_CASE("retention_days <= 0 keeps everything", "[storage]") {
  TempDir dir;
  StoreOptions options = TestOptions(dir.path());
  options.retention_days = 0;
  auto store = OpenStore(options);
  const int64_t old = NowMs() - 1000 * kDay;
  REQUIRE(AppendSync(*store, {MakeEvent("ancient", "keep", old, old)}).status.ok());
  CHECK(store->RunRetentionForTest(NowMs()) == 0);
  CHECK(ReadOk(*store, "keep").size() == 1);
}

}  // namespace
}  // namespace foothold::storage
