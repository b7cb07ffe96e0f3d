// Beast-free request/response values passed between a connection and the
// handlers, so handlers stay plain C++ (and cheap to include and to test).
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proto/ip.h"

namespace foothold::server {

enum class Method { kGet, kHead, kPost, kOptions, kOther };

// Which listener a request arrived on (admin endpoints may live on their own).
enum class Listener { kPublic, kAdmin };

struct Request {
  Method method = Method::kOther;
  std::string target;  // path and query, as sent
  // The header values handlers care about ("" when absent).
  std::string content_type;
  std::string content_encoding;
  std::string origin;
  std::string x_forwarded_for;  // all X-Forwarded-For headers joined with ','
  std::string user_agent;
  std::string authorization;
  std::string referer;
  std::string accept_encoding;
  std::string if_none_match;
  std::string body;
  proto::IpAddress peer;
  Listener listener = Listener::kPublic;
  int64_t received_at_ms = 0;  // system clock (ms) when the header block was complete
  int64_t start_ns = 0;        // steady clock (ns) at the same moment, for latency
};

struct Response {
  int status = 200;
  // Static storage only (a literal, an embedded asset's type): a view, so a
  // response costs no allocation for it ("" sends no Content-Type).
  std::string_view content_type = "application/json";
  // Names are literals (static storage); values are owned.
  std::vector<std::pair<std::string_view, std::string>> headers;
  std::string body;
  bool close = false;  // close the connection after this response
};

// Completes a request. A handler calls it exactly once, from any thread; the
// connection moves the response back onto its own thread.
using Respond = std::function<void(Response&&)>;

}  // namespace foothold::server
