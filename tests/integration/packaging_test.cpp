// What the package ships besides the binary, checked where `make test` can afford it: the
// version report, the manual pages under mandoc's lint, and the bash completion against the
// commands and options `sotto --help` lists. The interactive completion (bash in tmux, names from
// a running node) is completion_test.cpp; the .deb, the bundle and the units have their own
// opt-in make targets (doc/install.md).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "src/cli/version.h"
#include "tests/support/process.h"
#include "tests/support/skip.h"
#include "tests/support/source_tree.h"

using namespace sotto;
using test::lines_of;
using test::run_command;
using test::run_sotto;

namespace {

// The long options and the subcommands one `sotto ... --help` lists.
struct HelpEntries {
  std::set<std::string> options;
  std::set<std::string> subcommands;
};

HelpEntries help_entries(const std::vector<std::string>& path) {
  std::vector<std::string> args = path;
  args.push_back("--help");
  const test::CommandResult help = run_sotto(args);
  REQUIRE(help.exit_code == 0);
  HelpEntries entries;
  const std::regex option(R"(^  (?:-\w,)?(--[a-z][a-z-]*))");
  const std::regex subcommand(R"(^  ([a-z]+) )");
  bool in_subcommands = false;
  for (const std::string& line : lines_of(help.out)) {
    if (line.rfind("Subcommands:", 0) == 0) in_subcommands = true;
    std::smatch match;
    if (in_subcommands && std::regex_search(line, match, subcommand)) {
      entries.subcommands.insert(match[1]);
    } else if (!in_subcommands && std::regex_search(line, match, option)) {
      entries.options.insert(match[1]);
    }
  }
  return entries;
}

// What the bash completion offers for `sotto WORDS... CURRENT`, for each query, outside a
// terminal; one bash for all of them.
struct Query {
  std::vector<std::string> words;
  std::string current;
};

std::vector<std::set<std::string>> completions(const std::vector<Query>& queries) {
  std::string script = "source \"$0\"\n";
  for (const Query& query : queries) {
    script += "COMP_WORDS=(sotto";
    for (const std::string& word : query.words) script += " '" + word + "'";
    script += " '" + query.current + "'); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); " +
              "_sotto_complete; printf '%s\\n' \"${COMPREPLY[@]}\"; echo '=='\n";
  }
  const test::CommandResult result = run_command(
      "/bin/bash", {"-c", script, test::source_path("packaging/completion/bash/sotto").string()});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  std::vector<std::set<std::string>> offered(1);
  for (const std::string& line : lines_of(result.out)) {
    if (line == "==") {
      offered.emplace_back();
    } else if (!line.empty()) {
      offered.back().insert(line);
    }
  }
  REQUIRE(offered.size() == queries.size() + 1);
  offered.pop_back();  // the last "==" opened nothing
  return offered;
}

}  // namespace

TEST_CASE("sotto --version names its version and the five libraries it runs with",
          "[packaging][cli]") {
  const test::CommandResult result = run_sotto({"--version"});
  REQUIRE(result.exit_code == 0);
  const std::vector<std::string> lines = lines_of(result.out);
  REQUIRE(lines.size() == 6);
  CHECK(lines[0] == std::string("sotto ") + cli::kSottoVersion);
  const std::vector<std::string> libraries = {"libzmq", "libsignal-protocol-c", "Opus", "SQLCipher",
                                              "libsodium"};
  for (size_t i = 0; i < libraries.size(); ++i) {
    INFO(lines[i + 1]);
    // A version read from the library: digits and dots, never "unknown".
    CHECK(std::regex_match(lines[i + 1], std::regex("  " + libraries[i] + " [0-9]+\\.[0-9.]+.*")));
  }
}

TEST_CASE("debian/changelog's newest entry carries the version sotto reports", "[packaging]") {
  std::ifstream changelog(test::source_path("debian/changelog"));
  std::string first;
  REQUIRE(std::getline(changelog, first));
  CHECK(first.rfind(std::string("sotto (") + cli::kSottoVersion + ")", 0) == 0);
}

// Warnings and errors; mandoc's style notes (source lines over 80 bytes) do not change a page.
TEST_CASE("every manual page has no warning or error under mandoc's lint", "[packaging][man]") {
  SOTTO_SKIP_UNLESS(::access("/usr/bin/mandoc", X_OK) == 0, "mandoc is missing (run make deps)");
  for (const char* page : {"man/sotto.1", "man/sotto.toml.5", "man/sotto-security.7"}) {
    const test::CommandResult lint = run_command(
        "/usr/bin/mandoc", {"-T", "lint", "-W", "warning", test::source_path(page).string()});
    INFO(page << ": " << lint.out << lint.err);
    CHECK(lint.exit_code == 0);
    CHECK(lint.out.empty());
  }
}

TEST_CASE("the bash completion offers every command and option sotto --help lists",
          "[packaging][completion]") {
  std::vector<std::vector<std::string>> paths = {{}};
  std::vector<HelpEntries> helps;
  for (size_t i = 0; i < paths.size(); ++i) {
    helps.push_back(help_entries(paths[i]));
    for (const std::string& subcommand : helps.back().subcommands) {
      std::vector<std::string> deeper = paths[i];
      deeper.push_back(subcommand);
      paths.push_back(deeper);
    }
  }
  // The root, 24 commands, 8 channel commands, 1 audio command, 3 mailbox commands.
  CHECK(paths.size() == 37);
  std::vector<Query> queries;
  for (const auto& path : paths) {
    queries.push_back({path, "--"});
    queries.push_back({path, ""});
  }
  const std::vector<std::set<std::string>> offered = completions(queries);
  for (size_t i = 0; i < paths.size(); ++i) {
    std::string where = "sotto";
    for (const std::string& word : paths[i]) where += " " + word;
    for (const std::string& option : helps[i].options) {
      INFO(where << " " << option);
      CHECK(offered[2 * i].count(option) == 1);
    }
    for (const std::string& subcommand : helps[i].subcommands) {
      INFO(where << " " << subcommand);
      CHECK(offered[2 * i + 1].count(subcommand) == 1);
    }
  }
}
