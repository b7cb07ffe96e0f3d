// Segments (storage/README.md "Segments"): how a dimension's value is read
// from an event and normalised, and the segment counters over a hand-made
// dataset whose every count is worked out below — the cardinality cap, an
// out-of-order earlier event that must not move a session's value, prop and
// experiment dimensions — the same live, across restarts between every
// request, with sessions read back from the store, and under `verify`.
#include <algorithm>
#include <map>

#include "storage/aggregate/dimensions.h"
#include "storage/privacy/erasure.h"
#include "storage/verify.h"
#include "tests/storage/test_util.h"

namespace foothold::storage {
namespace {

using testing::AppendSync;
using testing::MakeEvent;
using testing::OpenStore;
using testing::TempDir;
using testing::TestOptions;

constexpr int64_t kMin = 60 * 1000;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kDayStart = 1763596800000;  // 2025-11-20T00:00:00Z

int64_t At(int h, int m) { return kDayStart + h * kHour + m * kMin; }

constexpr char kIphone[] =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1";
constexpr char kIpad[] = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Safari/604.1";
constexpr char kFirefox[] = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

config::Matcher Match(std::string event) { return config::Matcher{std::move(event), {}, ""}; }

config::Dimension Dim(std::string name, config::DimensionKind kind, size_t max_values = 20) {
  config::Dimension d;
  d.name = std::move(name);
  d.kind = kind;
  d.max_values = max_values;
  return d;
}

AnalyticsDefs Defs() {
  AnalyticsDefs d;
  d.micro.push_back({"add_to_cart", config::MicroConversion::Kind::kEvent, Match("add_to_cart"), {}});
  d.macro.push_back({"purchase", Match("purchase")});
  d.funnels.push_back({"checkout", {"add_to_cart", "purchase"}, 30 * kMin, config::FunnelMode::kOrdered});
  d.experiments.push_back({"exp", "purchase", {"control", "b"}, {1, 1}});
  d.dimensions.push_back(Dim("src", config::DimensionKind::kUtmSource, 2));
  d.dimensions.push_back(Dim("device", config::DimensionKind::kDevice));
  config::Dimension plan = Dim("plan", config::DimensionKind::kProp);
  plan.key = "plan";
  d.dimensions.push_back(plan);
  config::Dimension arm = Dim("arm", config::DimensionKind::kExperiment);
  arm.experiment = "exp";
  d.dimensions.push_back(arm);
  return d;
}

proto::Event Ev(std::string name, std::string sid, int64_t t, std::string url = "", std::string ua = "") {
  proto::Event e = MakeEvent(std::move(name), std::move(sid), t);
  e.url = std::move(url);
  e.user_agent = std::move(ua);
  return e;
}

// In arrival order. Cap 2 on src: google and newsletter are counted, the
// third value (facebook) is "(other)".
std::vector<std::vector<proto::Event>> Dataset() {
  std::vector<std::vector<proto::Event>> r;
  // s1: google (upper case in the url), iPhone, plan=pro on its second event, variant b, cart + purchase.
  proto::Event s1a = Ev("page_view", "s1", At(10, 0), "https://shop.example/?utm_source=Google&utm_medium=cpc", kIphone);
  s1a.experiments.emplace_back("exp", "b");
  proto::Event s1b = Ev("add_to_cart", "s1", At(10, 5), "https://shop.example/p/1", kIphone);
  proto::Prop plan;
  plan.key = "plan";
  plan.type = proto::PropType::kString;
  plan.str = "pro";
  s1b.props.push_back(plan);
  r.push_back({s1a, s1b});
  r.push_back({Ev("purchase", "s1", At(10, 9), "https://shop.example/checkout", kIphone)});
  // s2: google, desktop, control, cart only.
  proto::Event s2a = Ev("page_view", "s2", At(11, 0), "/?utm_source=google", kFirefox);
  s2a.experiments.emplace_back("exp", "control");
  r.push_back({s2a, Ev("add_to_cart", "s2", At(11, 2), "/p/2", kFirefox)});
  // s3: newsletter, desktop, purchase without cart.
  r.push_back({Ev("purchase", "s3", At(12, 0), "/?utm_source=newsletter", kFirefox)});
  // s4: facebook -> "(other)" (the cap is full), iPad.
  r.push_back({Ev("page_view", "s4", At(13, 0), "/?utm_source=facebook", kIpad)});
  // s5: lands on google at 14:10; an earlier event (14:00, facebook) arrives
  // later and must not move it. No User-Agent: device (unknown).
  r.push_back({Ev("page_view", "s5", At(14, 10), "/?utm_source=google")});
  proto::Event late = Ev("page_view", "s5", At(14, 0), "/?utm_source=facebook");
  late.received_at_ms = At(14, 12);
  r.push_back({late});
  r.push_back({MakeEvent("tick", "tick", At(17, 0))});  // closes every session above
  return r;
}

void CheckCounts(EventStore& store) {
  REQUIRE(store.WaitAggregated(30000));
  const TimeRange day{kDayStart, kDayStart + kDay};
  std::vector<std::string> values;
  REQUIRE(store.QueryDimensionValues("src", &values).ok());
  CHECK(values == std::vector<std::string>{"google", "newsletter"});
  REQUIRE(store.QueryDimensionValues("device", &values).ok());
  CHECK(values == std::vector<std::string>{"(unknown)", "desktop", "mobile", "tablet"});

  auto sessions = [&](std::string dim, std::string value) {
    SegmentSessions s;
    REQUIRE(store.QuerySegmentSessions({dim, value}, day, &s).ok());
    std::map<std::string, uint64_t> out{{"$closed", s.sessions}};
    for (const auto& c : s.conversions) out[c.name] = c.sessions;
    return out;
  };
  using Counts = std::map<std::string, uint64_t>;
  CHECK(sessions("src", "google") == Counts{{"$closed", 3}, {"add_to_cart", 2}, {"purchase", 1}});
  CHECK(sessions("src", "newsletter") == Counts{{"$closed", 1}, {"add_to_cart", 0}, {"purchase", 1}});
  CHECK(sessions("src", "(other)") == Counts{{"$closed", 1}, {"add_to_cart", 0}, {"purchase", 0}});
  CHECK(sessions("src", "facebook") == Counts{{"$closed", 0}, {"add_to_cart", 0}, {"purchase", 0}});
  CHECK(sessions("device", "mobile")["$closed"] == 1);
  CHECK(sessions("device", "desktop") == Counts{{"$closed", 2}, {"add_to_cart", 1}, {"purchase", 1}});
  CHECK(sessions("device", "tablet")["$closed"] == 1);
  CHECK(sessions("device", "(unknown)")["$closed"] == 1);
  CHECK(sessions("plan", "pro") == Counts{{"$closed", 1}, {"add_to_cart", 1}, {"purchase", 1}});
  CHECK(sessions("plan", "(none)")["$closed"] == 4);
  CHECK(sessions("arm", "b")["$closed"] == 1);
  CHECK(sessions("arm", "control")["$closed"] == 1);
  CHECK(sessions("arm", "(none)")["$closed"] == 3);

  const AnalyticsDefs& defs = store.analytics();
  FunnelCounts funnel;
  REQUIRE(store.QueryFunnel(defs.funnels[0], day, &funnel, {"src", "google"}).ok());
  CHECK(funnel.reached == std::vector<uint64_t>{2, 1});
  REQUIRE(store.QueryFunnel(defs.funnels[0], day, &funnel, {"device", "desktop"}).ok());
  CHECK(funnel.reached == std::vector<uint64_t>{1, 0});
  REQUIRE(store.QueryFunnel(defs.funnels[0], day, &funnel).ok());  // unsegmented: unchanged
  CHECK(funnel.reached == std::vector<uint64_t>{2, 1});

  std::vector<LiftCells> lift;
  REQUIRE(store.QueryLift("purchase", day, &lift, {"src", "google"}).ok());
  REQUIRE(lift.size() == 1);
  CHECK(std::vector<uint64_t>{lift[0].a, lift[0].b, lift[0].c, lift[0].d} == std::vector<uint64_t>{1, 1, 0, 1});
  REQUIRE(store.QueryLift("purchase", day, &lift).ok());
  CHECK(std::vector<uint64_t>{lift[0].a, lift[0].b, lift[0].c, lift[0].d} == std::vector<uint64_t>{1, 1, 1, 2});

  std::vector<ExperimentDay> days;
  REQUIRE(store.QueryExperiment(defs.experiments[0], day, &days, {"device", "mobile"}).ok());
  REQUIRE(days.size() == 1);
  CHECK((days[0].variants[1].variant == "b" && days[0].variants[1].exposed == 1 &&
         days[0].variants[1].converted == 1));
  CHECK(days[0].variants[0].exposed == 0);
}

StoreOptions Options(const TempDir& dir) {
  StoreOptions o = TestOptions(dir.path());
  o.analytics = Defs();
  o.retention_days = 0;  // the dataset is years old by the wall clock
  return o;
}

void CheckVerify(const StoreOptions& options) {
  VerifyReport report;
  REQUIRE(Verify(options, &report).ok());
  INFO((report.differences.empty() ? "" : report.differences[0]));
  CHECK(report.ok());
}

}  // namespace

TEST_CASE("dimension values are read from the landing event and normalised", "[storage]") {
  CHECK(UtmParam("https://a.example/?x=1&utm_source=Spring%20Sale&y", "utm_source") == "Spring Sale");
  CHECK(UtmParam("/p/1?utm_medium=cpc#utm_source=no", "utm_source") == "");
  CHECK(UtmParam("/p/1", "utm_source") == "");
  CHECK(RegistrableDomain("https://www.google.com/search?q=x") == "google.com");
  CHECK(RegistrableDomain("https://news.bbc.co.uk/x") == "bbc.co.uk");
  CHECK(RegistrableDomain("http://user@10.0.0.1:8080/") == "10.0.0.1");
  CHECK(RegistrableDomain("/relative") == "");
  CHECK(DeviceClass(kIphone) == "mobile");
  CHECK(DeviceClass(kIpad) == "tablet");
  CHECK(DeviceClass("Mozilla/5.0 (Linux; Android 14; SM-X200) AppleWebKit/537.36 Safari/537.36") == "tablet");
  CHECK(DeviceClass("Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari/537.36") == "mobile");
  CHECK(DeviceClass(kFirefox) == "desktop");
  CHECK(DeviceClass("") == "(unknown)");
  // foothold.js ids: Date.now() in base 36, then random digits; UUIDv7 carries the ms.
  const int64_t t = 1763596800000;  // 2025-11-20T00:00:00Z = "mi6o0000" in base 36
  CHECK(VisitorKind("mi6o0000abcdefghij", t + 5 * kMin, 30 * kMin) == "new");
  CHECK(VisitorKind("mi6o0000abcdefghij", t + 2 * kDay, 30 * kMin) == "returning");
  CHECK(VisitorKind("019a9e8f-9000-7000-8000-000000000000", t + 5 * kMin, 30 * kMin) == "new");
  CHECK(VisitorKind("0f8fad5b-d9cb-469f-a165-70867728950e", t, 30 * kMin) == "(unknown)");  // UUIDv4
  CHECK(VisitorKind("lg-1-v7", t, 30 * kMin) == "(unknown)");
  CHECK(NormaliseValue("Google", true, "(none)") == "google");
  CHECK(NormaliseValue("", true, "(none)") == "(none)");
  CHECK(NormaliseValue("(none)", false, "(none)") == "_none)");  // a real value never looks like a label
  CHECK(NormaliseValue("a\tb", false, "") == "a_b");
  const std::string cut = NormaliseValue(std::string(63, 'x') + "\xc3\xa9", false, "");  // é across the cap
  CHECK(cut == std::string(63, 'x'));
}

TEST_CASE("a redacted record reads the same segment values, and keeps nothing more than they need", "[storage]") {
  AnalyticsDefs defs = Defs();
  for (config::DimensionKind kind : {config::DimensionKind::kUtmMedium, config::DimensionKind::kUtmCampaign,
                                     config::DimensionKind::kReferrerDomain, config::DimensionKind::kVisitor}) {
    defs.dimensions.push_back(Dim("d" + std::to_string(static_cast<int>(kind)), kind));
  }
  proto::Event e = Ev("page_view", "s1", At(10, 0),
                      "https://shop.example/p/1?utm_source=News%20Letter&utm_campaign=a%26b&email=x@y.example", kIphone);
  e.referrer = "https://mail.google.com/inbox/u/0?secret=1";
  e.anonymous_id = "mi6o0000abcdefghij";
  proto::Prop plan;
  plan.key = "plan";
  plan.type = proto::PropType::kString;
  plan.str = "pro";
  e.props.push_back(plan);
  const proto::Event r = RedactRecord(e, defs, "erased-1");
  for (const config::Dimension& d : defs.dimensions) {
    INFO(d.name);
    if (FromLandingEvent(d.kind)) CHECK(LandingValue(d, r, 30 * kMin) == LandingValue(d, e, 30 * kMin));
  }
  std::string value;
  REQUIRE(PropValue(defs.dimensions[2], r, &value));
  CHECK(value == "pro");
  CHECK(r.url == "https://shop.example/p/1?utm_source=News%20Letter&utm_campaign=a%26b");
  CHECK(r.url.find("email") == std::string::npos);
  CHECK(r.referrer == "https://mail.google.com/");
  CHECK(r.user_agent == "(redacted) mobile");
  CHECK(r.anonymous_id == "mi6o00000000000000");
  // UUIDv7 ids read the same after redaction too, also ones whose time is out
  // of the tracker's range (epoch 0, after 2059): "(unknown)" before and after.
  for (const char* id : {"019a9e8f-9000-7000-8000-000000000000", "00000000-0000-7000-8000-000000000000",
                         "fffffffe-0000-7000-8000-000000000000"}) {
    INFO(id);
    proto::Event u = e;
    u.anonymous_id = id;
    const config::Dimension& visitor = defs.dimensions.back();
    CHECK(LandingValue(visitor, RedactRecord(u, defs, "erased-1"), 30 * kMin) == LandingValue(visitor, u, 30 * kMin));
  }
  // Without dimensions nothing of it is kept.
  defs.dimensions.clear();
  const proto::Event bare = RedactRecord(e, defs, "erased-1");
  CHECK(bare.url == "https://shop.example/p/1");
  CHECK((bare.referrer.empty() && bare.user_agent.empty() && bare.anonymous_id.empty() && bare.props.empty()));
}

TEST_CASE("segment counters count a hand-made dataset exactly, and verify recounts them", "[storage]") {
  TempDir dir;
  StoreOptions options = Options(dir);
  {
    auto store = OpenStore(options);
    for (auto& request : Dataset()) REQUIRE(AppendSync(*store, std::move(request)).status.ok());
    CheckCounts(*store);
  }
  CheckVerify(options);
}

TEST_CASE("segment counters and the value cap are the same across restarts between every request", "[storage]") {
  TempDir dir;
  StoreOptions options = Options(dir);
  options.aggregate_live = false;  // each request is aggregated at Close; the cap is reloaded at open
  for (auto& request : Dataset()) {
    auto store = OpenStore(options);
    REQUIRE(AppendSync(*store, std::move(request)).status.ok());
  }
  options.aggregate_live = true;
  {
    auto store = OpenStore(options);
    CheckCounts(*store);
  }
  CheckVerify(options);
}

TEST_CASE("segment values survive sessions read back from the store", "[storage]") {
  TempDir dir;
  StoreOptions options = Options(dir);
  options.session_cache = 1;
  {
    auto store = OpenStore(options);
    for (auto& request : Dataset()) {
      REQUIRE(AppendSync(*store, std::move(request)).status.ok());
      REQUIRE(store->WaitAggregated(30000));
    }
    CheckCounts(*store);
  }
  CheckVerify(options);
}

}  // namespace foothold::storage
