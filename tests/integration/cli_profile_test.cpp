// The CLI contract for profiles (man sotto), exercised through the real build/sotto binary.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "sotto/storage/profile.h"
#include "tests/support/process.h"
#include "tests/support/profiles.h"
#include "tests/support/temp_dir.h"

using namespace sotto;
using sotto::test::run_sotto;
using sotto::test::TempDir;

namespace {

struct CliProfile {
  TempDir tmp;
  std::string dir = tmp / "profile";
  std::string pass_file = tmp / "pass";

  CliProfile() { test::write_file(pass_file, "s3cret passphrase\n"); }

  test::CommandResult sotto(std::vector<std::string> args) const {
    std::vector<std::string> all = {"--profile", dir, "--passphrase-file", pass_file};
    all.insert(all.end(), args.begin(), args.end());
    return run_sotto(all);
  }
  nlohmann::json init(const std::string& name = "alice") const {
    auto result = sotto({"init", "--name", name, "--kdf", "interactive", "--json"});
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
    return nlohmann::json::parse(result.out);
  }
};

}  // namespace

TEST_CASE("sotto init then sotto id report the same identity", "[cli][profile]") {
  CliProfile p;
  auto created = p.init();
  auto id = p.sotto({"id", "--json"});
  REQUIRE(id.exit_code == 0);
  auto shown = nlohmann::json::parse(id.out);
  CHECK(shown["name"] == "alice");
  CHECK(shown["fingerprint"] == created["fingerprint"]);
  CHECK(shown["transport_key"] == created["transport_key"]);
  CHECK(shown["fingerprint"].get<std::string>().size() == 64);
  CHECK(shown["transport_key"].get<std::string>().size() == 40);  // Z85 of 32 bytes

  auto text = p.sotto({"id"});
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find(created["fingerprint"].get<std::string>()) != std::string::npos);
  CHECK(text.out.find("alice") != std::string::npos);
}

TEST_CASE("a wrong passphrase exits 2 and changes no file in the profile", "[cli][profile]") {
  CliProfile p;
  p.init();
  const auto before = test::digest_files(p.dir);
  test::write_file(p.pass_file, "not it\n");
  auto result = p.sotto({"id"});
  CHECK(result.exit_code == 2);
  CHECK(result.err == "sotto: wrong passphrase\n");
  CHECK(result.out.empty());
  CHECK(test::digest_files(p.dir) == before);
}

TEST_CASE("sotto passwd re-keys: the new passphrase works and the old one fails",
          "[cli][profile]") {
  CliProfile p;
  auto created = p.init();
  const std::string new_file = p.tmp / "new-pass";
  test::write_file(new_file, "a different one\n");
  auto changed = p.sotto({"passwd", "--new-passphrase-file", new_file});
  INFO(changed.err);
  REQUIRE(changed.exit_code == 0);

  CHECK(p.sotto({"id"}).exit_code == 2);
  auto with_new = run_sotto({"--profile", p.dir, "--passphrase-file", new_file, "id", "--json"});
  REQUIRE(with_new.exit_code == 0);
  CHECK(nlohmann::json::parse(with_new.out)["fingerprint"] == created["fingerprint"]);
}

TEST_CASE("the passphrase can come through an inherited file descriptor", "[cli][profile]") {
  CliProfile p;
  p.init();
  const std::string pass = "s3cret passphrase\n";
  auto result = test::run_command(test::sotto_binary(),
                                  {"--profile", p.dir, "--passphrase-fd", "0", "id"}, &pass);
  CHECK(result.exit_code == 0);
  const std::string wrong = "nope\n";
  auto refused = test::run_command(test::sotto_binary(),
                                   {"--profile", p.dir, "--passphrase-fd", "0", "id"}, &wrong);
  CHECK(refused.exit_code == 2);
}

TEST_CASE("without a terminal and without a passphrase file the CLI exits 2 with a hint",
          "[cli][profile]") {
  CliProfile p;
  p.init();
  auto result = run_sotto({"--profile", p.dir, "id"});
  CHECK(result.exit_code == 2);
  CHECK(result.err.find("--passphrase-file") != std::string::npos);
  auto init = run_sotto({"--profile", p.tmp / "other", "init", "--name", "bob"});
  CHECK(init.exit_code == 2);
  CHECK_FALSE(storage::Profile::exists(p.tmp / "other"));
}

TEST_CASE("a second process on a profile in use fails with the holder's PID", "[cli][profile]") {
  CliProfile p;
  p.init();
  auto held = test::open_account(p.dir, "s3cret passphrase");
  auto result = p.sotto({"id"});
  CHECK(result.exit_code == 1);
  CHECK(result.err == "sotto: profile in use by PID " + std::to_string(::getpid()) + "\n");
}

TEST_CASE("a profile directory open to group or others is refused by the CLI", "[cli][profile]") {
  CliProfile p;
  p.init();
  REQUIRE(::chmod(p.dir.c_str(), 0755) == 0);
  auto result = p.sotto({"id"});
  CHECK(result.exit_code == 1);
  CHECK(result.err.find("accessible by group or others") != std::string::npos);
}

TEST_CASE("a corrupt database is reported as such with exit 1", "[cli][profile]") {
  CliProfile p;
  p.init();
  Bytes db = test::read_file(p.dir + "/sotto.db");
  db[db.size() / 2] ^= 0x55;
  test::write_file(p.dir + "/sotto.db", db);
  auto result = p.sotto({"id"});
  CHECK(result.exit_code == 1);
  CHECK(result.err.find("database corrupt") != std::string::npos);
  CHECK(test::read_file(p.dir + "/sotto.db") == db);
}

TEST_CASE("with no profile the CLI says exactly how to create one", "[cli][profile]") {
  CliProfile p;
  auto bare = run_sotto({"--profile", p.dir});
  CHECK(bare.exit_code == 0);
  CHECK(bare.out.find("sotto init --name") != std::string::npos);
  auto id = p.sotto({"id"});
  CHECK(id.exit_code == 1);
  CHECK(id.err.find("sotto init --name NAME") != std::string::npos);
}

TEST_CASE("init refuses an existing profile and bad options with exit 2", "[cli][profile]") {
  CliProfile p;
  p.init();
  CHECK(p.sotto({"init", "--name", "again", "--kdf", "interactive"}).exit_code == 2);
  CHECK(p.sotto({"init", "--name", "x", "--kdf", "weak"}).exit_code == 2);
  CHECK(p.sotto({"init"}).exit_code == 2);
  CHECK(run_sotto({"no-such-command"}).exit_code == 2);
}
