#include "storage/aggregate/session_state.h"

#include "proto/coding.h"
#include "storage/log/keys.h"

namespace foothold::storage {
namespace {

// proto/coding.h's varints, zigzag and length-prefixed strings.
void PutVar(uint64_t v, std::string* out) { proto::PutVarint64(out, v); }
void PutSigned(int64_t v, std::string* out) { proto::PutVarsigned64(out, v); }
void PutStr(std::string_view s, std::string* out) { proto::PutLengthPrefixed(out, s); }

// Reads items in order; after the first malformed one, ok is false and every
// further read returns 0 / "".
struct Reader {
  std::string_view in;
  bool ok = true;
  uint64_t Var() {
    uint64_t v = 0;
    ok = ok && proto::GetVarint64(&in, &v);
    return ok ? v : 0;
  }
  int64_t Signed() {
    int64_t v = 0;
    ok = ok && proto::GetVarsigned64(&in, &v);
    return ok ? v : 0;
  }
  std::string Str() {
    std::string_view s;
    ok = ok && proto::GetLengthPrefixed(&in, &s);
    return ok ? std::string(s) : std::string();
  }
  // A count of entries, each at least one byte: bounds allocation on corrupt input.
  uint64_t Count() {
    uint64_t n = Var();
    if (n > in.size()) ok = false;
    return ok ? n : 0;
  }
};

constexpr uint8_t kV1 = 1;
constexpr uint8_t kV2 = 2;

void PutOccurrences(const std::vector<SessionState::Occurrence>& list, std::string* out) {
  PutVar(list.size(), out);
  for (const auto& o : list) {
    PutVar(o.conv, out);
    PutSigned(o.time_ms, out);
    PutVar(o.seq, out);
  }
}

void ReadOccurrences(Reader* r, std::vector<SessionState::Occurrence>* out) {
  for (uint64_t n = r->Count(); n > 0 && r->ok; --n) {
    auto conv = static_cast<uint16_t>(r->Var());
    int64_t t = r->Signed();
    out->push_back({conv, t, r->Var()});
  }
}

void PutHits(const std::vector<SessionState::Hit>& hits, std::string* out) {
  PutVar(hits.size(), out);
  uint64_t seq = 0;
  int64_t t = 0;
  for (const auto& h : hits) {
    PutVar(h.seq - seq, out);
    PutSigned(static_cast<int64_t>(static_cast<uint64_t>(h.time_ms) - static_cast<uint64_t>(t)), out);
    PutVar(h.conv, out);
    seq = h.seq;
    t = h.time_ms;
  }
}

void ReadHits(Reader* r, std::vector<SessionState::Hit>* out) {
  uint64_t seq = 0;
  int64_t t = 0;
  for (uint64_t n = r->Count(); n > 0 && r->ok; --n) {
    seq += r->Var();
    t = static_cast<int64_t>(static_cast<uint64_t>(t) + static_cast<uint64_t>(r->Signed()));
    const uint64_t conv = r->Var();
    if (conv > SessionState::kOther) r->ok = false;
    out->push_back({t, seq, static_cast<uint16_t>(conv)});
  }
}

void ReadExposuresAndPages(Reader* r, SessionState* out) {
  for (uint64_t n = r->Count(); n > 0 && r->ok; --n) {
    std::string experiment = r->Str();
    std::string variant = r->Str();
    int64_t t = r->Signed();
    out->exposures.push_back({std::move(experiment), std::move(variant), t, r->Var()});
  }
  for (uint64_t n = r->Count(); n > 0 && r->ok; --n) {
    auto conv = static_cast<uint16_t>(r->Var());
    bool fired = r->Var() != 0;
    int64_t engaged = r->Signed();
    out->pages.push_back({conv, fired, engaged, r->Str()});
  }
}

}  // namespace

std::string SessionHeadKey(std::string_view session_id) {
  std::string key(1, kSessionHeadTag);
  key.append(session_id);
  return key;
}

std::string SessionHitPrefix(std::string_view session_id) {
  std::string key(1, kSessionHitTag);
  key.append(session_id);
  key.push_back('\0');
  return key;
}

std::string SessionHitKey(std::string_view session_id, uint64_t first_seq) {
  std::string key = SessionHitPrefix(session_id);
  PutBe64(first_seq, &key);
  return key;
}

SessionRowKind ParseSessionKey(std::string_view key, std::string_view* session_id, uint64_t* seq) {
  if (key.empty()) return SessionRowKind::kUnknown;
  if (key[0] == kSessionHeadTag) {
    *session_id = key.substr(1);
    return session_id->empty() ? SessionRowKind::kUnknown : SessionRowKind::kHead;
  }
  if (key[0] == kSessionHitTag) {
    if (key.size() < 1 + 1 + 1 + 8 || key[key.size() - 9] != '\0') return SessionRowKind::kUnknown;
    *session_id = key.substr(1, key.size() - 10);
    *seq = GetBe64(key.substr(key.size() - 8));
    return SessionRowKind::kHit;
  }
  if (static_cast<unsigned char>(key[0]) >= 0x20) {
    *session_id = key;
    return SessionRowKind::kV1;
  }
  return SessionRowKind::kUnknown;
}

std::string EncodeHead(const SessionState& s) {
  std::string out;
  out.reserve(64);
  out.push_back(static_cast<char>(kV2));
  PutSigned(s.start_ms, &out);
  PutSigned(s.last_received_ms, &out);
  PutVar(s.events, &out);
  PutVar(s.hits, &out);
  PutVar(s.hits_truncated ? 1 : 0, &out);
  PutHits(s.pending, &out);
  PutVar(s.chunks, &out);
  PutOccurrences(s.first, &out);
  PutOccurrences(s.last, &out);
  PutVar(s.exposures.size(), &out);
  for (const auto& x : s.exposures) {
    PutStr(x.experiment, &out);
    PutStr(x.variant, &out);
    PutSigned(x.time_ms, &out);
    PutVar(x.seq, &out);
  }
  PutVar(s.pages.size(), &out);
  for (const auto& p : s.pages) {
    PutVar(p.conv, &out);
    PutVar(p.fired ? 1 : 0, &out);
    PutSigned(p.engaged_ms, &out);
    PutStr(p.path, &out);
  }
  return out;
}

Status DecodeHead(std::string_view in, SessionState* out) {
  *out = SessionState{};
  if (in.empty() || static_cast<uint8_t>(in[0]) != kV2) {
    return Status::Corruption("session state: unknown version");
  }
  Reader r{in.substr(1)};
  out->start_ms = r.Signed();
  out->last_received_ms = r.Signed();
  out->events = r.Var();
  out->hits = r.Var();
  out->hits_truncated = r.Var() != 0;
  ReadHits(&r, &out->pending);
  out->chunks = r.Var();
  ReadOccurrences(&r, &out->first);
  ReadOccurrences(&r, &out->last);
  ReadExposuresAndPages(&r, out);
  if (!r.ok || !r.in.empty()) return Status::Corruption("session state: truncated or malformed");
  return Status::Ok();
}

std::string EncodeHits(const std::vector<SessionState::Hit>& hits) {
  std::string out;
  PutHits(hits, &out);
  return out;
}

Status DecodeHits(std::string_view in, std::vector<SessionState::Hit>* out) {
  Reader r{in};
  const size_t before = out->size();
  ReadHits(&r, out);
  if (!r.ok || !r.in.empty() || out->size() == before) {
    return Status::Corruption("session hits: truncated or malformed");
  }
  return Status::Ok();
}

Status DecodeV1(std::string_view in, SessionState* out, std::vector<SessionState::Hit>* hits) {
  *out = SessionState{};
  hits->clear();
  if (in.empty() || static_cast<uint8_t>(in[0]) != kV1) {
    return Status::Corruption("session state: unknown version");
  }
  Reader r{in.substr(1)};
  out->start_ms = r.Signed();
  out->last_received_ms = r.Signed();
  out->events = r.Var();
  out->hits_truncated = r.Var() != 0;
  ReadOccurrences(&r, &out->first);
  for (uint64_t n = r.Count(); n > 0 && r.ok; --n) {
    auto conv = static_cast<uint16_t>(r.Var());
    int64_t t = r.Signed();
    hits->push_back({t, r.Var(), conv});
  }
  out->hits = hits->size();
  ReadExposuresAndPages(&r, out);
  if (!r.ok || !r.in.empty()) return Status::Corruption("session state: truncated or malformed");
  return Status::Ok();
}

}  // namespace foothold::storage
