#include "server/http_server.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "server/http/connection.h"
#include "server/api/metrics.h"
#include "server/api/service.h"
#include "storage/event_store.h"

namespace foothold::server {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Splits "host:port" / "[v6]:port"; resolves the host. Errors name the config key.
Status ResolveListen(const std::string& key, const std::string& value, tcp::endpoint* out) {
  std::string host, port;
  if (!value.empty() && value.front() == '[') {
    size_t close = value.find(']');
    if (close == std::string::npos || close + 1 >= value.size() || value[close + 1] != ':') {
      return Status::InvalidArgument(key + ": expected [IPv6]:PORT, got '" + value + "'");
    }
    host = value.substr(1, close - 1);
    port = value.substr(close + 2);
  } else {
    size_t colon = value.rfind(':');
    if (colon == std::string::npos) return Status::InvalidArgument(key + ": expected HOST:PORT, got '" + value + "'");
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
  }
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  boost::system::error_code ec;
  auto results = resolver.resolve(host.empty() ? "0.0.0.0" : host, port,
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return Status::InvalidArgument(key + ": cannot resolve '" + value + "': " + ec.message());
  }
  *out = results.begin()->endpoint();
  return Status::Ok();
}

// The connections registered on `w` that are still alive.
// REQUIRES: on w's thread (so none is destroyed meanwhile by this thread).
std::vector<std::shared_ptr<Connection>> LiveConnections(Worker* w) {
  std::vector<std::shared_ptr<Connection>> live;
  std::lock_guard<std::mutex> lock(w->mu);
  for (Connection* c : w->connections) {
    if (auto sp = c->weak_from_this().lock()) live.push_back(std::move(sp));
  }
  return live;
}

}  // namespace

struct HttpServer::Impl {
  Impl(const config::Config& c, storage::EventStore* s) : config(c), store(s), service(c, s, &metrics) {
    ctx.config = &config;
    ctx.service = &service;
    ctx.metrics = &metrics;
    ctx.store = s;
  }

  struct Acceptor {
    tcp::acceptor acceptor;
    Listener listener;
    asio::steady_timer retry;  // re-arms accept after an error (EMFILE) without spinning
  };

  void Accept(Acceptor* a);
  void WaitForSignal();
  void OnSignal();
  bool Hurried();
  void Drain();

  // Declaration order is destruction order reversed, and it matters:
  // connections (owned by the workers' io_contexts) use metrics and ctx; the
  // service's reader pool posts to the workers; acceptors and signals live on
  // workers[0].
  const config::Config& config;
  storage::EventStore* store;
  Metrics metrics;
  ConnectionContext ctx;
  std::vector<std::unique_ptr<Worker>> workers;
  Service service;
  std::vector<std::unique_ptr<Acceptor>> acceptors;  // on workers[0]
  std::unique_ptr<asio::signal_set> signals;
  size_t next_worker = 0;
  uint16_t port = 0, admin_port = 0;

  std::mutex mu;
  std::condition_variable cv;
  bool shutdown_requested = false;  // guarded by mu
  bool hurry = false;               // guarded by mu: a second signal
};

HttpServer::HttpServer(const config::Config& config, storage::EventStore* store)
    : impl_(std::make_unique<Impl>(config, store)) {}

HttpServer::~HttpServer() {
  // The store may outlive us: its writer must no longer hand completions to our workers.
  if (impl_->store != nullptr) impl_->store->SetGroupCallbacksDone(nullptr);
  // Wait() normally stopped everything; make sure no thread outlives us.
  for (auto& w : impl_->workers) {
    w->ioc.stop();
    if (w->thread.joinable()) w->thread.join();
    w->guard.reset();  // before its io_context goes
  }
}

uint16_t HttpServer::port() const { return impl_->port; }
uint16_t HttpServer::admin_port() const { return impl_->admin_port; }

Status HttpServer::Start() {
  Impl& s = *impl_;
  size_t threads = s.config.threads > 0 ? static_cast<size_t>(s.config.threads) : std::thread::hardware_concurrency();
  if (threads == 0) threads = 1;
  const proto::Limits limits{.max_events = s.config.limits.max_events,
                             .max_event_bytes = s.config.limits.max_event_bytes,
                             .max_decoded_bytes = s.config.limits.max_decompressed_bytes};
  for (size_t i = 0; i < threads; ++i) s.workers.push_back(std::make_unique<Worker>(limits));
  // Responses the writer completes are parked on their connection's worker
  // and handed over once a group (Worker::FlushCompleted).
  if (s.store != nullptr) {
    s.store->SetGroupCallbacksDone([&s] {
      for (auto& w : s.workers) w->FlushCompleted();
    });
  }

  auto listen = [&](const char* key, const std::string& value, Listener kind, uint16_t* port_out) -> Status {
    tcp::endpoint ep;
    Status st = ResolveListen(key, value, &ep);
    if (!st.ok()) return st;
    auto a = std::make_unique<Impl::Acceptor>(
        Impl::Acceptor{tcp::acceptor(s.workers[0]->ioc), kind, asio::steady_timer(s.workers[0]->ioc)});
    boost::system::error_code ec;
    a->acceptor.open(ep.protocol(), ec);
    if (!ec) a->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) a->acceptor.bind(ep, ec);
    if (!ec) a->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Status::IoError(std::string(key) + ": cannot listen on " + value + ": " + ec.message());
    *port_out = a->acceptor.local_endpoint().port();
    spdlog::info("foothold listening on {}:{} ({})", ep.address().to_string(), *port_out,
                 kind == Listener::kAdmin ? "admin" : s.config.admin_listen.empty() ? "public+admin" : "public");
    s.acceptors.push_back(std::move(a));
    return Status::Ok();
  };
  Status st = listen("listen", s.config.listen, Listener::kPublic, &s.port);
  if (!st.ok()) return st;
  if (!s.config.admin_listen.empty()) {
    st = listen("admin_listen", s.config.admin_listen, Listener::kAdmin, &s.admin_port);
    if (!st.ok()) return st;
  }

  s.signals = std::make_unique<asio::signal_set>(s.workers[0]->ioc, SIGTERM, SIGINT);
  s.WaitForSignal();

  for (auto& a : s.acceptors) s.Accept(a.get());
  for (auto& w : s.workers) {
    w->guard.emplace(w->ioc.get_executor());
    Worker* raw = w.get();
    w->thread = std::thread([raw] { raw->ioc.run(); });
  }
  return Status::Ok();
}

