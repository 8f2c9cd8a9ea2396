// Durations as people type and read them: "30s", "10m", "2h", "7d", "1w"; "off" (or "0") is 0.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sotto {

// Milliseconds, or nullopt when the text is not a whole number with one unit (s, m, h, d, w).
std::optional<int64_t> parse_duration_ms(std::string_view text);
// "30 s", "10 min", "2 h", "7 d", "1 w" (the largest unit that divides it), or "off" for 0.
std::string describe_duration(int64_t ms);

}  // namespace sotto
