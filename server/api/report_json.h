// The JSON pieces every stats report shares (README.md "Analytics"): an
// ordered JSON builder whose numbers are never NaN (null instead), the 200 and
// 503 answers, the `aggregator` freshness block and day range that every
// report carries, and a cluster report's `export` block and error mapping. Internal to server/api (reports.cc, opportunities.cc).
//
// Thread safety: Json is a value owned by one thread; the functions are pure
// apart from thread-safe store reads.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "proto/error_codes.h"
#include "proto/json_out.h"
#include "proto/validate.h"
#include "server/api/service.h"
#include "server/statistics/statistics.h"
#include "storage/event_store.h"

namespace foothold::server::report {

inline constexpr int64_t kDayMs = 24 * 60 * 60 * 1000LL;

// ---- A small JSON builder: keys in order, numbers that are never NaN. ----
class Json {
 public:
  Json& Open() { return Raw("{"); }
  Json& Close() { return Raw("}"); }
  Json& OpenArray() { return Raw("["); }
  Json& CloseArray() { return Raw("]"); }
  Json& Key(std::string_view k) {
    Sep();
    proto::AppendJsonString(k, &out_);
    out_ += ':';
    fresh_ = true;
    return *this;
  }
  Json& Str(std::string_view s) {
    Sep();
    proto::AppendJsonString(s, &out_);
    return *this;
  }
  Json& Uint(uint64_t v) {
    Sep();
    out_ += std::to_string(v);
    return *this;
  }
  Json& Int(int64_t v) {
    Sep();
    out_ += std::to_string(v);
    return *this;
  }
  Json& Bool(bool v) {
    Sep();
    out_ += v ? "true" : "false";
    return *this;
  }
  // NaN and infinities have no JSON form: null.
  Json& Num(double v) {
    Sep();
    if (!std::isfinite(v)) {
      out_ += "null";
      return *this;
    }
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.6g", v);
    out_ += buf;
    return *this;
  }
  Json& Interval(const ConfidenceInterval& ci) {
    if (!ci.defined) return Null();
    OpenArray().Num(ci.lo).Num(ci.hi).CloseArray();
    return *this;
  }
  Json& Null() {
    Sep();
    out_ += "null";
    return *this;
  }
  Json& Time(std::string_view key, int64_t ms) {
    Key(key).Str(proto::FormatRfc3339(ms));
    return Key(std::string(key) + "_ms").Int(ms);
  }
  std::string Take() { return std::move(out_); }

 private:
  Json& Raw(const char* s) {
    const bool closing = *s == '}' || *s == ']';
    if (!closing) Sep();
    out_ += s;
    fresh_ = !closing;
    return *this;
  }
  void Sep() {
    if (!fresh_ && !out_.empty()) out_ += ',';
    fresh_ = false;
  }
  std::string out_;
  bool fresh_ = true;
};

inline Response Ok(std::string body) {
  Response r;
  r.status = 200;
  r.body = std::move(body);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

inline Response Unavailable(const Status& s) {
  Response r = ErrorResponse(proto::codes::kStoreUnavailable, s.ToString());
  r.headers.emplace_back("Retry-After", "5");
  return r;
}

inline double Ratio(uint64_t num, uint64_t den) {
  return den == 0 ? std::nan("") : static_cast<double>(num) / static_cast<double>(den);
}

inline void AppendAggregator(const storage::EventStore& store, Json* j) {
  storage::AggregatorStats a = store.aggregator_stats();
  j->Key("aggregator").Open();
  j->Key("checkpoint_seq").Uint(a.checkpoint_seq);
  j->Key("pending_events").Uint(a.pending_events);
  j->Key("lag_ms").Int(a.lag_ms);
  j->Key("open_sessions").Uint(a.open_sessions);
  if (a.failed) j->Key("failed").Bool(true).Key("failure").Str(a.failure);  // counters are frozen
  // definitions_stale: the counters were counted under other definitions
  // than the configured ones, until a rebuild switches (README.md
  // "Backfill"); rebuilding: that rebuild's progress, null when none runs.
  j->Key("definitions_stale").Bool(a.definitions_stale);
  if (a.rebuild.active || a.rebuild.failed) {
    j->Key("rebuilding").Open();
    j->Key("generation").Uint(a.rebuild.generation);
    j->Key("done_seq").Uint(a.rebuild.done_seq).Key("head_seq").Uint(a.rebuild.head_seq);
    j->Key("progress").Num(a.rebuild.progress_ratio);
    j->Key("events_per_s").Num(a.rebuild.events_per_s);
    if (a.rebuild.failed) j->Key("failure").Str(a.rebuild.failure);
    j->Close();
  } else {
    j->Key("rebuilding").Null();
  }
  j->Close();
}

// The day range a day-of-session-start report covers.
inline void AppendDays(const storage::TimeRange& r, Json* j) {
  int64_t from = r.from_ms - ((r.from_ms % kDayMs) + kDayMs) % kDayMs;
  int64_t to = r.to_ms + (kDayMs - ((r.to_ms % kDayMs) + kDayMs) % kDayMs) % kDayMs;
  j->Time("from", from).Time("to", to);
  j->Key("basis").Str("closed sessions by UTC day of session start");
}

// This replica's exporter: how far behind ClickHouse (and so a cluster report) is.
inline void AppendExport(const storage::EventStore& store, Json* j) {
  storage::ExportStats x = store.export_stats();
  j->Key("export").Open();
  j->Key("node").Str(x.node).Key("checkpoint_seq").Uint(x.checkpoint_seq);
  j->Key("pending_records").Uint(x.pending_records).Key("lag_seconds").Num(x.lag_seconds);
  j->Close();
}

// A cluster query's failure: our request (400) or ClickHouse (503).
inline Response ClusterError(const Status& st) {
  if (st.code() == Status::Code::kInvalidArgument) return ErrorResponse(proto::codes::kQueryInvalid, st.message());
  Response r = ErrorResponse(proto::codes::kClusterUnavailable, st.message());
  r.headers.emplace_back("Retry-After", "5");
  return r;
}

}  // namespace foothold::server::report
