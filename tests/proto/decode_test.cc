// Body shapes, NDJSON, limits, and body-level errors of proto::Decoder.
#include <catch2/catch.hpp>

#include <string>

#include "proto/decode.h"
#include "proto/error_codes.h"

namespace foothold::proto {
namespace {

DecodedBatch Decode(std::string_view body, BodyFormat format = BodyFormat::kJson,
                    const Limits& limits = Limits{}) {
  Decoder d(limits);
  DecodedBatch out;
  d.DecodeBody(body, format, &out);
  return out;
}

BodyError BodyErrorOf(const DecodedBatch& b) {
  REQUIRE(b.error.has_value());
  CHECK(b.events.empty());
  CHECK(b.rejected.empty());
  return *b.error;
}

std::string Ev(const std::string& name, const std::string& extra = "") {
  return R"({"event":")" + name + R"(","session_id":"s1")" + extra + "}";
}

}  // namespace

TEST_CASE("one event object decodes every field", "[proto]") {
  const auto b = Decode(R"({
    "event": "video_play", "session_id": "s-1", "anonymous_id": "a-1", "user_id": "u-1",
    "event_id": "e-1", "ts": 1714564800000, "url": "https://shop.example/p/1",
    "referrer": "https://google.com/", "title": "Product 1", "engaged_ms": 1500,
    "experiments": {"video_autoplay": "autoplay", "hero": "b"},
    "props": {"video_kind": "demo", "price": 19.99, "count": 3, "ok": true, "none": null},
    "unknown_field": {"ignored": [1, 2, 3]}
  })");
  REQUIRE_FALSE(b.error);
  REQUIRE(b.rejected.empty());
  REQUIRE(b.events.size() == 1);
  REQUIRE(b.indexes == std::vector<uint32_t>{0});
  CHECK_FALSE(b.sent_at_ms);
  const Event& e = b.events[0];
  CHECK(e.event == "video_play");
  CHECK(e.session_id == "s-1");
  CHECK(e.anonymous_id == "a-1");
  CHECK(e.user_id == "u-1");
  CHECK(e.event_id == "e-1");
  CHECK(e.ts_ms == 1714564800000);
  CHECK(e.url == "https://shop.example/p/1");
  CHECK(e.referrer == "https://google.com/");
  CHECK(e.title == "Product 1");
  CHECK(e.engaged_ms == 1500);
  REQUIRE(e.experiments.size() == 2);
  CHECK(e.experiments[0] == std::pair<std::string, std::string>{"video_autoplay", "autoplay"});
  CHECK(e.experiments[1] == std::pair<std::string, std::string>{"hero", "b"});
  REQUIRE(e.props.size() == 5);
  CHECK(e.props[0].key == "video_kind");
  CHECK(e.props[0].type == PropType::kString);
  CHECK(e.props[0].str == "demo");
  CHECK(e.props[1].type == PropType::kNumber);
  CHECK(e.props[1].number == 19.99);
  CHECK(e.props[2].type == PropType::kNumber);
  CHECK(e.props[2].number == 3);
  CHECK(e.props[3].type == PropType::kBool);
  CHECK(e.props[3].boolean);
  CHECK(e.props[4].type == PropType::kNull);
  // Enrichment is the caller's job.
  CHECK(e.received_at_ms == 0);
  CHECK(e.flags == 0);
}

TEST_CASE("a JSON array is a batch, indexes are array positions", "[proto]") {
  const auto b = Decode("[" + Ev("a") + "," + Ev("b") + "," + Ev("c") + "]");
  REQUIRE_FALSE(b.error);
  REQUIRE(b.events.size() == 3);
  CHECK(b.events[2].event == "c");
  CHECK(b.indexes == std::vector<uint32_t>{0, 1, 2});
}

TEST_CASE("the sent_at envelope carries sent_at and its batch", "[proto]") {
  const auto b = Decode(R"({"sent_at": 1714564805000, "v": 2, "batch": [)" + Ev("a") + "," +
                        Ev("b") + "]}");
  REQUIRE_FALSE(b.error);
  REQUIRE(b.events.size() == 2);
  CHECK(b.sent_at_ms == 1714564805000);

  SECTION("sent_at is optional, and null means absent") {
    const auto c = Decode(R"({"batch": [)" + Ev("a") + "]}");
    REQUIRE(c.events.size() == 1);
    CHECK_FALSE(c.sent_at_ms);
    const auto d = Decode(R"({"sent_at": null, "batch": [)" + Ev("a") + "]}");
    REQUIRE(d.events.size() == 1);
    CHECK_FALSE(d.sent_at_ms);
  }
  SECTION("an object with a batch key is an envelope, even with event fields") {
    const auto c = Decode(R"({"event":"x","session_id":"s","batch":[)" + Ev("inner") + "]}");
    REQUIRE(c.events.size() == 1);
    CHECK(c.events[0].event == "inner");
  }
}

