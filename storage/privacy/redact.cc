// RedactRecord (storage/privacy/erasure.h is the contract; README.md
// "Privacy" lists what an erased record keeps).
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "storage/privacy/erasure.h"

#include "storage/aggregate/dimensions.h"

namespace foothold::storage {
namespace {

// scheme://host/path of a url: the query string and fragment go.
std::string StripUrl(std::string_view url) {
  size_t end = url.find_first_of("?#");
  return std::string(url.substr(0, end));
}

template <typename Fn>
void ForEachPredicate(const AnalyticsDefs& defs, Fn&& fn) {
  for (const config::MicroConversion& m : defs.micro) {
    for (const config::Predicate& p : m.match.where) fn(p);
  }
  for (const config::MacroConversion& m : defs.macro) {
    for (const config::Predicate& p : m.match.where) fn(p);
  }
}

// Whether `value` equals the literal of some predicate on `field`.
bool IsLiteral(const AnalyticsDefs& defs, std::string_view field, const std::string& value) {
  bool found = false;
  ForEachPredicate(defs, [&](const config::Predicate& p) {
    const std::string* s = std::get_if<std::string>(&p.value);
    found = found || (p.field == field && s != nullptr && *s == value);
  });
  return found;
}

bool PropIsLiteral(const AnalyticsDefs& defs, const proto::Prop& prop) {
  const std::string field = "props." + prop.key;
  bool found = false;
  ForEachPredicate(defs, [&](const config::Predicate& p) {
    if (found || p.field != field) return;
    if (const auto* s = std::get_if<std::string>(&p.value)) {
      found = prop.type == proto::PropType::kString && prop.str == *s;
    } else if (const auto* n = std::get_if<double>(&p.value)) {
      found = prop.type == proto::PropType::kNumber && prop.number == *n;
    } else if (const auto* b = std::get_if<bool>(&p.value)) {
      found = prop.type == proto::PropType::kBool && prop.boolean == *b;
    }
  });
  return found;
}

}  // namespace

proto::Event RedactRecord(const proto::Event& e, const AnalyticsDefs& defs, std::string session_id) {
  proto::Event r;
  r.event = e.event;
  r.source = e.source;  // a configured source name, not about the person
  r.session_id = std::move(session_id);
  r.ts_ms = e.ts_ms;
  r.engaged_ms = e.engaged_ms;
  r.experiments = e.experiments;
  r.received_at_ms = e.received_at_ms;
  r.event_time_ms = e.event_time_ms;
  r.seq = e.seq;
  r.bot = e.bot;
  r.flags = e.flags;
  if (IsLiteral(defs, "url", e.url)) {
    r.url = e.url;
  } else {
    r.url = StripUrl(e.url);
    // The stripped url must not start matching a `where url = ...` the
    // original did not match; a bare "?" keeps the path and breaks equality.
    if (r.url != e.url && IsLiteral(defs, "url", r.url)) r.url += "?";
  }
  if (IsLiteral(defs, "referrer", e.referrer)) r.referrer = e.referrer;
  if (IsLiteral(defs, "title", e.title)) r.title = e.title;
  for (const proto::Prop& p : e.props) {
    if (PropIsLiteral(defs, p)) r.props.push_back(p);
  }
  // Segments read the same values from the redacted record (coarsened: see dimensions.h);
  // as above, nothing kept may start matching a `where` literal the original did not.
  KeepForDimensions(defs.dimensions, e, &r);
  if (r.url != e.url && r.url.find('?') != std::string::npos && IsLiteral(defs, "url", r.url)) r.url += "&";
  if (r.referrer != e.referrer && IsLiteral(defs, "referrer", r.referrer)) r.referrer += "?";
  return r;
}

}  // namespace foothold::storage
