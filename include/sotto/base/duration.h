// Durations as people type and read them: "30s", "10m", "2h", "7d", "1w"; "off" (or "0") is 0;
// and moments as people read them.
// Thread-safety: pure functions (local_time_text reads the time zone, as localtime_r does).
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
// "2026-11-30 14:05:09": wall-clock milliseconds since the epoch in local time, to the second.
std::string local_time_text(int64_t wall_ms);

}  // namespace sotto
