#include "server/http/connection.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string_view>

#include <boost/asio/post.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/asio/write.hpp>

#include "proto/error_codes.h"
#include "server/http/clock.h"
#include "server/http/simple_request.h"
#include "server/api/metrics.h"
#include "server/api/service.h"
#include "storage/event_store.h"

namespace foothold::server {
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace asio = boost::asio;

namespace {

Method ToMethod(http::verb v) {
  switch (v) {
    case http::verb::get: return Method::kGet;
    case http::verb::head: return Method::kHead;
    case http::verb::post: return Method::kPost;
    case http::verb::options: return Method::kOptions;
    default: return Method::kOther;
  }
}

proto::IpAddress PeerOf(const Socket& socket) {
  proto::IpAddress ip;
  beast::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return ip;
  auto addr = ep.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
    addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  }
  if (addr.is_v4()) {
    auto b = addr.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), ip.bytes.begin());
  } else {
    ip.v6 = true;
    auto b = addr.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), ip.bytes.begin());
  }
  return ip;
}

}  // namespace

Worker::~Worker() {
  std::vector<std::pair<std::shared_ptr<Connection>, Response>> dropped;
  std::lock_guard<std::mutex> lock(completed_mu);
  dropped.swap(completed);
}

void Worker::ParkCompleted(std::shared_ptr<Connection> conn, Response&& r) {
  std::lock_guard<std::mutex> lock(completed_mu);
  completed.emplace_back(std::move(conn), std::move(r));
}

void Worker::FlushCompleted() {
  {
    std::lock_guard<std::mutex> lock(completed_mu);
    if (completed.empty() || completed_posted) return;
    completed_posted = true;
  }
  asio::post(ioc, [this] {
    std::vector<std::pair<std::shared_ptr<Connection>, Response>> ready;
    {
      std::lock_guard<std::mutex> lock(completed_mu);
      ready.swap(completed);
      completed_posted = false;
    }
    for (auto& [conn, r] : ready) conn->Reply(std::move(r), /*counted=*/true);
  });
}

Connection::Connection(Socket&& socket, Worker* worker, ConnectionContext* ctx, Listener listener)
    : socket_(std::move(socket)), timer_(socket_.get_executor()), worker_(worker), ctx_(ctx), listener_(listener) {
  peer_ = PeerOf(socket_);
  beast::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);  // best effort
  socket_.non_blocking(true, ec);  // for ReadFirst's synchronous read; async operations are unaffected
  ctx_->metrics->ConnectionOpened();
}

Connection::~Connection() {
  ctx_->metrics->ConnectionClosed();
  std::lock_guard<std::mutex> lock(worker_->mu);
  worker_->connections.erase(this);
}

void Connection::Start() {
  {
    std::lock_guard<std::mutex> lock(worker_->mu);
    worker_->connections.insert(this);
  }
  // Accepted just before the listener closed: the drain passes on this thread
  // may already have run, so apply them here.
  if (worker_->phase == Worker::Phase::kClosed) return CloseNow();
  if (worker_->phase == Worker::Phase::kDraining) last_request_ = true;
  WaitForRequest();
}

void Connection::CloseGracefully() {
  if (state_ == State::kIdle) {
    CloseNow();
  } else {
    close_after_ = true;
  }
}

void Connection::CloseNow() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  beast::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  timer_.cancel();
}

// Timeouts: one timer per connection, re-armed lazily. Moving the deadline
// is an assignment; the timer, when it fires early, re-arms itself for the
// current deadline. (Re-arming per read and write, as beast::basic_stream
// does, cancelled and ran a timer handler several times per request.)
void Connection::SetDeadline(int64_t ms) {
  deadline_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  // A later deadline waits for the armed timer; an earlier one re-arms it.
  if (!timer_armed_ || deadline_ < armed_at_) ArmTimer();
}

void Connection::ClearDeadline() { deadline_ = std::chrono::steady_clock::time_point::max(); }

