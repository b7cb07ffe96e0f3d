// libFuzzer target, differential: the fast request parser
// (server/http/simple_request.h) against Beast's, which serves every request
// the fast one declines. Whatever the fast parser accepts, Beast must accept
// with the same limits and read the same way: method, target, version,
// keep-alive, the message's length, the body, and the first value of each
// field the connection passes on. A request the two read differently would
// be answered differently depending on how it arrived (whole or in pieces).
// Input: two bytes choose the header and body limits; the rest is the bytes read.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "server/http/simple_request.h"

namespace {

namespace http = boost::beast::http;

void Same(std::string_view a, std::string_view b) {
  if (a != b) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t max_header = 16 + size_t{data[0]} * 8;  // 16..2056
  const size_t max_body = size_t{data[1]} * 4;          // 0..1020
  const std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);

  foothold::server::SimpleRequest fast;
  if (foothold::server::ParseSimpleRequest(in, max_header, max_body, &fast) !=
      foothold::server::SimpleParse::kDone) {
    return 0;  // Beast's alone: nothing to compare
  }
  if (fast.message_bytes > in.size()) std::abort();

  http::request_parser<http::string_body> beast;
  beast.header_limit(static_cast<std::uint32_t>(max_header));
  beast.body_limit(max_body);
  beast.eager(true);
  boost::beast::error_code ec;
  size_t used = 0;
  while (!beast.is_done()) {
    const size_t n = beast.put(boost::asio::buffer(in.data() + used, in.size() - used), ec);
    used += n;
    if (ec || n == 0) break;
  }
  if (ec || !beast.is_done()) std::abort();  // accepted by one, refused by the other
  if (used != fast.message_bytes) std::abort();

  const auto& req = beast.get();
  Same(req.method_string(), fast.method);
  Same(req.target(), fast.target);
  if ((req.version() == 11) != fast.http11) std::abort();
  if (beast.keep_alive() != fast.keep_alive) std::abort();
  Same(req.body(), fast.body);
  Same(req[http::field::content_type], fast.content_type);
  Same(req[http::field::content_encoding], fast.content_encoding);
  Same(req[http::field::origin], fast.origin);
  Same(req[http::field::user_agent], fast.user_agent);
  Same(req[http::field::authorization], fast.authorization);
  Same(req[http::field::referer], fast.referer);
  Same(req[http::field::accept_encoding], fast.accept_encoding);
  Same(req[http::field::if_none_match], fast.if_none_match);
  Same(req["X-Forwarded-For"], fast.x_forwarded_for);
  return 0;
}
