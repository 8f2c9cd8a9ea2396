// `sotto mailbox use NODE | off | status` (doc/guide.md, Mailboxes): asks the running node.
#include <iostream>
#include <string>

#include "src/cli/commands.h"

namespace sotto::cli {
namespace {

std::string mebibytes(int64_t bytes) {
  return std::to_string(bytes >> 20) + " MiB";
}

std::string kibibytes(int64_t bytes) {
  return std::to_string((bytes + 1023) / 1024) + " KiB";
}

void print_own(const nlohmann::json& mailbox) {
  if (mailbox.is_null()) {
    std::cout << "mailbox: none (sotto mailbox use NODE names one)\n";
    return;
  }
  const std::string name = shown(mailbox, "name");
  std::cout << "mailbox: " << (name.empty() ? "" : name + " ")
            << shown(mailbox, "fingerprint").substr(0, 16) << "  " << shown(mailbox, "state")
            << (mailbox.value("online", false) ? ", online" : ", offline");
  if (mailbox.contains("reason")) std::cout << " (" << shown(mailbox, "reason") << ")";
  if (mailbox.contains("held")) {
    std::cout << "  holds " << mailbox.value("held", int64_t{0}) << " for you";
  }
  if (mailbox.contains("quota_bytes")) {
    std::cout << " (quota " << mebibytes(mailbox.value("quota_bytes", int64_t{0})) << ")";
  }
  std::cout << "\n";
}

void print_serving(const nlohmann::json& status) {
  if (!status.value("serving", false)) return;
  const nlohmann::json& users = status["users"];
  std::cout << "serving as a mailbox: " << users.size() << " user" << (users.size() == 1 ? "" : "s")
            << " of at most " << status.value("max_users", int64_t{0}) << ", quota "
            << mebibytes(status.value("quota_bytes", int64_t{0})) << " each\n";
  for (const nlohmann::json& u : users) {
    const std::string name = shown(u, "name");
    // A user is named only if it is a contact here: a mailbox need not know its users.
    std::cout << "  " << (name.empty() ? "" : name + "  ") << shown(u, "fingerprint").substr(0, 16)
              << "  " << u.value("held", int64_t{0}) << " waiting ("
              << kibibytes(u.value("held_bytes", int64_t{0})) << ")  "
              << u.value("senders", int64_t{0}) << " may write\n";
  }
}

}  // namespace

int run_mailbox(const GlobalOptions& options, const std::string& action, const std::string& node) {
  auto reply = ask_node(options, {{"cmd", "mailbox"}, {"action", action}, {"node", node}});
  if (!reply.is_ok()) return fail(reply.status());
  const nlohmann::json& status = reply.value()["mailbox"];
  if (options.json) {
    std::cout << json_line(status) << "\n";
    return kExitOk;
  }
  if (action == "off") {
    std::cout << "you use no mailbox now; contacts learn it when next online\n";
    return kExitOk;
  }
  print_own(status["mailbox"]);
  if (action == "status") print_serving(status);
  return kExitOk;
}

}  // namespace sotto::cli