void Connection::ArmTimer() {
  timer_armed_ = true;
  armed_at_ = deadline_;
  const uint64_t gen = ++timer_gen_;  // a replaced wait's (aborted) handler sees a stale gen
  timer_.expires_at(deadline_);
  timer_.async_wait([self = shared_from_this(), gen](beast::error_code ec) {
    if (gen != self->timer_gen_) return;
    self->timer_armed_ = false;
    if (ec || self->state_ == State::kClosed) return;
    if (self->deadline_ == std::chrono::steady_clock::time_point::max()) return;  // SetDeadline re-arms
    if (std::chrono::steady_clock::now() >= self->deadline_) return self->CloseNow();  // timed out
    self->ArmTimer();
  });
}

// Waits (up to http.idle_timeout) for the first byte of the next request, so
// an idle keep-alive connection and a slow header (http.header_timeout) get
// their own deadlines.
//
// Between requests the connection owns no read buffer: it waits for the
// socket to become readable, reads into its worker's scratch buffer and
// copies what came into buffer_, sized to fit. What that costs a request (one
// allocation and one copy of what the first read returned) is small beside
// the 4 KiB+ every idle keep-alive connection held before (scripts/README.md,
// "Memory with 10 k idle connections under batch load").
void Connection::WaitForRequest() {
  if (close_after_) return CloseNow();
  state_ = State::kIdle;
  if (buffer_.size() > 0) return ReadHeader();  // a pipelined request is already here
  buffer_.shrink_to_fit();  // empty: frees it
  if (out_.capacity() > 4096) std::string().swap(out_);  // a large response's buffer
  SetDeadline(ctx_->config->http.idle_timeout_ms);
  socket_.async_wait(Socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
    if (ec || self->state_ == State::kClosed) return self->CloseNow();
    self->ReadFirst();
  });
}

void Connection::ReadFirst() {
  beast::error_code ec;
  // Non-blocking (set in the constructor): a spurious wake-up is would_block, never a stall.
  const size_t n = socket_.read_some(asio::buffer(worker_->scratch.get(), Worker::kScratchBytes), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    socket_.async_wait(Socket::wait_read, [self = shared_from_this()](beast::error_code wec) {
      if (wec || self->state_ == State::kClosed) return self->CloseNow();
      self->ReadFirst();
    });
    return;
  }
  if (ec || n == 0) return CloseNow();  // EOF or reset while idle: nothing to answer
  if (buffer_.size() == 0) {
    // Exactly one whole plain request (the usual beacon): served straight from
    // the scratch buffer, with no copy into buffer_ and no buffer to free.
    SimpleRequest simple;
    const auto& limits = ctx_->config->limits;
    if (ParseSimpleRequest(std::string_view(worker_->scratch.get(), n), limits.max_header_bytes,
                           limits.max_body_bytes, &simple) == SimpleParse::kDone &&
        simple.message_bytes == n) {
      state_ = State::kReading;
      return DispatchSimple(simple, /*from_buffer=*/false);
    }
  }
  std::memcpy(buffer_.prepare(n).data(), worker_->scratch.get(), n);
  buffer_.commit(n);
  ReadHeader();
}

void Connection::ReadHeader() {
  state_ = State::kReading;
  const auto& limits = ctx_->config->limits;
  // A plain request that arrived whole (every beacon) is parsed without Beast
  // (simple_request.h: ~4 k instructions less a request, profiled); anything
  // else, or less, is Beast's, from the same bytes.
  SimpleRequest simple;
  const auto* data = static_cast<const char*>(buffer_.data().data());
  if (ParseSimpleRequest(std::string_view(data, buffer_.size()), limits.max_header_bytes, limits.max_body_bytes,
                         &simple) == SimpleParse::kDone) {
    return DispatchSimple(simple, /*from_buffer=*/true);
  }
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  parser_->body_limit(limits.max_body_bytes);
  continue_checked_ = false;
  // One deadline for the whole header block, then one for the whole body
  // (set in Parse when the header is done), not one a read: a client that
  // trickles a byte at a time (slowloris) is closed when it runs out.
  SetDeadline(ctx_->config->http.header_timeout_ms);
  Parse();
}

