#include "storage/export/clickhouse_http.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <charconv>
#include <cstring>

namespace foothold::storage {
namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void PercentEncode(std::string_view in, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out->push_back(static_cast<char>(c));
    } else {
      out->push_back('%');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xF]);
    }
  }
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

HttpAnswer Fail(HttpFailure kind, std::string error) {
  HttpAnswer a;
  a.failure = kind;
  a.error = std::move(error);
  return a;
}

// Waits until `fd` is ready for `events` or the deadline passes.
bool WaitFd(int fd, short events, int64_t deadline_ms) {
  for (;;) {
    const int64_t left = deadline_ms - SteadyMs();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return true;  // let the following call report the error
  }
}

// Connects to the first address that answers. Non-blocking socket on success.
HttpAnswer Connect(const ClickHouseEndpoint& ep, int64_t deadline_ms, Fd* out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(ep.port);
  const int g = ::getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res);
  if (g != 0) return Fail(HttpFailure::kConnect, "resolve " + ep.host + ": " + ::gai_strerror(g));
  std::string last = "no address";
  HttpFailure kind = HttpFailure::kConnect;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    Fd fd;
    fd.fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd.fd < 0) {
      last = std::strerror(errno);
      continue;
    }
    int r = ::connect(fd.fd, ai->ai_addr, ai->ai_addrlen);
    if (r != 0 && errno == EINPROGRESS) {
      if (!WaitFd(fd.fd, POLLOUT, deadline_ms)) {
        last = "connect timed out";
        kind = HttpFailure::kTimeout;
        break;
      }
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      r = err == 0 ? 0 : -1;
      errno = err;
    }
    if (r == 0) {
      ::freeaddrinfo(res);
      out->fd = fd.fd;
      fd.fd = -1;
      return HttpAnswer{};
    }
    last = std::strerror(errno);
  }
  ::freeaddrinfo(res);
  return Fail(kind, "connect " + ep.host + ":" + port + ": " + last);
}

// Decodes a chunked body in place; false when malformed or truncated.
bool Dechunk(std::string_view in, std::string* out) {
  out->clear();
  for (;;) {
    const size_t eol = in.find("\r\n");
    if (eol == std::string_view::npos) return false;
    uint64_t size = 0;
    const auto r = std::from_chars(in.data(), in.data() + eol, size, 16);
    if (r.ec != std::errc() || r.ptr == in.data()) return false;
    in.remove_prefix(eol + 2);
    if (size == 0) return true;
    if (in.size() < size + 2) return false;
    out->append(in.substr(0, size));
    in.remove_prefix(size + 2);
  }
}

bool HeaderIs(std::string_view headers, std::string_view name, std::string_view* value) {
  size_t pos = 0;
  while (pos < headers.size()) {
    size_t eol = headers.find("\r\n", pos);
    if (eol == std::string_view::npos) eol = headers.size();
    std::string_view line = headers.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.size() <= name.size() || line[name.size()] != ':') continue;
    bool same = true;
    for (size_t i = 0; i < name.size(); ++i) {
      same &= std::tolower(static_cast<unsigned char>(line[i])) == name[i];
    }
    if (!same) continue;
    std::string_view v = line.substr(name.size() + 1);
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\r')) v.remove_suffix(1);
    *value = v;
    return true;
  }
  return false;
}

}  // namespace

const char* HttpFailureName(HttpFailure f) {
  switch (f) {
    case HttpFailure::kNone: return "none";
    case HttpFailure::kConnect: return "connect";
    case HttpFailure::kTimeout: return "timeout";
    case HttpFailure::kIo: return "io";
    case HttpFailure::kProtocol: return "protocol";
    case HttpFailure::kHttp4xx: return "http_4xx";
    case HttpFailure::kHttp5xx: return "http_5xx";
    case HttpFailure::kCount: break;
  }
  return "unknown";
}

