// Analytics definitions (config/README.md) in the config file: the shipped seed
// list, a full valid file, and every validation error.

#include <catch2/catch.hpp>
#include <string>
#include <variant>
#include <vector>

#include "config/config.h"
#include "tests/config/config_test_util.h"

namespace foothold::config {
namespace {

using testing::Load;
using testing::TempDir;

// Loads `toml` as a config file.
LoadResult LoadToml(const TempDir& dir, const std::string& toml) {
  return Load({"--config", dir.Write("a.toml", toml)});
}

// Asserts the load failed with exit status 2 and an error naming the file and
// containing every fragment.
void CheckRefused(const LoadResult& r, std::initializer_list<std::string> fragments) {
  INFO("error: " << r.error);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.error, Catch::Contains("a.toml:"));
  for (const std::string& f : fragments) CHECK_THAT(r.error, Catch::Contains(f));
}

std::vector<std::string> MicroNames(const Config& c) {
  std::vector<std::string> names;
  for (const MicroConversion& m : c.micro_conversions) names.push_back(m.name);
  return names;
}

// Two conversions every error case below can refer to.
const std::string kBase = R"(
[[micro_conversion]]
name = "add_to_cart"
event = "add_to_cart"
[[macro_conversion]]
name = "purchase"
event = "purchase"
)";

TEST_CASE("the shipped config/foothold.toml defines exactly the seed analytics", "[config]") {
  LoadResult r = Load({"--config", FOOTHOLD_SOURCE_DIR "/config/foothold.toml"});
  INFO(r.error);
  REQUIRE(r.error.empty());
  const Config& c = r.config;
  CHECK(MicroNames(c) == std::vector<std::string>{"newsletter_signup", "account_created",
                                                  "wishlist_add", "video_play", "pdf_download",
                                                  "social_share", "site_search", "product_dwell_3m",
                                                  "add_to_cart", "begin_checkout"});
  for (const MicroConversion& m : c.micro_conversions) {
    INFO(m.name);
    if (m.name == "product_dwell_3m") {
      CHECK(m.kind == MicroConversion::Kind::kDwell);
      CHECK(m.dwell.url_prefix == "/p/");
      CHECK(m.dwell.min_engaged_ms == 180000);
    } else {
      CHECK(m.kind == MicroConversion::Kind::kEvent);
      CHECK(m.match.event == m.name);
      CHECK(m.match.where.empty());
      CHECK(m.match.url_prefix.empty());
    }
  }
  REQUIRE(c.macro_conversions.size() == 1);
  CHECK(c.macro_conversions[0].name == "purchase");
  CHECK(c.macro_conversions[0].match.event == "purchase");
  REQUIRE(c.funnels.size() == 1);
  CHECK(c.funnels[0].name == "checkout");
  CHECK(c.funnels[0].steps ==
        std::vector<std::string>{"add_to_cart", "begin_checkout", "purchase"});
  CHECK(c.funnels[0].window_ms == 30 * 60 * 1000);
  CHECK(c.funnels[0].mode == FunnelMode::kOrdered);
  REQUIRE(c.experiments.size() == 1);
  CHECK(c.experiments[0].name == "video_autoplay");
  CHECK(c.experiments[0].target == "purchase");
  CHECK(c.experiments[0].variants == std::vector<std::string>{"control", "autoplay"});
  CHECK(c.experiments[0].weights == std::vector<double>{50, 50});
  REQUIRE(c.dimensions.size() == 3);
  CHECK(c.dimensions[0].name == "utm_source");
  CHECK(c.dimensions[0].kind == DimensionKind::kUtmSource);
  CHECK(c.dimensions[1].kind == DimensionKind::kDevice);
  CHECK(c.dimensions[2].kind == DimensionKind::kVisitor);
  for (const Dimension& d : c.dimensions) CHECK(d.max_values == 20);
}