// The parser is fed synchronously from buffer_, and the socket is read only
// when it needs more: a request that arrived whole (every beacon) is parsed
// and dispatched in the handler that read it, with no completion handlers
// posted in between (Beast's async_read posts one per call, and it took two
// calls a request, header then body).
void Connection::Parse() {
  beast::error_code ec;
  while (!parser_->is_done()) {
    if (parser_->is_header_done() && !continue_checked_) {
      continue_checked_ = true;
      SetDeadline(ctx_->config->http.body_timeout_ms);
      auto& req = parser_->get();
      if (req.version() >= 11 && beast::iequals(req[http::field::expect], "100-continue")) {  // never a 1xx to HTTP/1.0
        // curl and some SDKs wait for this before sending a body.
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        asio::async_write(socket_, asio::buffer(kContinue.data(), kContinue.size()),
                          [self = shared_from_this()](beast::error_code wec, size_t) {
                            if (wec || self->state_ == State::kClosed) return self->CloseNow();
                            self->Parse();
                          });
        return;
      }
    }
    if (buffer_.size() == 0) return ReadMore();
    const size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == http::error::need_more || (!ec && used == 0)) {  // no progress without more bytes
      ec = {};
      return ReadMore();
    }
    if (ec) return ReplyParseError(ec);
  }
  Dispatch();
}

void Connection::ReadMore() {
  // The deadline is the header's or the body's, set once (ReadHeader, Parse).
  // As Beast's read: what the buffer has room for (at least 512 bytes, at most
  // 64 KiB), so a request arriving in pieces does not grow it by 64 KiB a read.
  socket_.async_read_some(buffer_.prepare(beast::read_size(buffer_, 65536)), [self = shared_from_this()](beast::error_code ec, size_t n) {
    if (self->state_ == State::kClosed) return;
    self->buffer_.commit(n);
    if (ec == asio::error::eof) {
      // As Beast: EOF before any byte of a message is end_of_stream; within
      // one, the parser decides (a request never ends at EOF: partial_message).
      if (!self->parser_->got_some()) {
        ec = http::error::end_of_stream;
      } else {
        ec = {};
        self->parser_->put_eof(ec);
        if (!ec && !self->parser_->is_done()) ec = http::error::partial_message;
      }
      if (ec) return self->ReplyParseError(ec);
      return self->Dispatch();
    }
    if (ec) return self->ReplyParseError(ec);
    self->Parse();
  });
}

void Connection::ReplyParseError(beast::error_code ec) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
      ec == http::error::partial_message) {
    // A client that went away or stalled (slowloris): nothing to answer.
    return CloseNow();
  }
  Response r;
  if (ec == http::error::header_limit) {
    r = ErrorResponse(proto::codes::kHeadersTooLarge, "the request header block exceeds limits.max_header_bytes (" +
                                                          std::to_string(ctx_->config->limits.max_header_bytes) + ")");
    ctx_->metrics->AddRejected(proto::codes::kHeadersTooLarge);
  } else if (ec == http::error::body_limit) {
    r = ErrorResponse(proto::codes::kBodyTooLarge, "the request body exceeds limits.max_body_bytes (" +
                                                       std::to_string(ctx_->config->limits.max_body_bytes) + ")");
    ctx_->metrics->AddRejected(proto::codes::kBodyTooLarge);
  } else {
    r = ErrorResponse(proto::codes::kBadRequest, "malformed HTTP request: " + ec.message());
    ctx_->metrics->AddRejected(proto::codes::kBadRequest);
  }
  // The stream is out of sync with the message boundaries: answer and close.
  ctx_->metrics->RecordRequest(Route::kOther, r.status, 0);
  r.close = true;
  head_request_ = false;
  keep_alive_ = false;
  http11_ = true;
  Reply(std::move(r), /*counted=*/false);
}

