// Integration tests of the hostile world (README "Reliability under faults"):
// a data disk that fills up (a real tmpfs of a fixed size), with and without
// the free-space watermark; after space comes back writes resume without a
// restart, and a kill -9 plus restart shows that nothing acknowledged was lost.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness.h"
#include "tests/integration/util.h"

using namespace foothold::testing;

namespace {

constexpr uint64_t kMiB = 1 << 20;

// A tmpfs of `mib` MiB mounted on a fresh directory (we run as root, here and
// in CI), unmounted on destruction. mounted() is false where mounting is not
// permitted: the test then fails under CI and warns elsewhere.
class SmallFs {
 public:
  explicit SmallFs(int mib) {
    path_ = dir_.path() + "/mnt";
    std::filesystem::create_directory(path_);
    const std::string opts = "size=" + std::to_string(mib) + "m";
    if (::mount("tmpfs", path_.c_str(), "tmpfs", 0, opts.c_str()) == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~SmallFs() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }
  // The parent of the mount: the server's log goes there (next to the data
  // dir's symlink), so it is still written while the small disk is full.
  const std::string& outside() const { return dir_.path(); }

  uint64_t FreeBytes() const {
    struct statvfs st {};
    if (::statvfs(path_.c_str(), &st) != 0) return 0;
    return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  }
  // Takes space with a filler file so that about `leave` bytes stay free.
  void FillLeaving(uint64_t leave) {
    const uint64_t free = FreeBytes();
    REQUIRE(free > leave);
    int fd = ::open((path_ + "/filler").c_str(), O_CREAT | O_WRONLY, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::posix_fallocate(fd, 0, static_cast<off_t>(free - leave)) == 0);
    ::close(fd);
  }
  void FreeFiller() { std::filesystem::remove(path_ + "/filler"); }

 private:
  TempDir dir_;
  std::string path_;
  std::string error_;
  bool mounted_ = false;
};

bool RequireMount(const SmallFs& fs) {
  if (fs.mounted()) return true;
  if (std::getenv("CI") != nullptr) FAIL("cannot mount a tmpfs for the disk-full tests: " << fs.error());
  WARN("skipped: cannot mount a tmpfs here (" << fs.error() << "); CI runs it as root");
  return false;
}

// ~3 KiB a event, 100 events a request, in session `sid`.
std::string Batch(const std::string& sid, int request) {
  const std::string url = "https://shop.test/" + std::string(1900, 'u');
  const std::string pad(500, 'x');
  std::string body = "[";
  for (int i = 0; i < 100; ++i) {
    if (i) body += ',';
    body += "{\"event\":\"page_view\",\"session_id\":\"" + sid + "\",\"event_id\":\"r" + std::to_string(request) +
            "-" + std::to_string(i) + "\",\"url\":\"" + url + "\",\"props\":{\"a\":\"" + pad + "\",\"b\":\"" + pad + "\"}}";
  }
  return body + "]";
}

const Headers kBrowser = {{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36"}};

// Reads a whole session, following next_cursor when the readback pages.
int64_t CountSession(HttpClient& client, const std::string& sid) {
  int64_t n = 0;
  std::string cursor;
  for (int page = 0; page < 10000; ++page) {
    std::string target = "/v1/sessions/" + sid + "?limit=1000";
    if (!cursor.empty()) target += "&cursor=" + cursor;
    HttpResult r = client.Get(target);
    if (r.status == 404 && n == 0) return 0;
    REQUIRE(r.status == 200);
    simdjson::dom::parser p;
    simdjson::dom::element doc = ParseJson(p, r.body);
    n += static_cast<int64_t>(doc["events"].get_array().value().size());
    std::string_view next;
    if (doc["next_cursor"].get(next) != simdjson::SUCCESS) break;  // null or absent: the last page
    cursor = std::string(next);
  }
  return n;
}

template <typename Pred>
bool WaitUntil(Pred pred, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

// Posts batches round-robin over 8 sessions until the server refuses one;
// acked[sid] counts the acknowledged events. Returns the refusal.
HttpResult PostUntilRefused(HttpClient& client, int* request, std::map<std::string, int64_t>* acked) {
  for (int guard = 0; guard < 2000; ++guard) {
    const std::string sid = "full-" + std::to_string(*request % 8);
    HttpResult r = client.Post("/v1/collect", Batch(sid, *request), "application/json", kBrowser);
    ++*request;
    if (r.status != 200) return r;
    simdjson::dom::parser p;
    (*acked)[sid] += Int(ParseJson(p, r.body), "accepted");
  }
  FAIL("the disk never filled up");
  return {};
}

void CheckNothingLost(const std::string& data_dir, const std::map<std::string, int64_t>& acked) {
  ServerProcess again(data_dir);
  REQUIRE(again.started());
  HttpClient c(again.port());
  for (const auto& [sid, n] : acked) {
    INFO("session " << sid);
    CHECK(CountSession(c, sid) == n);
  }
}

}  // namespace

TEST_CASE("disk: below storage.min_free_bytes collect answers 503 storage_full and readiness follows, "
          "free space resumes writes, nothing acknowledged is lost",
          "[integration][faults]") {
  SmallFs fs(128);
  if (!RequireMount(fs)) return;
  const std::string data = fs.outside() + "/data";
  std::filesystem::create_directory(fs.path() + "/data");
  std::filesystem::create_directory_symlink(fs.path() + "/data", data);
  std::map<std::string, int64_t> acked;
  int request = 0;
  {
    ServerProcess server(data, {}, {"FOOTHOLD_STORAGE__MIN_FREE_BYTES=32MiB"});
    REQUIRE(server.started());
    HttpClient client(server.port());
    REQUIRE(client.Get("/readyz").status == 200);
    fs.FillLeaving(44 * kMiB);

    HttpResult refused = PostUntilRefused(client, &request, &acked);
    CHECK(refused.status == 503);
    CHECK(refused.body.find("\"storage_full\"") != std::string::npos);
    CHECK(refused.header("retry-after") == "30");
    CHECK(acked.size() > 0);
    HttpResult ready = client.Get("/readyz");
    CHECK(ready.status == 503);
    CHECK(ready.body.find("storage_full") != std::string::npos);
    CHECK(client.Get("/metrics").body.find("foothold_store_low_space 1") != std::string::npos);
    // The watermark kept RocksDB away from ENOSPC: no write ever failed.
    CHECK(client.Get("/metrics").body.find("foothold_writer_failures_total 0") != std::string::npos);
    CHECK(server.Log().find("below storage.min_free_bytes") != std::string::npos);

    fs.FreeFiller();
    CHECK(WaitUntil([&] { return client.Get("/readyz").status == 200; }, 20000));
    for (int i = 0; i < 5; ++i) {
      const std::string sid = "full-after";
      HttpResult r = client.Post("/v1/collect", Batch(sid, request++), "application/json", kBrowser);
      REQUIRE(r.status == 200);
      acked[sid] += 100;
    }
    server.Kill9();
  }
  CheckNothingLost(data, acked);
}

TEST_CASE("disk: an ENOSPC inside RocksDB (no watermark) is a 503, never a crash, and is recovered from "
          "without a restart, nothing acknowledged is lost",
          "[integration][faults]") {
  SmallFs fs(128);
  if (!RequireMount(fs)) return;
  const std::string data = fs.outside() + "/data";
  std::filesystem::create_directory(fs.path() + "/data");
  std::filesystem::create_directory_symlink(fs.path() + "/data", data);
  std::map<std::string, int64_t> acked;
  int request = 0;
  {
    ServerProcess server(data, {}, {"FOOTHOLD_STORAGE__MIN_FREE_BYTES=0"});
    REQUIRE(server.started());
    HttpClient client(server.port());
    fs.FillLeaving(6 * kMiB);

    HttpResult refused = PostUntilRefused(client, &request, &acked);
    CHECK(refused.status == 503);
    CHECK(refused.body.find("\"storage_full\"") != std::string::npos);
    CHECK(!refused.header("retry-after").empty());
    // Still alive and answering; not ready; the cause is in the log.
    CHECK(client.Get("/healthz").status == 200);
    CHECK(client.Get("/readyz").status == 503);
    CHECK(server.Log().find("No space left on device") != std::string::npos);

    fs.FreeFiller();
    // RocksDB's own recovery polls the free space every few seconds; then the
    // writer's Resume succeeds and collect accepts again.
    HttpResult ok;
    CHECK(WaitUntil(
        [&] {
          ok = client.Post("/v1/collect", Batch("full-after", request), "application/json", kBrowser);
          return ok.status == 200;
        },
        60000));
    ++request;
    acked["full-after"] += 100;
    CHECK(client.Get("/readyz").status == 200);
    CHECK(server.Log().find("writes resumed") != std::string::npos);
    CHECK(client.Get("/metrics").body.find("foothold_store_recoveries_total 1") != std::string::npos);
    server.Kill9();
  }
  CheckNothingLost(data, acked);
}

namespace {

// Sets this process's RLIMIT_NOFILE for the child about to be spawned and
// puts the old limit back on destruction (root may raise a hard limit again).
class NofileLimit {
 public:
  NofileLimit(rlim_t soft, rlim_t hard) {
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved_) == 0);
    struct rlimit rl {soft, hard};
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &rl) == 0);
  }
  void Restore() {
    if (!restored_) ::setrlimit(RLIMIT_NOFILE, &saved_);
    restored_ = true;
  }
  ~NofileLimit() { Restore(); }

