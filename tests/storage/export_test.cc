// The ClickHouse exporter's pure parts (the JSONEachRow row, the url) and its
// contract with retention (storage/export/README.md): unexported records are
// kept until the export lag passes max_lag, then deleted and counted as
// dropped. The exporter here points at a port nobody listens on: a real
// ClickHouse outage as the exporter sees it. tests/integration/export_test.cc
// runs it against a real ClickHouse.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <simdjson.h>

#include "storage/export/clickhouse_http.h"
#include "storage/export/row.h"
#include "tests/storage/test_util.h"

namespace foothold::storage {
namespace {

using testing::AppendSync;
using testing::MakeEvent;
using testing::NowMs;
using testing::OpenStore;
using testing::TempDir;
using testing::TestOptions;

constexpr int64_t kDay = 24LL * 3600 * 1000;

// A loopback port nobody listens on (free a moment ago).
uint16_t UnusedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string_view StrField(simdjson::dom::element row, const char* key) {
  std::string_view v;
  REQUIRE(row[key].get(v) == simdjson::SUCCESS);
  return v;
}

TEST_CASE("an exported row is one JSON line with every column of deploy/clickhouse/events.sql", "[storage]") {
  proto::Event e = MakeEvent("video play", "s\"1", 1700000000123, 1700000000456);
  e.seq = 42;
  e.event_id = "id-1";
  e.anonymous_id = "a";
  e.title = "line\nbreak";
  e.engaged_ms = 1500;
  e.experiments = {{"autoplay", "on"}, {"layout", "b"}};
  e.props.push_back({"kind", proto::PropType::kString, false, 0, "demo"});
  e.props.push_back({"n", proto::PropType::kNumber, false, 0.1, ""});
  e.props.push_back({"ok", proto::PropType::kBool, true, 0, ""});
  e.props.push_back({"none", proto::PropType::kNull, false, 0, ""});
  e.bot = true;
  e.flags = proto::kFlagEventIdAssigned;
  std::string line;
  AppendExportRow(e, "node-1", &line);
  REQUIRE(line.back() == '\n');
  REQUIRE(line.find('\n') == line.size() - 1);

  simdjson::dom::parser parser;
  simdjson::dom::element row;
  REQUIRE(parser.parse(line).get(row) == simdjson::SUCCESS);
  CHECK(StrField(row, "node") == "node-1");
  CHECK(uint64_t(row["seq"]) == 42);
  CHECK(StrField(row, "event") == "video play");
  CHECK(StrField(row, "session_id") == "s\"1");
  CHECK(StrField(row, "title") == "line\nbreak");
  CHECK(int64_t(row["event_time"]) == 1700000000123);
  CHECK(int64_t(row["received_at"]) == 1700000000456);
  CHECK(int64_t(row["ts"]) == 1700000000123);
  CHECK(int64_t(row["engaged_ms"]) == 1500);
  CHECK(simdjson::dom::array(row["experiment_variants"]).size() == 2);
  CHECK(StrField(row, "props") == R"({"kind":"demo","n":0.1,"ok":true,"none":null})");
  std::vector<std::string> values;
  for (auto v : simdjson::dom::array(row["prop_values"])) values.emplace_back(std::string_view(v));
  CHECK(values == std::vector<std::string>{"demo", "0.1", "true", ""});
  CHECK(uint64_t(row["bot"]) == 1);
  CHECK(uint64_t(row["flags"]) == proto::kFlagEventIdAssigned);

  e.ts_ms.reset();
  line.clear();
  AppendExportRow(e, "n", &line);
  REQUIRE(parser.parse(line).get(row) == simdjson::SUCCESS);
  CHECK(row["ts"].is_null());
}

TEST_CASE("ClickHouse urls: host, port, IPv6, and what is refused", "[storage]") {
  ClickHouseEndpoint ep;
  REQUIRE(ParseClickHouseUrl("http://ch.internal:9123/", &ep).ok());
  CHECK(ep.host == "ch.internal");
  CHECK(ep.port == 9123);
  REQUIRE(ParseClickHouseUrl("http://clickhouse", &ep).ok());
  CHECK(ep.port == 8123);
  REQUIRE(ParseClickHouseUrl("http://[::1]:8124", &ep).ok());
  CHECK(ep.host == "::1");
  CHECK(ep.port == 8124);
  CHECK_FALSE(ParseClickHouseUrl("https://ch:8443", &ep).ok());
  CHECK_FALSE(ParseClickHouseUrl("http://ch:8123/db", &ep).ok());
  CHECK_FALSE(ParseClickHouseUrl("http://ch:0", &ep).ok());
  CHECK_FALSE(ParseClickHouseUrl("http://:8123", &ep).ok());
}

TEST_CASE("the HTTP client reports a refused connection as kind connect", "[storage]") {
  ClickHouseEndpoint ep;
  ep.host = "127.0.0.1";
  ep.port = UnusedPort();
  ep.timeout_ms = 2000;
  HttpAnswer a = ClickHouseHttp(ep).Post("SELECT 1", "");
  CHECK(a.failure == HttpFailure::kConnect);
  CHECK(std::string(HttpFailureName(a.failure)) == "connect");
  CHECK_FALSE(a.error.empty());
}

template <typename Fn>
bool Eventually(Fn done) {
  return testing::WaitUntil(done, std::chrono::seconds(30), std::chrono::milliseconds(50));
}

TEST_CASE("retention keeps unexported records until the export lag passes max_lag, then counts them dropped",
          "[storage]") {
  TempDir dir;
  StoreOptions options = TestOptions(dir.path());
  options.retention_days = 30;
  options.export_clickhouse.url = "http://127.0.0.1:" + std::to_string(UnusedPort());
  options.export_clickhouse.node = "n";
  options.export_clickhouse.linger_ms = 0;
  options.export_clickhouse.timeout_ms = 1000;
  options.export_clickhouse.retry_initial_ms = 10;
  options.export_clickhouse.retry_max_ms = 50;
  options.export_clickhouse.max_lag_ms = 0;  // wait for ClickHouse forever
  const int64_t now = NowMs();
  const int64_t old = now - 40 * kDay;
  {
    auto store = OpenStore(options);
    REQUIRE(AppendSync(*store, {MakeEvent("o1", "old", old, old), MakeEvent("o2", "old", old + 1, old + 1)})
                .status.ok());
    REQUIRE(AppendSync(*store, {MakeEvent("n1", "new", now, now)}).status.ok());
    REQUIRE(store->WaitAggregated(30000));
    REQUIRE(Eventually([&] {
      for (const auto& [kind, n] : store->export_stats().failures) {
        if (kind == "connect" && n > 0) return true;
      }
      return false;
    }));
    CHECK(store->RunRetentionForTest(now) == 0);  // the aggregator counted them; ClickHouse has not got them
    const ExportStats x = store->export_stats();
    CHECK(x.enabled);
    CHECK(x.pending_records == 3);
    CHECK(x.lag_seconds > 39 * 86400.0);
    CHECK_FALSE(x.overdue);
    CHECK_FALSE(x.last_error.empty());
  }
  options.export_clickhouse.max_lag_ms = 3600 * 1000;  // now the 40-day-old records are overdue
  auto store = OpenStore(options);
  REQUIRE(Eventually([&] { return store->export_stats().overdue; }));
  CHECK(store->RunRetentionForTest(now) == 2);
  REQUIRE(Eventually([&] { return store->export_stats().records_dropped == 2; }));
  CHECK(store->export_stats().pending_records == 1);  // the new record still waits for ClickHouse
  REQUIRE(Eventually([&] { return !store->export_stats().overdue; }));  // its lag is seconds
}

TEST_CASE("without an exporter the store reports export disabled", "[storage]") {
  TempDir dir;
  auto store = OpenStore(TestOptions(dir.path()));
  CHECK_FALSE(store->export_stats().enabled);
  CHECK_FALSE(store->WaitExported(10));
}

}  // namespace
}  // namespace foothold::storage
