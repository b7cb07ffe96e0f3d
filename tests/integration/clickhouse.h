// Test helper: a real ClickHouse server from the Debian package
// (/usr/bin/clickhouse-server), started by the test itself on loopback with
// free ports and every path inside a temp dir: the packaged config.xml and
// users.xml are copied, their data/log/tmp paths and ports rewritten. It can
// be stopped and started again on the same ports and data (an outage), and
// applies deploy/clickhouse/events.sql itself - the shipped file, not a copy.
//
// When clickhouse-server is missing, ClickHouseInstalled() fails the test
// when CI is set and skips it with a warning otherwise (scripts/setup.sh test
// installs it).
//
// Thread safety: one object per test, used from the test's main thread
// (Query may be called from other threads: each call has its own client).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "tests/integration/harness.h"

namespace foothold::testing {

// True when clickhouse-server is installed. Otherwise FAILs under CI, WARNs
// (the caller then returns) elsewhere.
bool ClickHouseInstalled();

// A loopback port that was free a moment ago.
uint16_t FreeLoopbackPort();

class ClickHouseServer {
 public:
  // Writes the config under dir/clickhouse and starts the server; started()
  // tells whether /ping answered within the deadline.
  explicit ClickHouseServer(const std::string& dir);
  ~ClickHouseServer();  // SIGKILLs a running server
  ClickHouseServer(const ClickHouseServer&) = delete;
  ClickHouseServer& operator=(const ClickHouseServer&) = delete;

  bool started() const { return started_; }
  uint16_t http_port() const { return http_port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(http_port_); }

  // SIGTERM and wait for the exit (SIGKILL after 30 s).
  void Stop();
  // Starts again with the same config and data; true once /ping answers.
  bool Start();

  // Runs one statement; *out gets the answer body. False (with the error in
  // *out) unless ClickHouse answered 200.
  bool Query(const std::string& sql, std::string* out) const;
  // Runs a statement whose answer is one number (count() ...). -1 on error.
  long long QueryNumber(const std::string& sql) const;
  // Applies deploy/clickhouse/events.sql statement by statement.
  bool ApplySchema(std::string* error) const;

  std::string Log() const;

 private:
  std::string dir_;
  std::string config_path_;
  uint16_t http_port_ = 0;
  pid_t pid_ = -1;
  bool started_ = false;
};

}  // namespace foothold::testing
