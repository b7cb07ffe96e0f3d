// The binary record codec (see proto/record.h): how an Event is stored as a
// value of the `log` column family.
//
// Format, version 2 (version 1 is the same without `source`; both are read),
// built from proto/coding.h. "varint" is LEB128 (7 bits a
// byte, low group first, high bit = more follows; at most 10 bytes for 64
// bits). "zz" is a zigzag-mapped signed integer ((n << 1) ^ (n >> 63))
// written as a varint, so small negative numbers stay short. "str" is a
// varint byte length followed by the bytes. "delta(x)" is
// zz(x - received_at_ms) computed in wrapping 64-bit arithmetic: event and
// client times sit close to received_at, so they take 1-3 bytes instead of 6,
// and every int64 still round-trips exactly.
//
//   byte 0      u8      version, = 2 (kRecordVersion); 1 in records written
//                       before sources existed
//   then        varint  flags (Event::flags, EventFlags bits; all 32 bits kept)
//               u8      presence bits: 0x01 ts_ms present, 0x02 engaged_ms
//                       present, 0x04 bot; the other bits must be 0
//               zz      received_at_ms
//               delta   event_time_ms
//               varint  seq
//               delta   ts_ms          (only when presence & 0x01)
//               zz      engaged_ms     (only when presence & 0x02)
//               str     event
//               str     session_id
//               str     anonymous_id
//               str     user_id
//               str     event_id
//               str     url
//               str     referrer
//               str     title
//               str     ip
//               str     user_agent
//               str     source         (version 2 only; "" = no source)
//               varint  experiment count, then per experiment: str name, str variant
//               varint  prop count, then per prop:
//                         str key, u8 type (PropType: 0 null, 1 bool, 2 number,
//                         3 string), then the value:
//                           null   nothing
//                           bool   u8 0 or 1
//                           number 8 bytes, IEEE-754 binary64, little-endian
//                           string str
//   end         the record ends exactly here (trailing bytes are Corruption)
//
// The fixed-position header (flags, times, seq) comes before the strings so a
// reader that only needs received_at (retention) could stop early. A future
// version bumps byte 0 and DecodeRecord keeps a branch for every version ever
// written. Strings are stored as bytes: the codec does not re-validate UTF-8
// (validation happened at the door); it only guarantees framing.
#include "proto/record.h"

#include <bit>
#include <cstdint>
#include <string>

#include "proto/coding.h"

namespace foothold::proto {
namespace {

constexpr uint8_t kHasTs = 0x01;
constexpr uint8_t kHasEngaged = 0x02;
constexpr uint8_t kBot = 0x04;
constexpr uint8_t kKnownPresenceBits = kHasTs | kHasEngaged | kBot;

// Wrapping difference: defined for every pair of int64 values (C++20 makes
// the unsigned -> signed conversion modular), and inverted by WrapAdd.
int64_t WrapSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}

int64_t WrapAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

// A cursor over untrusted bytes (proto/coding.h underneath). Every getter
// returns false instead of reading past the end; the caller turns that into
// Corruption.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in), size_(in.size()) {}

  bool Byte(uint8_t* v) {
    if (in_.empty()) return false;
    *v = static_cast<uint8_t>(in_.front());
    in_.remove_prefix(1);
    return true;
  }

  bool Varint(uint64_t* v) { return GetVarint64(&in_, v); }
  bool Signed(int64_t* v) { return GetVarsigned64(&in_, v); }

  bool String(std::string* s) {
    std::string_view view;
    if (!GetLengthPrefixed(&in_, &view)) return false;
    s->assign(view);
    return true;
  }

  bool Double(double* d) {
    uint64_t bits = 0;
    if (!GetFixed64(&in_, &bits)) return false;
    *d = std::bit_cast<double>(bits);
    return true;
  }

  // A count of items that each take at least `min_item_bytes`: bounding it
  // by the bytes left keeps a forged count from reserving gigabytes.
  bool Count(size_t min_item_bytes, size_t* n) {
    std::string_view before = in_;
    uint64_t v = 0;
    if (!Varint(&v) || v > remaining() / min_item_bytes) {
      in_ = before;
      return false;
    }
    *n = static_cast<size_t>(v);
    return true;
  }

  size_t remaining() const { return in_.size(); }
  size_t pos() const { return size_ - in_.size(); }

 private:
  std::string_view in_;
  size_t size_;
};

Status Malformed(const Reader& r, const char* what) {
  return Status::Corruption("record: bad " + std::string(what) + " at byte " +
                            std::to_string(r.pos()));
}