TEST_CASE("without a config file there are no analytics definitions", "[config]") {
  LoadResult r = Load({});
  REQUIRE(r.error.empty());
  CHECK(r.config.micro_conversions.empty());
  CHECK(r.config.macro_conversions.empty());
  CHECK(r.config.funnels.empty());
  CHECK(r.config.experiments.empty());
}

TEST_CASE("analytics definitions read matchers, dwell, funnel modes and experiments", "[config]") {
  TempDir dir;
  // Funnels and experiments may come before the conversions they name.
  LoadResult r = LoadToml(dir, R"(
[[funnel]]
name = "signup"
steps = ["demo_video", "account:created", "purchase"]
window = "1h30m"

[[funnel]]
name = "loose"
steps = ["purchase", "demo_video"]
window = 60000
mode = "any"

[[funnel]]
name = "tight"
steps = ["demo_video", "purchase"]
window = "2d"
mode = "strict"

[[experiment]]
name = "exp-1"
target = "demo_video"
variants = ["control", "b", "variant c"]

[[micro_conversion]]
name = "demo_video"
event = "video_play"
where = { "props.video_kind" = "demo", "props.seconds" = 30, "props.muted" = false, url = "https://shop.example/v" }
url_prefix = "/videos/"

[[micro_conversion]]
name = "account:created"
event = "Signed Up"
where = { props.plan = "pro", props.ratio = 0.5 }

[[micro_conversion]]
name = "long_read"
dwell = { url_prefix = "/blog/", min_engaged_s = 1 }

[[macro_conversion]]
name = "purchase"
event = "purchase"
where = { title = "Thanks" }
url_prefix = "/checkout/done"
)");
  INFO(r.error);
  REQUIRE(r.error.empty());
  const Config& c = r.config;
  REQUIRE(c.micro_conversions.size() == 3);
  const MicroConversion& demo = c.micro_conversions[0];
  CHECK(demo.kind == MicroConversion::Kind::kEvent);
  CHECK(demo.match.event == "video_play");
  CHECK(demo.match.url_prefix == "/videos/");
  REQUIRE(demo.match.where.size() == 4);
  for (const Predicate& p : demo.match.where) {
    INFO(p.field);
    if (p.field == "props.video_kind") CHECK(std::get<std::string>(p.value) == "demo");
    if (p.field == "props.seconds") CHECK(std::get<double>(p.value) == 30);
    if (p.field == "props.muted") CHECK(std::get<bool>(p.value) == false);
    if (p.field == "url") CHECK(std::get<std::string>(p.value) == "https://shop.example/v");
  }
  const MicroConversion& account = c.micro_conversions[1];
  CHECK(account.match.event == "Signed Up");  // Segment-style names are event names too
  REQUIRE(account.match.where.size() == 2);
  CHECK(account.match.where[0].field == "props.plan");
  CHECK(std::get<std::string>(account.match.where[0].value) == "pro");
  CHECK(account.match.where[1].field == "props.ratio");
  CHECK(std::get<double>(account.match.where[1].value) == 0.5);
  CHECK(c.micro_conversions[2].kind == MicroConversion::Kind::kDwell);
  CHECK(c.micro_conversions[2].dwell.url_prefix == "/blog/");
  CHECK(c.micro_conversions[2].dwell.min_engaged_ms == 1000);
  REQUIRE(c.macro_conversions.size() == 1);
  CHECK(c.macro_conversions[0].match.url_prefix == "/checkout/done");
  REQUIRE(c.macro_conversions[0].match.where.size() == 1);
  CHECK(c.macro_conversions[0].match.where[0].field == "title");
  REQUIRE(c.funnels.size() == 3);
  CHECK(c.funnels[0].window_ms == 90 * 60 * 1000);
  CHECK(c.funnels[0].mode == FunnelMode::kOrdered);  // the default
  CHECK(c.funnels[1].window_ms == 60000);
  CHECK(c.funnels[1].mode == FunnelMode::kAny);
  CHECK(c.funnels[2].mode == FunnelMode::kStrict);
  REQUIRE(c.experiments.size() == 1);
  CHECK(c.experiments[0].variants.front() == "control");
  CHECK(c.experiments[0].variants.size() == 3);
  CHECK(c.experiments[0].weights == std::vector<double>{1, 1, 1});  // no weights: an equal split
}

