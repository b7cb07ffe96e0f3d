// Pixel query strings (proto/README.md "Pixel query strings"): Decoder::DecodeQuery.
#include <catch2/catch.hpp>

#include <string>

#include "proto/decode.h"
#include "proto/error_codes.h"

namespace foothold::proto {
namespace {

DecodedBatch Query(std::string_view q) {
  Decoder d(Limits{});
  DecodedBatch out;
  d.DecodeQuery(q, &out);
  return out;
}

Event Accept(std::string_view q) {
  INFO(q);
  const DecodedBatch b = Query(q);
  REQUIRE_FALSE(b.error);
  REQUIRE(b.rejected.empty());
  REQUIRE(b.events.size() == 1);
  CHECK(b.indexes == std::vector<uint32_t>{0});
  return b.events[0];
}

void CheckReject(std::string_view q, const char* code, const std::string& field) {
  INFO(q);
  const DecodedBatch b = Query(q);
  REQUIRE_FALSE(b.error);
  CHECK(b.events.empty());
  REQUIRE(b.rejected.size() == 1);
  CHECK(b.rejected[0].index == 0);
  CHECK(b.rejected[0].code == code);
  CHECK(b.rejected[0].field == field);
  CHECK_FALSE(b.rejected[0].message.empty());
}

}  // namespace

TEST_CASE("pixel: every key maps to its field", "[proto]") {
  const Event e = Accept(
      "e=add_to_cart&sid=s-1&aid=a%201&uid=u+1&eid=e-1&ts=1714564800000"
      "&u=https%3A%2F%2Fshop.example%2Fp%2F1%3Fq%3D1&r=https%3A%2F%2Fgoogle.com%2F&em=1500"
      "&p.color=red&p.qty=007&p.ok=true&x.video_autoplay=autoplay&_=1714564800999");
  CHECK(e.event == "add_to_cart");
  CHECK(e.session_id == "s-1");
  CHECK(e.anonymous_id == "a 1");
  CHECK(e.user_id == "u 1");
  CHECK(e.event_id == "e-1");
  CHECK(e.ts_ms == 1714564800000);
  CHECK(e.url == "https://shop.example/p/1?q=1");
  CHECK(e.referrer == "https://google.com/");
  CHECK(e.engaged_ms == 1500);
  REQUIRE(e.props.size() == 3);
  // No type inference: "007" stays the string it was, and so does "true".
  CHECK(e.props[1].key == "qty");
  CHECK(e.props[1].type == PropType::kString);
  CHECK(e.props[1].str == "007");
  CHECK(e.props[2].type == PropType::kString);
  CHECK(e.props[2].str == "true");
  REQUIRE(e.experiments.size() == 1);
  CHECK(e.experiments[0].first == "video_autoplay");
  CHECK(e.experiments[0].second == "autoplay");
}

TEST_CASE("pixel: empty values are absent, UTF-8 and RFC 3339 work", "[proto]") {
  const Event e = Accept("e=view&uid=&sid=s&u=&ts=&em=&&p.empty=");
  CHECK(e.user_id.empty());
  CHECK_FALSE(e.ts_ms);
  CHECK_FALSE(e.engaged_ms);
  REQUIRE(e.props.size() == 1);
  CHECK(e.props[0].str.empty());
  CHECK(Accept("e=v&aid=%C3%A9t%C3%A9").anonymous_id == "\xC3\xA9t\xC3\xA9");
  CHECK(Accept("e=v&sid=s&ts=2024-05-01T14%3A00%3A00%2B02%3A00").ts_ms == 1714564800000);
  CHECK(Accept("e=v&sid=s&ts=2024-05-01T12:00:00.5Z").ts_ms == 1714564800500);
}

TEST_CASE("pixel: the same rules and codes as JSON", "[proto]") {
  CheckReject("sid=s", codes::kEventMissing, "event");
  CheckReject("e=&sid=s", codes::kEventMissing, "event");
  CheckReject("e=v", codes::kIdentityMissing, "");
  CheckReject("e=bad%09name&sid=s", codes::kEventNameInvalid, "event");
  CheckReject("e=v&sid=a%01b", codes::kFieldInvalid, "session_id");
  CheckReject("e=v&sid=" + std::string(129, 's'), codes::kFieldTooLong, "session_id");
  CheckReject("e=v&sid=s&eid=" + std::string(65, 'e'), codes::kFieldTooLong, "event_id");
  CheckReject("e=v&sid=s&u=" + std::string(2049, 'u'), codes::kFieldTooLong, "url");
  CheckReject("e=v&sid=s&ts=soon", codes::kTsInvalid, "ts");
  CheckReject("e=v&sid=s&ts=-5", codes::kTsInvalid, "ts");
  CheckReject("e=v&sid=s&ts=99999999999999999999999", codes::kTsInvalid, "ts");
  CheckReject("e=v&sid=s&ts=2024-05-01T14:00:00+02:00", codes::kTsInvalid, "ts");  // '+' is a space
  CheckReject("e=v&sid=s&em=1.5", codes::kEngagedMsInvalid, "engaged_ms");
  CheckReject("e=v&sid=s&em=-1", codes::kEngagedMsInvalid, "engaged_ms");
  CheckReject("e=v&sid=s&em=86400001", codes::kEngagedMsInvalid, "engaged_ms");
  CheckReject("e=v&sid=s&p.bad%20key=1", codes::kPropKeyInvalid, "props.bad key");
  CheckReject("e=v&sid=s&p.=1", codes::kPropKeyInvalid, "props.");
  CheckReject("e=v&sid=s&p.s=" + std::string(513, 'x'), codes::kFieldTooLong, "props.s");
  CheckReject("e=v&sid=s&p.a=1&p.a=2", codes::kDuplicateKey, "props.a");
  CheckReject("e=v&sid=s&x.exp=", codes::kExperimentsInvalid, "experiments.exp");
  CheckReject("e=v&sid=s&x.exp=a&x.exp=b", codes::kDuplicateKey, "experiments.exp");
  CheckReject("e=v&sid=s&sid=t", codes::kDuplicateKey, "session_id");
  CheckReject("e=v&e=w&sid=s", codes::kDuplicateKey, "event");
  std::string many = "e=v&sid=s";
  for (int i = 0; i < 33; ++i) many += "&p.k" + std::to_string(i) + "=1";
  CheckReject(many, codes::kPropsTooMany, "props");
}

TEST_CASE("pixel: malformed percent-encoding and bad UTF-8", "[proto]") {
  CheckReject("e=v&sid=s&u=%zz", codes::kFieldInvalid, "url");
  CheckReject("e=v&sid=s&u=abc%4", codes::kFieldInvalid, "url");
  CheckReject("e=v&sid=s&u=abc%", codes::kFieldInvalid, "url");
  CheckReject("e=v&sid=s&p.c=%G0", codes::kFieldInvalid, "props.c");
  CheckReject("e=v&sid=s&ui%d=1", codes::kFieldInvalid, "");
  CheckReject("e=v&sid=s&uid=%FF", codes::kUtf8Invalid, "user_id");
  CheckReject("e=v&sid=s&uid=%C3", codes::kUtf8Invalid, "user_id");
  CheckReject("e=v&sid=s&p.%FF=1", codes::kUtf8Invalid, "");  // never echo bad bytes
  // Unknown keys are ignored even when their value is garbage.
  CHECK(Accept("e=v&sid=s&cb=%zz&&=&novalue").event == "v");
}

}  // namespace foothold::proto
