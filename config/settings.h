// The setting table behind LoadConfig: every configurable key with its
// parser, validator and "allowed" text, applied the same way whichever source
// (flag, environment variable, config file) gave the value. Internal to
// foothold_config.
//
// Thread safety: pure functions over caller-owned values.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace foothold::config {

// A value as a source gave it, before parsing. Flags and environment variables
// only give text; the file keeps its TOML type so `listen = 8080` can be told
// apart from `listen = "8080"`.
struct RawValue {
  enum class Kind { kText, kInteger, kFloat, kList, kOther };
  Kind kind = Kind::kText;
  std::string text;                // the value (kText) or its TOML spelling
  std::vector<std::string> items;  // kList: an array of strings
};

struct Entry {
  std::string key;  // dotted, exactly as in the TOML file
  RawValue value;
  std::string origin;  // "flag --threads", "environment variable FOOTHOLD_X", "file:line"
};
using View = std::vector<Entry>;

// Parses and validates `value` into `config`. On failure returns false and
// leaves `config` alone; may point `*shown` at the offending list item.
using ApplyFn = std::function<bool(const RawValue& value, Config* config, std::string* shown)>;

struct Setting {
  std::string key;
  std::string allowed;  // for "invalid value for KEY: V (allowed: ...)"
  ApplyFn apply;
  bool secret = false;  // never echo the value into logs
};

// Every configurable key, in the order of config.h.
std::vector<Setting> Settings();

// True when `prefix` names a TOML table that holds settings ("storage").
bool IsSection(const std::vector<Setting>& settings, std::string_view prefix);

// Sets every entry of `view` into `config`, lowest precedence first; appends
// one message per unknown key or invalid value, naming the origin, the key and
// what is allowed.
void Apply(const View& view, const std::vector<Setting>& settings, Config* config,
           std::vector<std::string>* errors);

// `text` in double quotes with '"', '\\' and control characters escaped.
std::string Quote(std::string_view text);

}  // namespace foothold::config
