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
#include <utility>
#include <vector>

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
#include "server/http/simple_request.h"

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
  // Drops what is still parked while the io_context (which their sockets use) exists.
  ~Worker();

  enum class Phase { kRunning, kDraining, kClosed };

  // Parks a response that the store's writer thread completed; the writer
  // hands the parked ones over with FlushCompleted once its group's callbacks
  // ran. Thread-safe.
  void ParkCompleted(std::shared_ptr<Connection> conn, Response&& r);
  // Posts ONE handler that answers everything parked (a group's worth of
  // requests wakes this thread once, not once a request). Thread-safe.
  void FlushCompleted();

  proto::Decoder decoder;
  std::unique_ptr<char[]> scratch;  // this thread only
  std::mutex completed_mu;
  std::vector<std::pair<std::shared_ptr<Connection>, Response>> completed;  // guarded by completed_mu
  bool completed_posted = false;  // guarded by completed_mu: a handler to answer them is queued
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
  friend struct Worker;  // answers parked completions (Reply)
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
  // A new request: a fresh parser, then Parse.
  void ReadHeader();
  // Feeds buffer_ to the parser; reads more when it needs more, then Dispatch.
  void Parse();
  void ReadMore();
  // Builds the Request from Beast's parser (Dispatch) or from a simple parse
  // (DispatchSimple: of buffer_, which it consumes, or of the worker's scratch
  // buffer), then hands it to Handle.
  void Dispatch();
  void DispatchSimple(const SimpleRequest& m, bool from_buffer);
  void Handle(Request&& req);
  void Reply(Response&& r, bool counted);
  // `in_reply`: the write completed synchronously, inside Reply.
  void OnWrite(bool keep_alive, bool counted, boost::beast::error_code ec, bool in_reply);
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
  bool continue_checked_ = false;  // Expect: 100-continue looked at for this request
  bool head_request_ = false;
  bool keep_alive_ = true;
  bool http11_ = true;
};

}  // namespace foothold::server
