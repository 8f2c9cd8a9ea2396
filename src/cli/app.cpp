#include "src/cli/app.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

#include "sotto/base/bytes.h"
#include "sotto/core/account.h"
#include "src/cli/passphrase.h"

namespace sotto::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

struct GlobalOptions {
  std::string profile_dir;
  PassphraseSource passphrase;
  bool json = false;

  std::string dir() const {
    return profile_dir.empty() ? storage::Profile::default_dir() : profile_dir;
  }
};

// Exit codes per DESIGN §10: 2 for usage or bad input (a wrong passphrase included), 1 otherwise.
int fail(const Status& status) {
  std::fprintf(stderr, "sotto: %s\n", status.message().c_str());
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kAuthFailed:
      return kExitUsage;
    default:
      return kExitError;
  }
}

Result<std::unique_ptr<core::Account>> unlock(const GlobalOptions& options) {
  const std::string dir = options.dir();
  if (!storage::Profile::exists(dir)) {
    return Status::not_found("no profile in " + dir + "; create one with: sotto init --name NAME");
  }
  SOTTO_ASSIGN_OR_RETURN(SecretBytes passphrase,
                         read_passphrase(options.passphrase, "Passphrase: ", false));
  return core::Account::open(dir, passphrase);
}

void print_identity(const core::Account& account, bool json) {
  const std::string transport = to_z85(account.transport_public());
  if (json) {
    nlohmann::json out = {{"name", account.name()},
                          {"fingerprint", account.fingerprint()},
                          {"identity_key", to_hex(account.identity_key())},
                          {"transport_key", transport}};
    std::cout << out.dump() << "\n";
    return;
  }
  std::cout << "name         " << account.name() << "\n"
            << "fingerprint  " << account.fingerprint() << "\n"
            << "transport    " << transport << "\n";
}

int run_init(const GlobalOptions& options, const std::string& name, const std::string& kdf_name) {
  auto kdf = storage::KdfParams::by_name(kdf_name);
  if (!kdf)
    return fail(Status::invalid_argument("--kdf must be interactive, moderate or sensitive"));
  const std::string dir = options.dir();
  if (storage::Profile::exists(dir)) {
    return fail(Status::invalid_argument("a profile already exists in " + dir));
  }
  auto passphrase = read_passphrase(options.passphrase, "New passphrase: ", true);
  if (!passphrase.is_ok()) return fail(passphrase.status());
  auto account = core::Account::create(dir, passphrase.value(), name, *kdf);
  if (!account.is_ok()) return fail(account.status().with_context("creating profile"));
  if (!options.json) std::cout << "created profile in " << dir << "\n";
  print_identity(*account.value(), options.json);
  return kExitOk;
}

int run_id(const GlobalOptions& options) {
  auto account = unlock(options);
  if (!account.is_ok()) return fail(account.status());
  print_identity(*account.value(), options.json);
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

// `sotto` with no command: guide a new user, or show who this profile is.
int run_default(const GlobalOptions& options) {
  const std::string dir = options.dir();
  if (!storage::Profile::exists(dir)) {
    std::cout << "sotto: no profile in " << dir << " yet.\n"
              << "Create one with:\n\n    sotto init --name YOUR_NAME\n\n"
              << "(add --profile DIR to keep it somewhere else). It asks for a passphrase\n"
              << "twice; the passphrase encrypts everything sotto stores.\n";
    return kExitOk;
  }
  auto account = unlock(options);
  if (!account.is_ok()) return fail(account.status());
  print_identity(*account.value(), options.json);
  if (!options.json) std::cout << "\nRun 'sotto --help' for the commands.\n";
  return kExitOk;
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"sotto: end-to-end encrypted text and push-to-talk voice for isolated LANs"};
  app.set_version_flag("--version", "sotto 0.1");
  app.require_subcommand(0, 1);
  app.fallthrough();

  GlobalOptions options;
  app.add_option("--profile", options.profile_dir,
                 "profile directory (default: " + storage::Profile::default_dir() + ")");
  app.add_option("--passphrase-file", options.passphrase.file,
                 "read the passphrase from FILE (first line)");
  app.add_option("--passphrase-fd", options.passphrase.fd,
                 "read the passphrase from file descriptor N")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--json", options.json, "machine output: one JSON object per line");

  std::string name;
  std::string kdf_name = "moderate";
  CLI::App* init =
      app.add_subcommand("init", "create a profile (identity, keys, encrypted database)");
  init->add_option("--name", name, "your name as peers will see it")->required();
  init->add_option("--kdf", kdf_name, "passphrase hardening: interactive, moderate or sensitive")
      ->check(CLI::IsMember({"interactive", "moderate", "sensitive"}));

  CLI::App* id = app.add_subcommand("id", "own name, fingerprint and transport key");

  std::string new_passphrase_file;
  CLI::App* passwd = app.add_subcommand("passwd", "change the passphrase (re-key the database)");
  passwd->add_option("--new-passphrase-file", new_passphrase_file,
                     "read the new passphrase from FILE");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "sotto: %s\n", e.what());
    return kExitUsage;
  }

  if (*init) return run_init(options, name, kdf_name);
  if (*id) return run_id(options);
  if (*passwd) return run_passwd(options, new_passphrase_file);
  return run_default(options);
}

}  // namespace sotto::cli