TEST_CASE("valid events of a batch are kept when others are rejected", "[proto]") {
  const auto b = Decode("[" + Ev("ok1") + R"(, {"event":"bad\tname","session_id":"s"}, 7, )" +
                        Ev("ok2") + "]");
  REQUIRE_FALSE(b.error);
  REQUIRE(b.events.size() == 2);
  CHECK(b.events[0].event == "ok1");
  CHECK(b.events[1].event == "ok2");
  CHECK(b.indexes == std::vector<uint32_t>{0, 3});
  REQUIRE(b.rejected.size() == 2);
  CHECK(b.rejected[0].index == 1);
  CHECK(b.rejected[0].code == codes::kEventNameInvalid);
  CHECK(b.rejected[0].field == "event");
  CHECK(b.rejected[1].index == 2);
  CHECK(b.rejected[1].code == codes::kEventNotObject);
  CHECK(b.rejected[1].field == "");
  CHECK_FALSE(b.rejected[1].message.empty());
}

TEST_CASE("NDJSON: one event per line, index = 0-based line counting blank lines", "[proto]") {
  const std::string body = Ev("a") + "\n\n" + Ev("b") + "\r\n   \n" + Ev("c") + "\n";
  const auto b = Decode(body, BodyFormat::kNdjson);
  REQUIRE_FALSE(b.error);
  REQUIRE(b.rejected.empty());
  REQUIRE(b.events.size() == 3);
  CHECK(b.events[1].event == "b");
  CHECK(b.indexes == std::vector<uint32_t>{0, 2, 4});

  SECTION("no trailing newline") {
    const auto c = Decode(Ev("a") + "\n" + Ev("b"), BodyFormat::kNdjson);
    CHECK(c.indexes == std::vector<uint32_t>{0, 1});
  }
  SECTION("a JSON array body sent as NDJSON is one line that is not an object") {
    const auto c = Decode("[" + Ev("a") + "]", BodyFormat::kNdjson);
    REQUIRE(c.rejected.size() == 1);
    CHECK(c.rejected[0].code == codes::kEventNotObject);
  }
}

TEST_CASE("NDJSON: a malformed or non-UTF-8 line rejects only that line", "[proto]") {
  const std::string body = Ev("a") + "\n{\"event\":\n" + Ev("b") + "\n" +
                           R"({"event":"x","session_id":"s)" + "\xC3\x28" + "\"}\n" + Ev("c");
  const auto b = Decode(body, BodyFormat::kNdjson);
  REQUIRE_FALSE(b.error);
  CHECK(b.indexes == std::vector<uint32_t>{0, 2, 4});
  REQUIRE(b.rejected.size() == 2);
  CHECK(b.rejected[0].index == 1);
  CHECK(b.rejected[0].code == codes::kJsonInvalid);
  CHECK(b.rejected[0].field == "");
  CHECK(b.rejected[1].index == 3);
  CHECK(b.rejected[1].code == codes::kUtf8Invalid);
}

TEST_CASE("body-level errors", "[proto]") {
  struct Case {
    std::string body;
    const char* code;
  };
  const Case cases[] = {
      {"", codes::kBodyEmpty},
      {" \r\n\t ", codes::kBodyEmpty},
      {"[]", codes::kBodyEmpty},
      {R"({"batch": []})", codes::kBodyEmpty},
      {"{", codes::kJsonInvalid},
      {R"({"event":"a",})", codes::kJsonInvalid},
      {"[" + Ev("a") + "," + Ev("b"), codes::kJsonInvalid},
      {Ev("a") + "\n" + Ev("b"), codes::kJsonInvalid},  // NDJSON sent as JSON
      {"42", codes::kBatchInvalid},
      {"\"an event\"", codes::kBatchInvalid},
      {"null", codes::kBatchInvalid},
      {R"({"batch": {"event": "a"}})", codes::kBatchInvalid},
      {R"({"batch": [], "batch": []})", codes::kBatchInvalid},
      {R"({"sent_at": "2024-01-01T00:00:00Z", "batch": [{}]})", codes::kSentAtInvalid},
      {R"({"sent_at": 1.5, "batch": [{}]})", codes::kSentAtInvalid},
      {R"({"sent_at": -1, "batch": [{}]})", codes::kSentAtInvalid},
      {R"({"sent_at": 1, "sent_at": 2, "batch": [{}]})", codes::kSentAtInvalid},
      {std::string("{\"event\":\"a\xFF\",\"session_id\":\"s\"}"), codes::kUtf8Invalid},
  };
  for (const Case& c : cases) {
    INFO(c.body);
    const BodyError err = BodyErrorOf(Decode(c.body));
    CHECK(err.code == c.code);
    CHECK(codes::HttpStatusFor(err.code) == 400);
    CHECK_FALSE(err.message.empty());
  }
}

