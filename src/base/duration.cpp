#include "sotto/base/duration.h"

#include <array>
#include <ctime>
#include <limits>
#include <utility>

namespace sotto {
namespace {

constexpr int64_t kSecond = 1000;
constexpr std::array<std::pair<char, int64_t>, 5> kUnits = {{{'s', kSecond},
                                                             {'m', 60 * kSecond},
                                                             {'h', 3600 * kSecond},
                                                             {'d', 86400 * kSecond},
                                                             {'w', 7 * 86400 * kSecond}}};

}  // namespace

std::optional<int64_t> parse_duration_ms(std::string_view text) {
  if (text == "off" || text == "0") return 0;
  if (text.size() < 2) return std::nullopt;
  const char unit = text.back();
  int64_t scale = 0;
  for (const auto& [name, ms] : kUnits) {
    if (name == unit) scale = ms;
  }
  if (scale == 0) return std::nullopt;
  int64_t value = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    if (value > std::numeric_limits<int64_t>::max() / 10 / scale) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value == 0) return std::nullopt;
  return value * scale;
}

std::string describe_duration(int64_t ms) {
  if (ms <= 0) return "off";
  static constexpr std::array<std::pair<const char*, int64_t>, 5> kNames = {
      {{"w", 7 * 86400 * kSecond},
       {"d", 86400 * kSecond},
       {"h", 3600 * kSecond},
       {"min", 60 * kSecond},
       {"s", kSecond}}};
  for (const auto& [name, unit] : kNames) {
    if (ms % unit == 0) return std::to_string(ms / unit) + " " + name;
  }
  return std::to_string(ms) + " ms";
}

std::string local_time_text(int64_t wall_ms) {
  const auto seconds = static_cast<std::time_t>(wall_ms / 1000);
  std::tm local{};
  localtime_r(&seconds, &local);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &local);
  return text;
}

}  // namespace sotto
