// The CLI's commands, one function each; src/cli/app.cpp parses arguments and dispatches here.
// Every command returns the process exit code (0 ok, 1 operational error, 2 usage/bad input)
// and prints errors as one line on stderr.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/base/status.h"
#include "sotto/core/account.h"
#include "sotto/core/node.h"
#include "src/cli/passphrase.h"

namespace sotto::cli {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

struct GlobalOptions {
  std::string profile_dir;
  PassphraseSource passphrase;
  bool json = false;
  // --locked (hidden): the process image a lock left behind starts here, ignoring any
  // passphrase source, and waits for `sotto unlock`.
  bool start_locked = false;

  std::string dir() const;
};

// Node options as given on the command line (they override config.toml).
struct NodeArgs {
  std::string listen;
  std::string interface;
  std::vector<std::string> peers;
  bool no_discovery = false;
  int beacon_port = 0;             // 0: not given
  int voice_port = 0;              // 0: not given
  int beacon_interval_ms = 0;      // 0: not given
  int beacon_interval_max_ms = 0;  // 0: not given
  int link_idle_ms = 0;            // 0: not given
  std::string network_key_file;
  std::string audio_in;           // DEV or FILE.wav
  std::string audio_out;          // DEV, FILE.wav or DIR (one WAV file per received transmission)
  bool serve_mailbox = false;     // daemon --mailbox
  int64_t mailbox_quota_mib = 0;  // 0: not given
};

// Prints the error as one line on stderr (through display_text: it may name what a peer chose)
// and returns the exit code for its category.
int fail(const Status& status);

// Human output shows every text through display_text (sotto/base/display_text.h) — a peer's
// message, its name, a channel's or a member's name from a roster, and whatever else comes from
// the node — so a terminal draws it and never obeys it. Every line of a listing is one record: a
// line break in a message shows as "↵". The string `key` of `object` ("" when missing), so shown.
std::string shown(const nlohmann::json& object, const char* key);
// `value` as a line of --json output. Strings keep their text exactly; what JSON allows raw but
// a terminal obeys (C1 controls, DEL, bidi controls...) is written as a \u escape, which any
// JSON parser turns back into the same bytes.
std::string json_line(const nlohmann::json& value);
// The same for JSON text made elsewhere (the node's event lines).
std::string terminal_safe_json(std::string_view json_text);

int run_init(const GlobalOptions& options, const std::string& name, const std::string& kdf_name);
int run_id(const GlobalOptions& options);
int run_passwd(const GlobalOptions& options, const std::string& new_passphrase_file);
// `sotto` with no command: the terminal UI on a terminal, else who this profile is.
int run_default(const GlobalOptions& options, const NodeArgs& node_args);
int run_wipe(const GlobalOptions& options, bool yes);

int run_daemon(const GlobalOptions& options, const NodeArgs& args);
// `sotto lock` / `sotto unlock`: ask the running node (daemon or TUI) to lock, or unlock it with
// the passphrase (lock_commands.cpp).
int run_lock(const GlobalOptions& options);
int run_unlock(const GlobalOptions& options);
// Replaces this process by a fresh image of itself started with --locked (the way a node locks,
// see include/sotto/core/locked.h), listening again on `listen` when given (the endpoint it had,
// so peers given it by --peer find it after the unlock even if the port was chosen by the
// system). Returns only on failure, with the exit code.
int relock_process(const std::string& listen = "");
// The command line this process was started with (for relock_process).
void remember_invocation(int argc, char** argv);
int run_peers(const GlobalOptions& options);
int run_events(const GlobalOptions& options);
int run_stats(const GlobalOptions& options);

int run_add(const GlobalOptions& options, const std::string& peer, const std::string& name);
int run_verify(const GlobalOptions& options, const std::string& to, bool confirm);
int run_replace(const GlobalOptions& options, const std::string& old_contact,
                const std::string& new_contact);
int run_send(const GlobalOptions& options, const std::string& to, const std::string& text);
int run_history(const GlobalOptions& options, const std::string& to, int64_t limit);
int run_contacts(const GlobalOptions& options);
// `sotto channel ACTION`: `peers` are the members create (--members) or invite adds, in one
// roster change; `member` the one that remove takes off.
struct ChannelArgs {
  std::string name, member;
  std::vector<std::string> peers;
  bool open = false;
  bool free_voice = false;
};
int run_channel(const GlobalOptions& options, const std::string& action, const ChannelArgs& args);
int run_expire(const GlobalOptions& options, const std::string& to, const std::string& duration);
// `sotto mailbox use NODE | off | status` (mailbox_commands.cpp).
int run_mailbox(const GlobalOptions& options, const std::string& action, const std::string& node);
int run_talk(const GlobalOptions& options, const std::string& channel, const std::string& wav);
int run_play(const GlobalOptions& options, const std::string& id, const std::string& out,
             core::VoiceFileFormat format);

// `sotto search QUERY [--in TO] [--limit N]` and `sotto export --out FILE ...`
// (archive_commands.cpp).
struct ExportArgs {
  std::string out;
  std::string format = "json";
  std::string in;
  std::string since;  // a local date, as typed
  bool force = false;
  std::string voice = "ogg";
};
int run_search(const GlobalOptions& options, const std::string& query, const std::string& in,
               int64_t limit);
int run_export(const GlobalOptions& options, const ExportArgs& args);
// `sotto audio devices`: the sound devices PortAudio sees (no profile needed).
int run_audio_devices(const GlobalOptions& options);

// Node options: the command line over DIR/config.toml over the defaults.
Result<core::NodeOptions> node_options(const GlobalOptions& options, const NodeArgs& args);

// The profile's account, for commands that work without a node (asks for the passphrase).
Result<std::unique_ptr<core::Account>> unlock_offline(const GlobalOptions& options);

// A node's error reply ({"ok": false, "error": ..., "code": ...}) back into a Status, so the
// exit code follows its category.
Status status_of_reply(const nlohmann::json& reply);

// One request to the running node's control socket; the reply when it says "ok", else its
// error as a Status (so the exit code follows the error's kind).
Result<nlohmann::json> ask_node(const GlobalOptions& options, const nlohmann::json& request,
                                int timeout_ms = 15000);

}  // namespace sotto::cli
