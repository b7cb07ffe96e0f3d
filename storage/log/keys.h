// Private to storage/: the byte layout of every key and small value the store
// writes, in one place so the writer, the reader, retention and the
// compaction filters cannot disagree. No RocksDB types here.
//
//   log            be64(seq)                                  -> proto record
//   session_index  be64(Hash64(session_id)) be64(ob(event_time)) be64(seq) -> ""
//   dedupe         event_id                                   -> be64(seq) be64(ob(received_at))
//   visitors       "a:" anonymous_id | "u:" user_id           -> be64(ob(last_event_time)) session_id
//   identities     'a' | 'u'  be64(Hash64(id))  be64(seq)     -> ""   (anonymous_id / user_id of a record)
//   meta           "schema_version" -> be64, "next_seq" -> be64, "instance_secret" -> 64 hex chars,
//                  "erasure_job/" be64(n) -> job, "erasure_log/" be64(n) -> entry,
//                  "erasure_export/" be64(n) -> seqs (storage/privacy/erasure_export.h),
//                  "suppress/" kind 16-hex(keyed SipHash) -> "\x02" ("" + unkeyed Hash64 in older
//                  stores)  (storage/privacy/erasure.h)
//   sessions, counters: created empty for the aggregator.
//
// ob(x) is offset binary (the sign bit flipped) so that big-endian byte order
// equals signed numeric order: negative times sort before positive ones.
//
// Thread safety: pure functions and constants.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proto/coding.h"

