// Private to server/: one HTTP/1.1 connection, Beast-example style
// (read → handle → write → read), and the per-thread Worker it lives on.
// Includes Beast: include it only from server/*.cc.
//
// Thread safety: a Connection is touched only on its Worker's thread, except
// that Service completions arrive from other threads and are posted back.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "config/config.h"
#include "proto/decode.h"
#include "server/http/http_types.h"

namespace foothold::storage {
class EventStore;
}

namespace foothold::server {

class Service;
class Metrics;
class Connection;

// One I/O thread: its io_context, its decoder, and the connections on it.
struct Worker {
  // The first read of every request lands here and is then copied into the
  // connection's buffer: an idle keep-alive connection holds no read buffer
  // at all (10 k idle connections held 40 MiB of 4 KiB buffers).
  static constexpr size_t kScratchBytes = 64 * 1024;

  explicit Worker(const proto::Limits& limits) : decoder(limits), scratch(new char[kScratchBytes]) {}

  enum class Phase { kRunning, kDraining, kClosed };

  proto::Decoder decoder;
  std::unique_ptr<char[]> scratch;  // this thread only
  std::thread thread;
  bool commit_posted = false;     // a CommitNow is queued on this thread (this thread only)
  Phase phase = Phase::kRunning;  // shutdown progress as seen by this thread (this thread only)
  std::mutex mu;  // guards connections (registered on this thread; read at shutdown)
  std::unordered_set<Connection*> connections;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard;
  // Last, so it is destroyed first: handlers it still holds destroy
  // Connections, whose destructors use mu and connections above.
  boost::asio::io_context ioc{1};
};

// What every connection shares (owned by HttpServer).
struct ConnectionContext {
  const config::Config* config = nullptr;
  Service* service = nullptr;
  Metrics* metrics = nullptr;
  storage::EventStore* store = nullptr;
  std::atomic<int64_t> in_flight{0};  // requests read but not yet answered
};

// Sockets and timers bound to the concrete io_context executor: no
// type-erased any_io_executor on the hot path (it showed up in profiles).
using Executor = boost::asio::io_context::executor_type;
using Socket = boost::asio::ip::tcp::socket::rebind_executor<Executor>::other;
using Timer = boost::asio::basic_waitable_timer<std::chrono::steady_clock, boost::asio::wait_traits<std::chrono::steady_clock>, Executor>;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Socket&& socket, Worker* worker, ConnectionContext* ctx, Listener listener);
  ~Connection();

  // REQUIRES: on the worker's thread.
  void Start();
  // Closes the connection now when it is idle between requests, otherwise
  // after the response in progress. REQUIRES: on the worker's thread.
  void CloseGracefully();
  // Closes the socket at once. REQUIRES: on the worker's thread.
  void CloseNow();

 private:
  enum class State { kIdle, kReading, kHandling, kWriting, kClosed };

  // Closes the connection when `ms` pass before the next SetDeadline/ClearDeadline.
  void SetDeadline(int64_t ms);
  void ClearDeadline();
  void ArmTimer();
  void WaitForRequest();
  // The socket is readable: the first bytes of a request (or EOF) are there.
  void ReadFirst();
  void ReadHeader();
  void OnHeader(boost::beast::error_code ec);
  void ReadBody();
  void OnBody(boost::beast::error_code ec);
  void Dispatch();
  void Reply(Response&& r, bool counted);
  void OnWrite(bool keep_alive, bool counted, boost::beast::error_code ec);
  // After a final response: stop sending, read and discard what the client
  // still sends for a moment, then close, so unread request bytes do not turn
  // the close into a reset that destroys the response in flight.
  void LingerClose();
  void DiscardInput();
  void ReplyParseError(boost::beast::error_code ec);

  Socket socket_;
  Timer timer_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point armed_at_;  // when the armed timer fires
  uint64_t timer_gen_ = 0;
  bool timer_armed_ = false;
  boost::beast::flat_buffer buffer_;  // released between requests (see Worker::scratch)
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::string out_;  // the response being written (capacity reused)
  Worker* worker_;
  ConnectionContext* ctx_;
  Listener listener_;
  proto::IpAddress peer_;
  State state_ = State::kIdle;
  bool close_after_ = false;  // close after the response in progress (or now, when idle)
  bool last_request_ = false; // accepted during the drain: serve one request, then close
  size_t lingered_bytes_ = 0;
  bool head_request_ = false;
  bool keep_alive_ = true;
  bool http11_ = true;
};

}  // namespace foothold::server