void HttpServer::Impl::Accept(Acceptor* a) {
  Worker* w = workers[next_worker].get();
  next_worker = (next_worker + 1) % workers.size();
  a->acceptor.async_accept(w->ioc.get_executor(), [this, a, w](boost::system::error_code ec, Socket socket) {
    if (ec == asio::error::operation_aborted || !a->acceptor.is_open()) return;
    if (!ec) {
      if (metrics.connections_active() >= static_cast<int64_t>(config.http.max_connections)) {
        metrics.ConnectionRefused();
        boost::system::error_code ignored;
        socket.close(ignored);
      } else {
        auto conn = std::make_shared<Connection>(std::move(socket), w, &ctx, a->listener);
        asio::post(w->ioc, [conn] { conn->Start(); });
      }
    } else {
      // EMFILE and friends: the connection stays in the backlog, so accepting
      // again at once would spin. Back off briefly, then try again.
      spdlog::warn("accept failed: {}; retrying in 100ms", ec.message());
      a->retry.expires_after(std::chrono::milliseconds(100));
      a->retry.async_wait([this, a](boost::system::error_code wec) {
        if (!wec && a->acceptor.is_open()) Accept(a);
      });
      return;
    }
    Accept(a);
  });
}

// The first signal starts the drain; a second one cuts the waits short (the
// operator means it), still committing what was accepted before exit.
void HttpServer::Impl::WaitForSignal() {
  signals->async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    bool again;
    {
      std::lock_guard<std::mutex> lock(mu);
      again = shutdown_requested;
    }
    if (again) {
      spdlog::info("received signal {} again: skipping the remaining drain waits", sig);
    } else {
      spdlog::info("received signal {}: draining", sig);
    }
    OnSignal();
    WaitForSignal();
  });
}

void HttpServer::Impl::OnSignal() {
  std::lock_guard<std::mutex> lock(mu);
  if (shutdown_requested) hurry = true;
  shutdown_requested = true;
  cv.notify_all();
}

bool HttpServer::Impl::Hurried() {
  std::lock_guard<std::mutex> lock(mu);
  return hurry;
}

void HttpServer::RequestShutdown() { impl_->OnSignal(); }

void HttpServer::Wait() {
  Impl& s = *impl_;
  {
    std::unique_lock<std::mutex> lock(s.mu);
    s.cv.wait(lock, [&s] { return s.shutdown_requested; });
  }
  s.Drain();
}

// server/README.md "Shutdown": readiness off at once; keep serving for drain_delay so the
// load balancer notices; then stop accepting, close idle connections, finish
// in-flight requests (bounded by shutdown.deadline), stop the threads.
void HttpServer::Impl::Drain() {
  service.BeginDrain();
  spdlog::info("readiness off; serving for shutdown.drain_delay={}ms", config.shutdown.drain_delay_ms);
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::milliseconds(config.shutdown.drain_delay_ms), [this] { return hurry; });
  }

  service.BeginClose();
  asio::post(workers[0]->ioc, [this] {
    for (auto& a : acceptors) {
      boost::system::error_code ignored;
      a->acceptor.close(ignored);
      a->retry.cancel();
    }
    if (signals) signals->cancel();
  });
  for (auto& w : workers) {
    Worker* raw = w.get();
    asio::post(raw->ioc, [raw] {
      raw->phase = Worker::Phase::kDraining;
      for (auto& c : LiveConnections(raw)) c->CloseGracefully();
    });
  }

  // Wait for every connection, not only dispatched requests: one still
  // receiving a beacon's body finishes it, gets its answer, then closes.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(config.shutdown.deadline_ms);
  while ((ctx.in_flight.load() > 0 || metrics.connections_active() > 0) &&
         std::chrono::steady_clock::now() < deadline && !Hurried()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const int64_t left = ctx.in_flight.load();
  if (left > 0 || metrics.connections_active() > 0) {
    spdlog::warn("shutdown deadline passed with {} requests in flight, {} connections open", left,
                 metrics.connections_active());
  }

  for (auto& w : workers) {
    Worker* raw = w.get();
    asio::post(raw->ioc, [raw] {
      raw->phase = Worker::Phase::kClosed;
      for (auto& c : LiveConnections(raw)) c->CloseNow();
    });
    w->guard.reset();
  }
  for (auto& w : workers) {
    if (w->thread.joinable()) w->thread.join();
  }
  spdlog::info("HTTP server stopped");
}

}  // namespace foothold::server
