#include <cstdio>
#include <nlohmann/json.hpp>

#include "sotto/base/display_text.h"
#include "sotto/base/utf8.h"
#include "src/cli/commands.h"

namespace sotto::cli {

std::string shown(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return "";
  return display_text(it->get_ref<const std::string&>());
}

std::string json_line(const nlohmann::json& value) {
  // A text that is not UTF-8 (a snippet cut inside a character) cannot be JSON: U+FFFD.
  return terminal_safe_json(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::string terminal_safe_json(std::string_view json_text) {
  std::string out;
  out.reserve(json_text.size());
  size_t pos = 0;
  while (pos < json_text.size()) {
    // ASCII controls only occur escaped in JSON text, or as the whitespace between tokens.
    if (static_cast<unsigned char>(json_text[pos]) < 0x7F) {
      out += json_text[pos++];
      continue;
    }
    // Past ASCII, JSON text is inside a string: an escape there is the same text.
    const char32_t c = decode_utf8(json_text, pos);
    if (is_display_control(c)) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(c));
      out += escape;
    } else {
      append_utf8(out, c);
    }
  }
  return out;
}

}  // namespace sotto::cli
