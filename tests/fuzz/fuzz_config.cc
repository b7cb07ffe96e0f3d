// libFuzzer target: the config loader (config/config.h) on an arbitrary TOML
// file. Any file must load or give an error message with exit code 2, never
// a crash or an exception.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace foothold::config;
  // One file per process, rewritten for each input (the loader reads a path),
  // removed when the process exits.
  struct TempFile {
    std::string path;
    TempFile() {
      char tmpl[] = "/tmp/foothold-fuzz-config-XXXXXX";
      int fd = ::mkstemp(tmpl);
      if (fd < 0) std::abort();
      ::close(fd);
      path = tmpl;
    }
    ~TempFile() { ::unlink(path.c_str()); }
  };
  static const TempFile file;
  const std::string& path = file.path;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  const char* argv[] = {"foothold", "--config", path.c_str(), nullptr};
  const char* envp[] = {nullptr};
  LoadResult r = LoadConfig(3, argv, envp);
  if (!r.error.empty() && r.exit_code != 2) std::abort();
  if (r.error.empty() && r.exit_code != 0) std::abort();
  return 0;
}