TEST_CASE("limits: events per request, body bytes, event bytes", "[proto]") {
  Limits limits;
  limits.max_events = 3;
  limits.max_decoded_bytes = 2000;
  limits.max_event_bytes = 200;

  SECTION("too many events is a 413, at the limit is fine") {
    const std::string three = "[" + Ev("a") + "," + Ev("b") + "," + Ev("c");
    CHECK(Decode(three + "]", BodyFormat::kJson, limits).events.size() == 3);
    const BodyError err = BodyErrorOf(Decode(three + "," + Ev("d") + "]", BodyFormat::kJson, limits));
    CHECK(codes::HttpStatusFor(err.code) == 413);
    CHECK(err.code == codes::kTooManyEvents);
    const BodyError in_envelope = BodyErrorOf(
        Decode(R"({"batch":[)" + three.substr(1) + "," + Ev("d") + "]}", BodyFormat::kJson, limits));
    CHECK(in_envelope.code == codes::kTooManyEvents);
  }
  SECTION("NDJSON counts non-blank lines") {
    const std::string lines = Ev("a") + "\n\n\n" + Ev("b") + "\n" + Ev("c") + "\n\n";
    CHECK(Decode(lines, BodyFormat::kNdjson, limits).events.size() == 3);
    const BodyError err = BodyErrorOf(Decode(lines + Ev("d"), BodyFormat::kNdjson, limits));
    CHECK(codes::HttpStatusFor(err.code) == 413);
    CHECK(err.code == codes::kTooManyEvents);
  }
  SECTION("a body over max_decoded_bytes is a 413 before any parsing") {
    const std::string body = "[" + std::string(2000, ' ') + "]";
    const BodyError err = BodyErrorOf(Decode(body, BodyFormat::kJson, limits));
    CHECK(codes::HttpStatusFor(err.code) == 413);
    CHECK(err.code == codes::kBodyTooLarge);
    CHECK(Decode(body.substr(0, 1999) + "]", BodyFormat::kJson, limits).error->code ==
          codes::kBodyEmpty);  // exactly 2000 bytes: parsed
  }
  SECTION("an event over max_event_bytes is rejected; the others stay") {
    const std::string pad = R"(,"pad":")" + std::string(200, 'x') + "\"";
    const std::string big = Ev("big", pad);
    REQUIRE(big.size() > 200);
    const auto b = Decode("[" + Ev("a") + ",\n  " + big + " ,\n" + Ev("c") + "]", BodyFormat::kJson,
                          limits);
    REQUIRE_FALSE(b.error);
    CHECK(b.indexes == std::vector<uint32_t>{0, 2});
    REQUIRE(b.rejected.size() == 1);
    CHECK(b.rejected[0].index == 1);
    CHECK(b.rejected[0].code == codes::kEventTooLarge);
    CHECK(b.rejected[0].field == "");
  }
  SECTION("the event span is measured exactly: 200 bytes pass, 201 do not") {
    std::string at_limit = Ev("a", R"(,"pad":")");
    at_limit += std::string(200 - at_limit.size() - 2, 'y') + "\"}";
    REQUIRE(at_limit.size() == 200);
    std::string over = at_limit;
    over.insert(over.size() - 2, "y");
    // Strings holding brackets, quotes and escapes must not confuse the span.
    const std::string tricky = Ev("t", R"(,"s":"]}[{\"\\")");
    const auto b = Decode("[" + at_limit + "," + over + "," + tricky + "]", BodyFormat::kJson, limits);
    CHECK(b.indexes == std::vector<uint32_t>{0, 2});
    REQUIRE(b.rejected.size() == 1);
    CHECK(b.rejected[0].index == 1);
    CHECK(b.rejected[0].code == codes::kEventTooLarge);
  }
  SECTION("inside a sent_at envelope, with escaped keys before the batch") {
    const std::string big = Ev("big", R"(,"pad":")" + std::string(250, 'x') + "\"");
    const auto b = Decode(R"({"b\u0061tch_not":1, "sent_at": 5, "batch": [)" + Ev("a") + "," + big +
                              "]}",
                          BodyFormat::kJson, limits);
    REQUIRE_FALSE(b.error);
    CHECK(b.indexes == std::vector<uint32_t>{0});
    REQUIRE(b.rejected.size() == 1);
    CHECK(b.rejected[0].index == 1);
    CHECK(b.rejected[0].code == codes::kEventTooLarge);
  }
  SECTION("a single event object and an NDJSON line") {
    const std::string big = Ev("big", R"(,"pad":")" + std::string(250, 'x') + "\"");
    const auto b = Decode(big, BodyFormat::kJson, limits);
    REQUIRE(b.rejected.size() == 1);
    CHECK(b.rejected[0].code == codes::kEventTooLarge);
    CHECK(b.rejected[0].index == 0);
    const auto n = Decode(Ev("a") + "\n" + big + "\n", BodyFormat::kNdjson, limits);
    CHECK(n.indexes == std::vector<uint32_t>{0});
    REQUIRE(n.rejected.size() == 1);
    CHECK(n.rejected[0].index == 1);
    CHECK(n.rejected[0].code == codes::kEventTooLarge);
  }
}

