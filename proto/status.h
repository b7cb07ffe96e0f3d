// Status: the result of an operation that can fail, as a value (LevelDB style).
// It lives in proto/ because proto is the bottom of the dependency chain and
// every library (config, storage, server) reports errors with it.
//
// Thread safety: a Status is a value; distinct objects may be used from any thread.
#pragma once

#include <string>
#include <utility>

namespace foothold {

class Status {
 public:
  enum class Code { kOk, kInvalidArgument, kNotFound, kIoError, kCorruption, kBusy, kUnavailable, kNoSpace };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) { return Status(Code::kInvalidArgument, std::move(msg)); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status IoError(std::string msg) { return Status(Code::kIoError, std::move(msg)); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  // Temporarily unable (queue full): the caller should retry later.
  static Status Busy(std::string msg) { return Status(Code::kBusy, std::move(msg)); }
  // The component is closed, draining, or failed.
  static Status Unavailable(std::string msg) { return Status(Code::kUnavailable, std::move(msg)); }
  // The disk is (nearly) full: below the free-space watermark, or ENOSPC. Retry later.
  static Status NoSpace(std::string msg) { return Status(Code::kNoSpace, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace foothold
