// Small helpers shared by the integration tests: JSON access (NowMs is in
// tests/test_util.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <simdjson.h>

#include "tests/test_util.h"

namespace foothold::testing {

// Parses `json` into a DOM element owned by `parser`; fails the test (REQUIRE) on bad JSON.
inline simdjson::dom::element ParseJson(simdjson::dom::parser& parser, const std::string& json) {
  simdjson::dom::element e;
  auto err = parser.parse(json).get(e);
  if (err) throw std::runtime_error("bad JSON (" + std::string(simdjson::error_message(err)) + "): " + json);
  return e;
}

inline int64_t Int(simdjson::dom::element e, const char* key) {
  int64_t v = 0;
  if (e[key].get(v)) throw std::runtime_error(std::string("no integer field ") + key);
  return v;
}

inline std::string Str(simdjson::dom::element e, const char* key) {
  std::string_view v;
  if (e[key].get(v)) throw std::runtime_error(std::string("no string field ") + key);
  return std::string(v);
}

}  // namespace foothold::testing
