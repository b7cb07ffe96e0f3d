// Private to storage/: server-side sessionization (storage/README.md). Events
// without a session_id get one derived from their visitor (anonymous_id, else
// user_id) and an inactivity timeout on event time, GA4 style:
//
//  - a visitor with no state, or whose event comes more than timeout after
//    the visitor's latest event time, starts a new session;
//  - otherwise the event joins the current session (also when it is older
//    than the latest event: late arrivals join the session they reach);
//  - the id is "s-" + 16 hex of Hash64(visitor key) + "-" + the event time
//    (ms) of the session's first event. It depends only on the visitor and
//    the events in commit order, so the same input order gives the same ids
//    in any fresh store and across restarts.
//
// Thread safety: VisitorCache is not thread-safe; the writer thread owns it.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "proto/event.h"
#include "storage/log/keys.h"

namespace foothold::storage {

// Hash64 (storage/log/keys.h) is part of the derived id: it must never change.

// "a:" + anonymous_id, else "u:" + user_id, else "" (no visitor to follow).
std::string VisitorKey(const proto::Event& e);

std::string DeriveSessionId(std::string_view visitor_key, int64_t session_start_ms);

// Applies the rule above to an event at `event_time_ms` of the visitor whose
// state (nullopt: none yet) is *state, updating it. Returns the session id.
const std::string& AdvanceSession(std::string_view visitor_key, int64_t event_time_ms,
                                  int64_t timeout_ms, std::optional<VisitorState>* state);

// A bounded LRU of visitor states in front of the visitors column family, so
// an active visitor costs no read per event.
class VisitorCache {
 public:
  explicit VisitorCache(size_t capacity) : capacity_(capacity) {}

  // The cached state, or nullptr. Marks the entry recently used.
  const VisitorState* Find(const std::string& key);
  // Inserts or replaces; evicts the least recently used beyond capacity.
  void Put(const std::string& key, VisitorState state);
  size_t size() const { return index_.size(); }

 private:
  using Entry = std::pair<std::string, VisitorState>;
  size_t capacity_;
  std::list<Entry> lru_;  // front = most recently used
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace foothold::storage
