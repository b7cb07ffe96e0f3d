#include "storage/aggregate/commit_feed.h"

#include <utility>

namespace foothold::storage {

void CommitFeed::Push(const std::vector<proto::Event*>& events) {
  if (events.empty() || capacity_ == 0) return;
  std::vector<proto::Event> moved;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (events_ + events.size() > capacity_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (!spare_.empty()) {  // an emptied vector of an earlier group: no allocation
      moved = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  // Moved outside the lock: the aggregator may be taking meanwhile.
  moved.reserve(events.size());
  for (proto::Event* e : events) moved.push_back(std::move(*e));
  std::lock_guard<std::mutex> lock(mu_);
  // Re-checked: only Push adds, and the writer is the only pusher, so the
  // room seen above is still there.
  events_ += moved.size();
  groups_.push_back(Group{moved.front().seq, std::move(moved)});
}

uint64_t CommitFeed::head_seq() {
  std::lock_guard<std::mutex> lock(mu_);
  return groups_.empty() ? 0 : groups_.front().first;
}

size_t CommitFeed::Take(uint64_t next_seq, size_t max_events, Groups* out) {
  // The last pass's events are destroyed outside the lock; their vectors
  // keep their capacity for the writer's next groups.
  for (auto& v : *out) v.clear();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& v : *out) {
    if (spare_.size() < kSpareVectors) spare_.push_back(std::move(v));
  }
  out->clear();
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
