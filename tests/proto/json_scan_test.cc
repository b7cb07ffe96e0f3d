// The structure scanner behind event spans (proto/json_scan.h).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "proto/json_scan.h"

namespace foothold::proto::internal {
namespace {

std::vector<std::string> Elements(std::string_view s) {
  std::vector<Span> spans;
  const size_t end = SplitArray(s, SkipWs(s, 0), &spans);
  if (end == kNoPos) return {"<malformed>"};
  std::vector<std::string> out;
  for (const Span& sp : spans) out.emplace_back(s.substr(sp.begin, sp.size()));
  return out;
}

}  // namespace

TEST_CASE("SplitArray finds exact element spans", "[proto]") {
  using V = std::vector<std::string>;
  CHECK(Elements("[]") == V{});
  CHECK(Elements(" [ ] ") == V{});
  CHECK(Elements("[1,-2.5e3 , true,null,\"s\"]") == V{"1", "-2.5e3", "true", "null", "\"s\""});
  CHECK(Elements(R"([{"a":"]}"} , ["[",{"b":"\"]"}], "\\", "\\\"]"])") ==
        V{R"({"a":"]}"})", R"(["[",{"b":"\"]"}])", R"("\\")", R"("\\\"]")"});
  CHECK(Elements("[\n{\"a\":1}\r\n,\t{}\n]") == V{"{\"a\":1}", "{}"});
}

TEST_CASE("SplitArray and SplitObject refuse broken structure without crashing", "[proto]") {
  for (const char* s : {"[", "[1", "[1,", "[1 2]", "[,1]", "[1,]x", "[\"abc", "[{\"a\":1]",
                        "[{", "x", "", "[1}"}) {
    INFO(s);
    std::vector<Span> spans;
    const std::string_view sv(s);
    CHECK(SplitArray(sv, SkipWs(sv, 0), &spans) == kNoPos);
  }
  std::vector<Span> spans;
  CHECK(SplitArray(std::string(100000, '['), 0, &spans) == kNoPos);
  std::vector<Member> members;
  CHECK(SplitObject(std::string(100000, '{'), 0, &members) == kNoPos);
  for (const char* s : {"{", "{\"a\"", "{\"a\":", "{\"a\":1", "{a:1}", "{\"a\" 1}", "{\"a\":1,}",
                        "{\"a\":1 \"b\":2}", "{1:2}"}) {
    INFO(s);
    members.clear();
    CHECK(SplitObject(s, 0, &members) == kNoPos);
  }
}

TEST_CASE("SplitObject finds keys and values", "[proto]") {
  const std::string s = R"({ "a" : 1 , "b\"}" : {"x":[1,{"y":"}"}]}, "c":"v" })";
  std::vector<Member> m;
  REQUIRE(SplitObject(s, 0, &m) == s.size());
  REQUIRE(m.size() == 3);
  CHECK(s.substr(m[0].key.begin, m[0].key.size()) == R"("a")");
  CHECK(s.substr(m[0].value.begin, m[0].value.size()) == "1");
  CHECK(s.substr(m[1].key.begin, m[1].key.size()) == R"("b\"}")");
  CHECK(s.substr(m[1].value.begin, m[1].value.size()) == R"({"x":[1,{"y":"}"}]})");
  CHECK(s.substr(m[2].value.begin, m[2].value.size()) == R"("v")");
}

}  // namespace foothold::proto::internal
