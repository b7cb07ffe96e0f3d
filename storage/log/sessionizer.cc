#include "storage/log/sessionizer.h"

namespace foothold::storage {

uint64_t Hash64(std::string_view data) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64 offset basis
  for (char c : data) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;  // FNV-1a 64 prime
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

std::string VisitorKey(const proto::Event& e) {
  if (!e.anonymous_id.empty()) return "a:" + e.anonymous_id;
  if (!e.user_id.empty()) return "u:" + e.user_id;
  return std::string();
}

std::string DeriveSessionId(std::string_view visitor_key, int64_t session_start_ms) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t h = Hash64(visitor_key);
  std::string id = "s-";
  for (int shift = 60; shift >= 0; shift -= 4) id.push_back(kHex[(h >> shift) & 0xf]);
  id.push_back('-');
  id += std::to_string(session_start_ms);
  return id;
}

const std::string& AdvanceSession(std::string_view visitor_key, int64_t event_time_ms,
                                  int64_t timeout_ms, std::optional<VisitorState>* state) {
  // Compare in 128 bits: event times are untrusted-ish int64 and the
  // difference of two of them can overflow int64.
  bool fresh = !state->has_value() ||
               static_cast<__int128>(event_time_ms) - (*state)->last_event_time_ms > timeout_ms;
  if (fresh) {
    *state = VisitorState{DeriveSessionId(visitor_key, event_time_ms), event_time_ms};
  } else if (event_time_ms > (*state)->last_event_time_ms) {
    (*state)->last_event_time_ms = event_time_ms;
  }
  return (*state)->session_id;
}

const VisitorState* VisitorCache::Find(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return &it->second->second;
}

void VisitorCache::Put(const std::string& key, VisitorState state) {
  if (capacity_ == 0) return;
  auto it = index_.find(key);
  if (it != index_.end()) {
    it->second->second = std::move(state);
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.emplace_front(key, std::move(state));
  index_.emplace(key, lru_.begin());
  if (index_.size() > capacity_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

}  // namespace foothold::storage
