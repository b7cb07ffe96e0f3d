// Experiment weights (config/README.md, README.md "Analytics"): the sample-
// ratio-mismatch test of /v1/stats/experiments/{name} checks exposures
// against the configured split. scripts/loadgen.py assigns 20% of sessions
// to `autoplay`; a server configured with weights [80, 20] finds no mismatch,
// and the same data under [50, 50] is flagged.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <string>

#include "tests/integration/harness.h"
#include "tests/integration/util.h"

using namespace foothold::testing;

namespace {

const std::string kSource = FOOTHOLD_SOURCE_DIR;

// The shipped config with the experiment's weights replaced.
std::string ConfigWithWeights(const TempDir& dir, const std::string& name, const std::string& weights) {
  std::string changed = ReadFile(kSource + "/config/foothold.toml");
  const std::string from = "\nweights = [50, 50]";
  const size_t at = changed.find(from);
  REQUIRE(at != std::string::npos);
  changed.replace(at, from.size(), "\nweights = " + weights);
  return dir.Write(name, changed);
}

}  // namespace

TEST_CASE("the sample ratio mismatch test uses the configured weights", "[integration]") {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  const std::string range = "from=" + std::to_string(NowMs() - 26 * 3600000LL) +
                            "&to=" + std::to_string(NowMs() + 60000);
  simdjson::dom::parser p;
  auto experiment = [&](ServerProcess& server) {
    HttpClient client(server.port());
    auto r = client.Get("/v1/stats/experiments/video_autoplay?" + range);
    REQUIRE(r.status == 200);
    return r.body;
  };
  {
    ServerProcess server(data, {"--config", ConfigWithWeights(dir, "80-20.toml", "[80, 20]")},
                         {"FOOTHOLD_SESSION__TIMEOUT=2s"});
    REQUIRE(server.started());
    const std::string cmd = "python3 " + kSource + "/scripts/loadgen.py --url http://127.0.0.1:" +
                            std::to_string(server.port()) +
                            " --sessions 3000 --seed 5 --connections 2 --autoplay-share 0.2 --tick-after 3 2> " +
                            dir.path() + "/loadgen.log";
    pid_t pid = Spawn({"/bin/sh", "-c", cmd}, {}, dir.path() + "/spawn.log");
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    INFO(ReadFile(dir.path() + "/loadgen.log"));
    REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    HttpClient client(server.port());
    REQUIRE(WaitUntil(
        [&] {
          auto r = client.Get("/v1/stats/summary?" + range);
          REQUIRE(r.status == 200);
          simdjson::dom::element agg = ParseJson(p, r.body)["aggregator"].value();
          return Int(agg, "pending_events") == 0 && Int(agg, "open_sessions") <= 1;
        },
        std::chrono::seconds(60)));
    const std::string body = experiment(server);
    INFO(body);
    simdjson::dom::element x = ParseJson(p, body);
    simdjson::dom::array variants = x["variants"].get_array().value();
    const int64_t control = Int(variants.at(0).value(), "exposed");
    const int64_t autoplay = Int(variants.at(1).value(), "exposed");
    CHECK(control + autoplay == 3000);
    CHECK(static_cast<double>(autoplay) / 3000 == Approx(0.2).margin(0.03));
    CHECK(variants.at(0).value()["expected_share"].get_double().value() == Approx(0.8));
    CHECK(variants.at(1).value()["expected_share"].get_double().value() == Approx(0.2));
    CHECK(x["sample_ratio_mismatch_p_value"].get_double().value() > 0.001);
    CHECK(body.find("sample ratio mismatch") == std::string::npos);
    server.Signal(SIGTERM);
    REQUIRE(server.WaitExit() == 0);
  }
  {
    // Same counters, an equal split configured: 600 of 3 000 is far from 1 500.
    ServerProcess server(data, {"--config", ConfigWithWeights(dir, "50-50.toml", "[50, 50]")},
                         {"FOOTHOLD_SESSION__TIMEOUT=2s"});
    REQUIRE(server.started());
    const std::string body = experiment(server);
    INFO(body);
    simdjson::dom::element x = ParseJson(p, body);
    CHECK(x["sample_ratio_mismatch_p_value"].get_double().value() < 1e-6);
    CHECK(body.find("sample ratio mismatch: exposures do not match the configured split") != std::string::npos);
    CHECK(x["variants"].get_array().value().at(1).value()["expected_share"].get_double().value() == Approx(0.5));
  }
}
