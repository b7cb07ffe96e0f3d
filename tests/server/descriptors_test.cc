// The descriptor budget (server/http/descriptors.h).
#include <catch2/catch.hpp>

#include "server/http/descriptors.h"

using foothold::server::PlanDescriptors;

TEST_CASE("descriptor plan: connections get what RocksDB and the process leave", "[server]") {
  auto p = PlanDescriptors(2048, 20000);  // the limit the issue met
  CHECK(p.rocksdb_max_open_files == 512);
  CHECK(p.max_connections == 2048 - 512 - 128);
  CHECK(p.capped);
  p = PlanDescriptors(1 << 20, 20000);  // plenty: the configured value stands
  CHECK(p.max_connections == 20000);
  CHECK(p.rocksdb_max_open_files == 1000);
  CHECK(!p.capped);
  p = PlanDescriptors(100, 20000);  // too few to serve anything
  CHECK(p.max_connections == 0);
}
