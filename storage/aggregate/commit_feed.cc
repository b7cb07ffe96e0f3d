#include "storage/aggregate/commit_feed.h"

#include <utility>

namespace foothold::storage {

void CommitFeed::Push(const std::vector<proto::Event*>& events) {
  if (events.empty() || capacity_ == 0) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (events_ + events.size() > capacity_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  // Moved outside the lock: the aggregator may be taking meanwhile. The
  // room seen above is still there: only Push adds, from the writer alone.
  std::vector<proto::Event> moved;
  moved.reserve(events.size());
  for (proto::Event* e : events) moved.push_back(std::move(*e));
  std::lock_guard<std::mutex> lock(mu_);
  events_ += moved.size();
  groups_.push_back(Group{moved.front().seq, std::move(moved)});
}

uint64_t CommitFeed::head_seq() {
  std::lock_guard<std::mutex> lock(mu_);
  return groups_.empty() ? 0 : groups_.front().first;
}

size_t CommitFeed::Take(uint64_t next_seq, size_t max_events, Groups* out) {
  out->clear();  // the last pass's events and vectors, freed outside the lock
  std::lock_guard<std::mutex> lock(mu_);
  // Groups wholly below next_seq were read from the log already.
  while (!groups_.empty() && groups_.front().first + groups_.front().events.size() <= next_seq) {
    events_ -= groups_.front().events.size();
    groups_.pop_front();
  }
  size_t n = 0;
  while (!groups_.empty() && groups_.front().first == next_seq &&
         (n == 0 || n + groups_.front().events.size() <= max_events)) {
    Group& g = groups_.front();
    n += g.events.size();
    next_seq += g.events.size();
    events_ -= g.events.size();
    out->push_back(std::move(g.events));
    groups_.pop_front();
  }
  return n;
}

}  // namespace foothold::storage