TEST_CASE("experiment weights give the designed split, one number > 0 per variant", "[config]") {
  TempDir dir;
  auto experiment = [&](const std::string& weights) {
    return LoadToml(dir, kBase + "[[experiment]]\nname = \"x\"\ntarget = \"purchase\"\n"
                                 "variants = [\"control\", \"b\", \"c\"]\nweights = " + weights + "\n");
  };
  LoadResult r = experiment("[80, 10.5, 9.5]");
  INFO(r.error);
  REQUIRE(r.error.empty());
  CHECK(r.config.experiments[0].weights == std::vector<double>{80, 10.5, 9.5});
  CheckRefused(experiment("[80, 20]"),
               {"experiment \"x\": weights has 2 numbers but variants has 3 names"});
  CheckRefused(experiment("[80, 0, 20]"), {"experiment \"x\": weights must be an array of numbers > 0", "0"});
  CheckRefused(experiment("[80, -1, 20]"), {"weights must be an array of numbers > 0"});
  CheckRefused(experiment("[80, \"ten\", 20]"), {"weights must be an array of numbers > 0", "\"ten\""});
  CheckRefused(experiment("[80, nan, 20]"), {"weights must be an array of numbers > 0"});
  CheckRefused(experiment("50"), {"weights must be an array of numbers > 0, one per variant, not 50"});
}

TEST_CASE("duplicate analytics names are refused, naming the entry", "[config]") {
  TempDir dir;
  CheckRefused(
      LoadToml(dir, kBase + "[[micro_conversion]]\nname = \"add_to_cart\"\nevent = \"x\"\n"),
      {"micro_conversion \"add_to_cart\": name \"add_to_cart\" is already defined"});
  // Micro and macro conversions share one namespace.
  CheckRefused(
      LoadToml(dir, kBase + "[[macro_conversion]]\nname = \"add_to_cart\"\nevent = \"x\"\n"),
      {"macro_conversion \"add_to_cart\": name \"add_to_cart\" is already defined"});
  const std::string funnel =
      "[[funnel]]\nname = \"f\"\nsteps = [\"add_to_cart\", \"purchase\"]\nwindow = \"1h\"\n";
  CheckRefused(LoadToml(dir, kBase + funnel + funnel),
               {"funnel \"f\": name \"f\" is already defined"});
  const std::string experiment =
      "[[experiment]]\nname = \"e\"\ntarget = \"purchase\"\nvariants = [\"a\", \"b\"]\n";
  CheckRefused(LoadToml(dir, kBase + experiment + experiment),
               {"experiment \"e\": name \"e\" is already defined"});
  // A funnel and an experiment may share a name: they are different things.
  LoadResult ok = LoadToml(dir, kBase +
                                    "[[funnel]]\nname = \"x\"\nsteps = [\"add_to_cart\", "
                                    "\"purchase\"]\nwindow = \"1h\"\n[[experiment]]\nname = "
                                    "\"x\"\ntarget = \"purchase\"\nvariants = [\"a\", \"b\"]\n");
  INFO(ok.error);
  CHECK(ok.error.empty());
}

