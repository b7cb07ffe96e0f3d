#include "storage/verify.h"

#include <cstdio>
#include <map>
#include <memory>

#include <rocksdb/iterator.h>

#include "proto/json_out.h"
#include "proto/record.h"
#include "storage/aggregate/aggregator.h"
#include "storage/aggregate/counter_keys.h"
#include "storage/log/db.h"
#include "storage/log/keys.h"
#include "storage/aggregate/rollup.h"
#include "storage/aggregate/session_state.h"

namespace foothold::storage {
namespace {

std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\0') {
      out += '/';
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

// A counter key for people: "series video_play/e/m 2026-11-23T10:05Z".
std::string DescribeKey(std::string_view key) {
  if (key.empty()) return "(empty key)";
  const char kind = key[0];
  std::string_view body = key.substr(1);
  if (kind == 'T' && body.size() >= 11) {
    return "series " + Printable(body.substr(0, body.size() - 8)) + " " +
           proto::FormatRfc3339(FromOffsetBinary(GetBe64(body.substr(body.size() - 8))));
  }
  size_t z = body.find('\0');
  if ((kind == 'L' || kind == 'F' || kind == 'X') && z != std::string_view::npos &&
      body.size() >= z + 9) {
    const char* what = kind == 'L' ? "lift " : kind == 'F' ? "funnel " : "experiment ";
    return what + Printable(body.substr(0, z)) + " day " +
           proto::FormatRfc3339(FromOffsetBinary(GetBe64(body.substr(z + 1, 8)))).substr(0, 10) + " " +
           Printable(body.substr(z + 9));
  }
  return "key " + Printable(key);
}

void Report(VerifyReport* out, std::string line) {
  ++out->mismatches;
  if (out->differences.size() < VerifyReport::kMaxReported) out->differences.push_back(std::move(line));
}

// "session ID" for a head row, "session ID hit SEQ" for a hit row.
std::string DescribeSessionRow(std::string_view key) {
  std::string_view id;
  uint64_t seq = 0;
  switch (ParseSessionKey(key, &id, &seq)) {
    case SessionRowKind::kHead: return "session " + Printable(id);
    case SessionRowKind::kHit: return "session " + Printable(id) + " hit " + std::to_string(seq);
    case SessionRowKind::kV1: return "session " + Printable(id) + " (version 1 state)";
    case SessionRowKind::kUnknown: break;
  }
  return "session row " + Printable(key);
}

// The rows a recount would store, sorted like the column family (bytewise).
struct ExpectedRows : SessionSink {
  std::map<std::string, std::string> rows;
  void Put(const std::string& key, const std::string& value) override { rows[key] = value; }
  void Delete(const std::string& key) override { rows.erase(key); }
};

}  // namespace

Status Verify(const StoreOptions& options, VerifyReport* out) {
  *out = VerifyReport{};
  std::unique_ptr<Database> db;
  StoreMeta meta;
  Status s = Database::OpenExisting(options, &db, &meta);
  if (!s.ok()) return s;
  int64_t watermark = 0;
  std::vector<std::string> names;
  s = ReadAggregatorCheckpoint(db.get(), &out->checkpoint_seq, &watermark, &names);
  if (!s.ok()) return s;

  // 1. Recount: the whole log up to the checkpoint through a fresh rollup.
  Rollup rollup(options.analytics, options.session_timeout_ms);
  CounterDeltas recount;
  {
    std::unique_ptr<rocksdb::Iterator> it(db->db()->NewIterator(rocksdb::ReadOptions(), db->log()));
    proto::Event e;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto seq = ParseLogKey(std::string_view(it->key().data(), it->key().size()));
      if (!seq) return Status::Corruption("malformed log key in " + db->dir());
      if (*seq > out->checkpoint_seq) break;
      if (out->first_seq == 0) out->first_seq = *seq;
      s = proto::DecodeRecord(std::string_view(it->value().data(), it->value().size()), &e);
      if (!s.ok()) return Status::Corruption("log record " + std::to_string(*seq) + ": " + s.message());
      e.seq = *seq;
      rollup.Apply(e, &recount);
      ++out->records;
    }
    if (!it->status().ok()) return FromRocks(it->status(), "scan log in " + db->dir());
  }
  rollup.CloseDue(&recount);
  rollup.DrainSeries(&recount);
  out->log_truncated = out->first_seq > kFirstSeq;

  // 2. Every stored counter against the recount; then what only the recount has.
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db->db()->NewIterator(rocksdb::ReadOptions(), db->counters()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::string key = it->key().ToString();
      const uint64_t stored = DecodeCounter(std::string_view(it->value().data(), it->value().size()));
      uint64_t expected = 0;
      if (auto r = recount.find(key); r != recount.end()) {
        expected = static_cast<uint64_t>(r->second);
        recount.erase(r);
      }
      ++out->counters_checked;
      if (stored != expected) {
        Report(out, DescribeKey(key) + ": stored " + std::to_string(static_cast<int64_t>(stored)) +
                        ", recount " + std::to_string(static_cast<int64_t>(expected)));
      }
    }
    if (!it->status().ok()) return FromRocks(it->status(), "scan counters in " + db->dir());
  }
  for (const auto& [key, value] : recount) {
    if (value == 0) continue;
    ++out->counters_checked;
    Report(out, DescribeKey(key) + ": stored 0 (missing), recount " + std::to_string(value));
  }

  // 3. The open sessions, row for row: every head and hit row of the
  // `sessions` column family against the rows the recount would store.
  ExpectedRows expected;
  rollup.Persist(&expected, /*all=*/true);
  uint64_t stored_sessions = 0;
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db->db()->NewIterator(rocksdb::ReadOptions(), db->sessions()));
    auto want = expected.rows.begin();
    auto missing = [&](const std::string& key) {
      Report(out, DescribeSessionRow(key) + ": in the recount, not stored");
    };
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string key = it->key().ToString();
      std::string_view id;
      uint64_t seq = 0;
      if (ParseSessionKey(key, &id, &seq) == SessionRowKind::kHead) ++stored_sessions;
      for (; want != expected.rows.end() && want->first < key; ++want) missing(want->first);
      if (want == expected.rows.end() || want->first != key) {
        Report(out, DescribeSessionRow(key) + ": stored, closed or unknown in the recount");
        continue;
      }
      if (want->second != it->value().ToString()) {
        Report(out, DescribeSessionRow(key) + ": stored state differs from the recount");
      }
      ++want;
    }
    for (; want != expected.rows.end(); ++want) missing(want->first);
    if (!it->status().ok()) return FromRocks(it->status(), "scan sessions in " + db->dir());
  }
  out->sessions_checked = stored_sessions;
  if (stored_sessions != rollup.open_sessions()) {
    Report(out, "open sessions: stored " + std::to_string(stored_sessions) + ", recount " +
                    std::to_string(rollup.open_sessions()));
  }
  return db->Close();
}

}  // namespace foothold::storage
