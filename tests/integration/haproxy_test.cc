// Integration test of the scaled-out topology (deploy/README.md): two real foothold processes behind
// HAProxy running deploy/haproxy/haproxy.cfg itself - the shipped file, not a copy - with only its
// "${FH_*}" variables pointed at loopback ports and a faster health-check pace. It checks what ops
// rely on: one session stays on one replica, and a replica rolled with SIGTERM under load drops
// nothing it acknowledged and fails no request except with 503.
//
// Skipped (with a warning) when the haproxy binary is not installed, and failed instead when CI is
// set (tests/test_util.h ToolAvailable); `scripts/setup.sh test` installs it.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness.h"
#include "tests/integration/util.h"

using namespace foothold::testing;

namespace {

const char* const kHaproxyCandidates[] = {"/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy",
                                          "/usr/local/bin/haproxy"};

std::string FindHaproxy() {
  for (const char* path : kHaproxyCandidates) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

// A loopback port that was free a moment ago: bind port 0, read it back, close. Another process
// could take it before HAProxy binds; HAProxy then exits at once and the test says so.
uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// `haproxy -f <cfg> -db` as a child with a clean environment plus `env`; output to
// `log_path`. Spawn ties it to the test binary's life: an orphaned HAProxy would
// keep its ports and health-check forever.
class HaproxyProcess {
 public:
  HaproxyProcess(const std::string& binary, const std::string& cfg, std::vector<std::string> env,
                 std::string log_path)
      : log_path_(std::move(log_path)) {
    pid_ = Spawn({binary, "-f", cfg, "-db"}, std::move(env), log_path_);
  }
  ~HaproxyProcess() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);  // with -db: stop at once
    WaitUntil([&] { return Exited(); }, std::chrono::seconds(2), std::chrono::milliseconds(5));
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  HaproxyProcess(const HaproxyProcess&) = delete;
  HaproxyProcess& operator=(const HaproxyProcess&) = delete;

  bool Exited() {
    int status = 0;
    if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) pid_ = -1;
    return pid_ <= 0;
  }
  std::string Log() const { return ReadFile(log_path_); }

 private:
  std::string log_path_;
  pid_t pid_ = -1;
};

// HAProxy's Prometheus exporter says whether `server` is UP.
bool ServerUp(HttpClient* stats, const std::string& server) {
  const std::string line = "haproxy_server_status{proxy=\"foothold\",server=\"" + server + "\",state=\"UP\"} 1\n";
  const HttpResult r = stats->Get("/metrics");
  return r.status == 200 && r.body.find(line) != std::string::npos;
}

// Two foothold replicas and HAProxy in front of them, all on loopback.
struct Cluster {
  static std::vector<std::string> NodeEnv() {
    // The LB connects from 127.0.0.1, so its X-Forwarded-For is believed. The short drain delay
    // still spans several health checks (200ms apart), as 5s spans 1s checks in production.
    return {"FOOTHOLD_TRUSTED_PROXIES=127.0.0.1/32", "FOOTHOLD_SHUTDOWN__DRAIN_DELAY=1500ms"};
  }

  explicit Cluster(const std::string& haproxy_binary)
      : data1(dir.path() + "/node1"),
        data2(dir.path() + "/node2"),
        node1(std::make_unique<ServerProcess>(data1, std::vector<std::string>{}, NodeEnv())),
        node2(std::make_unique<ServerProcess>(data2, std::vector<std::string>{}, NodeEnv())) {
    if (!node1->started() || !node2->started()) return;
    lb_port = FreePort();
    stats_port = FreePort();
    const std::string cfg = std::string(FOOTHOLD_SOURCE_DIR) + "/deploy/haproxy/haproxy.cfg";
    haproxy = std::make_unique<HaproxyProcess>(
        haproxy_binary, cfg,
        std::vector<std::string>{
            "FH_BIND=127.0.0.1:" + std::to_string(lb_port),
            "FH_STATS_BIND=127.0.0.1:" + std::to_string(stats_port),
            "FH_SERVER_1=127.0.0.1:" + std::to_string(node1->port()),
            "FH_SERVER_2=127.0.0.1:" + std::to_string(node2->port()),
            "FH_CHECK_INTER=200ms",
            "FH_CHECK_FALL=1",
            "FH_CHECK_RISE=1",
        },
        dir.path() + "/haproxy.log");
    // Ready when HAProxy answers and has seen both replicas pass a check.
    HttpClient stats(stats_port);
    WaitUntil(
        [&] {
          if (haproxy->Exited()) return true;  // gave up: ready stays false, Logs() says why
          ready = ServerUp(&stats, "foothold-1") && ServerUp(&stats, "foothold-2");
          return ready;
        },
        std::chrono::seconds(30), std::chrono::milliseconds(50));
  }

