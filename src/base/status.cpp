#include "sotto/base/status.h"

#include <array>
#include <utility>

namespace sotto {
namespace {

constexpr std::array<std::pair<StatusCode, std::string_view>, 12> kNames = {{
    {StatusCode::kOk, "ok"},
    {StatusCode::kNotFound, "not_found"},
    {StatusCode::kInvalidArgument, "invalid_argument"},
    {StatusCode::kCorruption, "corruption"},
    {StatusCode::kIoError, "io_error"},
    {StatusCode::kPermissionDenied, "permission_denied"},
    {StatusCode::kAuthFailed, "auth_failed"},
    {StatusCode::kUnavailable, "unavailable"},
    {StatusCode::kBusy, "busy"},
    {StatusCode::kStorageFull, "storage_full"},
    {StatusCode::kUntrusted, "untrusted"},
    {StatusCode::kInternal, "internal"},
}};

}  // namespace

std::string_view status_code_name(StatusCode code) {
  for (const auto& [c, name] : kNames) {
    if (c == code) return name;
  }
  return "internal";
}

StatusCode parse_status_code(std::string_view name) {
  for (const auto& [code, n] : kNames) {
    if (n == name) return code;
  }
  return StatusCode::kInternal;
}

}  // namespace sotto