TEST_CASE("numbers simdjson cannot hold reject one event, not the batch", "[proto]") {
  SECTION("1e400 in a prop") {
    const auto b = Decode("[" + Ev("a") + "," + Ev("b", R"(,"props":{"k":"v","price":1e400})") +
                          "," + Ev("c") + "]");
    REQUIRE_FALSE(b.error);
    CHECK(b.indexes == std::vector<uint32_t>{0, 2});
    REQUIRE(b.rejected.size() == 1);
    CHECK(b.rejected[0].index == 1);
    CHECK(b.rejected[0].code == codes::kNumberInvalid);
    CHECK(b.rejected[0].field == "props.price");
  }
  SECTION("ts = 2^70 in an envelope") {
    const auto b = Decode(R"({"sent_at": 1714564805000, "batch": [)" +
                          Ev("a", R"(,"ts":1180591620717411303424)") + "," + Ev("b") + "]}");
    REQUIRE_FALSE(b.error);
    CHECK(b.sent_at_ms == 1714564805000);
    CHECK(b.indexes == std::vector<uint32_t>{1});
    REQUIRE(b.rejected.size() == 1);
    CHECK(b.rejected[0].index == 0);
    CHECK(b.rejected[0].code == codes::kNumberInvalid);
    CHECK(b.rejected[0].field == "ts");
  }
  SECTION("a single event, and an NDJSON line") {
    const auto b = Decode(Ev("a", R"(,"engaged_ms":-99999999999999999999)"));
    REQUIRE(b.rejected.size() == 1);
    CHECK(b.rejected[0].code == codes::kNumberInvalid);
    CHECK(b.rejected[0].field == "engaged_ms");
    const auto n = Decode(Ev("a") + "\n" + Ev("b", R"(,"props":{"x":-1e999})"), BodyFormat::kNdjson);
    CHECK(n.indexes == std::vector<uint32_t>{0});
    REQUIRE(n.rejected.size() == 1);
    CHECK(n.rejected[0].index == 1);
    CHECK(n.rejected[0].field == "props.x");
  }
  SECTION("in an ignored envelope field: ignored; in sent_at: sent_at_invalid") {
    const auto b = Decode(R"({"extra": 1e400, "batch": [)" + Ev("a") + "]}");
    REQUIRE_FALSE(b.error);
    CHECK(b.events.size() == 1);
    CHECK(BodyErrorOf(Decode(R"({"sent_at": 1e400, "batch": [)" + Ev("a") + "]}")).code ==
          codes::kSentAtInvalid);
  }
  SECTION("a bad number does not excuse broken JSON elsewhere") {
    CHECK(BodyErrorOf(Decode("[" + Ev("a", R"(,"ts":1e400)") + ", {]")).code == codes::kJsonInvalid);
    CHECK(BodyErrorOf(Decode("[" + Ev("a", R"(,"ts":1e400)") + "] x")).code == codes::kJsonInvalid);
    CHECK(BodyErrorOf(Decode("[" + Ev("a", R"(,"ts":1e400)") + "," + Ev("b", R"(,"x":tru)") + "]"))
              .code == codes::kJsonInvalid);
    CHECK(BodyErrorOf(Decode(R"({"batch": [)" + Ev("a", R"(,"ts":1e400)") + R"(], "z": [1,}")"))
              .code == codes::kJsonInvalid);
    CHECK(BodyErrorOf(Decode("1e400")).code == codes::kBatchInvalid);
  }
}

TEST_CASE("nasty input never crashes and gets a precise answer", "[proto]") {
  SECTION("every truncation of a valid batch is json_invalid or body_empty") {
    const std::string full = R"({"sent_at":1714564805000,"batch":[)" +
                             Ev("a", R"(,"props":{"s":"]\"}","n":-1.5e3},"ts":"2024-05-01T12:00:00Z")") +
                             "]}";
    Decoder d(Limits{});
    DecodedBatch out;
    for (size_t n = 0; n < full.size(); ++n) {
      INFO(full.substr(0, n));
      d.DecodeBody(std::string_view(full).substr(0, n), BodyFormat::kJson, &out);
      REQUIRE(out.error.has_value());
      CHECK((out.error->code == codes::kJsonInvalid || out.error->code == codes::kBodyEmpty));
    }
    d.DecodeBody(full, BodyFormat::kJson, &out);
    CHECK(out.events.size() == 1);
  }
  SECTION("100000 unclosed brackets, and balanced nesting past the depth limit") {
    CHECK(BodyErrorOf(Decode(std::string(100000, '['))).code == codes::kJsonInvalid);
    const std::string deep = std::string(5000, '[') + std::string(5000, ']');
    CHECK(BodyErrorOf(Decode(deep)).code == codes::kJsonInvalid);
    const auto n = Decode(Ev("a") + "\n" + std::string(100000, '{'), BodyFormat::kNdjson);
    CHECK(n.events.size() == 1);
    REQUIRE(n.rejected.size() == 1);
    CHECK(n.rejected[0].code == codes::kEventTooLarge);
    Limits big;
    big.max_event_bytes = 1 << 20;
    const auto m = Decode(Ev("a") + "\n" + deep, BodyFormat::kNdjson, big);
    REQUIRE(m.rejected.size() == 1);
    CHECK(m.rejected[0].code == codes::kJsonInvalid);
    const std::string deep_props =
        Ev("a", R"(,"props":{"x":)" + std::string(2000, '[') + std::string(2000, ']') + "}");
    CHECK(BodyErrorOf(Decode(deep_props, BodyFormat::kJson, big)).code == codes::kJsonInvalid);
  }
  SECTION("NUL bytes: raw ones are invalid JSON, escaped ones are invalid in ids") {
    CHECK(BodyErrorOf(Decode(std::string("{\"event\":\"a\"}\0", 14))).code == codes::kJsonInvalid);
    CHECK(BodyErrorOf(Decode(std::string("{\"event\":\"a\0\",\"session_id\":\"s\"}", 31))).code ==
          codes::kJsonInvalid);
    const auto b = Decode(R"({"event":"a","anonymous_id":"x\u0000y"})");
    REQUIRE(b.rejected.size() == 1);
    CHECK(b.rejected[0].code == codes::kFieldInvalid);
    CHECK(b.rejected[0].field == "anonymous_id");
    const auto t = Decode(Ev("a", R"(,"title":"x\u0000y")"));
    REQUIRE(t.events.size() == 1);
    CHECK(t.events[0].title == std::string("x\0y", 3));
  }
  SECTION("overlong UTF-8 and lone surrogates are invalid UTF-8") {
    CHECK(BodyErrorOf(Decode(Ev("a", ",\"title\":\"\xC0\xAF\""))).code == codes::kUtf8Invalid);
    CHECK(BodyErrorOf(Decode(Ev("a", ",\"title\":\"\xED\xA0\x80\""))).code == codes::kUtf8Invalid);
  }
  SECTION("a huge string is bounded by the event limit, then by the field limit") {
    const std::string huge = Ev("a", R"(,"title":")" + std::string(1 << 20, 'x') + "\"");
    const auto b = Decode(huge);
    REQUIRE(b.rejected.size() == 1);
    CHECK(b.rejected[0].code == codes::kEventTooLarge);
    Limits big;
    big.max_event_bytes = 2 << 20;
    const auto c = Decode(huge, BodyFormat::kJson, big);
    REQUIRE(c.rejected.size() == 1);
    CHECK(c.rejected[0].code == codes::kFieldTooLong);
    CHECK(c.rejected[0].field == "title");
  }
  SECTION("a UTF-8 byte order mark is skipped") {
    const auto b = Decode("\xEF\xBB\xBF" + Ev("a"));
    REQUIRE_FALSE(b.error);
    CHECK(b.events.size() == 1);
  }
}

