// Helpers every test folder shares (tests/README.md): one temporary
// directory, one wall clock, one bounded wait, and the rule for a test whose
// external tool is missing.
//
// Thread safety: TempDir is used by one thread; NowMs, WaitUntil and InCi may
// be called from any thread (WaitUntil calls its predicate on the caller's).
#pragma once

#include <stdlib.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

namespace foothold::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it
// at scope end.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "foothold-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // A path inside the directory (not created).
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }
  // Writes `content` to `name` inside the directory and returns its path.
  std::string Write(const std::string& name, const std::string& content) const {
    const std::string file = Sub(name);
    std::ofstream(file, std::ios::binary) << content;
    return file;
  }

 private:
  std::string path_;
};

// Wall-clock milliseconds since the epoch, as the server stamps received_at.
inline int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Polls `done` until it returns true (then true) or `timeout` has passed
// (then false, after one last try). What a test waits for is the predicate;
// the timeout only bounds a failing run, so it is generous and never asserted.
template <class Predicate>
bool WaitUntil(Predicate&& done, std::chrono::milliseconds timeout,
               std::chrono::milliseconds poll = std::chrono::milliseconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(poll);
  }
  return true;
}

// True when the CI environment variable is set to anything but "", "0" or
// "false" (GitHub Actions, GitLab and most runners set CI=true).
inline bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && *ci != '\0' && std::strcmp(ci, "0") != 0 && std::strcmp(ci, "false") != 0;
}

// For a check that needs an external tool (haproxy, promtool): true when
// `found`. Otherwise the check is skipped with a warning on a developer
// machine, and the test FAILS when CI is set, so a green CI run cannot hide
// a skipped check. Usage: if (!ToolAvailable(found, "promtool")) return;
inline bool ToolAvailable(bool found, const std::string& tool) {
  if (found) return true;
  if (InCi()) FAIL(tool << " is not installed and CI is set (scripts/setup.sh test installs it)");
  WARN(tool << " is not installed (scripts/setup.sh test installs it): skipping this check");
  return false;
}

}  // namespace foothold::testing
