// A field-by-field comparison of two Events for tests, shared by the codec
// tests here and the storage tests (storage may use proto's helpers; the
// reverse would point the dependency the wrong way).
//
// Thread safety: call from the test thread (Catch2 assertions).
#pragma once

#include <catch2/catch.hpp>

#include "proto/event.h"

namespace foothold::proto::testing {

// Every field except those a store assigns (session_id when sessionized,
// seq, flags): the client fields and the server's enrichment.
inline void CheckSameClientFields(const Event& got, const Event& want) {
  CHECK(got.event == want.event);
  CHECK(got.anonymous_id == want.anonymous_id);
  CHECK(got.user_id == want.user_id);
  CHECK(got.event_id == want.event_id);
  CHECK(got.ts_ms == want.ts_ms);
  CHECK(got.url == want.url);
  CHECK(got.referrer == want.referrer);
  CHECK(got.title == want.title);
  CHECK(got.engaged_ms == want.engaged_ms);
  CHECK(got.experiments == want.experiments);
  REQUIRE(got.props.size() == want.props.size());
  for (size_t i = 0; i < got.props.size(); ++i) {
    INFO("prop " << i);
    CHECK(got.props[i].key == want.props[i].key);
    CHECK(got.props[i].type == want.props[i].type);
    CHECK(got.props[i].boolean == want.props[i].boolean);
    CHECK(got.props[i].number == want.props[i].number);
    CHECK(got.props[i].str == want.props[i].str);
  }
  CHECK(got.received_at_ms == want.received_at_ms);
  CHECK(got.event_time_ms == want.event_time_ms);
  CHECK(got.ip == want.ip);
  CHECK(got.user_agent == want.user_agent);
  CHECK(got.bot == want.bot);
  CHECK(got.source == want.source);
}

}  // namespace foothold::proto::testing