TEST_CASE("a Decoder is reusable: no state leaks between bodies", "[proto]") {
  Decoder d(Limits{});
  DecodedBatch out;
  // A body above the retained-capacity threshold, then small ones.
  std::string big = "[";
  for (int i = 0; i < 450; ++i) {
    if (i) big += ',';
    big += Ev("e" + std::to_string(i), R"(,"pad":")" + std::string(4000, 't') + "\"");
  }
  big += "]";
  REQUIRE(big.size() > (1 << 20));
  d.DecodeBody(big, BodyFormat::kJson, &out);
  REQUIRE_FALSE(out.error);
  REQUIRE(out.events.size() == 450);
  CHECK(out.events[449].event == "e449");

  d.DecodeBody(R"({"sent_at":1,"batch":[)" + Ev("x") + "]}", BodyFormat::kJson, &out);
  CHECK(out.events.size() == 1);
  CHECK(out.sent_at_ms == 1);
  d.DecodeBody("[" + Ev("y") + ",5]", BodyFormat::kJson, &out);
  CHECK_FALSE(out.sent_at_ms);
  CHECK(out.events.size() == 1);
  CHECK(out.events[0].event == "y");
  CHECK(out.rejected.size() == 1);
  d.DecodeBody("{", BodyFormat::kJson, &out);
  CHECK(out.error);
  d.DecodeBody(Ev("z"), BodyFormat::kJson, &out);
  CHECK_FALSE(out.error);
  CHECK(out.rejected.empty());
  CHECK(out.events.size() == 1);
}

