#include "proto/status.h"

namespace foothold {

std::string Status::ToString() const {
  const char* name = "OK";
  switch (code_) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: name = "Invalid argument"; break;
    case Code::kNotFound: name = "Not found"; break;
    case Code::kIoError: name = "IO error"; break;
    case Code::kCorruption: name = "Corruption"; break;
    case Code::kBusy: name = "Busy"; break;
    case Code::kUnavailable: name = "Unavailable"; break;
    case Code::kNoSpace: name = "No space"; break;
  }
  return std::string(name) + ": " + message_;
}

}  // namespace foothold
