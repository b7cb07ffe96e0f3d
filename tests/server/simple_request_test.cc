// server/http/simple_request.h: the strict fast path parses the plain
// requests beacons send and hands everything else to Beast (kFallback).
#include <catch2/catch.hpp>

#include <string>

#include "server/http/simple_request.h"

namespace foothold::server {
namespace {

constexpr size_t kHeaderLimit = 8192;
constexpr size_t kBodyLimit = 1 << 20;

SimpleParse Parse(const std::string& in, SimpleRequest* out) {
  return ParseSimpleRequest(in, kHeaderLimit, kBodyLimit, out);
}

bool FallsBack(const std::string& in) {
  SimpleRequest r;
  return Parse(in, &r) == SimpleParse::kFallback;
}

const std::string kBody = R"({"event":"page_view","session_id":"s-1"})";

std::string Beacon(const std::string& extra_headers = "") {
  return "POST /v1/collect?writeKey=k HTTP/1.1\r\n"
         "Host: 127.0.0.1:8080\r\n"
         "Content-Type: text/plain;charset=UTF-8\r\n"
         "User-Agent:   Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 \r\n" +
         extra_headers + "Content-Length: " + std::to_string(kBody.size()) + "\r\n\r\n" + kBody;
}

TEST_CASE("simple request: a beacon parses with its fields, body and length", "[server]") {
  const std::string in = Beacon("Origin: https://shop.example\r\nX-Forwarded-For: 203.0.113.9\r\n") + "GET /next";
  SimpleRequest r;
  REQUIRE(Parse(in, &r) == SimpleParse::kDone);
  CHECK(r.method == "POST");
  CHECK(r.target == "/v1/collect?writeKey=k");
  CHECK(r.http11);
  CHECK(r.keep_alive);
  CHECK(r.content_type == "text/plain;charset=UTF-8");
  CHECK(r.user_agent == "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0");  // OWS trimmed
  CHECK(r.origin == "https://shop.example");
  CHECK(r.x_forwarded_for == "203.0.113.9");
  CHECK(r.referer.empty());
  CHECK(r.authorization.empty());
  CHECK(r.body == kBody);
  CHECK(r.message_bytes == in.size() - std::string("GET /next").size());  // a pipelined request stays
}

TEST_CASE("simple request: names are case-insensitive and a repeated field keeps its first value", "[server]") {
  SimpleRequest r;  // views into `in`
  const std::string in = "GET /v1/collect?e=x HTTP/1.1\r\nuser-AGENT: a\r\nUser-Agent: b\r\nREFERER: https://r/\r\n\r\n";
  REQUIRE(Parse(in, &r) == SimpleParse::kDone);
  CHECK(r.method == "GET");
  CHECK(r.user_agent == "a");
  CHECK(r.referer == "https://r/");
  CHECK(r.body.empty());
}

TEST_CASE("simple request: values may hold tabs and obs-text anywhere, never controls or DEL", "[server]") {
  SimpleRequest r;
  const std::string in = "GET / HTTP/1.1\r\nReferer:\thttps://x/\tlong-enough-for-two-words\r\n"
                         "User-Agent: Mozilla caf\xc3\xa9 (long enough to span words)\r\n\r\n";
  REQUIRE(Parse(in, &r) == SimpleParse::kDone);
  CHECK(r.referer == "https://x/\tlong-enough-for-two-words");
  CHECK(r.user_agent == "Mozilla caf\xc3\xa9 (long enough to span words)");
  for (char bad : {'\x00', '\x1f', '\x7f', '\r'}) {
    for (size_t at : {0, 5, 8, 13, 23}) {
      std::string v = "abcdefghijklmnopqrstuvwxyz";
      v[at] = bad;
      INFO("byte " << int(bad) << " at " << at);
      CHECK(FallsBack("GET / HTTP/1.1\r\nUser-Agent: " + v + "\r\n\r\n"));
    }
  }
}

TEST_CASE("simple request: keep-alive follows the version and Connection", "[server]") {
  SimpleRequest r;
  REQUIRE(Parse("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", &r) == SimpleParse::kDone);
  CHECK_FALSE(r.keep_alive);
  REQUIRE(Parse("GET /healthz HTTP/1.0\r\n\r\n", &r) == SimpleParse::kDone);
  CHECK_FALSE(r.http11);
  CHECK_FALSE(r.keep_alive);
  REQUIRE(Parse("GET /healthz HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r) == SimpleParse::kDone);
  CHECK(r.keep_alive);
  REQUIRE(Parse("GET /healthz HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n", &r) == SimpleParse::kDone);
  CHECK_FALSE(r.keep_alive);
  // HTTP/1.0 with both tokens: Beast's reading (keep-alive) differs from the RFC's, so Beast decides.
  CHECK(FallsBack("GET /healthz HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"));
}

TEST_CASE("simple request: anything outside the plain grammar falls back to Beast", "[server]") {
  // Incomplete: no end of header, or part of the body missing.
  CHECK(FallsBack("POST /v1/collect HTTP/1.1\r\nHost: x\r\n"));
  CHECK(FallsBack(Beacon().substr(0, Beacon().size() - 1)));
  // Framing Beast must judge: chunked, Expect, repeated Content-Length, a non-numeric one, upgrade.
  CHECK(FallsBack("POST /v1/collect HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
  CHECK(FallsBack(Beacon("Expect: 100-continue\r\n")));
  CHECK(FallsBack(Beacon("Content-Length: 3\r\n")));
  CHECK(FallsBack("POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc"));
  CHECK(FallsBack("GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"));
  CHECK(FallsBack("GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n"));
  // Syntax: methods, targets, versions, names, values, line ends, obs-fold.
  CHECK(FallsBack("PUT /v1/collect HTTP/1.1\r\n\r\n"));
  CHECK(FallsBack("GET * HTTP/1.1\r\n\r\n"));
  CHECK(FallsBack("GET http://x/ HTTP/1.1\r\n\r\n"));
  CHECK(FallsBack("GET /a b HTTP/1.1\r\n\r\n"));
  CHECK(FallsBack(std::string("GET /a\x01 HTTP/1.1\r\n\r\n")));
  CHECK(FallsBack("GET / HTTP/2.0\r\n\r\n"));
  CHECK(FallsBack("GET / HTTP/1.1 \r\n\r\n"));
  CHECK(FallsBack("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"));
  CHECK(FallsBack("GET / HTTP/1.1\r\nName : x\r\n\r\n"));
  CHECK(FallsBack("GET / HTTP/1.1\r\n: x\r\n\r\n"));
  CHECK(FallsBack("GET / HTTP/1.1\r\nNoColon\r\n\r\n"));
  CHECK(FallsBack(std::string("GET / HTTP/1.1\r\nA: x\x01y\r\n\r\n")));
  CHECK(FallsBack(std::string("GET / HTTP/1.1\r\nA: x\x7fy\r\n\r\n")));
  CHECK(FallsBack("GET / HTTP/1.1\r\nA: x\r\n folded\r\n\r\n"));
  CHECK(FallsBack("GET / HTTP/1.1\nA: x\n\n"));
  CHECK(FallsBack("GET / HTTP/1.1\r\nA: x\ny: z\r\n\r\n"));
  // Two X-Forwarded-For fields are joined by the Beast path.
  CHECK(FallsBack("GET / HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\n\r\n"));
}

TEST_CASE("simple request: over a limit falls back, so Beast answers 413", "[server]") {
  SimpleRequest r;
  const std::string big_header = "GET / HTTP/1.1\r\nA: " + std::string(200, 'a') + "\r\n\r\n";
  CHECK(ParseSimpleRequest(big_header, 100, kBodyLimit, &r) == SimpleParse::kFallback);
  CHECK(ParseSimpleRequest(big_header, big_header.size() + 1, kBodyLimit, &r) == SimpleParse::kDone);
  CHECK(ParseSimpleRequest(Beacon(), kHeaderLimit, kBody.size() - 1, &r) == SimpleParse::kFallback);
  CHECK(ParseSimpleRequest(Beacon(), kHeaderLimit, kBody.size(), &r) == SimpleParse::kDone);
}

}  // namespace
}  // namespace foothold::server
