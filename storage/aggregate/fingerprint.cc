#include "storage/aggregate/fingerprint.h"

#include <cstring>
#include <string_view>
#include <variant>

#include "proto/coding.h"
#include "storage/log/keys.h"

namespace foothold::storage {
namespace {

// Every field is written length-prefixed (or fixed-width), so no two
// different definitions serialize alike. Each struct is taken apart with a
// structured binding: adding a field to one of these structs stops this file
// from compiling until the field is hashed too (a new field that changes what
// is counted must change the fingerprint).
class Canon {
 public:
  void Str(std::string_view s) {
    proto::PutVarint64(&out_, s.size());
    out_.append(s);
  }
  void U64(uint64_t v) { proto::PutVarint64(&out_, v); }
  void I64(int64_t v) { proto::PutVarint64(&out_, static_cast<uint64_t>(v)); }
  void F64(double v) {
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof bits);
    proto::PutBigEndian64(&out_, bits);
  }
  void Tag(char t) { out_.push_back(t); }

  void Matcher(const config::Matcher& m) {
    const auto& [event, where, url_prefix] = m;
    Str(event);
    U64(where.size());
    for (const config::Predicate& p : where) {
      const auto& [field, value] = p;
      Str(field);
      U64(value.index());
      if (const auto* s = std::get_if<std::string>(&value)) Str(*s);
      if (const auto* d = std::get_if<double>(&value)) F64(*d);
      if (const auto* b = std::get_if<bool>(&value)) U64(*b ? 1 : 0);
    }
    Str(url_prefix);
  }

  void Defs(const AnalyticsDefs& defs) {
    const auto& [micro, macro, funnels, experiments, dimensions] = defs;
    Tag('m');
    U64(micro.size());
    for (const config::MicroConversion& c : micro) {
      const auto& [name, kind, match, dwell] = c;
      Str(name);
      U64(static_cast<uint64_t>(kind));
      Matcher(match);
      const auto& [dwell_prefix, min_engaged_ms] = dwell;
      Str(dwell_prefix);
      I64(min_engaged_ms);
    }
    Tag('M');
    U64(macro.size());
    for (const config::MacroConversion& c : macro) {
      const auto& [name, match] = c;
      Str(name);
      Matcher(match);
    }
    Tag('F');
    U64(funnels.size());
    for (const config::Funnel& f : funnels) {
      const auto& [name, steps, window_ms, mode] = f;
      Str(name);
      U64(steps.size());
      for (const std::string& s : steps) Str(s);
      I64(window_ms);
      U64(static_cast<uint64_t>(mode));
    }
    Tag('X');
    U64(experiments.size());
    for (const config::Experiment& x : experiments) {
      const auto& [name, target, variants, weights] = x;
      Str(name);
      Str(target);
      U64(variants.size());
      for (const std::string& v : variants) Str(v);
      U64(weights.size());
      for (double w : weights) F64(w);
    }
    Tag('D');
    U64(dimensions.size());
    for (const config::Dimension& d : dimensions) {
      const auto& [name, kind, key, experiment, max_values] = d;
      Str(name);
      U64(static_cast<uint64_t>(kind));
      Str(key);
      Str(experiment);
      U64(max_values);
    }
  }

  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

}  // namespace

std::string DefinitionsFingerprint(const AnalyticsDefs& defs, int64_t session_timeout_ms) {
  Canon c;
  c.U64(kRollupSemanticsVersion);
  c.I64(session_timeout_ms);
  c.Defs(defs);
  // Two independent 64-bit hashes would be overkill: a collision only means a
  // rebuild that should have run did not, and `foothold verify` shows it.
  const uint64_t h = Hash64(c.bytes());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 0; i < 16; ++i) out[15 - i] = kHex[(h >> (4 * i)) & 15];
  return out;
}

}  // namespace foothold::storage
