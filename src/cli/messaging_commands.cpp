// Commands for 1:1 messaging: add, verify, send, history, contacts.
#include <ctime>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "sotto/base/display_text.h"
#include "sotto/base/duration.h"
#include "sotto/core/account.h"
#include "sotto/core/control_client.h"
#include "sotto/core/json.h"
#include "sotto/core/offline.h"
#include "sotto/core/profile_dir.h"
#include "src/cli/commands.h"

namespace sotto::cli {
namespace {

using nlohmann::json;

void print_message(const json& m) {
  if (core::parse_message_kind(m.value("kind", std::string())) == core::MessageKind::kSystem) {
    std::cout << local_time_text(m.value("time", int64_t{0})) << "  * " << shown(m, "body") << "\n";
    return;
  }
  const bool outgoing = m.value("outgoing", false);
  std::string who = outgoing ? "me" : shown(m, "sender_name");
  if (!outgoing && core::parse_trust(m.value("trust", std::string())) != core::Trust::kVerified) {
    who += " (unverified)";
  }
  // Handed on by another member rather than by its author: said here, who only in --json.
  const bool relayed = !m.value("relayed_by", std::string()).empty();
  std::cout << local_time_text(m.value("time", int64_t{0})) << "  " << who << ": "
            << shown(m, "body") << "  [" << shown(m, "state") << (relayed ? ", relayed" : "")
            << "]\n";
}

}  // namespace

Result<std::unique_ptr<core::Account>> unlock_offline(const GlobalOptions& options) {
  const std::string dir = options.dir();
  if (!core::profile_exists(dir)) {
    return Status::not_found("no profile in " + dir + "; create one with: sotto init --name NAME");
  }
  SOTTO_ASSIGN_OR_RETURN(SecretBytes passphrase,
                         read_passphrase(options.passphrase, "Passphrase: ", false));
  return core::Account::open(dir, passphrase);
}

Status status_of_reply(const json& reply) {
  const std::string message = reply.value("error", std::string("the node refused"));
  return Status::failure(parse_status_code(reply.value("code", std::string())), message);
}

Result<json> ask_node(const GlobalOptions& options, const json& request, int timeout_ms) {
  std::string encoded;
  try {
    encoded = request.dump();
  } catch (const json::type_error&) {  // JSON carries only UTF-8; so do names and texts
    return Status::invalid_argument("arguments must be valid UTF-8 text");
  }
  SOTTO_ASSIGN_OR_RETURN(auto client, core::ControlClient::connect(options.dir()));
  SOTTO_ASSIGN_OR_RETURN(std::string reply, client->request(encoded, timeout_ms));
  auto parsed = json::parse(reply, nullptr, false);
  if (!parsed.is_object()) return Status::internal("unexpected reply from the node");
  if (!parsed.value("ok", false)) return status_of_reply(parsed);
  return parsed;
}

int run_add(const GlobalOptions& options, const std::string& peer, const std::string& name) {
  auto reply = ask_node(options, {{"cmd", "add"}, {"peer", peer}, {"name", name}});
  if (!reply.is_ok()) return fail(reply.status());
  const json& contact = reply.value()["contact"];
  if (options.json) {
    std::cout << json_line(contact) << "\n";
    return kExitOk;
  }
  const std::string added = shown(contact, "name");
  std::cout << "added " << added << " (" << shown(contact, "fingerprint").substr(0, 16) << "), "
            << shown(contact, "trust") << ".\nCompare safety numbers with: sotto verify " << added
            << "\n";
  return kExitOk;
}

int run_verify(const GlobalOptions& options, const std::string& to, bool confirm) {
  json reply;
  if (core::node_running(options.dir())) {
    auto asked = ask_node(options, {{"cmd", "verify"}, {"to", to}, {"confirm", confirm}});
    if (!asked.is_ok()) return fail(asked.status());
    reply = asked.value();
  } else {
    auto account = unlock_offline(options);
    if (!account.is_ok()) return fail(account.status());
    auto number = core::offline_safety_number(*account.value(), to);
    if (!number.is_ok()) return fail(number.status());
    reply = {{"ok", true}, {"safety_number", number.value()}};
    if (confirm) {
      auto confirmed = core::offline_confirm(*account.value(), to);
      if (!confirmed.is_ok()) return fail(confirmed.status());
      reply["contact"] = core::contact_object(confirmed.value());
    }
  }
  if (options.json) {
    reply.erase("ok");
    std::cout << json_line(reply) << "\n";
    return kExitOk;
  }
  const std::string who = display_text(to);
  std::cout << "safety number with " << who << ":\n\n    " << shown(reply, "safety_number")
            << "\n\n";
  if (confirm) {
    std::cout << who << " is now verified.\n";
  } else {
    std::cout << "Compare it with the one " << who
              << " sees (read it aloud); if equal: sotto verify " << who << " --confirm\n";
  }
  return kExitOk;
}

int run_replace(const GlobalOptions& options, const std::string& old_contact,
                const std::string& new_contact) {
  auto reply = ask_node(options, {{"cmd", "replace"}, {"old", old_contact}, {"new", new_contact}});
  if (!reply.is_ok()) return fail(reply.status());
  const json& contact = reply.value()["contact"];
  if (options.json) {
    std::cout << json_line(contact) << "\n";
    return kExitOk;
  }
  std::cout << shown(contact, "name") << " is now " << shown(contact, "fingerprint").substr(0, 16)
            << " (verified); the old key answers to the name no more.\n";
  return kExitOk;
}

int run_send(const GlobalOptions& options, const std::string& to, const std::string& text_arg) {
  std::string text = text_arg;
  if (text_arg == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  }
  auto reply = ask_node(options, {{"cmd", "send"}, {"to", to}, {"text", text}});
  if (!reply.is_ok()) return fail(reply.status());
  const json& message = reply.value()["message"];
  if (options.json) {
    std::cout << json_line(message) << "\n";
  } else {
    std::cout << "sent " << shown(message, "id").substr(0, 8) << " (" << shown(message, "state")
              << ")\n";
  }
  return kExitOk;
}

int run_history(const GlobalOptions& options, const std::string& to, int64_t limit) {
  std::vector<json> messages;
  if (core::node_running(options.dir())) {
    auto reply = ask_node(options, {{"cmd", "history"}, {"to", to}, {"limit", limit}});
    if (!reply.is_ok()) return fail(reply.status());
    for (const auto& m : reply.value()["messages"]) messages.push_back(m);
  } else {
    auto account = unlock_offline(options);
    if (!account.is_ok()) return fail(account.status());
    auto list = core::offline_history(*account.value(), to, limit);
    if (!list.is_ok()) return fail(list.status());
    for (const auto& m : list.value()) messages.push_back(core::message_object(m));
  }
  for (const auto& m : messages) {
    if (options.json) {
      std::cout << json_line(m) << "\n";
    } else {
      print_message(m);
    }
  }
  return kExitOk;
}

int run_contacts(const GlobalOptions& options) {
  std::vector<json> contacts;
  if (core::node_running(options.dir())) {
    auto reply = ask_node(options, {{"cmd", "contacts"}});
    if (!reply.is_ok()) return fail(reply.status());
    for (const auto& c : reply.value()["contacts"]) contacts.push_back(c);
  } else {
    auto account = unlock_offline(options);
    if (!account.is_ok()) return fail(account.status());
    auto list = core::offline_contacts(*account.value());
    if (!list.is_ok()) return fail(list.status());
    for (const auto& c : list.value()) contacts.push_back(core::contact_object(c));
  }
  for (const auto& c : contacts) {
    if (options.json) {
      std::cout << json_line(c) << "\n";
    } else {
      std::cout << (c.value("online", false) ? "online   " : "offline  ") << shown(c, "trust")
                << "  " << shown(c, "name") << "  " << shown(c, "fingerprint").substr(0, 16);
      // Not the contact the name finds: say so on the same line, where the name is read.
      if (c.contains("namesake_of")) {
        std::cout << "  ≈ namesake: also calls itself " << shown(c, "name") << ", is not "
                  << shown(c, "namesake_of").substr(0, 16);
      }
      std::cout << "\n";
    }
  }
  return kExitOk;
}

int run_expire(const GlobalOptions& options, const std::string& to, const std::string& duration) {
  const std::optional<int64_t> ms = parse_duration_ms(duration);
  if (!ms) {
    return fail(Status::invalid_argument("bad duration '" + duration +
                                         "': a number with s, m, h, d or w (e.g. 30s, 2h, 7d), "
                                         "or off"));
  }
  auto reply = ask_node(options, {{"cmd", "expire"}, {"to", to}, {"expire_ms", *ms}});
  if (!reply.is_ok()) return fail(reply.status());
  if (options.json) {
    std::cout << json_line(reply.value()["message"]) << "\n";
  } else {
    std::cout << "disappearing messages in " << display_text(to) << ": " << describe_duration(*ms)
              << "\n";
  }
  return kExitOk;
}

}  // namespace sotto::cli
