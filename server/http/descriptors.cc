#include "server/http/descriptors.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace foothold::server {

DescriptorPlan PlanDescriptors(uint64_t limit, size_t configured) {
  DescriptorPlan p;
  p.limit = limit;
  const uint64_t sst = std::clamp<uint64_t>(limit / 4, 32, 1000);
  p.rocksdb_max_open_files = static_cast<int>(sst);
  p.reserve = sst + kProcessReserve;
  const uint64_t room = limit > p.reserve ? limit - p.reserve : 0;
  p.max_connections = static_cast<size_t>(std::min<uint64_t>(room, configured));
  p.capped = p.max_connections < configured;
  return p;
}

bool RaiseNofileLimit(uint64_t* before, uint64_t* after, std::string* error) {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    *error = std::string("getrlimit(RLIMIT_NOFILE): ") + std::strerror(errno);
    *before = *after = 0;
    return false;
  }
  *before = *after = rl.rlim_cur;
  rlim_t target = rl.rlim_max;
  if (target == RLIM_INFINITY) {
    // An unlimited hard limit still stops at the kernel's per-process maximum.
    uint64_t nr_open = 1 << 20;  // the kernel's default when /proc says nothing
    std::ifstream f("/proc/sys/fs/nr_open");
    f >> nr_open;
    target = nr_open;
  }
  if (rl.rlim_cur >= target) return true;
  rl.rlim_cur = target;
  if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    *error = std::string("setrlimit(RLIMIT_NOFILE): ") + std::strerror(errno);
    return false;
  }
  *after = target;
  return true;
}

}  // namespace foothold::server
