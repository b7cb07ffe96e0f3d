#include "storage/aggregate/dimensions.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "proto/percent.h"

namespace foothold::storage {
namespace {

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string LowerCopy(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), Lower);
  return out;
}

bool Contains(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

// The host of an absolute (or scheme-relative) url, lower-case, without port
// or credentials; "" for a relative url.
std::string Host(std::string_view url) {
  size_t start = url.find("://");
  if (start != std::string_view::npos) {
    start += 3;
  } else if (url.starts_with("//")) {
    start = 2;
  } else {
    return {};
  }
  std::string_view rest = url.substr(start);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  if (!rest.starts_with("[")) rest = rest.substr(0, rest.find(':'));  // an IPv6 literal keeps its colons
  return LowerCopy(rest);
}

// Milliseconds since the epoch a tracker id was created at, or -1. Only
// times from 2015 (older than the tracker: not a creation time) up to 36^8 ms
// (2059) count, for both id shapes: a redacted record keeps the time as 8
// base-36 digits (KeepForDimensions), which must read back the same.
int64_t IdCreatedMs(std::string_view id) {
  constexpr int64_t k2015 = 1420070400000;
  constexpr int64_t k36to8 = 2821109907456;
  int64_t ms = 0;
  if (id.size() == 36 && id[8] == '-' && id[13] == '-' && id[14] == '7') {
    // UUIDv7: 8-4-4 hex, version nibble 7; the first 48 bits are the ms.
    std::string hex = std::string(id.substr(0, 8)) + std::string(id.substr(9, 4));
    auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), ms, 16);
    if (ec != std::errc() || end != hex.data() + hex.size()) return -1;
  } else {
    // foothold.js: Date.now().toString(36) (8 digits from 1973 to 2059) then random base-36 digits.
    if (id.size() < 9) return -1;
    for (char c : id.substr(0, 8)) {
      int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'z' ? c - 'a' + 10 : -1;
      if (digit < 0) return -1;
      ms = ms * 36 + digit;
    }
  }
  return ms >= k2015 && ms < k36to8 ? ms : -1;
}

std::string base36(int64_t x) {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string out;
  do {
    out.insert(out.begin(), kDigits[x % 36]);
    x /= 36;
  } while (x > 0);
  return out;
}

}  // namespace

bool FromLandingEvent(config::DimensionKind kind) {
  return kind != config::DimensionKind::kProp && kind != config::DimensionKind::kExperiment;
}

std::string NormaliseValue(std::string_view raw, bool lower, const char* if_empty) {
  if (raw.empty()) return if_empty;
  std::string out;
  out.reserve(std::min(raw.size(), kMaxValueBytes));
  for (char c : raw.substr(0, kMaxValueBytes)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? '_' : lower ? Lower(c) : c);
  }
  // Cut at a UTF-8 boundary: drop a trailing partial sequence.
  if (raw.size() > kMaxValueBytes) {
    size_t end = out.size();
    size_t lead = end;
    while (lead > 0 && (static_cast<unsigned char>(out[lead - 1]) & 0xc0) == 0x80) --lead;
    if (lead > 0 && static_cast<unsigned char>(out[lead - 1]) >= 0xc0) {
      const auto b = static_cast<unsigned char>(out[lead - 1]);
      const size_t need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      if (end - (lead - 1) < need) out.resize(lead - 1);
    }
  }
  if (out.starts_with("(")) out[0] = '_';
  return out;
}

std::string UtmParam(std::string_view url, std::string_view param) {
  size_t q = url.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view query = url.substr(q + 1);
  query = query.substr(0, query.find('#'));
  std::string_view key, value;
  std::string decoded_key, decoded;
  while (proto::NextQueryPair(&query, &key, &value)) {
    if (!proto::PercentDecode(key, true, &decoded_key) || decoded_key != param) continue;
    if (!proto::PercentDecode(value, true, &decoded)) decoded.assign(value);
    return decoded;
  }
  return {};
}

std::string RegistrableDomain(std::string_view url) {
  std::string host = Host(url);
  if (host.empty() || host.starts_with("[")) return host;
  if (std::all_of(host.begin(), host.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; })) {
    return host;  // an IPv4 address
  }
  // The last two labels, or three under a two-letter country code's
  // second-level registry (shop.example.co.uk -> example.co.uk).
  static constexpr std::array<std::string_view, 9> kSecondLevel = {"co", "com", "org", "net", "ac",
                                                                   "gov", "edu", "ne", "or"};
  const size_t last = host.rfind('.');
  if (last == std::string::npos) return host;
  size_t second = last == 0 ? std::string::npos : host.rfind('.', last - 1);
  if (second == std::string::npos) return host;
  const std::string_view tld = std::string_view(host).substr(last + 1);
  const std::string_view sld = std::string_view(host).substr(second + 1, last - second - 1);
  if (tld.size() == 2 && std::find(kSecondLevel.begin(), kSecondLevel.end(), sld) != kSecondLevel.end()) {
    if (second == 0) return host;
    size_t third = host.rfind('.', second - 1);
    return third == std::string::npos ? host : host.substr(third + 1);
  }
  return host.substr(second + 1);
}

