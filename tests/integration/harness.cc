#include "tests/integration/harness.h"

#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace foothold::testing {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

struct HttpClient::Impl {
  explicit Impl(uint16_t p) : port(p), stream(ioc) {}
  bool Connect() {
    beast::error_code ec;
    stream.socket().close(ec);
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    connected = !ec;
    return connected;
  }
  uint16_t port;
  asio::io_context ioc;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  bool connected = false;
};

HttpClient::HttpClient(uint16_t port) : impl_(std::make_unique<Impl>(port)) {}
HttpClient::~HttpClient() = default;

HttpResult HttpClient::Request(const std::string& method, const std::string& target, const std::string& body,
                               const Headers& headers) {
  HttpResult result;
  for (int attempt = 0; attempt < 2; ++attempt) {
    // Only a kept-alive connection the server may have closed meanwhile is
    // retried, and only when the server sent nothing back; a fresh
    // connection's failure is the result.
    const bool reused = impl_->connected;
    if (!impl_->connected && !impl_->Connect()) return result;
    http::request<http::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(http::field::host, "127.0.0.1");
    for (const auto& [k, v] : headers) req.insert(k, v);
    req.body() = body;
    if (!body.empty() || method == "POST") req.prepare_payload();
    req.keep_alive(true);
    beast::error_code ec;
    impl_->stream.expires_after(std::chrono::seconds(30));
    http::write(impl_->stream, req, ec);
    if (ec) {
      impl_->connected = false;
      if (reused) continue;
      return result;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    if (method == "HEAD") parser.skip(true);
    impl_->buffer.clear();
    http::read(impl_->stream, impl_->buffer, parser, ec);
    if (ec) {
      impl_->connected = false;
      if (ec == http::error::end_of_stream && reused && attempt == 0) continue;
      return result;
    }
    auto& res = parser.get();
    result.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      result.headers[name] = std::string(f.value());
    }
    result.body = res.body();
    if (!res.keep_alive()) impl_->connected = false;
    return result;
  }
  return result;
}

std::string RawExchange(uint16_t port, const std::string& bytes, int timeout_ms) {
  RawConn c(port);
  if (!c.connected()) return "";
  c.Send(bytes);
  return c.ReadAll(timeout_ms);
}

RawConn::RawConn(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
}

RawConn::~RawConn() { ::close(fd_); }

bool RawConn::Send(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

const std::string& RawConn::ReadUntil(const std::string& marker, size_t count, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Count(marker) < count && !closed_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[8192];
    ssize_t n = ::read(fd_, buf, sizeof(buf));
    if (n <= 0) {
      closed_ = true;
      break;
    }
    received_.append(buf, static_cast<size_t>(n));
  }
  return received_;
}

const std::string& RawConn::ReadAll(int timeout_ms) { return ReadUntil("\x01never\x01", 1, timeout_ms); }

bool RawConn::WaitClosed(int timeout_ms) {
  ReadAll(timeout_ms);
  return closed_;
}

size_t RawConn::Count(const std::string& marker) const {
  size_t n = 0;
  for (size_t at = received_.find(marker); at != std::string::npos; at = received_.find(marker, at + 1)) ++n;
  return n;
}

std::vector<std::string> RawBurst(uint16_t port, const std::vector<std::string>& requests, int timeout_ms) {
  std::vector<std::unique_ptr<RawConn>> conns;
  for (size_t i = 0; i < requests.size(); ++i) conns.push_back(std::make_unique<RawConn>(port));
  for (size_t i = 0; i < requests.size(); ++i) conns[i]->Send(requests[i]);
  std::vector<std::string> out(requests.size());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    out[i] = conns[i]->ReadAll(static_cast<int>(left.count()));
  }
  return out;
}

