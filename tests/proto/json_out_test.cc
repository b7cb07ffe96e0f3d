// JSON output: string escaping and stored events, checked by parsing them back.
#include <catch2/catch.hpp>

#include <simdjson.h>

#include <string>

#include "proto/decode.h"
#include "proto/json_out.h"

namespace foothold::proto {
namespace {

// Parses `json` with simdjson; fails the test when it is not valid JSON.
simdjson::dom::element ParseBack(simdjson::dom::parser& parser, const std::string& json) {
  simdjson::dom::element root;
  const auto err = parser.parse(json).get(root);
  INFO(json);
  REQUIRE(err == simdjson::SUCCESS);
  return root;
}

std::string Quoted(std::string_view s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

}  // namespace

TEST_CASE("AppendJsonString escapes what JSON requires", "[proto]") {
  CHECK(Quoted("") == R"("")");
  CHECK(Quoted("plain text") == R"("plain text")");
  CHECK(Quoted(R"(say "hi" \o/)") == R"("say \"hi\" \\o/")");
  CHECK(Quoted("a\nb\tc\rd\be\ff") == R"("a\nb\tc\rd\be\ff")");
  CHECK(Quoted(std::string("\x00\x01\x1f", 3)) == R"("\u0000\u0001\u001f")");
  CHECK(Quoted("caf\xC3\xA9 \xF0\x9F\x98\x80") == "\"caf\xC3\xA9 \xF0\x9F\x98\x80\"");
  CHECK(Quoted("</script>\x7f") == "\"</script>\x7f\"");
  std::string out = "prefix:";
  AppendJsonString("x", &out);
  CHECK(out == R"(prefix:"x")");
}

TEST_CASE("AppendJsonString round-trips every ASCII byte through simdjson", "[proto]") {
  std::string all;
  for (int c = 0; c < 128; ++c) all += static_cast<char>(c);
  all += "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
  simdjson::dom::parser parser;
  const std::string json = Quoted(all);
  std::string_view back;
  REQUIRE(ParseBack(parser, json).get(back) == simdjson::SUCCESS);
  CHECK(back == all);
}

TEST_CASE("AppendEventJson writes a stored event as valid JSON", "[proto]") {
  Event e;
  e.event_id = "0190f0c2-1f2a-7abc-8def-0123456789ab";
  e.seq = 18446744073709551615ull;
  e.received_at_ms = 1714564800123;
  e.event_time_ms = 1714564800000;
  e.event = "add_to_cart";
  e.session_id = "s\"1";
  e.user_id = "u\n1";
  e.ts_ms = 1714564799000;
  e.url = "https://shop.example/p/1?a=1&b=\\";
  e.engaged_ms = 0;
  e.experiments = {{"hero", "b"}, {"video", "control"}};
  e.props = {{"color", PropType::kString, false, 0, "r\x01" "ed"},
             {"price", PropType::kNumber, false, 0.1, ""},
             {"qty", PropType::kNumber, false, 3, ""},
             {"big", PropType::kNumber, false, -1e300, ""},
             {"gift", PropType::kBool, true, 0, ""},
             {"note", PropType::kNull, false, 0, ""}};
  e.ip = "203.0.113.0";
  e.user_agent = "Mozilla/5.0 \"quoted\"";
  e.bot = true;

  std::string json;
  AppendEventJson(e, &json);
  CHECK(json.find(R"("qty":3,)") != std::string::npos);  // integral doubles print bare
  simdjson::dom::parser parser;
  const auto root = ParseBack(parser, json);
  CHECK(root["event_id"].get_string().value() == e.event_id);
  CHECK(root["seq"].get_uint64().value() == e.seq);
  CHECK(root["received_at"].get_int64().value() == e.received_at_ms);
  CHECK(root["event_time"].get_int64().value() == e.event_time_ms);
  CHECK(root["event"].get_string().value() == "add_to_cart");
  CHECK(root["session_id"].get_string().value() == "s\"1");
  CHECK(root["user_id"].get_string().value() == "u\n1");
  CHECK(root["anonymous_id"].error() == simdjson::NO_SUCH_FIELD);
  CHECK(root["ts"].get_int64().value() == 1714564799000);
  CHECK(root["url"].get_string().value() == e.url);
  CHECK(root["referrer"].error() == simdjson::NO_SUCH_FIELD);
  CHECK(root["title"].error() == simdjson::NO_SUCH_FIELD);
  CHECK(root["engaged_ms"].get_int64().value() == 0);
  CHECK(root["experiments"]["video"].get_string().value() == "control");
  const auto props = root["props"];
  CHECK(props["color"].get_string().value() == "r\x01" "ed");
  CHECK(props["price"].get_double().value() == 0.1);
  CHECK(props["qty"].get_double().value() == 3);
  CHECK(props["big"].get_double().value() == -1e300);
  CHECK(props["gift"].get_bool().value() == true);
  CHECK(props["note"].is_null());
  CHECK(root["ip"].get_string().value() == "203.0.113.0");
  CHECK(root["user_agent"].get_string().value() == e.user_agent);
  CHECK(root["bot"].get_bool().value() == true);
}

TEST_CASE("AppendEventJson omits absent optional fields", "[proto]") {
  Event e;
  e.event = "view";
  e.session_id = "s";
  std::string json;
  AppendEventJson(e, &json);
  CHECK(json ==
        R"({"event_id":"","seq":0,"received_at":0,"event_time":0,"event":"view","session_id":"s",)"
        R"("ip":"","user_agent":"","bot":false})");
}

TEST_CASE("decode -> AppendEventJson -> decode keeps every client field", "[proto]") {
  const std::string body = R"({"event":"signup","session_id":"s 1","anonymous_id":"a\u00e9",
    "user_id":"u\\1","event_id":"e1","ts":1714564800000,"url":"/p?x=\"y\"","referrer":"r",
    "title":"T\tab","engaged_ms":99,"experiments":{"x":"y"},
    "props":{"s":"v","n":-0.000123,"i":42,"b":false,"z":null}})";
  Decoder d(Limits{});
  DecodedBatch first, second;
  d.DecodeBody(body, BodyFormat::kJson, &first);
  REQUIRE(first.events.size() == 1);
  std::string json;
  AppendEventJson(first.events[0], &json);
  // Readback's extra fields (seq, ip, bot, ...) are unknown to the decoder and ignored.
  d.DecodeBody(json, BodyFormat::kJson, &second);
  REQUIRE(second.events.size() == 1);
  const Event& a = first.events[0];
  const Event& b = second.events[0];
  CHECK(b.event == a.event);
  CHECK(b.session_id == a.session_id);
  CHECK(b.anonymous_id == a.anonymous_id);
  CHECK(b.user_id == "u\\1");
  CHECK(b.event_id == a.event_id);
  CHECK(b.ts_ms == a.ts_ms);
  CHECK(b.url == "/p?x=\"y\"");
  CHECK(b.referrer == a.referrer);
  CHECK(b.title == "T\tab");
  CHECK(b.engaged_ms == a.engaged_ms);
  CHECK(b.experiments == a.experiments);
  REQUIRE(b.props.size() == a.props.size());
  for (size_t i = 0; i < a.props.size(); ++i) {
    CHECK(b.props[i].key == a.props[i].key);
    CHECK(b.props[i].type == a.props[i].type);
    CHECK(b.props[i].number == a.props[i].number);
    CHECK(b.props[i].boolean == a.props[i].boolean);
    CHECK(b.props[i].str == a.props[i].str);
  }
}

}  // namespace foothold::proto
