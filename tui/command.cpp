#include "tui/command.h"

#include <algorithm>

#include "tui/utf8.h"

namespace sotto::tui {
namespace {

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words;
  size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && text[pos] == ' ') ++pos;
    size_t end = pos;
    while (end < text.size() && text[end] != ' ') ++end;
    if (end > pos) words.emplace_back(text.substr(pos, end - pos));
    pos = end;
  }
  return words;
}

// The rest of `text` after skipping `count` words (and the spaces after them).
std::string_view after_words(std::string_view text, size_t count) {
  size_t pos = 0;
  for (size_t i = 0; i < count; ++i) {
    while (pos < text.size() && text[pos] == ' ') ++pos;
    while (pos < text.size() && text[pos] != ' ') ++pos;
  }
  while (pos < text.size() && text[pos] == ' ') ++pos;
  return text.substr(pos);
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// The longest run of whole grapheme clusters all `words` start with.
std::string common_prefix(const std::vector<std::string>& words) {
  if (words.empty()) return "";
  std::vector<std::string> prefix = graphemes(words.front());
  for (const std::string& w : words) {
    const std::vector<std::string> other = graphemes(w);
    size_t n = 0;
    while (n < prefix.size() && n < other.size() && prefix[n] == other[n]) ++n;
    prefix.resize(n);
  }
  std::string out;
  for (const std::string& g : prefix) out += g;
  return out;
}

}  // namespace

const std::vector<CommandSpec>& command_specs() {
  static const std::vector<CommandSpec> specs{
      {"open", "/open NAME|#CHANNEL", "switch to a contact's or a channel's conversation", 1, 1},
      {"msg", "/msg NAME|#CHANNEL TEXT", "send a text without switching", 2, 2, true},
      {"add", "/add PEER [NAME]", "make a nearby peer a contact", 1, 2},
      {"verify", "/verify NAME", "compare safety numbers; confirm marks verified", 1, 1},
      {"channel create", "/channel create NAME", "a new channel; you are its admin", 1, 1},
      // As many as a roster holds (the node refuses beyond the channel's room, naming why).
      {"channel invite", "/channel invite CHANNEL PEER...",
       "add verified contacts, all in one roster change", 2, 1001},
      {"channel remove", "/channel remove CHANNEL PEER", "take a member off", 2, 2},
      {"channel leave", "/channel leave CHANNEL", "leave (the admin's leaving closes it)", 1, 1},
      {"channel accept", "/channel accept CHANNEL", "join a channel an unverified admin offers", 1,
       1},
      {"channel decline", "/channel decline CHANNEL", "refuse such an invitation", 1, 1},
      {"roster", "/roster [CHANNEL]", "members, trust, who is on air, security code", 0, 1},
      {"ptt", "/ptt", "push-to-talk on/off in the open channel (also F5)", 0, 0},
      {"play", "/play ID [--wav FILE]", "play a voice clip (Esc stops); --wav: write it to FILE", 1,
       3},
      {"search", "/search WORDS", "full-text search of the archive", 1, 1, true},
      {"help", "/help", "keys and commands (also F1)", 0, 0},
      {"lock", "/lock", "lock: wipe the keys and go back to the unlock screen (also F12)", 0, 0},
      {"quit", "/quit", "leave sotto (the node stops)", 0, 0},
  };
  return specs;
}

bool is_command(std::string_view line) {
  return starts_with(line, "/") && !starts_with(line, "//");
}

Result<Command> parse_command(std::string_view line) {
  if (!is_command(line)) return Status::invalid_argument("not a command");
  const std::vector<std::string> words = split_words(line.substr(1));
  if (words.empty()) return Status::invalid_argument("empty command (try /help)");
  std::string name = words[0];
  size_t consumed = 1;
  if (name == "channel") {
    if (words.size() < 2) {
      return Status::invalid_argument(
          "usage: /channel create|invite|remove|leave|accept|decline ...");
    }
    name += " " + words[1];
    consumed = 2;
  }
  if (name == "q" || name == "exit") name = "quit";
  const auto& specs = command_specs();
  auto spec = std::find_if(specs.begin(), specs.end(),
                           [&](const CommandSpec& s) { return s.name == name; });
  if (spec == specs.end()) {
    return Status::invalid_argument("unknown command /" + name + " (try /help)");
  }
  Command command{name, {}};
  const auto usage = [&] { return Status::invalid_argument("usage: " + spec->usage); };
  std::vector<std::string> args(words.begin() + static_cast<long>(consumed), words.end());
  if (static_cast<int>(args.size()) < spec->min_args) return usage();
  if (spec->rest && spec->max_args > 0 && static_cast<int>(args.size()) >= spec->max_args) {
    // The last argument keeps the text as typed, spaces included.
    args.resize(static_cast<size_t>(spec->max_args - 1));
    args.emplace_back(after_words(line.substr(1), consumed + args.size()));
  } else if (static_cast<int>(args.size()) > spec->max_args) {
    return usage();
  }
  command.args = std::move(args);
  return command;
}

Completion complete(std::string_view line, const std::vector<std::string>& names) {
  Completion out{std::string(line), {}};
  const size_t start = line.rfind(' ') == std::string_view::npos ? 0 : line.rfind(' ') + 1;
  const std::string_view word = line.substr(start);
  const std::vector<std::string> words = split_words(line);
  const bool first_word = start == 0;
  std::vector<std::string> pool;
  if (first_word && starts_with(word, "/")) {
    for (const CommandSpec& spec : command_specs()) {
      const std::string top = "/" + spec.name.substr(0, spec.name.find(' '));
      if (std::find(pool.begin(), pool.end(), top) == pool.end()) pool.push_back(top);
    }
  } else if (!words.empty() && words[0] == "/channel" &&
             (words.size() == 1 || (words.size() == 2 && !word.empty()))) {
    pool = {"create", "invite", "remove", "leave", "accept", "decline"};
  } else {
    pool = names;
  }
  std::vector<std::string> matches;
  for (const std::string& candidate : pool) {
    if (starts_with(candidate, word)) matches.push_back(candidate);
  }
  std::sort(matches.begin(), matches.end());
  matches.erase(std::unique(matches.begin(), matches.end()), matches.end());
  if (matches.empty()) return out;
  const std::string completed = matches.size() == 1 ? matches[0] + " " : common_prefix(matches);
  out.line = std::string(line.substr(0, start)) + completed;
  if (matches.size() > 1) out.candidates = std::move(matches);
  return out;
}

}  // namespace sotto::tui
