// Commands that work on the profile itself: init, id, passwd, and `sotto` with no command.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "sotto/base/bytes.h"
#include "sotto/base/display_text.h"
#include "sotto/core/account.h"
#include "sotto/core/control_client.h"
#include "sotto/core/profile_dir.h"
#include "src/cli/commands.h"
#include "tui/run.h"

namespace sotto::cli {
namespace {

Result<std::unique_ptr<core::Account>> unlock(const GlobalOptions& options) {
  const std::string dir = options.dir();
  if (!core::profile_exists(dir)) {
    return Status::not_found("no profile in " + dir + "; create one with: sotto init --name NAME");
  }
  SOTTO_ASSIGN_OR_RETURN(SecretBytes passphrase,
                         read_passphrase(options.passphrase, "Passphrase: ", false));
  return core::Account::open(dir, passphrase);
}

void print_identity(const nlohmann::json& id, bool json) {
  if (json) {
    std::cout << json_line(id) << "\n";
    return;
  }
  std::cout << "name         " << shown(id, "name") << "\n"
            << "fingerprint  " << shown(id, "fingerprint") << "\n"
            << "transport    " << shown(id, "transport_key") << "\n";
  if (id.contains("endpoint")) std::cout << "endpoint     " << shown(id, "endpoint") << "\n";
}

nlohmann::json identity_json(const core::Account& account) {
  return {{"name", account.name()},
          {"fingerprint", account.fingerprint()},
          {"identity_key", to_hex(account.identity_key())},
          {"transport_key", to_z85(account.transport_public())}};
}

}  // namespace

std::string GlobalOptions::dir() const {
  return profile_dir.empty() ? core::default_profile_dir() : profile_dir;
}

// Exit codes per man sotto: 2 for usage or bad input (a wrong passphrase included), 1 otherwise.
int fail(const Status& status) {
  std::fprintf(stderr, "sotto: %s\n", display_text(status.message()).c_str());
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kAuthFailed:
      return kExitUsage;
    default:
      return kExitError;
  }
}

int run_init(const GlobalOptions& options, const std::string& name, const std::string& kdf_name) {
  auto kdf = core::parse_kdf_cost(kdf_name);
  if (!kdf) {
    return fail(Status::invalid_argument("--kdf must be interactive, moderate or sensitive"));
  }
  const std::string dir = options.dir();
  if (core::profile_exists(dir)) {
    return fail(Status::invalid_argument("a profile already exists in " + dir));
  }
  auto passphrase = read_passphrase(options.passphrase, "New passphrase: ", true);
  if (!passphrase.is_ok()) return fail(passphrase.status());
  auto account = core::Account::create(dir, passphrase.value(), name, *kdf);
  if (!account.is_ok()) return fail(account.status().with_context("creating profile"));
  if (!options.json) std::cout << "created profile in " << dir << "\n";
  print_identity(identity_json(*account.value()), options.json);
  return kExitOk;
}

int run_id(const GlobalOptions& options) {
  // A running node holds the profile; ask it (it also knows its endpoint).
  if (core::node_running(options.dir())) {
    auto client = core::ControlClient::connect(options.dir());
    if (!client.is_ok()) return fail(client.status());
    auto reply = client.value()->request(R"({"cmd":"id"})");
    if (!reply.is_ok()) return fail(reply.status());
    auto id = nlohmann::json::parse(reply.value(), nullptr, false);
    if (!id.is_object()) return fail(Status::internal("unexpected reply from the node"));
    if (!id.value("ok", false)) return fail(status_of_reply(id));
    id.erase("ok");
    print_identity(id, options.json);
    return kExitOk;
  }
  auto account = unlock(options);
  if (!account.is_ok()) return fail(account.status());
  print_identity(identity_json(*account.value()), options.json);
  return kExitOk;
}

int run_passwd(const GlobalOptions& options, const std::string& new_passphrase_file) {
  auto account = unlock(options);
  if (!account.is_ok()) return fail(account.status());
  PassphraseSource new_source;
  new_source.file = new_passphrase_file;
  auto new_passphrase = read_passphrase(new_source, "New passphrase: ", true);
  if (!new_passphrase.is_ok()) return fail(new_passphrase.status());
  Status changed = account.value()->change_passphrase(new_passphrase.value());
  if (!changed.is_ok()) return fail(changed.with_context("changing passphrase"));
  if (!options.json) std::cout << "passphrase changed\n";
  return kExitOk;
}

// `sotto` with no command: on a terminal, the terminal UI (it creates or unlocks the profile
// itself); otherwise guide a new user, or show who this profile is.
int run_default(const GlobalOptions& options, const NodeArgs& node_args) {
  const std::string dir = options.dir();
  if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) && !options.json) {
    auto node = node_options(options, node_args);
    if (!node.is_ok()) return fail(node.status());
    tui::TuiOptions tui_options;
    tui_options.profile_dir = dir;
    tui_options.start_locked = options.start_locked;
    tui_options.node = std::move(node).value();
    const bool given = !options.passphrase.file.empty() || options.passphrase.fd >= 0;
    if (given && !options.start_locked) {
      auto passphrase = read_passphrase(options.passphrase, "Passphrase: ", false);
      if (!passphrase.is_ok()) return fail(passphrase.status());
      tui_options.passphrase = std::move(passphrase).value();
    }
    auto ran = tui::run_tui(std::move(tui_options));
    if (!ran.is_ok()) return fail(ran.status());
    return ran.value() == tui::TuiExit::kLock ? relock_process() : kExitOk;
  }
  if (!core::profile_exists(dir)) {
    std::cout << "sotto: no profile in " << dir << " yet.\n"
              << "Create one with:\n\n    sotto init --name YOUR_NAME\n\n"
              << "(add --profile DIR to keep it somewhere else). It asks for a passphrase\n"
              << "twice; the passphrase encrypts everything sotto stores.\n";
    return kExitOk;
  }
  int code = run_id(options);
  if (code == kExitOk && !options.json) {
    std::cout << "\nStart the node with 'sotto daemon'; 'sotto --help' lists the commands.\n";
  }
  return code;
}

int run_wipe(const GlobalOptions& options, bool yes) {
  const std::string dir = options.dir();
  if (!core::profile_exists(dir)) return fail(Status::not_found("no profile in " + dir));
  if (!yes) {
    if (!::isatty(STDIN_FILENO)) {
      return fail(Status::invalid_argument(
          "refusing to wipe without confirmation: run it in a terminal, or pass --yes"));
    }
    std::cerr << "This destroys the profile in " << dir
              << " for good: identity keys, contacts, channels and the whole archive.\n"
              << "Type 'wipe' to confirm: " << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "wipe") {
      std::fprintf(stderr, "sotto: not confirmed; nothing was changed\n");
      return kExitError;
    }
  }
  Status wiped = core::wipe_profile(dir);
  if (!wiped.is_ok()) return fail(wiped);
  if (!options.json) std::cout << "wiped " << dir << "\n";
  return kExitOk;
}

}  // namespace sotto::cli
