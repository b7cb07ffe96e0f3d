#include "tests/integration/clickhouse.h"

#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

namespace foothold::testing {
namespace {

// Debian installs it in /usr/sbin; ClickHouse's own packages in /usr/bin.
const char* const kServerCandidates[] = {"/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"};
constexpr char kPackagedConfig[] = "/etc/clickhouse-server/config.xml";
constexpr char kPackagedUsers[] = "/etc/clickhouse-server/users.xml";

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

// Replaces the text of every <tag>...</tag> with `value`.
std::string SetTag(const std::string& xml, const std::string& tag, const std::string& value) {
  return std::regex_replace(xml, std::regex("<" + tag + ">[^<]*</" + tag + ">"),
                            "<" + tag + ">" + value + "</" + tag + ">");
}

std::string DropTag(const std::string& xml, const std::string& tag) {
  return std::regex_replace(xml, std::regex("<" + tag + ">[^<]*</" + tag + ">"), "");
}

std::string ServerBinary() {
  for (const char* path : kServerCandidates) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

}  // namespace

bool ClickHouseInstalled() {
  return ToolAvailable(!ServerBinary().empty() && ::access(kPackagedConfig, R_OK) == 0, "clickhouse-server");
}

uint16_t FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

ClickHouseServer::ClickHouseServer(const std::string& dir) : dir_(dir + "/clickhouse") {
  std::filesystem::create_directories(dir_ + "/data");
  std::filesystem::create_directories(dir_ + "/log");
  std::string xml = ReadFile(kPackagedConfig);
  xml = std::regex_replace(xml, std::regex("/var/lib/clickhouse/"), dir_ + "/data/");
  xml = std::regex_replace(xml, std::regex("/var/log/clickhouse-server/"), dir_ + "/log/");
  http_port_ = FreeLoopbackPort();
  xml = SetTag(xml, "http_port", std::to_string(http_port_));
  xml = SetTag(xml, "tcp_port", std::to_string(FreeLoopbackPort()));
  xml = SetTag(xml, "interserver_http_port", std::to_string(FreeLoopbackPort()));
  // Newer packages listen on more protocols; the test needs HTTP only.
  for (const char* tag : {"https_port", "tcp_port_secure", "mysql_port", "postgresql_port", "grpc_port"}) {
    xml = DropTag(xml, tag);
  }
  // Loopback IPv4 only: the packaged ::1 fails where IPv6 is off.
  xml = std::regex_replace(xml, std::regex("<listen_host>[^<]*</listen_host>"), "");
  xml = std::regex_replace(xml, std::regex("</http_port>"), "</http_port>\n    <listen_host>127.0.0.1</listen_host>");
  xml = SetTag(xml, "level", "warning");
  config_path_ = dir_ + "/config.xml";
  WriteFile(config_path_, xml);
  WriteFile(dir_ + "/users.xml", ReadFile(kPackagedUsers));
  Start();
}

ClickHouseServer::~ClickHouseServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

bool ClickHouseServer::Start() {
  started_ = false;
  pid_ = Spawn({ServerBinary(), "--config-file=" + config_path_}, {}, dir_ + "/stdout.log");
  if (pid_ <= 0) return false;
  // ClickHouse takes several seconds to start on a busy machine: poll /ping (deadline 90 s).
  WaitUntil(
      [&] {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;  // exited: give up
          return true;
        }
        HttpClient client(http_port_);
        const HttpResult r = client.Get("/ping");
        started_ = r.status == 200 && r.body.starts_with("Ok.");
        return started_;
      },
      std::chrono::seconds(90), std::chrono::milliseconds(100));
  return started_;
}

void ClickHouseServer::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  if (!WaitUntil([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, std::chrono::seconds(30),
                 std::chrono::milliseconds(20))) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  started_ = false;
}

bool ClickHouseServer::Query(const std::string& sql, std::string* out) const {
  HttpClient client(http_port_);
  const HttpResult r = client.Post("/", sql, "text/plain");
  *out = r.status == 0 ? "no answer from ClickHouse" : r.body;
  return r.status == 200;
}

long long ClickHouseServer::QueryNumber(const std::string& sql) const {
  std::string out;
  if (!Query(sql, &out)) return -1;
  try {
    return std::stoll(out);
  } catch (...) {
    return -1;
  }
}

bool ClickHouseServer::ApplySchema(std::string* error) const {
  std::string sql;
  {
    std::ifstream in(std::string(FOOTHOLD_SOURCE_DIR) + "/deploy/clickhouse/events.sql");
    std::string line;
    while (std::getline(in, line)) {
      const size_t comment = line.find("--");
      sql += line.substr(0, comment) + "\n";
    }
  }
  size_t start = 0;
  while (start < sql.size()) {
    size_t end = sql.find(';', start);
    if (end == std::string::npos) end = sql.size();
    const std::string statement = sql.substr(start, end - start);
    start = end + 1;
    if (statement.find_first_not_of(" \n\t") == std::string::npos) continue;
    if (!Query(statement, error)) return false;
  }
  return true;
}

std::string ClickHouseServer::Log() const {
  return ReadFile(dir_ + "/stdout.log") + ReadFile(dir_ + "/log/clickhouse-server.err.log");
}

}  // namespace foothold::testing