// Versions 1 and 2 differ only in the `source` string after user_agent.
Status DecodeV1V2(Reader& r, uint8_t version, Event* e) {
  uint64_t flags = 0;
  if (!r.Varint(&flags) || flags > UINT32_MAX) return Malformed(r, "flags");
  e->flags = static_cast<uint32_t>(flags);

  uint8_t presence = 0;
  if (!r.Byte(&presence) || (presence & ~kKnownPresenceBits) != 0) {
    return Malformed(r, "presence bits");
  }
  e->bot = (presence & kBot) != 0;

  int64_t delta = 0;
  if (!r.Signed(&e->received_at_ms)) return Malformed(r, "received_at");
  if (!r.Signed(&delta)) return Malformed(r, "event_time");
  e->event_time_ms = WrapAdd(e->received_at_ms, delta);
  if (!r.Varint(&e->seq)) return Malformed(r, "seq");
  if (presence & kHasTs) {
    if (!r.Signed(&delta)) return Malformed(r, "ts");
    e->ts_ms = WrapAdd(e->received_at_ms, delta);
  }
  if (presence & kHasEngaged) {
    int64_t engaged = 0;
    if (!r.Signed(&engaged)) return Malformed(r, "engaged_ms");
    e->engaged_ms = engaged;
  }

  std::string* const strings[] = {&e->event,    &e->session_id, &e->anonymous_id, &e->user_id,
                                  &e->event_id, &e->url,        &e->referrer,     &e->title,
                                  &e->ip,       &e->user_agent};
  for (std::string* s : strings) {
    if (!r.String(s)) return Malformed(r, "string field");
  }
  if (version >= 2 && !r.String(&e->source)) return Malformed(r, "source");

  size_t n = 0;
  if (!r.Count(2, &n)) return Malformed(r, "experiment count");  // two empty strs: 2 bytes
  e->experiments.resize(n);
  for (auto& [name, variant] : e->experiments) {
    if (!r.String(&name) || !r.String(&variant)) return Malformed(r, "experiment");
  }

  if (!r.Count(2, &n)) return Malformed(r, "prop count");  // empty key + type: 2 bytes
  e->props.resize(n);
  for (Prop& p : e->props) {
    uint8_t type = 0;
    if (!r.String(&p.key)) return Malformed(r, "prop key");
    if (!r.Byte(&type)) return Malformed(r, "prop type");
    switch (type) {
      case static_cast<uint8_t>(PropType::kNull):
        p.type = PropType::kNull;
        break;
      case static_cast<uint8_t>(PropType::kBool): {
        uint8_t b = 0;
        if (!r.Byte(&b) || b > 1) return Malformed(r, "prop bool");
        p.type = PropType::kBool;
        p.boolean = b == 1;
        break;
      }
      case static_cast<uint8_t>(PropType::kNumber):
        if (!r.Double(&p.number)) return Malformed(r, "prop number");
        p.type = PropType::kNumber;
        break;
      case static_cast<uint8_t>(PropType::kString):
        if (!r.String(&p.str)) return Malformed(r, "prop string");
        p.type = PropType::kString;
        break;
      default:
        return Malformed(r, "prop type");
    }
  }

  if (r.remaining() != 0) return Malformed(r, "record end (trailing bytes)");
  return Status::Ok();
}

}  // namespace

void EncodeRecord(const Event& e, std::string* out) {
  out->push_back(static_cast<char>(kRecordVersion));
  PutVarint64(out, e.flags);
  uint8_t presence = 0;
  if (e.ts_ms) presence |= kHasTs;
  if (e.engaged_ms) presence |= kHasEngaged;
  if (e.bot) presence |= kBot;
  out->push_back(static_cast<char>(presence));

  PutVarsigned64(out, e.received_at_ms);
  PutVarsigned64(out, WrapSub(e.event_time_ms, e.received_at_ms));
  PutVarint64(out, e.seq);
  if (e.ts_ms) PutVarsigned64(out, WrapSub(*e.ts_ms, e.received_at_ms));
  if (e.engaged_ms) PutVarsigned64(out, *e.engaged_ms);

  for (const std::string* s : {&e.event, &e.session_id, &e.anonymous_id, &e.user_id, &e.event_id,
                               &e.url, &e.referrer, &e.title, &e.ip, &e.user_agent, &e.source}) {
    PutLengthPrefixed(out, *s);
  }

  PutVarint64(out, e.experiments.size());
  for (const auto& [name, variant] : e.experiments) {
    PutLengthPrefixed(out, name);
    PutLengthPrefixed(out, variant);
  }

  PutVarint64(out, e.props.size());
  for (const Prop& p : e.props) {
    PutLengthPrefixed(out, p.key);
    out->push_back(static_cast<char>(p.type));
    switch (p.type) {
      case PropType::kNull:
        break;
      case PropType::kBool:
        out->push_back(p.boolean ? 1 : 0);
        break;
      case PropType::kNumber:
        PutFixed64(out, std::bit_cast<uint64_t>(p.number));
        break;
      case PropType::kString:
        PutLengthPrefixed(out, p.str);
        break;
    }
  }
}

Status DecodeRecord(std::string_view in, Event* out) {
  *out = Event{};
  Reader r(in);
  uint8_t version = 0;
  if (!r.Byte(&version)) return Status::Corruption("record: empty");
  Status s;
  switch (version) {
    case 1:
    case 2:
      s = DecodeV1V2(r, version, out);
      break;
    default:
      return Status::Corruption("record: unknown version " + std::to_string(version));
  }
  // Never hand back a half-filled event.
  if (!s.ok()) *out = Event{};
  return s;
}

}  // namespace foothold::proto
