// Private to storage/: the aggregator's per-session state and its rows in the
// `sessions` column family (layout and versions in storage/README.md,
// "Session state").
//
// An open session is stored as one small head row plus its funnel hits in
// sealed chunks of about kHitChunk hits, one row each, so the aggregator's
// work per batch is O(events in the batch): a busy session's head stays the
// same size however long the session grows (it holds only the hits not
// sealed yet), and chunks are appended, never rewritten.
//
//   head   0x01 be64(h) session_id                -> version 2 head (EncodeHead)
//   chunk  0x02 be64(h) session_id 0x00 be64(seq) -> hits (EncodeHits); seq = its first hit's
//   v1     session_id                             -> version 1 state: the whole session in one
//                                                    value (the aggregator converts these at start)
//
// h = Hash64(session_id): keys whose first bytes differ make memtable inserts
// much cheaper than ids with long shared prefixes (as for session_index).
// Session ids are printable ASCII (0x20-0x7e), so the three kinds never
// collide and a chunk prefix (... id 0x00) is never the prefix of another id's.
//
// Thread safety: plain data and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proto/status.h"

namespace foothold::storage {

struct SessionState {
  static constexpr uint16_t kOther = 0xffff;  // a hit of an event matching no funnel step
  struct Hit {          // an event a funnel looks at
    int64_t time_ms;
    uint64_t seq;
    uint16_t conv;
  };
  struct Occurrence {   // the first (or last recorded) occurrence of a conversion, by (time, seq)
    uint16_t conv;
    int64_t time_ms;
    uint64_t seq;
  };
  struct Exposure {     // the first exposure to a configured experiment
    std::string experiment;  // its name (names survive edits of the definitions)
    std::string variant;
    int64_t time_ms;
    uint64_t seq;
  };
  struct PageView {     // dwell accumulation on one url path
    uint16_t conv;
    bool fired;
    int64_t engaged_ms;
    // PagePathHash of the path: 8 bytes whatever the url. Two paths of one
    // session would have to collide in 64 bits to be counted as one page.
    uint64_t path_hash;
  };
  int64_t start_ms = 0;          // earliest event_time
  int64_t last_received_ms = 0;  // newest received_at
  uint64_t events = 0;
  // Hits recorded so far, counting every conversion occurrence (and, with a
  // strict funnel, every other event too): funnels use the first kMaxHits.
  uint64_t hits = 0;
  bool hits_truncated = false;
  // Funnel hits not sealed into a chunk yet, arrival order; then the chunks
  // sealed so far (stored, or about to be).
  std::vector<Hit> pending;
  uint64_t chunks = 0;

  std::vector<Occurrence> first;  // per conversion that occurred
  // Per experiment target that occurred within the recorded hits: its newest
  // occurrence (a conversion counts when it is at or after the exposure).
  std::vector<Occurrence> last;
  std::vector<Exposure> exposures;
  std::vector<PageView> pages;
  // Segments (storage/README.md, "Segments"): per [[dimension]] that has a
  // value yet, (dimension name, the value it is counted under, "(other)"
  // included). Landing-event kinds are set when the session opens, prop
  // kinds at the first event carrying the prop; experiment kinds are read
  // from `exposures` at close. Names survive edits of the definitions.
  std::vector<std::pair<std::string, std::string>> dims;
};

// A session's pending hits are sealed into a chunk row once they reach this
// many (at an event boundary, so the chunks are the same however the log was
// split into batches).
inline constexpr size_t kHitChunk = 16;

inline constexpr char kSessionHeadTag = '\x01';
inline constexpr char kSessionHitTag = '\x02';

uint64_t PagePathHash(std::string_view path);

std::string SessionHeadKey(std::string_view session_id);
// All chunk rows of a session start with this.
std::string SessionHitPrefix(std::string_view session_id);
std::string SessionHitKey(std::string_view session_id, uint64_t first_seq);

// What a key in the `sessions` column family is.
enum class SessionRowKind { kHead, kHit, kV1, kUnknown };
// *session_id gets the id; *seq the chunk's first seq (kHit only).
SessionRowKind ParseSessionKey(std::string_view key, std::string_view* session_id, uint64_t* seq);

std::string EncodeHead(const SessionState& s);
Status DecodeHead(std::string_view in, SessionState* out);

// A chunk row: hits in arrival order (count, then per hit the seq and time
// as deltas from the previous hit's, and the conversion id).
std::string EncodeHits(const std::vector<SessionState::Hit>& hits);
// Appends the row's hits to *out.
Status DecodeHits(std::string_view in, std::vector<SessionState::Hit>* out);

// A version 1 value (one row per session, every recorded hit inside, page
// paths as strings). *hits gets the hits in arrival order; out->hits their
// count; no pending hits.
Status DecodeV1(std::string_view in, SessionState* out, std::vector<SessionState::Hit>* hits);

}  // namespace foothold::storage