TEST_CASE("a micro conversion needs exactly one of event and dwell", "[config]") {
  TempDir dir;
  CheckRefused(LoadToml(dir, R"(
[[micro_conversion]]
name = "both"
event = "x"
dwell = { url_prefix = "/p/", min_engaged_s = 10 }
)"),
               {":2: micro_conversion \"both\": give either event or dwell, not both"});
  CheckRefused(LoadToml(dir, "[[micro_conversion]]\nname = \"neither\"\n"),
               {"micro_conversion \"neither\": event (an event name) or dwell", "is required"});
  CheckRefused(LoadToml(dir,
                        "[[micro_conversion]]\nname = \"d\"\nurl_prefix = \"/p/\"\n"
                        "dwell = { url_prefix = \"/p/\", min_engaged_s = 10 }\n"),
               {"micro_conversion \"d\": url_prefix goes with event"});
  CheckRefused(LoadToml(dir, "[[macro_conversion]]\nname = \"m\"\n"),
               {"macro_conversion \"m\": event is required"});
}

TEST_CASE("invalid dwell, matcher and name values are refused", "[config]") {
  TempDir dir;
  auto micro = [&](const std::string& body) {
    return LoadToml(dir, "[[micro_conversion]]\nname = \"m\"\n" + body);
  };
  CheckRefused(micro("dwell = { url_prefix = \"/p/\", min_engaged_s = 0 }\n"),
               {"micro_conversion \"m\": dwell: invalid min_engaged_s 0"});
  CheckRefused(micro("dwell = { url_prefix = \"/p/\", min_engaged_s = \"3m\" }\n"),
               {"dwell: invalid min_engaged_s \"3m\""});
  CheckRefused(micro("dwell = { min_engaged_s = 5 }\n"), {"dwell: url_prefix is required"});
  CheckRefused(micro("dwell = 180\n"), {"dwell must be a table"});
  CheckRefused(micro("event = \"bad\\tname\"\n"), {"invalid event \"bad\\x09name\""});
  CheckRefused(micro("event = \"" + std::string(129, 'x') + "\"\n"), {"invalid event"});
  CheckRefused(micro("event = \"e\"\nurl_prefix = \"p/\"\n"),
               {"url_prefix \"p/\" must be a url path"});
  CheckRefused(micro("event = \"e\"\nwhere = { user_agent = \"x\" }\n"),
               {"where: unknown field \"user_agent\""});
  CheckRefused(micro("event = \"e\"\nwhere = { url = 5 }\n"),
               {"where: \"url\" must equal a string"});
  CheckRefused(micro("event = \"e\"\nwhere = { \"props.k\" = [1] }\n"),
               {"where: \"props.k\" must equal a string, finite number or bool"});
  CheckRefused(micro("event = \"e\"\nwhere = \"props.k=1\"\n"), {"where must be a table"});
  CheckRefused(LoadToml(dir, "[[micro_conversion]]\nevent = \"e\"\n"),
               {"micro_conversion #1: name is required"});
  CheckRefused(LoadToml(dir, kBase + "[[micro_conversion]]\nname = \"has space\"\nevent = \"e\"\n"),
               {"micro_conversion #2: invalid name \"has space\""});
  CheckRefused(LoadToml(dir, "[funnel]\nname = \"f\"\n"),
               {"funnel must be an array of tables, each written [[funnel]]"});
}

