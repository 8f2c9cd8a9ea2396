// Status and Result: how every fallible call in sotto reports failure.
//
// Expected failures are values, never exceptions: a Status carries a category the caller can act
// on and a one-line message a user can read. Result<T> is either a T or a non-ok Status.
// Thread-safety: plain values; copy freely.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sotto {

enum class StatusCode {
  kOk,
  kNotFound,
  kInvalidArgument,
  kCorruption,
  kIoError,
  kPermissionDenied,
  kAuthFailed,
  kUnavailable,
  kBusy,
  kStorageFull,
  kUntrusted,
  kInternal,
};

// The one table between a StatusCode and the name it travels under (the control socket's
// "code", --json): "not_found", "invalid_argument", ... parse_status_code of an unknown name is
// kInternal, so a newer node's code reads as a failure, never as success.
std::string_view status_code_name(StatusCode code);
StatusCode parse_status_code(std::string_view name);

class [[nodiscard]] Status {
 public:
  Status() = default;

  static Status ok() { return Status(); }
  static Status not_found(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status invalid_argument(std::string msg) {
    return {StatusCode::kInvalidArgument, std::move(msg)};
  }
  static Status corruption(std::string msg) { return {StatusCode::kCorruption, std::move(msg)}; }
  static Status io_error(std::string msg) { return {StatusCode::kIoError, std::move(msg)}; }
  static Status permission_denied(std::string msg) {
    return {StatusCode::kPermissionDenied, std::move(msg)};
  }
  static Status auth_failed(std::string msg) { return {StatusCode::kAuthFailed, std::move(msg)}; }
  static Status unavailable(std::string msg) { return {StatusCode::kUnavailable, std::move(msg)}; }
  static Status busy(std::string msg) { return {StatusCode::kBusy, std::move(msg)}; }
  static Status storage_full(std::string msg) { return {StatusCode::kStorageFull, std::move(msg)}; }
  static Status untrusted(std::string msg) { return {StatusCode::kUntrusted, std::move(msg)}; }
  static Status internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }
  // A failure of category `code`, as parse_status_code read it off the wire (kOk is no failure:
  // it becomes kInternal).
  static Status failure(StatusCode code, std::string msg) {
    return {code == StatusCode::kOk ? StatusCode::kInternal : code, std::move(msg)};
  }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // The same failure with context in front: "opening profile: database corrupt".
  Status with_context(const std::string& context) const {
    if (is_ok()) return *this;
    return {code_, context + ": " + message_};
  }

 private:
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : state_(std::move(status)) {
    if (std::get<Status>(state_).is_ok()) state_ = Status::internal("ok status without a value");
  }

  bool is_ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return is_ok(); }

  // REQUIRES: is_ok()
  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  // By value, so `for (x : f().value())` does not dangle.
  T value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }

  Status status() const { return is_ok() ? Status::ok() : std::get<Status>(state_); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace sotto

// Early return of a failed Status or Result from a function returning Status or Result<U>.
#define SOTTO_RETURN_IF_ERROR(expr)                   \
  do {                                                \
    ::sotto::Status sotto_status_ = (expr);           \
    if (!sotto_status_.is_ok()) return sotto_status_; \
  } while (0)

#define SOTTO_CONCAT_INNER(a, b) a##b
#define SOTTO_CONCAT(a, b) SOTTO_CONCAT_INNER(a, b)
#define SOTTO_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.is_ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
#define SOTTO_ASSIGN_OR_RETURN(lhs, expr) \
  SOTTO_ASSIGN_OR_RETURN_IMPL(SOTTO_CONCAT(sotto_result_, __LINE__), lhs, expr)
