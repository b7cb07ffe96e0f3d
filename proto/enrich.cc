#include "proto/enrich.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <iterator>
#include <limits>
#include <random>

namespace foothold::proto {
namespace {

int64_t SatSub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) {
    return b > 0 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
  }
  return r;
}

int64_t SatAdd(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return r;
}

// Per-thread UUIDv7 state. mt19937_64 is fine here: event ids must be unique
// and time-ordered, not unguessable (they are client-visible dedupe keys).
struct IdGenerator {
  IdGenerator() {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    rng.seed(seq);
  }
  std::mt19937_64 rng;
  uint64_t last_ms = 0;
  uint64_t counter = 0;  // 42 bits: rand_a (12) and the top 30 bits of rand_b
  bool started = false;
};

constexpr uint64_t kCounterBits = 42;
constexpr uint64_t kCounterMask = (uint64_t{1} << kCounterBits) - 1;

// Lowercased copy of at most the first kMaxScan bytes: bot markers sit early in
// a UA, and a 100 KB header must not cost 100 KB of work.
constexpr size_t kMaxScan = 1024;

// Lowercase substrings that mark a robot. Shorter markers cover longer ones
// ("crawl" covers crawler, "headless" HeadlessChrome, "bot" Googlebot, bingbot,
// AhrefsBot, GPTBot, Slackbot and most others), so only the short form is listed.
constexpr std::string_view kBotMarkers[] = {
    // crawlers, link previews, archivers
    "bot", "crawl", "spider", "slurp", "scrapy", "archiver", "feedfetcher", "mediapartners-google",
    "google-inspectiontool", "googleother", "facebookexternalhit", "facebookcatalog", "bingpreview",
    "skypeuripreview", "embedly", "vkshare", "prerender", "rendertron",
    // headless and automated browsers, auditing tools
    "headless", "phantomjs", "puppeteer", "playwright", "selenium", "webdriver", "lighthouse",
    "pagespeed", "gtmetrix", "cypress",
    // monitoring
    "pingdom", "uptimerobot", "statuscake", "site24x7", "newrelicpinger", "datadog", "synthetic",
    // HTTP libraries and command-line clients
    "curl/", "wget/", "python-requests", "python-urllib", "aiohttp", "go-http-client", "okhttp",
    "java/", "apache-httpclient", "libwww-perl", "node-fetch"};

// The markers bucketed by their first two letters, built at compile time, so
// that one pass over the UA finds at most a marker or two to compare at each
// position, instead of searching the whole UA once per marker (~10x faster on
// browser UAs, which match nothing).
constexpr size_t kNumMarkers = std::size(kBotMarkers);
constexpr size_t kNumBuckets = 26 * 26;

constexpr bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
constexpr size_t Bucket(char c0, char c1) { return static_cast<size_t>(c0 - 'a') * 26 + (c1 - 'a'); }

struct MarkerTable {
  std::array<uint8_t, kNumBuckets + 1> start{};  // bucket b: sorted[start[b], start[b+1])
  std::array<std::string_view, kNumMarkers> sorted{};
};

constexpr MarkerTable BuildMarkerTable() {
  MarkerTable t;
  size_t k = 0;
  for (size_t b = 0; b < kNumBuckets; ++b) {
    t.start[b] = static_cast<uint8_t>(k);
    for (std::string_view m : kBotMarkers) {
      if (m.size() >= 3 && IsLower(m[0]) && IsLower(m[1]) && Bucket(m[0], m[1]) == b) t.sorted[k++] = m;
    }
  }
  t.start[kNumBuckets] = static_cast<uint8_t>(k);
  return t;
}

constexpr MarkerTable kMarkerTable = BuildMarkerTable();
static_assert(kMarkerTable.start[kNumBuckets] == kNumMarkers,
              "every marker has 3+ bytes and starts with two letters a-z");

}  // namespace

ClampKind AssignEventTime(Event* e, int64_t received_at_ms, std::optional<int64_t> sent_at_ms,
                          const TimePolicy& policy) {
  e->received_at_ms = received_at_ms;
  e->flags &= ~(kFlagTimeClamped | kFlagSkewCorrected | kFlagNoClientTime);
  if (!e->ts_ms) {
    e->event_time_ms = received_at_ms;
    e->flags |= kFlagNoClientTime;
    return ClampKind::kNone;
  }
  int64_t t = *e->ts_ms;
  if (sent_at_ms) {
    // The client's clock is off by (sent_at - received_at); the event happened
    // (sent_at - ts) before the batch was sent, by the client's own clock.
    t = SatSub(received_at_ms, SatSub(*sent_at_ms, *e->ts_ms));
    e->flags |= kFlagSkewCorrected;
  }
  const int64_t lo = SatSub(received_at_ms, policy.max_past_ms);
  const int64_t hi = SatAdd(received_at_ms, policy.max_future_ms);
  ClampKind clamp = ClampKind::kNone;
  if (t < lo) {
    t = lo;
    clamp = ClampKind::kPast;
  } else if (t > hi) {
    t = hi;
    clamp = ClampKind::kFuture;
  }
  if (clamp != ClampKind::kNone) e->flags |= kFlagTimeClamped;
  e->event_time_ms = t;
  return clamp;
}