TEST_CASE("funnel steps, window and mode are validated", "[config]") {
  TempDir dir;
  auto funnel = [&](const std::string& steps, const std::string& rest) {
    return LoadToml(dir, kBase + "[[funnel]]\nname = \"checkout\"\nsteps = " + steps + "\n" + rest);
  };
  const std::string kSteps = "[\"add_to_cart\", \"purchase\"]";
  CheckRefused(funnel("[\"add_to_kart\", \"purchase\"]", "window = \"30m\"\n"),
               {"funnel \"checkout\": step \"add_to_kart\" is not a defined micro or macro "
                "conversion"});
  CheckRefused(funnel("[\"purchase\"]", "window = \"30m\"\n"),
               {"funnel \"checkout\": steps has 1 names (allowed: 2..16)"});
  std::string seventeen = "[";
  for (int i = 0; i < 17; ++i) seventeen += std::string(i ? ", " : "") + "\"purchase\"";
  CheckRefused(funnel(seventeen + "]", "window = \"30m\"\n"), {"steps has 17 names"});
  CheckRefused(funnel("[1, 2]", "window = \"30m\"\n"), {"steps must be an array of strings"});
  CheckRefused(
      funnel(kSteps, "window = \"30m\"\nmode = \"sequential\"\n"),
      {"funnel \"checkout\": invalid mode \"sequential\" (allowed: ordered, strict, any)"});
  CheckRefused(funnel(kSteps, "window = \"0s\"\n"), {"funnel \"checkout\": invalid window \"0s\""});
  CheckRefused(funnel(kSteps, "window = 0\n"), {"funnel \"checkout\": invalid window 0"});
  CheckRefused(funnel(kSteps, "window = \"half an hour\"\n"), {"invalid window \"half an hour\""});
  CheckRefused(funnel(kSteps, "window = \"400d\"\n"), {"invalid window \"400d\"", "1ms..365d"});
  CheckRefused(funnel(kSteps, ""), {"funnel \"checkout\": window is required"});
  CheckRefused(LoadToml(dir, kBase + "[[funnel]]\nname = \"f\"\nwindow = \"1m\"\n"),
               {"funnel \"f\": steps is required"});
}

TEST_CASE("experiment target and variants are validated", "[config]") {
  TempDir dir;
  auto experiment = [&](const std::string& body) {
    return LoadToml(dir, kBase + "[[experiment]]\nname = \"video_autoplay\"\n" + body);
  };
  CheckRefused(experiment("target = \"purchase\"\nvariants = [\"control\"]\n"),
               {"experiment \"video_autoplay\": variants has 1 names (allowed: 2..16"});
  CheckRefused(experiment("target = \"purchase\"\nvariants = [\"control\", \"b\", \"control\"]\n"),
               {"experiment \"video_autoplay\": variant \"control\" is listed twice"});
  CheckRefused(experiment("target = \"purchase\"\nvariants = [\"control\", \"\"]\n"),
               {"experiment \"video_autoplay\": invalid variant \"\""});
  CheckRefused(experiment("target = \"purchace\"\nvariants = [\"a\", \"b\"]\n"),
               {"experiment \"video_autoplay\": target \"purchace\" is not a defined micro or "
                "macro conversion"});
  CheckRefused(experiment("variants = [\"a\", \"b\"]\n"), {"target", "is required"});
  CheckRefused(experiment("target = \"purchase\"\n"), {"variants is required"});
}

TEST_CASE("unknown keys inside analytics tables are refused", "[config]") {
  TempDir dir;
  CheckRefused(
      LoadToml(dir, kBase + "[[micro_conversion]]\nname = \"m\"\nevent = \"e\"\nevnt = 1\n"),
      {"micro_conversion \"m\": unknown key \"evnt\" (allowed: name, event, where, "
       "url_prefix, dwell)"});
  CheckRefused(LoadToml(dir,
                        "[[micro_conversion]]\nname = \"m\"\n"
                        "dwell = { url_prefix = \"/p/\", min_engaged_s = 5, max = 9 }\n"),
               {"micro_conversion \"m\": dwell: unknown key \"max\""});
  CheckRefused(LoadToml(dir, "[[macro_conversion]]\nname = \"p\"\nevent = \"p\"\ndwell = {}\n"),
               {"macro_conversion \"p\": unknown key \"dwell\""});
  CheckRefused(LoadToml(dir, kBase + "[[funnel]]\nname = \"f\"\nsteps = [\"add_to_cart\", "
                                     "\"purchase\"]\nwindow = \"1h\"\nwindow_ms = 5\n"),
               {"funnel \"f\": unknown key \"window_ms\""});
  CheckRefused(LoadToml(dir, kBase + "[[experiment]]\nname = \"e\"\ntarget = \"purchase\"\n"
                                     "variants = [\"a\", \"b\"]\ncontrol = \"a\"\n"),
               {"experiment \"e\": unknown key \"control\""});
}