void Connection::Dispatch() {
  state_ = State::kHandling;
  auto& msg = parser_->get();
  Request req;
  req.method = ToMethod(msg.method());
  req.target = std::string(msg.target());
  // One pass over the header fields (nine lookups by name cost ~2 k
  // instructions a request, profiled). A repeated field keeps its first value,
  // as a lookup would; every X-Forwarded-For is joined in order.
  uint32_t seen = 0;
  auto take = [&seen](uint32_t bit, std::string* to, std::string_view value) {
    if (seen & bit) return;
    seen |= bit;
    to->assign(value.data(), value.size());
  };
  for (const auto& f : msg) {
    const std::string_view v = f.value();
    switch (f.name()) {
      case http::field::content_type: take(1u << 0, &req.content_type, v); break;
      case http::field::content_encoding: take(1u << 1, &req.content_encoding, v); break;
      case http::field::origin: take(1u << 2, &req.origin, v); break;
      case http::field::user_agent: take(1u << 3, &req.user_agent, v); break;
      case http::field::authorization: take(1u << 4, &req.authorization, v); break;
      case http::field::referer: take(1u << 5, &req.referer, v); break;
      case http::field::accept_encoding: take(1u << 6, &req.accept_encoding, v); break;
      case http::field::if_none_match: take(1u << 7, &req.if_none_match, v); break;
      case http::field::unknown:
        if (beast::iequals(f.name_string(), "X-Forwarded-For")) {
          if (!req.x_forwarded_for.empty()) req.x_forwarded_for += ',';
          req.x_forwarded_for.append(v.data(), v.size());
        }
        break;
      default: break;
    }
  }
  req.body = std::move(msg.body());
  keep_alive_ = msg.keep_alive();
  http11_ = msg.version() >= 11;
  parser_.reset();
  Handle(std::move(req));
}

void Connection::DispatchSimple(const SimpleRequest& m, bool from_buffer) {
  state_ = State::kHandling;
  Request req;
  req.method = m.method == "POST" ? Method::kPost
               : m.method == "GET" ? Method::kGet
               : m.method == "HEAD" ? Method::kHead
                                    : Method::kOptions;
  req.target.assign(m.target);
  req.content_type.assign(m.content_type);
  req.content_encoding.assign(m.content_encoding);
  req.origin.assign(m.origin);
  req.user_agent.assign(m.user_agent);
  req.authorization.assign(m.authorization);
  req.referer.assign(m.referer);
  req.accept_encoding.assign(m.accept_encoding);
  req.if_none_match.assign(m.if_none_match);
  req.x_forwarded_for.assign(m.x_forwarded_for);
  req.body.assign(m.body);
  keep_alive_ = m.keep_alive;
  http11_ = m.http11;
  if (from_buffer) buffer_.consume(m.message_bytes);  // after the copies: m views buffer_
  Handle(std::move(req));
}

void Connection::Handle(Request&& req) {
  req.peer = peer_;
  req.listener = listener_;
  req.received_at_ms = WallNowMs();
  req.start_ns = SteadyNowNs();
  head_request_ = req.method == Method::kHead;

  ctx_->in_flight.fetch_add(1, std::memory_order_relaxed);
  // No timer while the handler works (the store answers or fails by itself).
  ClearDeadline();
  auto self = shared_from_this();
  // Appends are deferred (defer_commit); one CommitNow per batch of ready
  // handlers on this thread tells the writer the batch is complete, so it
  // commits one group for all of them instead of waking per request.
  if (!worker_->commit_posted) {
    worker_->commit_posted = true;
    Worker* w = worker_;
    storage::EventStore* store = ctx_->store;
    asio::post(worker_->ioc, [w, store] {
      w->commit_posted = false;
      store->CommitNow();
    });
  }
  ctx_->service->Handle(std::move(req), &worker_->decoder, [self](Response&& r) mutable {
    // Called once. Move the reference out so the caller's copy of this
    // callback (kept by the writer until its next group) does not keep the
    // Connection alive on a foreign thread.
    std::shared_ptr<Connection> conn = std::move(self);
    Worker* w = conn->worker_;
    // The writer test first: it is a plain thread_local read, while Asio's
    // running_in_this_thread costs the writer a TLS initialization call.
    if (conn->ctx_->store->OnWriterThread()) {
      // Answered when the writer's group is done (EventStore::SetGroupCallbacksDone).
      w->ParkCompleted(std::move(conn), std::move(r));
    } else if (w->ioc.get_executor().running_in_this_thread()) {
      conn->Reply(std::move(r), /*counted=*/true);
    } else {
      asio::post(w->ioc, [conn = std::move(conn), r = std::move(r)]() mutable { conn->Reply(std::move(r), true); });
    }
  });
}