std::string NewEventId(int64_t now_ms) {
  thread_local IdGenerator gen;
  const uint64_t ms = static_cast<uint64_t>(std::max<int64_t>(now_ms, 0)) & ((uint64_t{1} << 48) - 1);
  // RFC 9562 §6.2 method 1: within one millisecond a counter seeded at random
  // (top bit clear, leaving 2^41 increments of headroom) keeps ids of this
  // thread strictly increasing. A new (or earlier) millisecond reseeds it.
  if (gen.started && ms == gen.last_ms && gen.counter < kCounterMask) {
    ++gen.counter;
  } else {
    gen.counter = gen.rng() & (kCounterMask >> 1);
    gen.last_ms = ms;
    gen.started = true;
  }
  const uint64_t tail = gen.rng() & 0xFFFFFFFFu;
  const uint64_t rand_a = gen.counter >> 30;                  // 12 bits
  const uint64_t rand_b = ((gen.counter & ((uint64_t{1} << 30) - 1)) << 32) | tail;  // 62 bits
  const uint64_t hi = (ms << 16) | (uint64_t{0x7} << 12) | rand_a;
  const uint64_t lo = (uint64_t{0x2} << 62) | rand_b;

  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  size_t pos = 0;
  const auto put = [&](uint64_t v, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i) out[pos++] = kHex[(v >> (i * 4)) & 0xF];
  };
  put(hi >> 32, 8);
  ++pos;
  put((hi >> 16) & 0xFFFF, 4);
  ++pos;
  put(hi & 0xFFFF, 4);
  ++pos;
  put(lo >> 48, 4);
  ++pos;
  put(lo & 0xFFFFFFFFFFFFull, 12);
  return out;
}

namespace {

bool ScanBotUserAgent(std::string_view ua) {
  char lower[kMaxScan];
  const size_t n = std::min(ua.size(), kMaxScan);
  bool blank = true;
  for (size_t i = 0; i < n; ++i) {
    const char c = ua[i];
    lower[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (c != ' ' && c != '\t') blank = false;
  }
  if (blank) return true;  // real browsers always send a User-Agent
  const std::string_view s(lower, n);
  for (size_t i = 0; i + 3 <= n; ++i) {
    if (!IsLower(s[i]) || !IsLower(s[i + 1])) continue;
    const size_t bucket = Bucket(s[i], s[i + 1]);
    for (size_t k = kMarkerTable.start[bucket]; k < kMarkerTable.start[bucket + 1]; ++k) {
      const std::string_view marker = kMarkerTable.sorted[k];
      if (marker.size() > n - i ||
          std::memcmp(marker.data() + 2, s.data() + i + 2, marker.size() - 2) != 0) {
        continue;
      }
      // "Cubot" is an Android phone brand, not a robot.
      if (marker == "bot" && i >= 2 && s.compare(i - 2, 2, "cu") == 0) continue;
      return true;
    }
  }
  return false;
}

// The verdicts of recently seen User-Agents, per thread, direct-mapped by a
// 64-bit hash of the bytes the scan reads (FNV-1a style, eight bytes a step:
// under one instruction a byte): a browser sends the same UA with every beacon
// and a site sees a few hundred distinct ones, so the hash replaces the scan
// (~30 instructions a byte, profiled) nearly always. An entry is used only
// when its bytes equal the request's: collisions can be made on purpose, and
// a crafted bot UA must not decide a browser's.
struct BotVerdictCache {
  static constexpr size_t kSlots = 256;
  struct Slot {
    std::string scanned;
    bool used = false;
    bool bot = false;
  };
  std::array<Slot, kSlots> slots{};
};

}  // namespace

bool IsBotUserAgent(std::string_view ua) {
  thread_local BotVerdictCache cache;
  // The verdict depends on the first kMaxScan bytes only; so does the key.
  const std::string_view scanned = ua.substr(0, kMaxScan);
  uint64_t h = 0xcbf29ce484222325ull ^ scanned.size();
  size_t i = 0;
  for (; i + 8 <= scanned.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, scanned.data() + i, 8);
    h = (h ^ word) * 0x100000001b3ull;
    h ^= h >> 29;
  }
  for (; i < scanned.size(); ++i) h = (h ^ static_cast<unsigned char>(scanned[i])) * 0x100000001b3ull;
  BotVerdictCache::Slot& slot = cache.slots[(h ^ (h >> 32)) % BotVerdictCache::kSlots];
  if (slot.used && slot.scanned == scanned) return slot.bot;
  const bool bot = ScanBotUserAgent(ua);
  slot.scanned.assign(scanned);
  slot.used = true;
  slot.bot = bot;
  return bot;
}

std::string_view Utf8Prefix(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t cut = max_bytes;
  // Back off over continuation bytes (10xxxxxx) so the cut lands on the start
  // of a sequence, dropping a sequence that would not fit whole.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut);
}

void TruncateUtf8(std::string* s, size_t max_bytes) { s->resize(Utf8Prefix(*s, max_bytes).size()); }

}  // namespace foothold::proto
