// Reads the analytics definitions (config/README.md) — [[micro_conversion]],
// [[macro_conversion]], [[funnel]], [[experiment]], [[dimension]] — from a parsed TOML
// document into Config. They come only from the file (no environment or flag
// form). Internal to foothold_config.
//
// Thread safety: pure functions over caller-owned values.
#pragma once

#include <toml++/toml.h>

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace foothold::config {

// True for the top-level TOML keys that hold analytics definitions, and for
// "source" ([[source]], read by ReadSources).
bool IsAnalyticsKey(std::string_view key);

// Validates every analytics table of `root` and, when all are valid, sets
// config's micro_conversions, macro_conversions, funnels, experiments and dimensions.
// Appends one message per mistake to `errors`, each naming `path`, the line,
// the table and the entry: `f.toml:12: funnel "checkout": step ...`.
void ReadAnalytics(const toml::table& root, const std::string& path, Config* config,
                   std::vector<std::string>* errors);

// Validates every [[source]] of `root` (name, write_key, kind) and, when all
// are valid, sets config->source_list. Messages as ReadAnalytics.
void ReadSources(const toml::table& root, const std::string& path, Config* config,
                 std::vector<std::string>* errors);

}  // namespace foothold::config
