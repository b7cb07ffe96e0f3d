// Test harness for integration tests: the real foothold binary as a child
// process on port 0, and a small blocking HTTP client (TempDir, NowMs and
// WaitUntil come from tests/test_util.h).
// Beast stays in harness.cc.
//
// Thread safety: HttpClient and ServerProcess objects are not shared between
// threads; distinct objects may be used concurrently.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace foothold::testing {

struct HttpResult {
  int status = 0;  // 0: no response (connection failed or closed)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// A keep-alive HTTP/1.1 client to 127.0.0.1:port; reconnects when needed.
class HttpClient {
 public:
  explicit HttpClient(uint16_t port);
  ~HttpClient();
  HttpResult Request(const std::string& method, const std::string& target, const std::string& body = "",
                     const Headers& headers = {});
  HttpResult Post(const std::string& target, const std::string& body,
                  const std::string& content_type = "application/json", const Headers& headers = {}) {
    Headers h = headers;
    h.emplace_back("Content-Type", content_type);
    return Request("POST", target, body, h);
  }
  HttpResult Get(const std::string& target, const Headers& headers = {}) { return Request("GET", target, "", headers); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Sends `bytes` on a fresh connection and returns everything received until
// the peer closes or `timeout_ms` passes.
std::string RawExchange(uint16_t port, const std::string& bytes, int timeout_ms = 3000);
// A blocking client socket on 127.0.0.1 with deadline-bounded reads, for byte-level HTTP tests.
class RawConn {
 public:
  explicit RawConn(uint16_t port);
  ~RawConn();
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;
  bool connected() const { return connected_; }
  // Sends all of `bytes`; false when the peer is gone.
  bool Send(const std::string& bytes);
  // Reads until `received` holds `count` occurrences of `marker`, the peer
  // closes, or the deadline passes; returns everything received so far.
  const std::string& ReadUntil(const std::string& marker, size_t count, int timeout_ms = 5000);
  // Reads until the peer closes or the deadline passes; returns everything received so far.
  const std::string& ReadAll(int timeout_ms);
  // Waits (bounded) for the peer to close; true once it has.
  bool WaitClosed(int timeout_ms = 5000);
  size_t Count(const std::string& marker) const;

 private:
  int fd_;
  bool connected_ = false;
  bool closed_ = false;
  std::string received_;
};

// Opens one connection per request, then writes every request back to back
// (so they reach the server together), and returns each connection's bytes
// received until it closes or `timeout_ms` passes.
std::vector<std::string> RawBurst(uint16_t port, const std::vector<std::string>& requests, int timeout_ms = 5000);

// The foothold binary as a child process.
class ServerProcess {
 public:
  // Runs `foothold --listen 127.0.0.1:0 --data-dir <data_dir> <args...>` with
  // `env` ("KEY=VALUE") added to a clean environment; waits until it listens.
  ServerProcess(const std::string& data_dir, std::vector<std::string> args = {}, std::vector<std::string> env = {});
  // SIGKILLs a still-running child; a sanitizer report in its log (the ASan+UBSan build,
  // tests/README.md) fails the running test with the report.
  ~ServerProcess();

  uint16_t port() const { return port_; }
  uint16_t admin_port() const { return admin_port_; }
  pid_t pid() const { return pid_; }
  bool started() const { return port_ != 0; }

  void Signal(int sig);
  // Waits for the child to exit (up to timeout_ms); returns its exit status,
  // 128+signal when killed, or -1 on timeout.
  int WaitExit(int timeout_ms = 30000);
  void Kill9();
  std::string Log() const;  // its combined stdout/stderr so far

 private:
  std::string log_path_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  uint16_t admin_port_ = 0;
};

// Starts argv[0] with `argv` and a clean environment plus `env` (and the test's
// ASAN_OPTIONS, UBSAN_OPTIONS, LSAN_OPTIONS unless `env` sets them), its stdout
// and stderr going to `log_path`; the child dies with the test binary
// (PR_SET_PDEATHSIG; spawn from the main thread, which outlives the child).
pid_t Spawn(std::vector<std::string> argv, std::vector<std::string> env, const std::string& log_path);

std::string ReadFile(const std::string& path);

// Runs the binary to completion with `args`; returns exit status and output.
int RunBinary(const std::vector<std::string>& args, std::string* output, std::vector<std::string> env = {});

std::string Gzip(const std::string& data);

}  // namespace foothold::testing
