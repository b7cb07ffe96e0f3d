// The Segment mapping (proto/README.md "Segment mapping"): every call type,
// identities, times, context, and the lenient properties rules.
#include <catch2/catch.hpp>

#include <string>

#include "proto/error_codes.h"
#include "proto/segment.h"

namespace foothold::proto {
namespace {

SegmentBatch Decode(std::string_view body, SegmentCall call = SegmentCall::kBatch,
                    SegmentLimits limits = {}) {
  Decoder d(Limits{});
  SegmentBatch out;
  DecodeSegment(&d, body, call, limits, &out);
  return out;
}

// Decodes one message of `call` and requires that it maps.
Event One(std::string_view body, SegmentCall call, SegmentMessage* m = nullptr) {
  INFO(body);
  SegmentBatch b = Decode(body, call);
  REQUIRE_FALSE(b.decoded.error);
  REQUIRE(b.decoded.rejected.empty());
  REQUIRE(b.decoded.events.size() == 1);
  REQUIRE(b.messages.size() == 1);
  if (m) *m = b.messages[0];
  return b.decoded.events[0];
}

Rejection RejectOne(std::string_view body, SegmentCall call) {
  INFO(body);
  SegmentBatch b = Decode(body, call);
  REQUIRE_FALSE(b.decoded.error);
  REQUIRE(b.decoded.events.empty());
  REQUIRE(b.decoded.rejected.size() == 1);
  return b.decoded.rejected[0];
}

const Prop* FindProp(const Event& e, std::string_view key) {
  for (const Prop& p : e.props) {
    if (p.key == key) return &p;
  }
  return nullptr;
}

std::string PropStr(const Event& e, std::string_view key) {
  const Prop* p = FindProp(e, key);
  REQUIRE(p != nullptr);
  REQUIRE(p->type == PropType::kString);
  return p->str;
}

double PropNum(const Event& e, std::string_view key) {
  const Prop* p = FindProp(e, key);
  REQUIRE(p != nullptr);
  REQUIRE(p->type == PropType::kNumber);
  return p->number;
}

constexpr int64_t kT0 = 1700000000000;  // 2023-11-14T22:13:20.000Z

}  // namespace

TEST_CASE("segment track: name, ids, properties, context.page, times", "[proto]") {
  SegmentMessage m;
  const Event e = One(R"J({
    "type": "track", "event": "Product Added", "anonymousId": "anon-1", "userId": "u-1",
    "messageId": "ajs-next-1700000000000-abc",
    "properties": {"sku": "G-32", "price": 18.99, "in_stock": true, "coupon": null},
    "context": {"page": {"url": "https://shop.example/p/32", "referrer": "https://google.com/",
                         "title": "Monopoly"},
                "ip": "203.0.113.9", "userAgent": "Mozilla/5.0 (iPhone)"},
    "timestamp": "2023-11-14T22:13:20.000Z", "sentAt": "2023-11-14T22:13:20.250Z",
    "integrations": {"All": true}, "writeKey": "wk"})J",
                      SegmentCall::kTrack, &m);
  CHECK(e.event == "Product Added");
  CHECK(e.anonymous_id == "anon-1");
  CHECK(e.user_id == "u-1");
  CHECK(e.event_id == "ajs-next-1700000000000-abc");
  CHECK(e.url == "https://shop.example/p/32");
  CHECK(e.referrer == "https://google.com/");
  CHECK(e.title == "Monopoly");
  CHECK(e.ts_ms == kT0);
  CHECK(m.sent_at_ms == kT0 + 250);
  CHECK(m.explicit_timestamp);
  CHECK(m.context_ip == "203.0.113.9");
  CHECK(m.context_user_agent == "Mozilla/5.0 (iPhone)");
  REQUIRE(e.props.size() == 4);
  CHECK(PropStr(e, "sku") == "G-32");
  CHECK(PropNum(e, "price") == 18.99);
  CHECK(FindProp(e, "in_stock")->boolean);
  CHECK(FindProp(e, "coupon")->type == PropType::kNull);
  CHECK(e.session_id.empty());  // sessionized by the server from anonymous_id
}

