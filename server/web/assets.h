// Browser assets (the tracker, the dashboard, the demo shop) embedded into the binary at build time:
// every file under server/web/ except C++ sources, CMake scripts and READMEs, with its path relative
// to server/web/ ("tracker/foothold.js"). server/web/README.md says what lives here and how it is
// served. No network and no files are needed at run time.
//
// Thread safety: the table is immutable static data; any thread may read it.
#pragma once

#include <span>
#include <string_view>

namespace foothold::server::web {

struct Asset {
  std::string_view path;          // relative to server/web/, '/'-separated
  std::string_view content_type;  // from the extension
  std::string_view body;          // the file's bytes
};

// Every embedded asset, sorted by path.
std::span<const Asset> EmbeddedAssets();

// The asset at `path` (relative to server/web/), or nullptr.
inline const Asset* FindEmbeddedAsset(std::string_view path) {
  for (const Asset& a : EmbeddedAssets()) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

}  // namespace foothold::server::web