TEST_CASE("every analytics mistake of a file is reported, one per line", "[config]") {
  TempDir dir;
  LoadResult r = LoadToml(dir, kBase + R"(
[[funnel]]
name = "checkout"
steps = ["add_to_kart", "purchase"]
window = "30m"
mode = "fast"
)");
  CheckRefused(r, {"step \"add_to_kart\"", "invalid mode \"fast\""});
  CHECK(r.error.find('\n') != std::string::npos);
  CHECK(r.config.funnels.empty());
}

TEST_CASE("analytics definitions have no environment form", "[config]") {
  LoadResult r = Load({}, {"FOOTHOLD_FUNNEL__NAME=checkout"});
  INFO(r.error);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.error, Catch::Contains("unknown key funnel.name") &&
                          Catch::Contains("read only from the config file"));
}

}  // namespace
TEST_CASE("dimensions read their kind, key, experiment and cap", "[config]") {
  TempDir dir;
  LoadResult r = LoadToml(dir, kBase + R"(
[[experiment]]
name = "exp"
target = "purchase"
variants = ["a", "b"]
[[dimension]]
name = "utm_campaign"
[[dimension]]
name = "plan"
kind = "prop"
key = "plan"
max_values = 5
[[dimension]]
name = "arm"
kind = "experiment"
experiment = "exp"
[[dimension]]
name = "ref"
kind = "referrer_domain"
)");
  INFO(r.error);
  REQUIRE(r.error.empty());
  const std::vector<Dimension>& d = r.config.dimensions;
  REQUIRE(d.size() == 4);
  CHECK((d[0].name == "utm_campaign" && d[0].kind == DimensionKind::kUtmCampaign && d[0].max_values == 20));
  CHECK((d[1].kind == DimensionKind::kProp && d[1].key == "plan" && d[1].max_values == 5));
  CHECK((d[2].kind == DimensionKind::kExperiment && d[2].experiment == "exp"));
  CHECK(d[3].kind == DimensionKind::kReferrerDomain);
}

TEST_CASE("dimension mistakes are refused at start-up", "[config]") {
  TempDir dir;
  CheckRefused(LoadToml(dir, kBase + "[[dimension]]\nname = \"source\"\n"), {"dimension \"source\"", "kind is required"});
  CheckRefused(LoadToml(dir, kBase + "[[dimension]]\nname = \"s\"\nkind = \"browser\"\n"),
               {"invalid kind \"browser\"", "utm_source"});
  CheckRefused(LoadToml(dir, kBase + "[[dimension]]\nname = \"p\"\nkind = \"prop\"\n"), {"kind prop needs key"});
  CheckRefused(LoadToml(dir, kBase + "[[dimension]]\nname = \"device\"\nkey = \"x\"\n"), {"key is for kind prop only"});
  CheckRefused(LoadToml(dir, kBase + "[[dimension]]\nname = \"x\"\nkind = \"experiment\"\nexperiment = \"nope\"\n"),
               {"kind experiment needs experiment", "\"nope\" is not one"});
  CheckRefused(LoadToml(dir, kBase + "[[dimension]]\nname = \"device\"\nmax_values = 0\n"), {"max_values must be an integer 1..100"});
  CheckRefused(LoadToml(dir, kBase + "[[dimension]]\nname = \"device\"\nmax_values = 101\n"), {"max_values"});
  CheckRefused(LoadToml(dir, kBase + "[[dimension]]\nname = \"a:b\"\nkind = \"device\"\n"), {"invalid name \"a:b\""});
  CheckRefused(LoadToml(dir, kBase + "[[dimension]]\nname = \"device\"\n[[dimension]]\nname = \"device\"\n"),
               {"already defined on line"});
  CheckRefused(LoadToml(dir, kBase + "[[dimension]]\nname = \"device\"\ncap = 3\n"), {"unknown key \"cap\""});
}

}  // namespace foothold::config
