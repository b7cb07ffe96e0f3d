// Integration tests of the process: command line, readiness, graceful
// shutdown, restarts, and crash safety (kill -9 while clients post).
#include <catch2/catch.hpp>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "tests/integration/harness.h"
#include "tests/integration/util.h"

using namespace foothold::testing;

TEST_CASE("command line: version, help, invalid values exit 2 naming the key", "[integration]") {
  std::string out;
  CHECK(RunBinary({"--version"}, &out) == 0);
  CHECK(out.find("foothold ") != std::string::npos);
  CHECK(RunBinary({"--help"}, &out) == 0);
  CHECK(out.find("--data-dir") != std::string::npos);
  CHECK(RunBinary({"--threads", "lots"}, &out) == 2);
  CHECK(out.find("threads") != std::string::npos);
  CHECK(RunBinary({"--no-such-flag"}, &out) == 2);
  TempDir dir;
  CHECK(RunBinary({"--data-dir", dir.path()}, &out, {"FOOTHOLD_STORAGE__DURABILITY=fast"}) == 2);
  CHECK(out.find("storage.durability") != std::string::npos);
}

TEST_CASE("health, readiness and a graceful SIGTERM", "[integration]") {
  TempDir dir;
  // The drain delay only has to outlast the few requests below.
  ServerProcess server(dir.path() + "/data", {}, {"FOOTHOLD_SHUTDOWN__DRAIN_DELAY=3s"});
  REQUIRE(server.started());
  HttpClient client(server.port());
  CHECK(client.Get("/healthz").status == 200);
  CHECK(client.Get("/readyz").status == 200);
  REQUIRE(client.Post("/v1/collect", "{\"event\":\"a\",\"session_id\":\"s-term\"}").status == 200);

  server.Signal(SIGTERM);
  // During the drain delay readiness is off but requests are still served.
  REQUIRE(WaitUntil([&] { return client.Get("/readyz").status == 503; }, std::chrono::seconds(3)));
  CHECK(client.Get("/healthz").status == 200);
  CHECK(client.Post("/v1/collect", "{\"event\":\"b\",\"session_id\":\"s-term\"}").status == 200);
  CHECK(server.WaitExit(20000) == 0);

  // Restart on the same directory: both events are there, and seq keeps growing.
  ServerProcess again(dir.path() + "/data");
  REQUIRE(again.started());
  HttpClient c2(again.port());
  REQUIRE(c2.Post("/v1/collect", "{\"event\":\"c\",\"session_id\":\"s-term\"}").status == 200);
  simdjson::dom::parser p;
  auto events = ParseJson(p, c2.Get("/v1/sessions/s-term").body)["events"].get_array().value();
  REQUIRE(events.size() == 3);
  std::set<int64_t> seqs;
  for (simdjson::dom::element e : events) seqs.insert(Int(e, "seq"));
  CHECK(seqs.size() == 3);
  CHECK(Int(events.at(2).value(), "seq") > Int(events.at(1).value(), "seq"));
}

TEST_CASE("a client that sends headers too slowly is disconnected", "[integration]") {
  TempDir dir;
  ServerProcess server(dir.path() + "/data", {}, {"FOOTHOLD_HTTP__HEADER_TIMEOUT=300ms"});
  REQUIRE(server.started());
  auto start = std::chrono::steady_clock::now();
  // Half a request line, then nothing: the server must hang up by itself.
  std::string got = RawExchange(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n", 5000);
  auto waited = std::chrono::steady_clock::now() - start;
  CHECK(got.empty());
  CHECK(waited < std::chrono::milliseconds(4500));
  HttpClient client(server.port());
  CHECK(client.Get("/healthz").status == 200);
}

// The header and body timeouts bound the whole header block and the whole body, not each read:
// a byte every 100 ms must not keep a connection open past them (README.md, "http" settings).
TEST_CASE("a client that trickles a byte at a time is disconnected at the header or body timeout", "[integration]") {
  TempDir dir;
  ServerProcess server(dir.path() + "/data", {},
                       {"FOOTHOLD_HTTP__HEADER_TIMEOUT=500ms", "FOOTHOLD_HTTP__BODY_TIMEOUT=500ms"});
  REQUIRE(server.started());
  // Sends `head`, then a byte every 100 ms (a slowloris client) until the server closes the
  // connection or 6 s pass; true when the server closed it.
  auto closed_while_trickling = [&server](const std::string& head, char filler) {
    RawConn c(server.port());
    if (!c.connected() || !c.Send(head)) return false;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(6);
    while (std::chrono::steady_clock::now() < give_up) {
      if (c.WaitClosed(100)) return true;
      if (!c.Send(std::string(1, filler))) return true;  // reset by the server
    }
    return false;
  };
  auto start = std::chrono::steady_clock::now();
  CHECK(closed_while_trickling("POST /v1/collect HTTP/1.1\r\nX-Pad: ", 'a'));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(5000));
  start = std::chrono::steady_clock::now();
  CHECK(closed_while_trickling(
      "POST /v1/collect HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 4000\r\n\r\n[", ' '));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(5000));
  HttpClient client(server.port());
  CHECK(client.Get("/healthz").status == 200);
}