TEST_CASE("segment: every call type maps to its event name", "[proto]") {
  const std::string ids = R"("anonymousId":"a")";
  CHECK(One("{" + ids + R"(,"name":"Home","category":"Docs","properties":{"url":"https://x.example/","title":"T","path":"/"}})",
            SegmentCall::kPage)
            .event == "page_view");
  const Event page = One("{" + ids + R"(,"name":"Home","properties":{"url":"https://x.example/","title":"T"}})",
                         SegmentCall::kPage);
  CHECK(page.url == "https://x.example/");  // page properties fill url/title without context.page
  CHECK(page.title == "T");
  CHECK(PropStr(page, "name") == "Home");
  CHECK(page.props[0].key == "name");  // name first, then the properties
  const Event screen = One("{" + ids + R"(,"name":"Cart"})", SegmentCall::kScreen);
  CHECK(screen.event == "screen_view");
  CHECK(PropStr(screen, "name") == "Cart");
  const Event identify = One(R"({"userId":"u","traits":{"email":"a@b.example","plan":"pro"}})",
                             SegmentCall::kIdentify);
  CHECK(identify.event == "identify");
  CHECK(PropStr(identify, "email") == "a@b.example");
  const Event group = One(R"({"userId":"u","groupId":"g-7","traits":{"name":"Acme"}})", SegmentCall::kGroup);
  CHECK(group.event == "group");
  CHECK(PropStr(group, "group_id") == "g-7");
  CHECK(PropStr(group, "name") == "Acme");
  const Event alias = One(R"({"userId":"new","previousId":"anon-9"})", SegmentCall::kAlias);
  CHECK(alias.event == "alias");
  CHECK(alias.user_id == "new");
  CHECK(PropStr(alias, "previous_id") == "anon-9");
}

TEST_CASE("segment batch: each message's type, batch sentAt and context, per-message rejections", "[proto]") {
  const SegmentBatch b = Decode(R"({
    "writeKey": "key-1", "sentAt": "2023-11-14T22:13:21.000Z",
    "context": {"ip": "198.51.100.4", "page": {"url": "https://b.example/"}},
    "batch": [
      {"type": "track", "event": "Signed Up", "userId": "u", "originalTimestamp": "2023-11-14T22:13:20Z"},
      {"type": "bogus", "userId": "u"},
      {"type": "page", "anonymousId": "a", "context": {"ip": "192.0.2.1"}},
      7,
      {"type": "track", "userId": "u"},
      {"type": "identify"}
    ]})");
  REQUIRE_FALSE(b.decoded.error);
  CHECK(b.write_key == "key-1");
  REQUIRE(b.decoded.events.size() == 2);
  CHECK(b.decoded.indexes == std::vector<uint32_t>{0, 2});
  CHECK(b.decoded.events[0].event == "Signed Up");
  CHECK(b.decoded.events[0].ts_ms == kT0);
  CHECK(b.decoded.events[0].url == "https://b.example/");
  CHECK_FALSE(b.messages[0].explicit_timestamp);
  CHECK(b.messages[0].sent_at_ms == kT0 + 1000);
  CHECK(b.messages[0].context_ip == "198.51.100.4");
  CHECK(b.messages[1].context_ip == "192.0.2.1");  // the message's context wins
  CHECK(b.decoded.events[1].event == "page_view");
  REQUIRE(b.decoded.rejected.size() == 4);
  CHECK(b.decoded.rejected[0].index == 1);
  CHECK(b.decoded.rejected[0].code == codes::kTypeInvalid);
  CHECK(b.decoded.rejected[1].index == 3);
  CHECK(b.decoded.rejected[1].code == codes::kEventNotObject);
  CHECK(b.decoded.rejected[2].index == 4);
  CHECK(b.decoded.rejected[2].code == codes::kEventMissing);
  CHECK(b.decoded.rejected[3].index == 5);
  CHECK(b.decoded.rejected[3].code == codes::kIdentityMissing);
}

TEST_CASE("segment ids: missing, empty, numeric, too long, bad type", "[proto]") {
  CHECK(RejectOne(R"({"event":"x"})", SegmentCall::kTrack).code == codes::kIdentityMissing);
  CHECK(RejectOne(R"({"event":"x","anonymousId":"","userId":null})", SegmentCall::kTrack).code ==
        codes::kIdentityMissing);
  CHECK(One(R"({"event":"x","userId":42})", SegmentCall::kTrack).user_id == "42");
  const Rejection obj = RejectOne(R"({"event":"x","userId":{"id":1}})", SegmentCall::kTrack);
  CHECK(obj.code == codes::kFieldType);
  CHECK(obj.field == "userId");
  const Rejection long_id =
      RejectOne(R"({"event":"x","userId":")" + std::string(129, 'u') + "\"}", SegmentCall::kTrack);
  CHECK(long_id.code == codes::kFieldTooLong);
  CHECK(long_id.field == "userId");
  // No messageId: the server assigns one later; an over-long one is hashed, stably.
  CHECK(One(R"({"event":"x","userId":"u"})", SegmentCall::kTrack).event_id.empty());
  const std::string long_mid = R"({"event":"x","userId":"u","messageId":")" + std::string(100, 'm') + "\"}";
  const Event a = One(long_mid, SegmentCall::kTrack);
  CHECK(a.event_id.size() == 35);
  CHECK(a.event_id.rfind("sh:", 0) == 0);
  CHECK(One(long_mid, SegmentCall::kTrack).event_id == a.event_id);
}

