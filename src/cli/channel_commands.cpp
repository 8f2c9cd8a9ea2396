// `sotto channel create|invite|remove|leave|list|roster`: asks the running node.
#include <iostream>
#include <nlohmann/json.hpp>

#include "src/cli/commands.h"

namespace sotto::cli {
namespace {

using nlohmann::json;

// "✔ alice (admin)  online  verified" and so on: one member per line.
void print_roster(const json& channel) {
  std::cout << "#" << channel.value("name", std::string()) << "  ("
            << channel.value("state", std::string()) << ", epoch "
            << channel.value("epoch", int64_t{0}) << ", "
            << (channel.value("strict", true) ? "strict" : "open") << ")\n"
            << "security code: " << channel.value("security_code", std::string()) << "\n";
  for (const auto& m : channel.value("members", json::array())) {
    std::string trust = m.value("trust", std::string());
    if (trust == "vouched") trust = "vouched by " + m.value("vouched_by", std::string());
    std::cout << "  " << (m.value("online", false) ? "online " : "offline") << "  "
              << (m.value("on_air", false) ? "ON AIR  " : "        ") << m.value("name", "")
              << (m.value("admin", false) ? " (admin)" : "") << "  " << trust << "  "
              << m.value("fingerprint", std::string()).substr(0, 16) << "\n";
  }
}

void print_summary(const json& channel) {
  size_t unverified = 0;
  for (const auto& m : channel.value("members", json::array())) {
    const std::string trust = m.value("trust", std::string());
    if (trust != "me" && trust != "verified") ++unverified;
  }
  std::cout << "#" << channel.value("name", std::string()) << "  "
            << channel.value("members", json::array()).size() << " members (" << unverified
            << " not verified by you)  " << channel.value("state", std::string()) << "  code "
            << channel.value("security_code", std::string()) << "\n";
}

}  // namespace

int run_channel(const GlobalOptions& options, const std::string& action, const std::string& name,
                const std::string& peer, bool open) {
  json request{{"cmd", "channel"}, {"action", action}, {"name", name}, {"peer", peer}};
  if (action == "create") request["strict"] = !open;
  auto reply = ask_node(options, request);
  if (!reply.is_ok()) return fail(reply.status());
  if (action == "list") {
    for (const auto& channel : reply.value()["channels"]) {
      if (options.json) {
        std::cout << channel.dump() << "\n";
      } else {
        print_summary(channel);
      }
    }
    return kExitOk;
  }
  const json& channel = reply.value()["channel"];
  if (options.json) {
    std::cout << channel.dump() << "\n";
  } else if (action == "roster") {
    print_roster(channel);
  } else {
    std::cout << action << ": ";
    print_summary(channel);
  }
  return kExitOk;
}

}  // namespace sotto::cli
