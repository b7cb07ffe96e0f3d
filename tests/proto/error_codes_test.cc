// The error codes (proto/error_codes.h): every code declared in the header has
// exactly one HTTP status in the one mapping, codes are unique snake_case,
// and the contract (proto/README.md) documents each of them.
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "proto/error_codes.h"

namespace foothold::proto {
namespace {

std::string ReadSource(const std::string& rel) {
  std::ifstream in(std::string(FOOTHOLD_SOURCE_DIR) + "/" + rel);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every `inline constexpr char kName[] = "code";` in the header.
std::set<std::string> DeclaredCodes() {
  const std::string header = ReadSource("proto/error_codes.h");
  const std::regex decl(R"re(inline constexpr char k\w+\[\] = "([^"]*)";)re");
  std::set<std::string> out;
  for (std::sregex_iterator it(header.begin(), header.end(), decl), end; it != end; ++it) {
    out.insert((*it)[1].str());
  }
  return out;
}

TEST_CASE("every declared error code has one HTTP status", "[proto]") {
  const std::set<std::string> declared = DeclaredCodes();
  REQUIRE(declared.size() >= 40);
  std::set<std::string> mapped;
  for (const codes::CodeStatus& c : codes::kCodeStatuses) {
    INFO(c.code);
    CHECK(mapped.insert(std::string(c.code)).second);  // listed once
    CHECK(std::regex_match(std::string(c.code), std::regex("[a-z][a-z0-9]*(_[a-z0-9]+)*")));
    CHECK(c.http_status >= 400);
    CHECK(c.http_status < 600);
  }
  CHECK(mapped == declared);
}

TEST_CASE("the wire contract documents every error code", "[proto]") {
  const std::string readme = ReadSource("proto/README.md");
  for (const std::string& code : DeclaredCodes()) {
    INFO(code);
    CHECK(readme.find("`" + code + "`") != std::string::npos);
  }
}

TEST_CASE("the status of a code is the contract's", "[proto]") {
  CHECK(codes::HttpStatusFor(codes::kJsonInvalid) == 400);
  CHECK(codes::HttpStatusFor(codes::kBodyTooLarge) == 413);
  CHECK(codes::HttpStatusFor(codes::kTooManyEvents) == 413);
  CHECK(codes::HttpStatusFor(codes::kContentTypeUnsupported) == 415);
  CHECK(codes::HttpStatusFor(codes::kUnauthorized) == 401);
  CHECK(codes::HttpStatusFor(codes::kOriginForbidden) == 403);
  CHECK(codes::HttpStatusFor(codes::kNotFound) == 404);
  CHECK(codes::HttpStatusFor(codes::kMethodNotAllowed) == 405);
  CHECK(codes::HttpStatusFor(codes::kRateLimited) == 429);
  CHECK(codes::HttpStatusFor(codes::kQueueFull) == 503);
  CHECK(codes::HttpStatusFor(codes::kEventNameInvalid) == 400);
  // A code outside the table is a bug, answered as one.
  CHECK(codes::HttpStatusFor("no_such_code") == 500);
  static_assert(codes::HttpStatusFor(codes::kDraining) == 503);
}

}  // namespace
}  // namespace foothold::proto