std::string DeviceClass(std::string_view user_agent) {
  if (user_agent.empty()) return kValueUnknown;
  const std::string ua = LowerCopy(user_agent);
  if (Contains(ua, "ipad") || Contains(ua, "tablet") || (Contains(ua, "android") && !Contains(ua, "mobile"))) {
    return "tablet";
  }
  if (Contains(ua, "mobi") || Contains(ua, "iphone") || Contains(ua, "ipod") || Contains(ua, "android")) {
    return "mobile";
  }
  return "desktop";
}

std::string VisitorKind(std::string_view anonymous_id, int64_t session_start_ms, int64_t timeout_ms) {
  const int64_t created = IdCreatedMs(anonymous_id);
  if (created < 0) return kValueUnknown;
  return session_start_ms - created < timeout_ms ? "new" : "returning";
}

std::string LandingValue(const config::Dimension& d, const proto::Event& e, int64_t timeout_ms) {
  using K = config::DimensionKind;
  switch (d.kind) {
    case K::kUtmSource: return NormaliseValue(UtmParam(e.url, "utm_source"), true, kValueNone);
    case K::kUtmMedium: return NormaliseValue(UtmParam(e.url, "utm_medium"), true, kValueNone);
    case K::kUtmCampaign: return NormaliseValue(UtmParam(e.url, "utm_campaign"), true, kValueNone);
    case K::kReferrerDomain: {
      if (e.referrer.empty()) return kValueDirect;
      std::string domain = RegistrableDomain(e.referrer);
      if (domain.empty()) return kValueUnknown;
      if (domain == RegistrableDomain(e.url)) return kValueInternal;
      if (domain.starts_with("www.")) domain.erase(0, 4);
      return NormaliseValue(domain, true, kValueUnknown);
    }
    case K::kDevice: return DeviceClass(e.user_agent);
    case K::kVisitor: return VisitorKind(e.anonymous_id, e.event_time_ms, timeout_ms);
    case K::kProp:
    case K::kExperiment: break;
  }
  return kValueNone;
}

bool PropValue(const config::Dimension& d, const proto::Event& e, std::string* out) {
  auto prop = std::find_if(e.props.begin(), e.props.end(), [&](const proto::Prop& p) { return p.key == d.key; });
  if (prop == e.props.end()) return false;
  switch (prop->type) {
    case proto::PropType::kString: *out = NormaliseValue(prop->str, false, "\"\""); return true;
    case proto::PropType::kBool: *out = prop->boolean ? "true" : "false"; return true;
    case proto::PropType::kNumber: {
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), prop->number);
      *out = ec == std::errc() ? std::string(buf, end) : std::string(kValueUnknown);
      return true;
    }
    default: return false;  // null: as if absent
  }
}

void KeepForDimensions(const std::vector<config::Dimension>& dims, const proto::Event& original,
                       proto::Event* redacted) {
  using K = config::DimensionKind;
  auto has = [&](K kind) {
    return std::any_of(dims.begin(), dims.end(), [&](const config::Dimension& d) { return d.kind == kind; });
  };
  // utm parameters: the raw pairs, so the redacted url decodes to the same values.
  std::vector<std::string_view> wanted;
  if (has(K::kUtmSource)) wanted.push_back("utm_source");
  if (has(K::kUtmMedium)) wanted.push_back("utm_medium");
  if (has(K::kUtmCampaign)) wanted.push_back("utm_campaign");
  if (!wanted.empty() && redacted->url != original.url) {
    std::string pairs;
    for (std::string_view param : wanted) {
      const std::string value = UtmParam(original.url, param);
      if (value.empty()) continue;
      std::string encoded;
      for (unsigned char c : value) {  // percent-encode all but unreserved characters
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
          encoded.push_back(static_cast<char>(c));
        } else {
          static constexpr char kHex[] = "0123456789ABCDEF";
          encoded += {'%', kHex[c >> 4], kHex[c & 15]};
        }
      }
      pairs += (pairs.empty() ? "" : "&") + std::string(param) + "=" + encoded;
    }
    if (!pairs.empty()) {
      std::string base = redacted->url.substr(0, redacted->url.find_first_of("?#"));
      redacted->url = base + "?" + pairs;
    }
  }
  if (has(K::kReferrerDomain) && redacted->referrer.empty() && !original.referrer.empty()) {
    const std::string host = Host(original.referrer);
    // No host (a relative referrer) still reads as "(unknown)", not "(direct)".
    redacted->referrer = host.empty() ? std::string("-") : "https://" + host + "/";
  }
  if (has(K::kDevice) && redacted->user_agent.empty() && !original.user_agent.empty()) {
    redacted->user_agent = "(redacted) " + DeviceClass(original.user_agent);
  }
  if (has(K::kVisitor) && redacted->anonymous_id.empty()) {
    const int64_t created = IdCreatedMs(original.anonymous_id);
    if (created >= 0) redacted->anonymous_id = base36(created) + "0000000000";
  }
  for (const config::Dimension& d : dims) {
    if (d.kind != K::kProp) continue;
    auto kept = [&](const proto::Prop& p) { return p.key == d.key; };
    if (std::any_of(redacted->props.begin(), redacted->props.end(), kept)) continue;
    auto it = std::find_if(original.props.begin(), original.props.end(), kept);
    if (it != original.props.end()) redacted->props.push_back(*it);
  }
}

}  // namespace foothold::storage