Status ParseClickHouseUrl(std::string_view url, ClickHouseEndpoint* out) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) return Status::InvalidArgument("ClickHouse url must start with http://");
  std::string_view rest = url.substr(kScheme.size());
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.empty() || rest.find('/') != std::string_view::npos) {
    return Status::InvalidArgument("ClickHouse url must be http://HOST[:PORT] without a path");
  }
  std::string_view host = rest;
  std::string_view port;
  if (rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return Status::InvalidArgument("ClickHouse url: unclosed [");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Status::InvalidArgument("ClickHouse url: junk after ]");
      port = after.substr(1);
    }
  } else if (const size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return Status::InvalidArgument("ClickHouse url: empty host");
  out->host = std::string(host);
  out->port = 8123;
  if (!port.empty()) {
    unsigned p = 0;
    const auto r = std::from_chars(port.data(), port.data() + port.size(), p);
    if (r.ec != std::errc() || r.ptr != port.data() + port.size() || p == 0 || p > 65535) {
      return Status::InvalidArgument("ClickHouse url: port must be 1..65535");
    }
    out->port = static_cast<uint16_t>(p);
  }
  return Status::Ok();
}

HttpAnswer ClickHouseHttp::Post(std::string_view query, std::string_view body,
                                std::string_view extra_params) const {
  const int64_t deadline = SteadyMs() + endpoint_.timeout_ms;
  Fd fd;
  HttpAnswer a = Connect(endpoint_, deadline, &fd);
  if (a.failure != HttpFailure::kNone) return a;

  std::string req = "POST /?query=";
  PercentEncode(query, &req);
  req.append(extra_params);
  req += " HTTP/1.1\r\nHost: ";
  req += endpoint_.host;
  req += "\r\nConnection: close\r\nContent-Type: text/plain; charset=UTF-8\r\nX-ClickHouse-User: ";
  req += endpoint_.user;
  if (!endpoint_.password.empty()) {
    req += "\r\nX-ClickHouse-Key: ";
    req += endpoint_.password;
  }
  req += "\r\nContent-Length: ";
  req += std::to_string(body.size());
  req += "\r\n\r\n";

  // Send the head, then the body, without copying the body into the head.
  for (std::string_view part : {std::string_view(req), body}) {
    while (!part.empty()) {
      const ssize_t n = ::send(fd.fd, part.data(), part.size(), MSG_NOSIGNAL);
      if (n > 0) {
        part.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        if (!WaitFd(fd.fd, POLLOUT, deadline)) return Fail(HttpFailure::kTimeout, "sending to ClickHouse timed out");
        continue;
      }
      return Fail(HttpFailure::kIo, std::string("sending to ClickHouse: ") + std::strerror(errno));
    }
  }

  std::string in;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::recv(fd.fd, buf, sizeof buf, 0);
    if (n > 0) {
      in.append(buf, static_cast<size_t>(n));
      if (in.size() > (64u << 20)) return Fail(HttpFailure::kProtocol, "ClickHouse answer over 64 MiB");
      continue;
    }
    if (n == 0) break;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      if (!WaitFd(fd.fd, POLLIN, deadline)) return Fail(HttpFailure::kTimeout, "waiting for ClickHouse timed out");
      continue;
    }
    return Fail(HttpFailure::kIo, std::string("reading from ClickHouse: ") + std::strerror(errno));
  }

  const size_t head_end = in.find("\r\n\r\n");
  if (!in.starts_with("HTTP/1.") || in.size() < 12 || head_end == std::string::npos) {
    return Fail(in.empty() ? HttpFailure::kIo : HttpFailure::kProtocol,
                in.empty() ? "ClickHouse closed the connection without answering"
                           : "ClickHouse answered something that is not HTTP/1.x");
  }
  int status = 0;
  std::from_chars(in.data() + 9, in.data() + 12, status);
  const std::string_view headers(in.data(), head_end);
  std::string_view payload(in.data() + head_end + 4, in.size() - head_end - 4);
  a.status = status;
  std::string_view te, cl;
  if (HeaderIs(headers, "transfer-encoding", &te) && te.find("chunked") != std::string_view::npos) {
    if (!Dechunk(payload, &a.body)) return Fail(HttpFailure::kIo, "ClickHouse answer truncated (chunked)");
  } else if (HeaderIs(headers, "content-length", &cl)) {
    size_t len = 0;
    std::from_chars(cl.data(), cl.data() + cl.size(), len);
    if (payload.size() < len) return Fail(HttpFailure::kIo, "ClickHouse answer truncated");
    a.body.assign(payload.substr(0, len));
  } else {
    a.body.assign(payload);
  }
  if (status == 200) return a;
  a.failure = status >= 500 ? HttpFailure::kHttp5xx : status >= 400 ? HttpFailure::kHttp4xx : HttpFailure::kProtocol;
  std::string text = a.body.substr(0, 400);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  a.error = "ClickHouse answered " + std::to_string(status) + ": " + text;
  return a;
}

}  // namespace foothold::storage
