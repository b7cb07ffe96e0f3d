// HttpServer: the Boost.Beast HTTP/1.1 front of foothold. One io_context per
// I/O thread; each connection lives on one thread for its whole life; the
// acceptor hands new sockets out round-robin. Handles SIGTERM/SIGINT with the
// drain sequence of server/README.md ("Shutdown").
//
// Thread safety: Start and Wait are called by one controlling thread (main);
// RequestShutdown may be called from any thread, any number of times.
#pragma once

#include <cstdint>
#include <memory>

#include "config/config.h"
#include "proto/status.h"

namespace foothold::storage {
class EventStore;
}

namespace foothold::server {

class HttpServer {
 public:
  // `store` must outlive the server.
  HttpServer(const config::Config& config, storage::EventStore* store);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the listener(s), installs signal handlers, starts the I/O threads.
  Status Start();
  // The bound ports (useful with port 0). admin_port() is 0 without admin_listen.
  uint16_t port() const;
  uint16_t admin_port() const;

  // Blocks until a shutdown was requested (signal or RequestShutdown) and the
  // drain sequence finished: readiness off, drain delay, stop accepting, wait
  // for in-flight requests (up to shutdown.deadline), stop the I/O threads.
  // The caller then closes the store.
  void Wait();
  void RequestShutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace foothold::server