 private:
  struct rlimit saved_ {};
  bool restored_ = false;
};

int Connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

TEST_CASE("descriptors: a low RLIMIT_NOFILE is raised to the hard limit and connections are capped below it, "
          "so a connection flood leaves RocksDB its descriptors",
          "[integration][faults]") {
  TempDir dir;
  // 200 soft, 400 hard: foothold raises to 400 and keeps 100 (SSTs) + 128
  // for itself: 172 connections (server/http/descriptors.h).
  NofileLimit limit(200, 400);
  ServerProcess server(dir.path() + "/data");
  limit.Restore();
  REQUIRE(server.started());
  CHECK(server.Log().find("descriptors: limit 400 (was 200); http.max_connections 172 (configured 20000") !=
        std::string::npos);

  HttpClient client(server.port());
  REQUIRE(client.Get("/readyz").status == 200);
  // Fill every other connection slot and then some: the extra ones are closed
  // by the server, and the process keeps its reserve.
  std::vector<int> fds;
  for (int i = 0; i < 171 + 60; ++i) {
    int fd = Connect(server.port());
    if (fd >= 0) fds.push_back(fd);
  }
  CHECK(WaitUntil([&] { return client.Get("/metrics").body.find("foothold_connections_active 172") != std::string::npos; },
                  10000));
  // The store keeps writing while the connection table is full: flushes and
  // WAL switches need descriptors of their own.
  int request = 0;
  for (int i = 0; i < 20; ++i) {
    HttpResult r = client.Post("/v1/collect", Batch("fd-" + std::to_string(i % 4), request++), "application/json",
                               kBrowser);
    REQUIRE(r.status == 200);
  }
  for (int fd : fds) ::close(fd);
  CHECK(client.Get("/readyz").status == 200);
  HttpResult metrics = client.Get("/metrics");
  CHECK(metrics.body.find("foothold_writer_failures_total 0") != std::string::npos);
  CHECK(metrics.body.find("foothold_connections_refused_total 0") == std::string::npos);
  CHECK(CountSession(client, "fd-0") == 500);
}

TEST_CASE("admin bearer scheme is case-insensitive", "[integration][faults]") {
  TempDir dir;
  ServerProcess server(dir.path() + "/data", {}, {"FOOTHOLD_ADMIN__TOKEN=s3cret"});
  REQUIRE(server.started());
  HttpClient c(server.port());
  for (const char* scheme : {"Bearer", "bearer", "BEARER", "bEaReR"}) {
    INFO(scheme);
    CHECK(c.Get("/metrics", {{"Authorization", std::string(scheme) + " s3cret"}}).status == 200);
    CHECK(c.Get("/metrics", {{"Authorization", std::string(scheme) + " s3cre"}}).status == 403);
  }
  CHECK(c.Get("/metrics", {{"Authorization", "bearer  s3cret"}}).status == 200);  // 1*SP
  CHECK(c.Get("/metrics", {{"Authorization", "Basic s3cret"}}).status == 403);
  CHECK(c.Get("/metrics", {{"Authorization", "Bearers3cret"}}).status == 403);
}

TEST_CASE("storage.queue_capacity below limits.max_events is a start-up error, equal works on an idle server",
          "[integration][faults]") {
  TempDir dir;
  std::string out;
  CHECK(RunBinary({"--data-dir", dir.path() + "/data"}, &out,
                  {"FOOTHOLD_STORAGE__QUEUE_CAPACITY=100", "FOOTHOLD_LIMITS__MAX_EVENTS=500"}) == 2);
  CHECK(out.find("storage.queue_capacity (100) is smaller than limits.max_events (500)") != std::string::npos);

  ServerProcess server(dir.path() + "/data", {},
                       {"FOOTHOLD_STORAGE__QUEUE_CAPACITY=100", "FOOTHOLD_LIMITS__MAX_EVENTS=100"});
  REQUIRE(server.started());
  HttpClient c(server.port());
  HttpResult r = c.Post("/v1/collect", Batch("qc", 0), "application/json", kBrowser);  // 100 events
  CHECK(r.status == 200);
}
