// Private to storage/: the writer's committed groups, handed to the live
// aggregator in memory (storage/README.md "Aggregator: exactly once", "The
// commit feed"). After a group's WriteBatch is written, the writer moves the
// group's stored events — seq, session id and flags filled in, exactly what
// each log record holds — into this bounded queue; the live aggregator takes
// them from here instead of reading and decoding the log. It reads the log as
// before whenever the seq it needs next is not at the queue's head: after the
// queue was full (a group is dropped, never an event of one), after a restart,
// after a failed group's skipped seqs, and always for the rebuild aggregator.
// Counting does not depend on which path fed an event (the log stays the
// recovery path; verify recounts from it).
//
// Thread safety: Push (writer thread) and Take (aggregator thread) may run at
// once; every member is safe from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "proto/event.h"

namespace foothold::storage {

class CommitFeed {
 public:
  // At most `capacity_events` events are queued; a group that would exceed
  // it is dropped (the aggregator reads those records from the log).
  explicit CommitFeed(size_t capacity_events) : capacity_(capacity_events) {}
  CommitFeed(const CommitFeed&) = delete;
  CommitFeed& operator=(const CommitFeed&) = delete;

  // Writer thread, after the group is written: moves the events out of
  // `*events` (stored events only, in seq order, consecutive seqs).
  void Push(const std::vector<proto::Event*>& events);

  // Aggregator thread: drops the queued groups below `next_seq`, then moves
  // the groups that continue from `next_seq` without a gap into *out, whole
  // groups in seq order, stopping before `max_events` would be exceeded (but
  // always at least one group). What *out held before (the last pass's
  // groups) is destroyed first. Returns how many
  // events it moved; 0 when the head does not start at `next_seq`.
  using Groups = std::vector<std::vector<proto::Event>>;
  size_t Take(uint64_t next_seq, size_t max_events, Groups* out);

  // The seq the oldest queued group starts at; 0 when none is queued.
  uint64_t head_seq();

  size_t capacity() const { return capacity_; }
  // Groups dropped because the queue was full, since construction.
  uint64_t dropped_groups() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  struct Group {
    uint64_t first = 0;  // seq of events.front()
    std::vector<proto::Event> events;
  };

  const size_t capacity_;
  std::atomic<uint64_t> dropped_{0};
  std::mutex mu_;
  std::deque<Group> groups_;  // guarded by mu_
  size_t events_ = 0;         // guarded by mu_: queued events
};

}  // namespace foothold::storage