namespace {

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

pid_t Spawn(std::vector<std::string> argv, std::vector<std::string> env, const std::string& log_path) {
  env.push_back("PATH=/usr/sbin:/usr/bin:/sbin:/bin");
  // The sanitized build's options (scripts/test.sh) reach the child too, unless the test sets its own.
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
    const char* value = std::getenv(name);
    const std::string prefix = std::string(name) + "=";
    bool set = false;
    for (const auto& e : env) set |= e.rfind(prefix, 0) == 0;
    if (value != nullptr && !set) env.push_back(prefix + value);
  }
  auto cargv = CStrings(argv);
  auto cenv = CStrings(env);
  pid_t pid = fork();
  if (pid == 0) {
    // Die with the test binary, so a crashed test leaves no server behind.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  return pid;
}

namespace {

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

ServerProcess::ServerProcess(const std::string& data_dir, std::vector<std::string> args, std::vector<std::string> env) {
  // A fresh log file per process: a restart on the same data dir must not
  // read the previous process's "listening on" line.
  static std::atomic<int> counter{0};
  log_path_ = data_dir + "." + std::to_string(getpid()) + "." + std::to_string(counter.fetch_add(1)) + ".log";
  std::vector<std::string> argv = {FOOTHOLD_BINARY, "--listen", "127.0.0.1:0", "--data-dir", data_dir};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_ = Spawn(argv, env, log_path_);
  const std::regex re(R"(listening on [^ ]+:(\d+) \((\w[\w+]*)\))");
  bool want_admin = false;
  for (const auto& a : args) want_admin |= a == "--admin-listen";
  for (const auto& e : env) want_admin |= e.rfind("FOOTHOLD_ADMIN_LISTEN=", 0) == 0;
  const bool listening = WaitUntil(
      [&] {
        std::string log = ReadFile(log_path_);
        for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator(); ++it) {
          uint16_t p = static_cast<uint16_t>(std::stoi((*it)[1]));
          if ((*it)[2] == "admin") {
            admin_port_ = p;
          } else {
            port_ = p;
          }
        }
        if (port_ != 0 && (!want_admin || admin_port_ != 0)) return true;
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;  // exited before listening; started() is false, Log() says why
          return true;
        }
        return false;
      },
      std::chrono::seconds(30));
  if (!listening || pid_ <= 0) port_ = 0;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status;
    waitpid(pid_, &status, 0);
  }
  // In the ASan+UBSan build a finding stops the server with its report in the log: fail the test
  // with the report, whatever else the test looked at (the log is removed below).
  const std::string log = ReadFile(log_path_);
  for (const char* marker : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"}) {
    const size_t at = log.find(marker);
    if (at != std::string::npos) {
      FAIL_CHECK("sanitizer report in the foothold log " << log_path_ << ":\n" << log.substr(at > 200 ? at - 200 : 0, 6000));
      break;
    }
  }
  std::error_code ec;
  std::filesystem::remove(log_path_, ec);
}

void ServerProcess::Signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

int ServerProcess::WaitExit(int timeout_ms) {
  if (pid_ <= 0) return -1;
  int status = 0;
  const bool exited = WaitUntil([&] { return waitpid(pid_, &status, WNOHANG) == pid_; },
                                std::chrono::milliseconds(timeout_ms), std::chrono::milliseconds(5));
  if (!exited) return -1;
  pid_ = -1;
  return DecodeStatus(status);
}

void ServerProcess::Kill9() {
  Signal(SIGKILL);
  WaitExit(10000);
}

std::string ServerProcess::Log() const { return ReadFile(log_path_); }

int RunBinary(const std::vector<std::string>& args, std::string* output, std::vector<std::string> env) {
  TempDir dir;
  std::string log = dir.path() + "/out.log";
  std::vector<std::string> argv = {FOOTHOLD_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = Spawn(argv, env, log);
  int status = 0;
  waitpid(pid, &status, 0);
  if (output) *output = ReadFile(log);
  return DecodeStatus(status);
}

std::string Gzip(const std::string& data) {
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, data.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace foothold::testing
