// Per-event validation (proto/README.md "Event fields"): every event-level code
// the JSON decoder produces, with its field and index.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "proto/decode.h"
#include "proto/error_codes.h"
#include "proto/validate.h"

namespace foothold::proto {
namespace {

DecodedBatch Decode(std::string_view body) {
  Decoder d(Limits{});
  DecodedBatch out;
  d.DecodeBody(body, BodyFormat::kJson, &out);
  return out;
}

// Decodes `{"event":"e","session_id":"s", <fields>}` placed at index 1 of a
// batch behind a valid event, and returns its single rejection.
Rejection Reject(const std::string& fields, const std::string& head = R"("event":"e","session_id":"s",)") {
  const std::string body = R"([{"event":"ok","session_id":"s"}, {)" + head + fields + "}]";
  INFO(body);
  const DecodedBatch b = Decode(body);
  REQUIRE_FALSE(b.error);
  REQUIRE(b.events.size() == 1);
  REQUIRE(b.rejected.size() == 1);
  CHECK(b.rejected[0].index == 1);
  CHECK_FALSE(b.rejected[0].message.empty());
  return b.rejected[0];
}

Event Accept(const std::string& fields) {
  const std::string body = R"({"event":"e","session_id":"s",)" + fields + "}";
  INFO(body);
  const DecodedBatch b = Decode(body);
  REQUIRE_FALSE(b.error);
  REQUIRE(b.rejected.empty());
  REQUIRE(b.events.size() == 1);
  return b.events[0];
}

void CheckReject(const std::string& fields, const char* code, const std::string& field) {
  const Rejection r = Reject(fields);
  CHECK(r.code == code);
  CHECK(r.field == field);
}

std::string Str(size_t n, char c = 'x') { return "\"" + std::string(n, c) + "\""; }

}  // namespace

TEST_CASE("event: required, 1-128 bytes of printable UTF-8", "[proto]") {
  const auto missing = Reject(R"("session_id":"s")", "");
  CHECK(missing.code == codes::kEventMissing);
  CHECK(missing.field == "event");
  const auto null_event = Reject(R"("event":null,"session_id":"s")", "");
  CHECK(null_event.code == codes::kEventMissing);
  for (const std::string& bad :
       std::vector<std::string>{R"("")", R"("tab\there")", R"("nl\n")", R"("del\u007f")",
                                R"("c1\u0085")", Str(129)}) {
    const auto r = Reject(R"("event":)" + bad + R"(,"session_id":"s")", "");
    CHECK(r.code == codes::kEventNameInvalid);
    CHECK(r.field == "event");
  }
  const auto type = Reject(R"("event":7,"session_id":"s")", "");
  CHECK(type.code == codes::kFieldType);
  CHECK(type.field == "event");
  // Segment-style names: spaces, slashes, any printable UTF-8.
  for (const std::string& good : {std::string("Product Added"), std::string("café/ü é"),
                                  std::string("aZ09_.:-") + std::string(120, 'q'),
                                  std::string("\xC2\xA0nbsp")}) {
    const DecodedBatch b = Decode(R"({"event":")" + good + R"(","user_id":"u"})");
    INFO(good);
    REQUIRE(b.events.size() == 1);
    CHECK(b.events[0].event == good);
  }
}

TEST_CASE("identity: one of session_id, anonymous_id, user_id", "[proto]") {
  const auto r = Reject(R"("event":"e","url":"/x")", "");
  CHECK(r.code == codes::kIdentityMissing);
  CHECK(r.field == "");
  CHECK(Reject(R"("event":"e","session_id":null,"user_id":null)", "").code == codes::kIdentityMissing);
  for (const char* id : {"session_id", "anonymous_id", "user_id"}) {
    const DecodedBatch b = Decode(std::string(R"({"event":"e",")") + id + R"(":"x"})");
    CHECK(b.events.size() == 1);
  }
}

TEST_CASE("session_id: 1-128 printable ASCII", "[proto]") {
  const std::string head = R"("event":"e",)";
  const auto check = [&](const std::string& value, const char* code) {
    const auto r = Reject(R"("session_id":)" + value, head);
    CHECK(r.code == code);
    CHECK(r.field == "session_id");
  };
  check(R"("")", codes::kFieldEmpty);
  check(Str(129), codes::kFieldTooLong);
  check(R"("tab\there")", codes::kFieldInvalid);
  check(R"("caf\u00e9")", codes::kFieldInvalid);
  check(R"("del\u007f")", codes::kFieldInvalid);
  check("42", codes::kFieldType);
  check("{}", codes::kFieldType);
  const DecodedBatch b = Decode(R"({"event":"e","session_id":)" + Str(128, '~') + "}");
  CHECK(b.events.size() == 1);
}

TEST_CASE("anonymous_id, user_id: 1-128 bytes of UTF-8, event_id 1-64", "[proto]") {
  for (const char* f : {"anonymous_id", "user_id"}) {
    INFO(f);
    const std::string key = std::string("\"") + f + "\":";
    CheckReject(key + R"("")", codes::kFieldEmpty, f);
    CheckReject(key + Str(129), codes::kFieldTooLong, f);
    CheckReject(key + R"("a\nb")", codes::kFieldInvalid, f);
    CheckReject(key + "true", codes::kFieldType, f);
    // 64 × "é" is 128 bytes: at the limit; bytes are counted, not characters.
    std::string e128;
    for (int i = 0; i < 64; ++i) e128 += "\xC3\xA9";
    const Event ok = Accept(key + "\"" + e128 + "\"");
    CHECK(ok.user_id.size() + ok.anonymous_id.size() == 128);
    CheckReject(key + "\"" + e128 + "x\"", codes::kFieldTooLong, f);
  }
  CheckReject(R"("event_id":)" + Str(65), codes::kFieldTooLong, "event_id");
  CheckReject(R"("event_id":"")", codes::kFieldEmpty, "event_id");
  CheckReject(R"("event_id":1)", codes::kFieldType, "event_id");
  CHECK(Accept(R"("event_id":)" + Str(64)).event_id.size() == 64);
}

TEST_CASE("url, referrer <= 2048 bytes, title <= 512", "[proto]") {
  CHECK(Accept(R"("url":)" + Str(2048)).url.size() == 2048);
  CheckReject(R"("url":)" + Str(2049), codes::kFieldTooLong, "url");
  CHECK(Accept(R"("referrer":)" + Str(2048)).referrer.size() == 2048);
  CheckReject(R"("referrer":)" + Str(2049), codes::kFieldTooLong, "referrer");
  CHECK(Accept(R"("title":)" + Str(512)).title.size() == 512);
  CheckReject(R"("title":)" + Str(513), codes::kFieldTooLong, "title");
  CheckReject(R"("url":["/a"])", codes::kFieldType, "url");
  CHECK(Accept(R"("url":"")").url.empty());  // optional text: empty is absent
}

TEST_CASE("ts: integer ms or RFC 3339", "[proto]") {
  CHECK(Accept(R"("ts":1714564800123)").ts_ms == 1714564800123);
  CHECK(Accept(R"("ts":0)").ts_ms == 0);
  CHECK(Accept(R"("ts":253402300799999)").ts_ms == 253402300799999);
  CHECK_FALSE(Accept(R"("ts":null)").ts_ms.has_value());
  CHECK(Accept(R"("ts":"2024-05-01T12:00:00.123Z")").ts_ms == 1714564800123);
  CheckReject(R"("ts":-1)", codes::kTsInvalid, "ts");
  CheckReject(R"("ts":253402300800000)", codes::kTsInvalid, "ts");
  CheckReject(R"("ts":18446744073709551615)", codes::kTsInvalid, "ts");
  CheckReject(R"("ts":1714564800123.5)", codes::kTsInvalid, "ts");
  CheckReject(R"("ts":"yesterday")", codes::kTsInvalid, "ts");
  CheckReject(R"("ts":"1714564800123")", codes::kTsInvalid, "ts");
  CheckReject(R"("ts":"1969-12-31T23:59:59Z")", codes::kTsInvalid, "ts");
  CheckReject(R"("ts":true)", codes::kFieldType, "ts");
  CheckReject(R"("ts":{})", codes::kFieldType, "ts");
}

TEST_CASE("RFC 3339 variants", "[proto]") {
  struct Case {
    const char* text;
    int64_t ms;
  };
  const Case good[] = {
      {"1970-01-01T00:00:00Z", 0},
      {"2024-05-01T12:00:00Z", 1714564800000},
      {"2024-05-01t12:00:00z", 1714564800000},
      {"2024-05-01 12:00:00Z", 1714564800000},
      {"2024-05-01T12:00:00.5Z", 1714564800500},
      {"2024-05-01T12:00:00.123456789Z", 1714564800123},
      {"2024-05-01T14:00:00+02:00", 1714564800000},
      {"2024-05-01T06:30:00-05:30", 1714564800000},
      {"2024-05-01T12:00:00.250-00:00", 1714564800250},
      {"2024-02-29T00:00:00Z", 1709164800000},
      {"2000-02-29T00:00:00Z", 951782400000},
      {"2016-12-31T23:59:60Z", 1483228800000},
      {"9999-12-31T23:59:59.999Z", 253402300799999},
  };
  for (const Case& c : good) {
    INFO(c.text);
    int64_t ms = -7;
    CHECK(internal::ParseRfc3339(c.text, &ms));
    CHECK(ms == c.ms);
  }
  const char* bad[] = {
      "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2024-13-01T00:00:00Z",
      "2024-00-01T00:00:00Z", "2024-04-31T00:00:00Z", "2024-05-01T24:00:00Z",
      "2024-05-01T12:60:00Z", "2024-05-01T12:00:61Z", "2024-05-01T12:00:00",
      "2024-05-01",           "2024-05-01T12:00Z",    "2024-05-01T12:00:00+0200",
      "2024-05-01T12:00:00+24:00", "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00Zjunk",
      "2024-5-01T12:00:00Z",  "+2024-05-01T12:00:00Z", "2024-05-01X12:00:00Z",
      "",                     "2024-05-01T12:00:00+02:0",
  };
  for (const char* text : bad) {
    INFO(text);
    int64_t ms = 0;
    CHECK_FALSE(internal::ParseRfc3339(text, &ms));
  }
}

TEST_CASE("engaged_ms: integer 0..24h", "[proto]") {
  CHECK(Accept(R"("engaged_ms":0)").engaged_ms == 0);
  CHECK(Accept(R"("engaged_ms":86400000)").engaged_ms == 86400000);
  CheckReject(R"("engaged_ms":-1)", codes::kEngagedMsInvalid, "engaged_ms");
  CheckReject(R"("engaged_ms":86400001)", codes::kEngagedMsInvalid, "engaged_ms");
  CheckReject(R"("engaged_ms":1.5)", codes::kEngagedMsInvalid, "engaged_ms");
  CheckReject(R"("engaged_ms":18446744073709551615)", codes::kEngagedMsInvalid, "engaged_ms");
  CheckReject(R"("engaged_ms":"1500")", codes::kFieldType, "engaged_ms");
}

TEST_CASE("experiments: object of name -> variant", "[proto]") {
  const Event e = Accept(R"("experiments":{"a":"control","b":"v2"})");
  REQUIRE(e.experiments.size() == 2);
  CHECK(e.experiments[1].second == "v2");
  CheckReject(R"("experiments":["a"])", codes::kExperimentsInvalid, "experiments");
  CheckReject(R"("experiments":"a")", codes::kExperimentsInvalid, "experiments");
  CheckReject(R"("experiments":{"a":1})", codes::kExperimentsInvalid, "experiments.a");
  CheckReject(R"("experiments":{"a":""})", codes::kExperimentsInvalid, "experiments.a");
  CheckReject(R"("experiments":{"":"v"})", codes::kExperimentsInvalid, "experiments.");
  CheckReject(R"("experiments":{"a":)" + Str(65) + "}", codes::kExperimentsInvalid, "experiments.a");
  CheckReject(R"("experiments":{"a":"x","a":"y"})", codes::kDuplicateKey, "experiments.a");
  std::string many = R"("experiments":{)";
  for (int i = 0; i < 33; ++i) many += (i ? "," : "") + std::string("\"x") + std::to_string(i) + "\":\"v\"";
  CheckReject(many + "}", codes::kExperimentsInvalid, "experiments");
}

TEST_CASE("props: flat object, <= 32 keys, key rules, value types", "[proto]") {
  std::string props32 = R"("props":{)";
  for (int i = 0; i < 32; ++i) props32 += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":" + std::to_string(i);
  CHECK(Accept(props32 + "}").props.size() == 32);
  CheckReject(props32 + R"(,"k32":0})", codes::kPropsTooMany, "props");
  CheckReject(R"("props":[1])", codes::kPropsInvalid, "props");
  CheckReject(R"("props":"color=red")", codes::kPropsInvalid, "props");
  CheckReject(R"("props":{"color":{"r":1}})", codes::kPropsNested, "props.color");
  CheckReject(R"("props":{"tags":["a"]})", codes::kPropsNested, "props.tags");
  CheckReject(R"("props":{"bad key":1})", codes::kPropKeyInvalid, "props.bad key");
  CheckReject(R"("props":{"":1})", codes::kPropKeyInvalid, "props.");
  CheckReject(R"("props":{)" + Str(65, 'k') + ":1}", codes::kPropKeyInvalid, "props." + std::string(65, 'k'));
  CheckReject(R"("props":{"s":)" + Str(513) + "}", codes::kFieldTooLong, "props.s");
  CheckReject(R"("props":{"a":1,"a":2})", codes::kDuplicateKey, "props.a");
  const Event e = Accept(R"("props":{"s":)" + Str(512) + R"(,"neg":-2.5e-3,"big":18446744073709551615,"f":false})");
  REQUIRE(e.props.size() == 4);
  CHECK(e.props[0].str.size() == 512);
  CHECK(e.props[1].number == -2.5e-3);
  CHECK(e.props[2].number == 18446744073709551615.0);
  CHECK(e.props[3].type == PropType::kBool);
  CHECK_FALSE(e.props[3].boolean);
  // A 1000-character junk key is not echoed whole into the response.
  const auto r = Reject(R"("props":{)" + Str(1000, 'k') + ":1}");
  CHECK(r.code == codes::kPropKeyInvalid);
  CHECK(r.field.size() < 100);
}

TEST_CASE("duplicate keys, unknown fields, null as absent, first error wins", "[proto]") {
  CheckReject(R"("session_id":"again")", codes::kDuplicateKey, "session_id");
  CheckReject(R"("extra":1,"other":2,"extra":3)", codes::kDuplicateKey, "extra");
  const Event e = Accept(R"("extra":{"deep":[{"x":[1,2,{"y":null}]}]},"user_id":null,"props":null)");
  CHECK(e.user_id.empty());
  CHECK(e.props.empty());
  // Fields are checked in wire order; the first failure is the one reported.
  const auto r = Reject(R"("title":)" + Str(600) + R"(,"ts":"bad")");
  CHECK(r.code == codes::kFieldTooLong);
  CHECK(r.field == "title");
}

TEST_CASE("internal::LookupField knows every field and nothing else", "[proto]") {
  using internal::Field;
  for (int i = 0; i < static_cast<int>(Field::kUnknown); ++i) {
    const Field f = static_cast<Field>(i);
    CHECK(internal::LookupField(internal::FieldName(f)) == f);
  }
  CHECK(internal::LookupField("Event") == Field::kUnknown);
  CHECK(internal::LookupField("") == Field::kUnknown);
  CHECK(internal::LookupField("sessionid") == Field::kUnknown);
}

}  // namespace foothold::proto