TEST_CASE("segment event names follow the native rule", "[proto]") {
  CHECK(RejectOne(R"({"userId":"u","event":""})", SegmentCall::kTrack).code == codes::kEventNameInvalid);
  CHECK(RejectOne(R"({"userId":"u","event":")" + std::string(129, 'e') + "\"}", SegmentCall::kTrack).code ==
        codes::kEventNameInvalid);
  CHECK(RejectOne(R"({"userId":"u","event":"a\u0001b"})", SegmentCall::kTrack).code ==
        codes::kEventNameInvalid);
  CHECK(RejectOne(R"({"userId":"u","event":5})", SegmentCall::kTrack).code == codes::kFieldType);
  CHECK(One(R"({"userId":"u","event":"Order Completed — ünïcode"})", SegmentCall::kTrack).event ==
        "Order Completed — ünïcode");
}

TEST_CASE("segment times: originalTimestamp over timestamp, bad values mean no client time", "[proto]") {
  SegmentMessage m;
  Event e = One(R"({"userId":"u","type":"page","originalTimestamp":"2023-11-14T23:13:20+01:00",
                    "timestamp":"2020-01-01T00:00:00Z","sentAt":1700000000500})",
                SegmentCall::kPage, &m);
  CHECK(e.ts_ms == kT0);
  CHECK_FALSE(m.explicit_timestamp);
  CHECK(m.sent_at_ms == kT0 + 500);  // integer ms is accepted too
  for (const char* bad : {R"("yesterday")", R"("2023-13-01T00:00:00Z")", "-5", "1.5", "{}",
                          R"("99999-01-01T00:00:00Z")", "true"}) {
    INFO(bad);
    e = One(std::string(R"({"userId":"u","event":"x","timestamp":)") + bad + R"(,"sentAt":)" + bad + "}",
            SegmentCall::kTrack, &m);
    CHECK_FALSE(e.ts_ms.has_value());
    CHECK_FALSE(m.sent_at_ms.has_value());
  }
}

TEST_CASE("segment properties: nested objects flatten, arrays kept as JSON, nothing rejects", "[proto]") {
  SegmentBatch b = Decode(R"({"userId":"u","event":"Order Completed","properties":{
      "order_id": "o-1",
      "products": [{"product_id": "p1", "price": 10}, {"product_id": "p2", "price": 5.5}],
      "shipping": {"method": "ground", "address": {"city": "Lyon", "geo": {"lat": 45.7, "deep": {"x": 1}}}},
      "Product Name": "Monopoly",
      "long": ")" + std::string(600, 'z') + R"(",
      "big_list": [)" + std::string(300, '1').insert(0, "\"") + "\"," + "\"" + std::string(300, '2') + R"("],
      ")" + std::string(70, 'k') + R"(": 1
    }})",
                          SegmentCall::kTrack);
  REQUIRE(b.decoded.events.size() == 1);
  const Event& e = b.decoded.events[0];
  CHECK(PropStr(e, "order_id") == "o-1");
  CHECK(PropStr(e, "products") ==
        R"([{"product_id":"p1","price":10},{"product_id":"p2","price":5.5}])");
  CHECK(PropStr(e, "shipping.method") == "ground");
  CHECK(PropStr(e, "shipping.address.city") == "Lyon");
  CHECK(PropNum(e, "shipping.address.geo.lat") == 45.7);
  CHECK(PropStr(e, "shipping.address.geo.deep") == R"({"x":1})");  // 4 levels, then JSON text
  CHECK(PropStr(e, "Product_Name") == "Monopoly");
  CHECK(PropStr(e, "long") == std::string(512, 'z'));
  CHECK(FindProp(e, "big_list") == nullptr);  // its JSON is over 512 bytes
  CHECK(b.props_dropped == 2);                // big_list and the 70-byte key
}