void Connection::Reply(Response&& r, bool counted) {
  if (state_ == State::kClosed) {
    if (counted) ctx_->in_flight.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  state_ = State::kWriting;
  // While draining, ask keep-alive clients to reconnect (to another replica
  // behind an L4 balancer) before the listener closes.
  const bool keep_alive =
      keep_alive_ && !r.close && !close_after_ && !last_request_ && !ctx_->service->draining();
  // The response is formatted by hand into one reused buffer: Beast's
  // serializer and field container cost more than the rest of a small
  // response together (profiled). Header values come from our own code.
  out_.clear();
  out_ += http11_ ? "HTTP/1.1 " : "HTTP/1.0 ";
  out_ += std::to_string(r.status);
  out_ += ' ';
  const auto reason = http::obsolete_reason(static_cast<http::status>(r.status));
  out_.append(reason.data(), reason.size());
  out_ += "\r\nServer: foothold\r\n";
  if (!r.content_type.empty()) {
    out_ += "Content-Type: ";
    out_ += r.content_type;
    out_ += "\r\n";
  }
  for (const auto& [name, value] : r.headers) {
    out_ += name;
    out_ += ": ";
    out_ += value;
    out_ += "\r\n";
  }
  if (!keep_alive) {
    out_ += "Connection: close\r\n";
  } else if (!http11_) {
    out_ += "Connection: keep-alive\r\n";
  }
  if (r.status != 204 && r.status != 304 && r.status >= 200) {  // RFC 9110 §8.6: never on 1xx, 204, 304
    out_ += "Content-Length: ";
    out_ += std::to_string(r.body.size());
    out_ += "\r\n";
  }
  out_ += "\r\n";
  if (!head_request_) out_ += r.body;
  // The socket is non-blocking (see the constructor): an answer that fits the
  // socket buffer, as nearly all do, goes out now, with no asynchronous write
  // and no completion handler posted for it.
  beast::error_code ec;
  const size_t sent = socket_.write_some(asio::buffer(out_), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec = {};
  } else if (ec || sent == out_.size()) {
    return OnWrite(keep_alive, counted, ec, /*in_reply=*/true);
  }
  SetDeadline(ctx_->config->http.body_timeout_ms);
  asio::async_write(socket_, asio::buffer(out_.data() + sent, out_.size() - sent),
                    [self = shared_from_this(), keep_alive, counted](beast::error_code wec, size_t) {
                      self->OnWrite(keep_alive, counted, wec, /*in_reply=*/false);
                    });
}

void Connection::OnWrite(bool keep_alive, bool counted, beast::error_code ec, bool in_reply) {
  if (counted) ctx_->in_flight.fetch_sub(1, std::memory_order_relaxed);
  if (ec) return CloseNow();
  if (!keep_alive) return LingerClose();
  if (in_reply && buffer_.size() > 0) {
    // A pipelined request is waiting: serve it from a fresh handler, so that a
    // long pipeline of synchronous answers does not recurse through Reply.
    state_ = State::kIdle;
    asio::post(worker_->ioc, [self = shared_from_this()] {
      if (self->state_ != State::kClosed) self->WaitForRequest();
    });
    return;
  }
  WaitForRequest();
}

void Connection::LingerClose() {
  if (state_ == State::kClosed) return;
  state_ = State::kIdle;  // nothing owed: a shutdown may close it at once
  close_after_ = true;
  beast::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  SetDeadline(1000);  // one deadline for the whole linger
  buffer_.clear();
  DiscardInput();
}

void Connection::DiscardInput() {
  static constexpr size_t kMaxDiscard = 1 << 20;
  socket_.async_read_some(buffer_.prepare(16384), [self = shared_from_this()](beast::error_code ec, size_t n) {
    self->lingered_bytes_ += n;
    // EOF (the client read our answer and closed), timeout, or enough discarded.
    if (ec || self->lingered_bytes_ >= kMaxDiscard || self->state_ == State::kClosed) return self->CloseNow();
    self->DiscardInput();
  });
}

}  // namespace foothold::server
