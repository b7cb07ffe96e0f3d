// Helpers for the config tests: run LoadConfig with argument and environment
// lists (config files go into a tests/test_util.h TempDir).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "tests/test_util.h"

namespace foothold::config::testing {

// Runs LoadConfig as `foothold <args...>` with exactly `env` as the environment.
inline LoadResult Load(const std::vector<std::string>& args,
                       const std::vector<std::string>& env = {}) {
  std::vector<const char*> argv{"foothold"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  std::vector<const char*> envp;
  for (const std::string& e : env) envp.push_back(e.c_str());
  envp.push_back(nullptr);
  return LoadConfig(static_cast<int>(argv.size() - 1), argv.data(), envp.data());
}

using foothold::testing::TempDir;

}  // namespace foothold::config::testing
