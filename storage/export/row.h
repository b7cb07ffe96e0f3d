// Private to storage/: one journey-log record as one JSONEachRow line of the
// ClickHouse table in deploy/clickhouse/events.sql (columns documented in
// storage/export/README.md). The line is also valid JSON, so any JSON tool
// can read an export batch.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "proto/event.h"

namespace foothold::storage {

// Appends `e` (with its seq set) as one line, '\n'-terminated, keyed by
// (node, seq). Props go twice: `props` is the original object as JSON text
// (types kept), prop_keys / prop_values are parallel arrays of its keys and
// values as text (a string as is, a number in shortest form, true/false, and
// "" for null) for plain equality filters in SQL.
void AppendExportRow(const proto::Event& e, std::string_view node, std::string* out);

}  // namespace foothold::storage