// Event spans are bounded from the DOM first (decode.cc SpansNeeded) and
// scanned exactly only when the bound cannot rule out an oversized event.
TEST_CASE("limits: max_event_bytes in bodies far larger than one event", "[proto]") {
  Limits limits;
  limits.max_events = 100;
  limits.max_decoded_bytes = 100000;
  limits.max_event_bytes = 200;
  std::vector<std::string> small;
  for (int i = 0; i < 50; ++i) small.push_back(Ev("e" + std::to_string(i), R"(,"ts":1732800000000)"));
  auto join = [](const std::vector<std::string>& events, const std::string& sep) {
    std::string out = "[";
    for (size_t i = 0; i < events.size(); ++i) out += (i ? sep : "") + events[i];
    return out + "]";
  };
  SECTION("many small events: all accepted, compact or padded with whitespace") {
    for (const std::string& sep : {std::string(","), "," + std::string(300, ' ')}) {
      const std::string body = join(small, sep);
      REQUIRE(body.size() > 2000);
      const auto b = Decode(body, BodyFormat::kJson, limits);
      CHECK(b.events.size() == 50);
      CHECK(b.rejected.empty());
      const auto env = Decode(R"({"sent_at":1732800000000,"batch":)" + body + "}", BodyFormat::kJson, limits);
      CHECK(env.events.size() == 50);
      CHECK(env.rejected.empty());
    }
  }
  SECTION("escapes make an event longer than its decoded strings: still measured as sent") {
    std::string escaped = Ev("esc", R"(,"pad":")");
    while (escaped.size() + 6 + 2 <= 201) escaped += R"(\u0078)";
    escaped += std::string(201 - escaped.size() - 2, 'x') + "\"}";
    REQUIRE(escaped.size() == 201);
    std::string at_limit = escaped.substr(0, escaped.size() - 3) + "\"}";
    REQUIRE(at_limit.size() == 200);
    std::vector<std::string> events = small;
    events[10] = escaped;
    events[20] = at_limit;
    const auto b = Decode(join(events, ","), BodyFormat::kJson, limits);
    CHECK(b.events.size() == 49);
    REQUIRE(b.rejected.size() == 1);
    CHECK(b.rejected[0].index == 10);
    CHECK(b.rejected[0].code == codes::kEventTooLarge);
  }
}

}  // namespace foothold::proto
