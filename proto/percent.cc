#include "proto/percent.h"

namespace foothold::proto {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

bool NextQueryPair(std::string_view* query, std::string_view* raw_key, std::string_view* raw_value) {
  while (!query->empty()) {
    const size_t amp = query->find('&');
    const std::string_view pair = query->substr(0, amp);
    *query = amp == std::string_view::npos ? std::string_view() : query->substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    *raw_key = pair.substr(0, eq);
    *raw_value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    return true;
  }
  return false;
}

}  // namespace foothold::proto
