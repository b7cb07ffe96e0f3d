// Private to server/: a strict, allocation-free parser for the requests
// nearly every client sends (a beacon: a request line, a few header fields,
// a Content-Length body, all in one read), used before Beast's parser.
// It accepts only a subset of what Beast accepts and answers nothing itself:
// anything else — an incomplete message, chunked bodies, Expect, repeated
// framing fields, obs-fold, a limit exceeded, any byte outside the plain
// grammar — is kFallback, and Beast parses the same bytes with its own
// checks and error answers (server/README.md "Threading").
//
// Thread safety: a pure function over caller-owned bytes.
#pragma once

#include <cstddef>
#include <string_view>

namespace foothold::server {

// Views into the parsed bytes.
struct SimpleRequest {
  std::string_view method;  // GET, HEAD, POST or OPTIONS
  std::string_view target;  // origin-form, as sent
  bool http11 = true;       // HTTP/1.1 (else HTTP/1.0)
  bool keep_alive = true;   // RFC 9112 §9.3 from the version and Connection
  size_t message_bytes = 0; // header block plus body
  std::string_view body;
  // The fields Connection passes on ("" when absent; the first when repeated).
  std::string_view content_type, content_encoding, origin, user_agent, authorization, referer,
      accept_encoding, if_none_match, x_forwarded_for;
};

enum class SimpleParse { kDone, kFallback };

// Parses one whole request at the start of `in`. kDone fills *out; kFallback
// leaves it unspecified. `max_header_bytes` bounds the header block (request
// line included) and `max_body_bytes` the Content-Length, as Beast's limits.
SimpleParse ParseSimpleRequest(std::string_view in, size_t max_header_bytes, size_t max_body_bytes,
                               SimpleRequest* out);

}  // namespace foothold::server