// storage/README.md "Durability": a 2xx means the event reached the WAL, so kill -9 loses none
// of them; dedupe keeps retries from doubling anything.
TEST_CASE("kill -9 while clients post loses no acknowledged event", "[integration]") {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  auto server = std::make_unique<ServerProcess>(data);
  REQUIRE(server->started());
  const uint16_t port = server->port();

  std::mutex mu;
  std::map<std::string, std::string> acked;  // event_id -> session_id
  std::atomic<bool> stop{false};
  std::atomic<int> posted{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      HttpClient client(port);
      for (int i = 0; !stop.load() && i < 100000; ++i) {
        const std::string sid = "crash-" + std::to_string(t) + "-" + std::to_string(i % 7);
        std::string body = "[";
        std::vector<std::string> ids;
        for (int k = 0; k < 5; ++k) {
          ids.push_back("e-" + std::to_string(t) + "-" + std::to_string(i) + "-" + std::to_string(k));
          body += (k ? "," : "") + std::string("{\"event\":\"tick\",\"session_id\":\"") + sid +
                  "\",\"event_id\":\"" + ids.back() + "\"}";
        }
        body += "]";
        auto r = client.Post("/v1/collect", body);
        if (r.status == 200) {
          std::lock_guard<std::mutex> lock(mu);
          for (auto& id : ids) acked[id] = sid;
        }
        if (r.status == 0) break;  // the server is gone
        posted.fetch_add(1);
      }
    });
  }
  const bool busy = WaitUntil([&] { return posted.load() >= 300; }, std::chrono::seconds(60));
  server->Kill9();
  stop = true;
  for (auto& c : clients) c.join();
  REQUIRE(busy);
  REQUIRE(acked.size() >= 1500);

  server = std::make_unique<ServerProcess>(data);
  REQUIRE(server->started());
  HttpClient reader(server->port());
  std::set<std::string> sessions;
  for (auto& [id, sid] : acked) sessions.insert(sid);
  std::map<std::string, int> seen;
  simdjson::dom::parser p;
  for (const auto& sid : sessions) {
    auto r = reader.Get("/v1/sessions/" + sid);
    REQUIRE(r.status == 200);
    simdjson::dom::array events = ParseJson(p, r.body)["events"].get_array().value();
    for (simdjson::dom::element e : events) seen[Str(e, "event_id")]++;
  }
  size_t missing = 0, doubled = 0;
  for (auto& [id, sid] : acked) {
    if (seen[id] == 0) ++missing;
    if (seen[id] > 1) ++doubled;
  }
  CHECK(missing == 0);
  CHECK(doubled == 0);
  for (auto& [id, n] : seen) CHECK(n == 1);
}

TEST_CASE("a second SIGTERM cuts the drain delay short and still exits cleanly", "[integration]") {
  TempDir dir;
  ServerProcess server(dir.path() + "/data", {}, {"FOOTHOLD_SHUTDOWN__DRAIN_DELAY=60s"});
  REQUIRE(server.started());
  HttpClient client(server.port());
  REQUIRE(client.Post("/v1/collect", "{\"event\":\"a\",\"session_id\":\"s-hurry\"}").status == 200);
  server.Signal(SIGTERM);
  // The first SIGTERM has been handled once readiness is off.
  REQUIRE(WaitUntil([&] { return client.Get("/readyz").status == 503; }, std::chrono::seconds(10)));
  server.Signal(SIGTERM);
  // Well before the 60 s drain delay; the acknowledged event survives.
  CHECK(server.WaitExit(20000) == 0);
  ServerProcess again(dir.path() + "/data");
  REQUIRE(again.started());
  HttpClient c2(again.port());
  CHECK(c2.Get("/v1/sessions/s-hurry").status == 200);
}