TEST_CASE("segment: huge traits keep the first 32 keys", "[proto]") {
  std::string traits;
  for (int i = 0; i < 100; ++i) traits += (i ? "," : "") + std::string("\"t") + std::to_string(i) + "\":" + std::to_string(i);
  SegmentBatch b = Decode(R"({"userId":"u","traits":{)" + traits + "}}", SegmentCall::kIdentify);
  REQUIRE(b.decoded.events.size() == 1);
  const Event& e = b.decoded.events[0];
  REQUIRE(e.props.size() == 32);
  CHECK(e.props[0].key == "t0");
  CHECK(e.props[31].key == "t31");
  CHECK(b.props_dropped == 68);
}

TEST_CASE("segment Experiment Viewed is an exposure", "[proto]") {
  Event e = One(R"({"userId":"u","event":"Experiment Viewed","properties":{
                  "experiment_name":"checkout_button","variation_name":"green","experiment_id":"e1"}})",
                SegmentCall::kTrack);
  REQUIRE(e.experiments.size() == 1);
  CHECK(e.experiments[0] == std::pair<std::string, std::string>{"checkout_button", "green"});
  CHECK(PropStr(e, "experiment_name") == "checkout_button");
  e = One(R"({"userId":"u","event":"Experiment Viewed","properties":{"experiment_id":"e1","variation_id":2}})",
          SegmentCall::kTrack);
  REQUIRE(e.experiments.size() == 1);
  CHECK(e.experiments[0] == std::pair<std::string, std::string>{"e1", "2"});
  // Without a variation it is a plain event; other events never expose.
  CHECK(One(R"({"userId":"u","event":"Experiment Viewed","properties":{"experiment_name":"x"}})",
            SegmentCall::kTrack).experiments.empty());
  CHECK(One(R"({"userId":"u","event":"Viewed","properties":{"experiment_name":"x","variation_name":"y"}})",
            SegmentCall::kTrack).experiments.empty());
}

TEST_CASE("segment body errors and limits", "[proto]") {
  auto error = [](std::string_view body, SegmentCall call, SegmentLimits limits = {}) {
    SegmentBatch b = Decode(body, call, limits);
    REQUIRE(b.decoded.error);
    CHECK(b.decoded.events.empty());
    CHECK(b.messages.empty());
    return *b.decoded.error;
  };
  CHECK(error("{", SegmentCall::kTrack).code == codes::kJsonInvalid);
  CHECK(error("  ", SegmentCall::kBatch).code == codes::kBodyEmpty);
  CHECK(error("[]", SegmentCall::kTrack).code == codes::kBatchInvalid);
  CHECK(error(R"({"batch":{}})", SegmentCall::kBatch).code == codes::kBatchInvalid);
  CHECK(error(R"({"userId":"u"})", SegmentCall::kBatch).code == codes::kBatchInvalid);
  CHECK(error(R"({"batch":[]})", SegmentCall::kBatch).code == codes::kBodyEmpty);
  CHECK(error(R"({"event":"x","userId":"u","n":1e400})", SegmentCall::kTrack).code == codes::kNumberInvalid);
  SegmentLimits small;
  small.max_message_bytes = 100;
  small.max_batch_bytes = 400;
  small.max_events = 3;
  const std::string big(150, 'x');
  const BodyError single = error(R"({"event":"x","userId":"u","properties":{"p":")" + big + "\"}}",
                                 SegmentCall::kTrack, small);
  CHECK(proto::codes::HttpStatusFor(single.code) == 413);
  CHECK(single.code == codes::kMessageTooLarge);
  const BodyError batch = error("{\"batch\":[" + std::string(400, ' ') + "]}", SegmentCall::kBatch, small);
  CHECK(proto::codes::HttpStatusFor(batch.code) == 413);
  CHECK(batch.code == codes::kBodyTooLarge);
  const BodyError many = error(R"({"batch":[{},{},{},{}]})", SegmentCall::kBatch, small);
  CHECK(proto::codes::HttpStatusFor(many.code) == 413);
  CHECK(many.code == codes::kTooManyEvents);
  // In a batch, one message over the limit is rejected alone.
  SegmentBatch b = Decode(R"({"batch":[{"type":"track","event":"x","userId":"u","properties":{"p":")" + big +
                              R"("}},{"type":"track","event":"y","userId":"u"}]})",
                          SegmentCall::kBatch, small);
  REQUIRE_FALSE(b.decoded.error);
  REQUIRE(b.decoded.events.size() == 1);
  CHECK(b.decoded.events[0].event == "y");
  REQUIRE(b.decoded.rejected.size() == 1);
  CHECK(b.decoded.rejected[0].code == codes::kMessageTooLarge);
  CHECK(b.decoded.rejected[0].index == 0);
}

}  // namespace foothold::proto