  // The tail of each process's output, for failure messages (HAProxy logs every request).
  std::string Logs() const {
    auto tail = [](std::string s) { return s.size() > 6000 ? "..." + s.substr(s.size() - 6000) : s; };
    return "--- haproxy:\n" + (haproxy ? tail(haproxy->Log()) : std::string("(not started)")) +
           "\n--- node1:\n" + tail(node1->Log()) + "\n--- node2:\n" + tail(node2->Log());
  }

  TempDir dir;
  std::string data1, data2;
  std::unique_ptr<ServerProcess> node1, node2;
  std::unique_ptr<HaproxyProcess> haproxy;
  uint16_t lb_port = 0, stats_port = 0;
  bool ready = false;
};

// event_id -> how many times it is stored, over the sessions `sids`, read from `node` directly.
void CountStored(uint16_t node_port, const std::set<std::string>& sids, std::map<std::string, int>* seen) {
  HttpClient client(node_port);
  simdjson::dom::parser parser;
  for (const std::string& sid : sids) {
    // The readback pages (README "Journey readback"): follow next_cursor.
    std::string cursor;
    do {
      const HttpResult r = client.Get("/v1/sessions/" + sid + "?limit=10000" + (cursor.empty() ? "" : "&cursor=" + cursor));
      if (r.status == 404) break;
      REQUIRE(r.status == 200);
      simdjson::dom::element doc = ParseJson(parser, r.body);
      for (simdjson::dom::element e : doc["events"].get_array()) ++(*seen)[Str(e, "event_id")];
      std::string_view next;
      cursor = doc["next_cursor"].get(next) == simdjson::SUCCESS ? std::string(next) : std::string();
    } while (!cursor.empty());
  }
}

}  // namespace

TEST_CASE("behind HAProxy, a session's POSTs and pixels land on one replica", "[integration]") {
  const std::string haproxy = FindHaproxy();
  if (!ToolAvailable(!haproxy.empty(), "haproxy")) return;
  Cluster cluster(haproxy);
  if (!cluster.ready) FAIL("the cluster did not come up\n" << cluster.Logs());

  HttpClient lb(cluster.lb_port);
  constexpr int kSessions = 16;
  for (int s = 0; s < kSessions; ++s) {
    const std::string sid = "aff-" + std::to_string(s);
    for (int k = 0; k < 3; ++k) {
      const std::string body = "{\"event\":\"step\",\"session_id\":\"" + sid + "\",\"event_id\":\"" + sid + "-p" +
                               std::to_string(k) + "\"}";
      REQUIRE(lb.Post("/v1/collect?sid=" + sid, body).status == 200);
    }
    for (int k = 0; k < 2; ++k) {
      REQUIRE(lb.Get("/v1/collect?e=page_view&sid=" + sid + "&eid=" + sid + "-g" + std::to_string(k)).status == 200);
    }
  }

  HttpClient n1(cluster.node1->port()), n2(cluster.node2->port());
  simdjson::dom::parser parser;
  int on1 = 0, on2 = 0, split = 0, incomplete = 0;
  for (int s = 0; s < kSessions; ++s) {
    const std::string sid = "aff-" + std::to_string(s);
    const HttpResult r1 = n1.Get("/v1/sessions/" + sid), r2 = n2.Get("/v1/sessions/" + sid);
    if (r1.status == 200 && r2.status == 404) {
      ++on1;
    } else if (r1.status == 404 && r2.status == 200) {
      ++on2;
    } else {
      ++split;
      continue;
    }
    const std::string& body = r1.status == 200 ? r1.body : r2.body;
    if (ParseJson(parser, body)["events"].get_array().value().size() != 5) ++incomplete;
  }
  INFO("sessions on node 1: " << on1 << ", on node 2: " << on2 << ", on both or neither: " << split
                               << ", without all 5 events: " << incomplete);
  CHECK(split == 0);
  CHECK(incomplete == 0);
  // The hash spreads sessions: with 16 of them, both replicas get some.
  CHECK(on1 > 0);
  CHECK(on2 > 0);

  // option forwardfor + trusted_proxies: the stored IP is the client's, not the LB's.
  REQUIRE(lb.Post("/v1/collect?sid=xff", "{\"event\":\"a\",\"session_id\":\"xff\"}", "application/json",
                  {{"X-Forwarded-For", "203.0.113.7"}})
              .status == 200);
  HttpResult x = n1.Get("/v1/sessions/xff");
  if (x.status == 404) x = n2.Get("/v1/sessions/xff");
  REQUIRE(x.status == 200);
  CHECK(Str(ParseJson(parser, x.body)["events"].at(0).value(), "ip") == "203.0.113.0");
}