namespace foothold::storage {

inline constexpr char kCfLog[] = "log";
inline constexpr char kCfSessionIndex[] = "session_index";
inline constexpr char kCfDedupe[] = "dedupe";
inline constexpr char kCfVisitors[] = "visitors";
inline constexpr char kCfIdentities[] = "identities";
inline constexpr char kCfSessions[] = "sessions";
inline constexpr char kCfCounters[] = "counters";
inline constexpr char kCfMeta[] = "meta";
// Generation n > 0 of the aggregator's column families: "counters.g<n>",
// "sessions.g<n>" (storage/README.md "Backfill"); generation 0 is the plain name.
inline std::string GenerationCf(std::string_view base, uint64_t n) {
  std::string out(base);
  if (n != 0) out += ".g" + std::to_string(n);
  return out;
}
// The generation of a column family named `name` for `base`, or nullopt.
inline std::optional<uint64_t> ParseGenerationCf(std::string_view base, std::string_view name) {
  if (name == base) return 0;
  if (!name.starts_with(base) || name.size() <= base.size() + 2) return std::nullopt;
  std::string_view rest = name.substr(base.size());
  if (!rest.starts_with(".g")) return std::nullopt;
  rest.remove_prefix(2);
  uint64_t n = 0;
  for (char c : rest) {
    if (c < '0' || c > '9' || n > (UINT64_MAX - 9) / 10) return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n == 0 || rest[0] == '0') return std::nullopt;
  return n;
}

inline constexpr char kMetaSchemaVersion[] = "schema_version";
inline constexpr char kMetaNextSeq[] = "next_seq";
inline constexpr char kMetaInstanceSecret[] = "instance_secret";
inline constexpr char kMetaErasureJob[] = "erasure_job/";
inline constexpr char kMetaErasureLog[] = "erasure_log/";
inline constexpr char kMetaSuppress[] = "suppress/";
inline constexpr char kMetaAggGeneration[] = "agg_generation";  // be64: the active counters generation

// Bumped when the meaning of any key or value above changes. A store written
// by a newer schema is refused at open rather than misread.
inline constexpr uint64_t kSchemaVersion = 2;  // 2: session_index keyed by Hash64(session_id)

// seq 0 never names a stored event (AppendResult uses it for duplicates).
inline constexpr uint64_t kFirstSeq = 1;

// Short names for the proto/coding.h functions every key here is built from.
inline void PutBe64(uint64_t v, std::string* out) { proto::PutBigEndian64(out, v); }

// REQUIRES: in.size() >= 8.
inline uint64_t GetBe64(std::string_view in) { return proto::DecodeBigEndian64(in.data()); }

using proto::FromOffsetBinary;
using proto::OffsetBinary;

inline std::string LogKey(uint64_t seq) {
  std::string k;
  PutBe64(seq, &k);
  return k;
}

inline std::optional<uint64_t> ParseLogKey(std::string_view key) {
  if (key.size() != 8) return std::nullopt;
  return GetBe64(key);
}

// A 64-bit hash that must never change: derived session ids and
// session_index keys embed it. FNV-1a, then the SplitMix64 finalizer.
uint64_t Hash64(std::string_view data);

// Every index key of a session starts with the 8-byte hash of its id, not the
// id itself: fixed-size keys whose first bytes differ make memtable inserts
// (the writer's hottest work in profiles) much cheaper than long ids with
// shared prefixes. Readback filters records by session_id, so a hash
// collision costs a wasted read, never a wrong answer.
inline std::string SessionIndexPrefix(std::string_view session_id) {
  std::string k;
  PutBe64(Hash64(session_id), &k);
  return k;
}

// The first key past every key with this prefix; nullopt for the last prefix.
inline std::optional<std::string> SessionIndexPrefixEnd(std::string_view prefix) {
  uint64_t h = GetBe64(prefix);
  if (h == UINT64_MAX) return std::nullopt;
  std::string k;
  PutBe64(h + 1, &k);
  return k;
}

inline std::string SessionIndexKey(std::string_view session_id, int64_t event_time_ms,
                                   uint64_t seq) {
  std::string k = SessionIndexPrefix(session_id);
  PutBe64(OffsetBinary(event_time_ms), &k);
  PutBe64(seq, &k);
  return k;
}

// The seq at the end of a session_index key.
inline std::optional<uint64_t> SessionIndexSeq(std::string_view key) {
  if (key.size() < 17) return std::nullopt;
  return GetBe64(key.substr(key.size() - 8));
}

// The identity index (README.md "Privacy"): every stored record with an
// anonymous_id or user_id has one key per id, written in the same WriteBatch
// as the record, so an erasure finds a visitor's events without scanning the
// log. Hashed like session_index; a collision costs a read, never a wrong
// erasure (the record's id is compared).
inline constexpr char kIdentityAnonymous = 'a';
inline constexpr char kIdentityUser = 'u';

inline std::string IdentityPrefix(char kind, std::string_view id) {
  std::string k(1, kind);
  PutBe64(Hash64(id), &k);
  return k;
}

inline std::string IdentityKey(char kind, std::string_view id, uint64_t seq) {
  std::string k = IdentityPrefix(kind, id);
  PutBe64(seq, &k);
  return k;
}

// The identity index since the per-session shape: one key per (identity,
// session) instead of one per record, deduplicated within a group:
//   'A' | 'U'  be64(Hash64(id))  be64(Hash64(session_id)) -> ""
// An erasure expands it through session_index (whose keys start with the same
// session hash) and compares the records' ids; the per-record keys above
// ('a' / 'u' ... seq) of older stores are still read and deleted.
inline constexpr char kIdentityAnonymousSession = 'A';
inline constexpr char kIdentityUserSession = 'U';

inline std::string IdentitySessionKey(char kind, std::string_view id, std::string_view session_id) {
  std::string k = IdentityPrefix(kind, id);
  PutBe64(Hash64(session_id), &k);
  return k;
}

// The seq at the end of an identities key.
inline std::optional<uint64_t> IdentitySeq(std::string_view key) {
  if (key.size() != 17) return std::nullopt;
  return GetBe64(key.substr(9));
}

struct DedupeEntry {
  uint64_t seq = 0;
  int64_t received_at_ms = 0;
};

inline std::string EncodeDedupe(const DedupeEntry& d) {
  std::string v;
  PutBe64(d.seq, &v);
  PutBe64(OffsetBinary(d.received_at_ms), &v);
  return v;
}

inline std::optional<DedupeEntry> DecodeDedupe(std::string_view v) {
  if (v.size() != 16) return std::nullopt;
  return DedupeEntry{GetBe64(v), FromOffsetBinary(GetBe64(v.substr(8)))};
}

// An entry first seen at `seen_ms` still deduplicates an event received at
// `now_ms` while the age is below the window. A clock that went backwards
// (negative age) keeps the entry alive: dropping it would store a duplicate.
// A window <= 0 turns dedupe off. Unsigned arithmetic: no overflow on any input.
inline bool DedupeLive(int64_t seen_ms, int64_t now_ms, int64_t window_ms) {
  if (window_ms <= 0) return false;
  if (now_ms <= seen_ms) return true;
  uint64_t age = static_cast<uint64_t>(now_ms) - static_cast<uint64_t>(seen_ms);
  return age < static_cast<uint64_t>(window_ms);
}

struct VisitorState {
  std::string session_id;
  int64_t last_event_time_ms = 0;
};

inline std::string EncodeVisitor(const VisitorState& v) {
  std::string out;
  PutBe64(OffsetBinary(v.last_event_time_ms), &out);
  out.append(v.session_id);
  return out;
}

inline std::optional<VisitorState> DecodeVisitor(std::string_view v) {
  if (v.size() < 9) return std::nullopt;  // a session id is never empty
  return VisitorState{std::string(v.substr(8)), FromOffsetBinary(GetBe64(v))};
}

}  // namespace foothold::storage
