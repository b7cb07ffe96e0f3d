// A small blocking HTTP/1.1 client for ClickHouse's HTTP interface, on plain
// POSIX sockets (storage/ never includes Asio or Beast). One call is one
// connection: `POST /?query=...` with `Connection: close`, the answer read to
// EOF, chunked bodies decoded. Every call has one deadline covering connect,
// send and receive. No TLS: point it at ClickHouse's http_port or at a local
// TLS-terminating proxy. Contract: storage/export/README.md.
//
// Thread safety: ClickHouseHttp is immutable after construction; Post may be
// called from any number of threads at once (each call owns its socket).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proto/status.h"

namespace foothold::storage {

struct ClickHouseEndpoint {
  std::string host;          // a hostname or IP literal, without brackets
  uint16_t port = 8123;
  std::string user = "default";
  std::string password;      // "" = no X-ClickHouse-Key header
  int64_t timeout_ms = 10000;
};

// Parses "http://HOST[:PORT][/]" (IPv6 literals in brackets; port default 8123).
Status ParseClickHouseUrl(std::string_view url, ClickHouseEndpoint* out);

// Why a call did not get a 200. The names are the `kind` label of
// foothold_export_failures_total (README.md).
enum class HttpFailure : uint8_t {
  kNone = 0,
  kConnect,    // name resolution or TCP connect failed (ClickHouse down, wrong host)
  kTimeout,    // the deadline passed
  kIo,         // the connection broke mid-request or mid-response
  kProtocol,   // the answer was not parseable HTTP
  kHttp4xx,    // ClickHouse refused the request (bad SQL, unknown table, auth)
  kHttp5xx,    // ClickHouse failed to execute it
  kCount
};
const char* HttpFailureName(HttpFailure f);

struct HttpAnswer {
  HttpFailure failure = HttpFailure::kNone;  // kNone: status 200
  int status = 0;        // 0 when no answer was read
  std::string body;      // the answer, or ClickHouse's exception text
  std::string error;     // a message for the log when failure != kNone
};

class ClickHouseHttp {
 public:
  explicit ClickHouseHttp(ClickHouseEndpoint endpoint) : endpoint_(std::move(endpoint)) {}

  // POSTs `body` to /?query=<query> (percent-encoded here) plus
  // `extra_params` (already encoded, "&name=value..." or ""), and returns the
  // answer. A status other than 200 is a failure of kind 4xx/5xx.
  HttpAnswer Post(std::string_view query, std::string_view body, std::string_view extra_params = "") const;

  const ClickHouseEndpoint& endpoint() const { return endpoint_; }

 private:
  ClickHouseEndpoint endpoint_;
};

}  // namespace foothold::storage