TEST_CASE("behind HAProxy, a replica rolled with SIGTERM under load loses and fails nothing", "[integration]") {
  const std::string haproxy = FindHaproxy();
  if (!ToolAvailable(!haproxy.empty(), "haproxy")) return;
  Cluster cluster(haproxy);
  if (!cluster.ready) FAIL("the cluster did not come up\n" << cluster.Logs());

  std::mutex mu;
  std::map<std::string, std::string> acked;  // event_id -> sid
  std::map<int, int> failed_by_status;      // anything but 200 and 503 (0 = no response)
  std::string first_failure;
  std::atomic<int> requests{0}, unavailable{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  constexpr int kClients = 3;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      HttpClient client(cluster.lb_port);
      for (int i = 0; !stop.load() && i < 200000; ++i) {
        const std::string sid = "roll-" + std::to_string(t) + "-" + std::to_string(i % 12);
        const std::string id = "roll-" + std::to_string(t) + "-" + std::to_string(i);
        const std::string body =
            "{\"event\":\"tick\",\"session_id\":\"" + sid + "\",\"event_id\":\"" + id + "\"}";
        const HttpResult r = client.Post("/v1/collect?sid=" + sid, body);
        requests.fetch_add(1);
        if (r.status == 503) {
          unavailable.fetch_add(1);
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        if (r.status == 200) {
          acked[id] = sid;
        } else {
          ++failed_by_status[r.status];
          if (first_failure.empty()) first_failure = std::to_string(r.status) + " " + r.body;
        }
      }
    });
  }
  auto wait_for_requests = [&](int at_least) {
    WaitUntil([&] { return requests.load() >= at_least; }, std::chrono::seconds(30), std::chrono::milliseconds(5));
  };

  wait_for_requests(300);
  const int before_term = requests.load();
  cluster.node2->Signal(SIGTERM);
  const int exit_status = cluster.node2->WaitExit(30000);
  const int at_exit = requests.load();
  wait_for_requests(at_exit + 300);  // and keep going on the survivor
  stop = true;
  for (auto& c : clients) c.join();

  const int total = requests.load();
  std::ostringstream summary;
  summary << "requests: " << total << " (" << before_term << " before SIGTERM, " << at_exit
          << " when node 2 exited), acknowledged events: " << acked.size() << ", 503s: " << unavailable.load()
          << ", failures:";
  for (auto& [status, n] : failed_by_status) summary << " status " << status << " x" << n;
  if (!first_failure.empty()) summary << " (first: " << first_failure << ")";
  INFO(summary.str());
  INFO(cluster.Logs());

  CHECK(exit_status == 0);                  // the drained replica shut down cleanly
  CHECK(failed_by_status.empty());          // nothing failed except with 503
  CHECK(total > at_exit);                   // the survivor kept taking traffic

  // Restart the rolled replica on its data and read every session back from both replicas.
  cluster.node2 = std::make_unique<ServerProcess>(cluster.data2, std::vector<std::string>{}, Cluster::NodeEnv());
  REQUIRE(cluster.node2->started());
  std::set<std::string> sids;
  for (auto& [id, sid] : acked) sids.insert(sid);
  std::map<std::string, int> seen;
  CountStored(cluster.node1->port(), sids, &seen);
  CountStored(cluster.node2->port(), sids, &seen);
  size_t missing = 0, doubled = 0;
  for (auto& [id, sid] : acked) {
    const int n = seen.count(id) ? seen[id] : 0;
    if (n == 0) ++missing;
    if (n > 1) ++doubled;
  }
  size_t stored_twice = 0;  // including events whose request was not acknowledged
  for (auto& [id, n] : seen) stored_twice += n > 1;
  CHECK(total >= 600);     // the load really ran: 300 requests before SIGTERM, 300 after the exit
  CHECK(!acked.empty());
  CHECK(missing == 0);   // every acknowledged event is stored...
  CHECK(doubled == 0);   // ...exactly once across both replicas
  CHECK(stored_twice == 0);
}
