#include "storage/aggregate/session_state.h"

#include <cstring>

#include "proto/coding.h"
#include "storage/log/keys.h"

namespace foothold::storage {
namespace {

// proto/coding.h's varints, zigzag, fixed64 and length-prefixed strings.
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

// Encodes into a buffer sized for the worst case (varints at most 10
// bytes), then trims: the aggregator encodes a head per touched session per
// batch, and appending item by item to a std::string was most of that cost.
class Out {
 public:
  Out(std::string* out, size_t max) : out_(out) {
    const size_t start = out->size();
    out->resize(start + max);
    p_ = out->data() + start;
  }
  ~Out() { out_->resize(static_cast<size_t>(p_ - out_->data())); }
  Out(const Out&) = delete;
  Out& operator=(const Out&) = delete;

  void Var(uint64_t v) { p_ = proto::EncodeVarint64(p_, v); }
  void Signed(int64_t v) { Var(proto::ZigZagEncode(v)); }
  void Byte(uint8_t b) { *p_++ = static_cast<char>(b); }
  void Fixed64(uint64_t v) {
    for (int i = 0; i < 8; ++i) *p_++ = static_cast<char>((v >> (8 * i)) & 0xff);  // as proto::PutFixed64
  }
  void Str(std::string_view s) {
    Var(s.size());
    if (!s.empty()) std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }

 private:
  std::string* out_;
  char* p_;
};

constexpr size_t kV = proto::kMaxVarint64Bytes;

void PutOccurrences(const std::vector<SessionState::Occurrence>& list, Out* out) {
  out->Var(list.size());
  for (const auto& o : list) {
    out->Var(o.conv);
    out->Signed(o.time_ms);
    out->Var(o.seq);
  }
}

void PutHits(const std::vector<SessionState::Hit>& hits, Out* out) {
  out->Var(hits.size());
  uint64_t seq = 0;
  int64_t t = 0;
  for (const auto& h : hits) {
    out->Var(h.seq - seq);
    out->Signed(static_cast<int64_t>(static_cast<uint64_t>(h.time_ms) - static_cast<uint64_t>(t)));
    out->Var(h.conv);
    seq = h.seq;
    t = h.time_ms;
  }
}

void ReadOccurrences(Reader* r, std::vector<SessionState::Occurrence>* out) {
  for (uint64_t n = r->Count(); n > 0 && r->ok; --n) {
    auto conv = static_cast<uint16_t>(r->Var());
    int64_t t = r->Signed();
    out->push_back({conv, t, r->Var()});
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

// Version 1 pages carry their path; version 2 its hash.
void ReadExposuresAndPages(Reader* r, SessionState* out, bool v1) {
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
    uint64_t hash = 0;
    if (v1) {
      hash = PagePathHash(r->Str());
    } else {
      r->ok = r->ok && proto::GetFixed64(&r->in, &hash);
    }
    out->pages.push_back({conv, fired, engaged, hash});
  }
}

}  // namespace

uint64_t PagePathHash(std::string_view path) { return Hash64(path); }

std::string SessionHeadKey(std::string_view session_id) {
  std::string key(1, kSessionHeadTag);
  PutBe64(Hash64(session_id), &key);
  key.append(session_id);
  return key;
}

std::string SessionHitPrefix(std::string_view session_id) {
  std::string key(1, kSessionHitTag);
  PutBe64(Hash64(session_id), &key);
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
    if (key.size() < 1 + 8 + 1) return SessionRowKind::kUnknown;
    *session_id = key.substr(9);
    return GetBe64(key.substr(1)) == Hash64(*session_id) ? SessionRowKind::kHead : SessionRowKind::kUnknown;
  }
  if (key[0] == kSessionHitTag) {
    if (key.size() < 1 + 8 + 1 + 1 + 8 || key[key.size() - 9] != '\0') return SessionRowKind::kUnknown;
    *session_id = key.substr(9, key.size() - 18);
    *seq = GetBe64(key.substr(key.size() - 8));
    return GetBe64(key.substr(1)) == Hash64(*session_id) ? SessionRowKind::kHit : SessionRowKind::kUnknown;
  }
  if (static_cast<unsigned char>(key[0]) >= 0x20) {
    *session_id = key;
    return SessionRowKind::kV1;
  }
  return SessionRowKind::kUnknown;
}

std::string EncodeHead(const SessionState& s) {
  size_t max = 1 + 8 * kV + 3 * kV * (s.pending.size() + s.first.size() + s.last.size()) +
               s.pages.size() * (3 * kV + 8);
  for (const auto& x : s.exposures) max += 4 * kV + x.experiment.size() + x.variant.size();
  if (!s.dims.empty()) max += kV;
  for (const auto& [name, value] : s.dims) max += 2 * kV + name.size() + value.size();
  std::string str;
  {
    Out out(&str, max);
    out.Byte(kV2);
    out.Signed(s.start_ms);
    out.Signed(s.last_received_ms);
    out.Var(s.events);
    out.Var(s.hits);
    out.Var(s.hits_truncated ? 1 : 0);
    PutHits(s.pending, &out);
    out.Var(s.chunks);
    PutOccurrences(s.first, &out);
    PutOccurrences(s.last, &out);
    out.Var(s.exposures.size());
    for (const auto& x : s.exposures) {
      out.Str(x.experiment);
      out.Str(x.variant);
      out.Signed(x.time_ms);
      out.Var(x.seq);
    }
    out.Var(s.pages.size());
    for (const auto& p : s.pages) {
      out.Var(p.conv);
      out.Var(p.fired ? 1 : 0);
      out.Signed(p.engaged_ms);
      out.Fixed64(p.path_hash);
    }
    // Only with segment values, so a head without them is the same bytes as before segments existed.
    if (!s.dims.empty()) {
      out.Var(s.dims.size());
      for (const auto& [name, value] : s.dims) {
        out.Str(name);
        out.Str(value);
      }
    }
  }
  return str;
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
  ReadExposuresAndPages(&r, out, /*v1=*/false);
  if (r.ok && !r.in.empty()) {
    for (uint64_t n = r.Count(); n > 0 && r.ok; --n) {
      std::string name = r.Str();
      out->dims.emplace_back(std::move(name), r.Str());
    }
  }
  if (!r.ok || !r.in.empty()) return Status::Corruption("session state: truncated or malformed");
  return Status::Ok();
}

std::string EncodeHits(const std::vector<SessionState::Hit>& hits) {
  std::string str;
  {
    Out out(&str, kV + 3 * kV * hits.size());
    PutHits(hits, &out);
  }
  return str;
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
  ReadExposuresAndPages(&r, out, /*v1=*/true);
  if (!r.ok || !r.in.empty()) return Status::Corruption("session state: truncated or malformed");
  return Status::Ok();
}

}  // namespace foothold::storage
