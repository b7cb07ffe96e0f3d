// Enrichment helpers: event time, UUIDv7 event ids, bot detection, UTF-8 truncation.
#include <catch2/catch.hpp>

#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "proto/enrich.h"

namespace foothold::proto {
namespace {

constexpr int64_t kNow = 1714564800000;  // 2024-05-01T12:00:00Z
constexpr int64_t kHour = 3600 * 1000;

Event WithTs(std::optional<int64_t> ts) {
  Event e;
  e.ts_ms = ts;
  return e;
}

uint64_t HexValue(std::string_view hex) {
  uint64_t v = 0;
  for (char c : hex) v = v * 16 + static_cast<uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
  return v;
}

}  // namespace

TEST_CASE("AssignEventTime: ts, skew correction, clamping, flags", "[proto]") {
  const TimePolicy policy;

  SECTION("no ts: event time is received_at") {
    Event e = WithTs(std::nullopt);
    CHECK(AssignEventTime(&e, kNow, 42, policy) == ClampKind::kNone);
    CHECK(e.received_at_ms == kNow);
    CHECK(e.event_time_ms == kNow);
    CHECK(e.flags == kFlagNoClientTime);
  }
  SECTION("ts within the window is kept") {
    Event e = WithTs(kNow - 5000);
    CHECK(AssignEventTime(&e, kNow, std::nullopt, policy) == ClampKind::kNone);
    CHECK(e.event_time_ms == kNow - 5000);
    CHECK(e.flags == 0);
  }
  SECTION("sent_at corrects a client clock that runs an hour fast") {
    // The client thinks it is kNow + 1h when it sends; the event was 5 s earlier.
    Event e = WithTs(kNow + kHour - 5000);
    CHECK(AssignEventTime(&e, kNow, kNow + kHour, policy) == ClampKind::kNone);
    CHECK(e.event_time_ms == kNow - 5000);
    CHECK(e.flags == kFlagSkewCorrected);
    // Without sent_at the same ts lies an hour in the future: clamped.
    Event f = WithTs(kNow + kHour - 5000);
    CHECK(AssignEventTime(&f, kNow, std::nullopt, policy) == ClampKind::kFuture);
    CHECK(f.event_time_ms == kNow + 60 * 1000);
    CHECK(f.flags == kFlagTimeClamped);
  }
  SECTION("a slow client clock, corrected") {
    Event e = WithTs(kNow - 100 * kHour);
    CHECK(AssignEventTime(&e, kNow, kNow - 100 * kHour + 2000, policy) == ClampKind::kNone);
    CHECK(e.event_time_ms == kNow - 2000);
  }
  SECTION("clamped into [received_at - 72 h, received_at + 1 min], bounds inclusive") {
    Event e = WithTs(kNow - 72 * kHour);
    CHECK(AssignEventTime(&e, kNow, std::nullopt, policy) == ClampKind::kNone);
    e.ts_ms = kNow - 72 * kHour - 1;
    CHECK(AssignEventTime(&e, kNow, std::nullopt, policy) == ClampKind::kPast);
    CHECK(e.event_time_ms == kNow - 72 * kHour);
    CHECK((e.flags & kFlagTimeClamped) != 0);
    e.ts_ms = kNow + 60 * 1000;
    CHECK(AssignEventTime(&e, kNow, std::nullopt, policy) == ClampKind::kNone);
    CHECK(e.flags == 0);  // reassigning clears the earlier clamp flag
    e.ts_ms = 0;
    CHECK(AssignEventTime(&e, kNow, kNow, policy) == ClampKind::kPast);
    CHECK(e.flags == (kFlagSkewCorrected | kFlagTimeClamped));
  }
  SECTION("other flags survive; extreme inputs do not overflow") {
    Event e = WithTs(std::numeric_limits<int64_t>::max());
    e.flags = kFlagEventIdAssigned | kFlagSessionDerived;
    CHECK(AssignEventTime(&e, kNow, std::numeric_limits<int64_t>::min(), policy) ==
          ClampKind::kFuture);
    CHECK(e.event_time_ms == kNow + 60 * 1000);
    CHECK((e.flags & (kFlagEventIdAssigned | kFlagSessionDerived)) ==
          (kFlagEventIdAssigned | kFlagSessionDerived));
    TimePolicy wide{std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max()};
    Event f = WithTs(std::numeric_limits<int64_t>::min());
    CHECK(AssignEventTime(&f, -5, std::nullopt, wide) == ClampKind::kNone);
  }
}

TEST_CASE("NewEventId: UUIDv7 layout, time, version and variant", "[proto]") {
  const std::string id = NewEventId(kNow);
  REQUIRE(id.size() == 36);
  for (size_t i = 0; i < id.size(); ++i) {
    INFO(id << " at " << i);
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      CHECK(id[i] == '-');
    } else {
      CHECK(((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')));
    }
  }
  const std::string hex = id.substr(0, 8) + id.substr(9, 4);
  CHECK(HexValue(hex) == static_cast<uint64_t>(kNow));  // 48-bit big-endian ms
  CHECK(id[14] == '7');                                 // version
  CHECK(std::string("89ab").find(id[19]) != std::string::npos);  // variant 10xx
  CHECK(NewEventId(0).substr(0, 13) == "00000000-0000");
  CHECK(NewEventId(-5).substr(0, 13) == "00000000-0000");
}

TEST_CASE("NewEventId: unique, and increasing within a thread", "[proto]") {
  std::set<std::string> seen;
  std::string prev;
  for (int i = 0; i < 20000; ++i) {
    const std::string id = NewEventId(kNow + i / 1000);  // 1000 ids per millisecond
    CHECK(id > prev);
    prev = id;
    seen.insert(id);
  }
  CHECK(seen.size() == 20000);

  std::vector<std::string> a, b;
  std::thread ta([&] { for (int i = 0; i < 5000; ++i) a.push_back(NewEventId(kNow)); });
  std::thread tb([&] { for (int i = 0; i < 5000; ++i) b.push_back(NewEventId(kNow)); });
  ta.join();
  tb.join();
  std::set<std::string> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  CHECK(all.size() == 10000);
}

TEST_CASE("IsBotUserAgent: crawlers, headless browsers, HTTP libraries, empty", "[proto]") {
  const char* bots[] = {
      "",
      "   ",
      "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
      "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
      "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
      "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
      "Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)",
      "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
      "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; +https://openai.com/gptbot)",
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
      "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
      "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 Chrome-Lighthouse",
      "curl/8.4.0",
      "Wget/1.21.3",
      "python-requests/2.31.0",
      "Go-http-client/2.0",
      "okhttp/4.12.0",
      "Java/17.0.2",
      "Apache-HttpClient/4.5.14 (Java/17.0.2)",
      "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
      "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
      "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
      "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
  };
  for (const char* ua : bots) {
    INFO(ua);
    CHECK(IsBotUserAgent(ua));
  }
  const char* humans[] = {
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0",
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
      "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
      "Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
  };
  for (const char* ua : humans) {
    INFO(ua);
    CHECK_FALSE(IsBotUserAgent(ua));
  }
  // A marker beyond the first KiB is not looked for; a huge header costs little.
  CHECK_FALSE(IsBotUserAgent(std::string(2000, 'x') + "bot"));
  CHECK(IsBotUserAgent(std::string(100000, 'x')) == false);
}

TEST_CASE("IsBotUserAgent: remembered verdicts never leak between User-Agents", "[proto]") {
  const std::string human = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
  const std::string bot = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)";
  // Alternating, and after more distinct User-Agents than the cache holds.
  for (int round = 0; round < 3; ++round) {
    CHECK_FALSE(IsBotUserAgent(human));
    CHECK(IsBotUserAgent(bot));
    for (int i = 0; i < 1000; ++i) {
      const std::string ua = human + " Build/" + std::to_string(i);
      CHECK_FALSE(IsBotUserAgent(ua));
      CHECK(IsBotUserAgent(ua + " crawler"));
    }
  }
  // Same first KiB, different length: both are read only that far, so they agree.
  const std::string head(1024, 'x');
  CHECK_FALSE(IsBotUserAgent(head + "bot"));
  CHECK_FALSE(IsBotUserAgent(head));
  CHECK(IsBotUserAgent(std::string(1021, 'x') + "bot"));
  CHECK(IsBotUserAgent(""));
  CHECK(IsBotUserAgent(" "));
}

TEST_CASE("TruncateUtf8 never splits a sequence", "[proto]") {
  const auto cut = [](std::string s, size_t n) {
    TruncateUtf8(&s, n);
    return s;
  };
  CHECK(cut("hello", 10) == "hello");
  CHECK(cut("hello", 5) == "hello");
  CHECK(cut("hello", 3) == "hel");
  CHECK(cut("hello", 0) == "");
  const std::string e_acute = "\xC3\xA9";            // 2 bytes
  const std::string euro = "\xE2\x82\xAC";           // 3 bytes
  const std::string emoji = "\xF0\x9F\x98\x80";      // 4 bytes
  const std::string s = "a" + e_acute + euro + emoji;  // 1 + 2 + 3 + 4 = 10 bytes
  CHECK(cut(s, 1) == "a");
  CHECK(cut(s, 2) == "a");
  CHECK(cut(s, 3) == "a" + e_acute);
  CHECK(cut(s, 5) == "a" + e_acute);
  CHECK(cut(s, 6) == "a" + e_acute + euro);
  CHECK(cut(s, 9) == "a" + e_acute + euro);
  CHECK(cut(s, 10) == s);
  std::string ua(600, 'u');
  TruncateUtf8(&ua, 512);
  CHECK(ua.size() == 512);
}

}  // namespace foothold::proto
