// `sotto talk CHANNEL --wav FILE` and `sotto play MSGID --ogg|--wav OUT` (doc/guide.md,
// Push-to-talk voice, man sotto).
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "sotto/base/display_text.h"
#include "sotto/core/audio.h"
#include "sotto/core/control_client.h"
#include "sotto/core/json.h"
#include "sotto/core/offline.h"
#include "src/cli/commands.h"

namespace sotto::cli {
namespace {

using nlohmann::json;

// The node may run in another directory: it gets absolute paths.
std::string absolute(const std::string& path) {
  if (!path.empty() && path.front() == '/') return path;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd) == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

constexpr int64_t kMaxTalkSeconds = 60;

}  // namespace

int run_talk(const GlobalOptions& options, const std::string& channel, const std::string& wav) {
  // Checked here first, so a bad file is a usage error before anything goes on air.
  auto duration = core::wav_duration_ms(wav);
  if (!duration.is_ok()) {
    return fail(Status::invalid_argument(wav + ": " + duration.status().message()));
  }
  const int64_t duration_ms = duration.value();
  if (duration_ms == 0) return fail(Status::invalid_argument(wav + ": the recording is empty"));
  if (duration_ms > kMaxTalkSeconds * 1000) {
    return fail(Status::invalid_argument(wav + ": " + std::to_string(duration_ms / 1000) +
                                         " s long; one transmission holds at most " +
                                         std::to_string(kMaxTalkSeconds) + " s"));
  }
  auto reply = ask_node(options, {{"cmd", "talk"}, {"channel", channel}, {"wav", absolute(wav)}},
                        static_cast<int>(duration_ms + 20'000));
  if (!reply.is_ok()) return fail(reply.status());
  const json& message = reply.value()["message"];
  if (options.json) {
    std::cout << json_line(message) << "\n";
  } else {
    std::cout << "transmitted " << shown(message, "id").substr(0, 8) << " ("
              << shown(message, "body") << ") on #" << shown(message, "channel") << "\n";
  }
  return kExitOk;
}

int run_play(const GlobalOptions& options, const std::string& id, const std::string& out,
             core::VoiceFileFormat format) {
  json played;
  if (core::node_running(options.dir())) {
    const char* key = format == core::VoiceFileFormat::kOgg ? "ogg" : "wav";
    auto reply = ask_node(options, {{"cmd", "play"}, {"id", id}, {key, absolute(out)}});
    if (!reply.is_ok()) return fail(reply.status());
    played = reply.value()["played"];
  } else {
    auto account = unlock_offline(options);
    if (!account.is_ok()) return fail(account.status());
    auto result = core::offline_play(*account.value(), id, out, format);
    if (!result.is_ok()) return fail(result.status());
    played = core::played_object(result.value());
  }
  const bool valid = played.value("signature_valid", false);
  const json& message = played["message"];
  if (options.json) {
    std::cout << json_line(played) << "\n";
  } else {
    std::cout << "wrote " << display_text(out) << ": " << shown(message, "body") << " from "
              << shown(message, "sender_name") << " on #" << shown(message, "channel")
              << "; signature " << (valid ? "valid" : "DOES NOT VERIFY") << "\n";
  }
  if (!valid) {
    std::fprintf(stderr, "sotto: the clip's signature does not verify: it was altered\n");
    return kExitError;
  }
  return kExitOk;
}

}  // namespace sotto::cli
