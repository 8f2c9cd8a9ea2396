// `sotto channel create|invite|remove|leave|accept|decline|list|roster`: asks the running node.
#include <iostream>
#include <nlohmann/json.hpp>

#include "src/cli/commands.h"

namespace sotto::cli {
namespace {

using nlohmann::json;

std::optional<core::MemberTrust> member_trust(const json& member) {
  return core::parse_member_trust(member.value("trust", std::string()));
}

// "✔ alice (admin)  online  verified" and so on: one member per line.
void print_roster(const json& channel) {
  std::cout << "#" << shown(channel, "name") << "  (" << shown(channel, "state") << ", epoch "
            << channel.value("epoch", int64_t{0}) << ", "
            << (channel.value("strict", true) ? "strict" : "open") << ", voice "
            << (channel.value("free_voice", false) ? "free" : "one at a time") << ")\n"
            << "security code: " << shown(channel, "security_code") << "\n";
  for (const auto& m : channel.value("members", json::array())) {
    std::string trust = shown(m, "trust");
    if (member_trust(m) == core::MemberTrust::kVouched) trust += " by " + shown(m, "vouched_by");
    std::cout << "  " << (m.value("online", false) ? "online " : "offline") << "  "
              << (m.value("on_air", false) ? "ON AIR  " : "        ") << shown(m, "name")
              << (m.value("admin", false) ? " (admin)" : "") << "  " << trust << "  "
              << shown(m, "fingerprint").substr(0, 16)
              << (m.value("waiting_for_key", false) ? "  waiting for its key (it must come back "
                                                      "online to hand it over)"
                                                    : "")
              << "\n";
  }
  const json voice = channel.value("voice", json::array());
  if (!voice.empty()) std::cout << "latest transmissions:\n";
  for (const auto& v : voice) {
    std::cout << "  " << shown(v, "id").substr(0, 8) << "  " << shown(v, "talker_name") << "  "
              << v.value("duration_ms", int64_t{0}) / 1000.0 << " s  sent "
              << v.value("frames_sent", 0) << ", received " << v.value("frames_received", 0)
              << ", lost " << v.value("frames_lost", 0) << ", concealed "
              << v.value("frames_concealed", 0) << ", delay p50 " << v.value("delay_p50_ms", 0.0)
              << " ms, max " << v.value("delay_max_ms", 0.0) << " ms\n";
  }
}

void print_summary(const json& channel) {
  size_t unverified = 0;
  for (const auto& m : channel.value("members", json::array())) {
    const std::optional<core::MemberTrust> trust = member_trust(m);
    if (trust != core::MemberTrust::kMe && trust != core::MemberTrust::kVerified) ++unverified;
  }
  std::cout << "#" << shown(channel, "name") << "  "
            << channel.value("members", json::array()).size() << " members (" << unverified
            << " not verified by you)  " << shown(channel, "state") << "  code "
            << shown(channel, "security_code") << "\n";
}

}  // namespace

int run_channel(const GlobalOptions& options, const std::string& action, const ChannelArgs& args) {
  json request{{"cmd", "channel"}, {"action", action}, {"name", args.name}, {"peer", args.member}};
  if (!args.peers.empty()) request["members"] = args.peers;
  if (action == "create") {
    request["strict"] = !args.open;
    request["free"] = args.free_voice;
  }
  auto reply = ask_node(options, request);
  if (!reply.is_ok()) return fail(reply.status());
  if (action == "list") {
    for (const auto& channel : reply.value()["channels"]) {
      if (options.json) {
        std::cout << json_line(channel) << "\n";
      } else {
        print_summary(channel);
      }
    }
    return kExitOk;
  }
  const json& channel = reply.value()["channel"];
  if (options.json) {
    std::cout << json_line(channel) << "\n";
  } else if (action == "roster") {
    print_roster(channel);
  } else {
    std::cout << action << ": ";
    print_summary(channel);
  }
  return kExitOk;
}

}  // namespace sotto::cli
