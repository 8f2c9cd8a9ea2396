#include "tests/support/mailbox_lab.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <future>

#include "tests/support/test_node.h"
#include "tests/support/wait.h"

using namespace std::chrono_literals;

namespace sotto::test {

core::NodeOptions mailbox_options(const std::string& listen, core::MailboxLimits limits) {
  core::NodeOptions options = loopback_options();
  options.serve_mailbox = true;
  options.mailbox_limits = limits;
  if (!listen.empty()) options.listen = listen;
  return options;
}

void befriend_and_name(ProfileNode& alice, ProfileNode& bob,
                       const std::string& mailbox_fingerprint) {
  REQUIRE(wait_until([&] { return alice.sees_online(bob.fingerprint()); }, 5s));
  REQUIRE(alice.node().add_contact(bob.fingerprint()).is_ok());
  REQUIRE(wait_until([&] { return bob.sees_online(alice.fingerprint()); }, 5s));
  REQUIRE(bob.node().add_contact(alice.fingerprint()).is_ok());
  REQUIRE(wait_until([&] { return bob.sees_online(mailbox_fingerprint); }, 5s));
  auto used = bob.node().use_mailbox(mailbox_fingerprint.substr(0, 16));
  INFO(used.status().message());
  REQUIRE(used.is_ok());
  CHECK(used.value().mailbox == mailbox_fingerprint);
  CHECK(used.value().state == "accepted");
  REQUIRE(wait_until([&] { return alice.counter("mailbox_records_received") >= 1; }, 5s));
}

std::vector<std::string> numbered_texts(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, " %03d", i);
    out.push_back(prefix + suffix);
  }
  return out;
}

void send_all(ProfileNode& from, const std::string& to, const std::vector<std::string>& texts) {
  std::vector<std::future<Result<core::MessageInfo>>> sends;
  for (const auto& text : texts) sends.push_back(from.node().send_text_async(to, text));
  for (auto& sent : sends) REQUIRE(sent.get().is_ok());
}

std::vector<std::string> received_from(ProfileNode& node, const std::string& from) {
  std::vector<std::string> out;
  for (const auto& m : node.history(from)) {
    if (!m.outgoing && m.kind == core::MessageKind::kText) out.push_back(m.body);
  }
  return out;
}

size_t in_state(ProfileNode& node, const std::string& to, core::MessageState state) {
  const auto history = node.history(to);
  return static_cast<size_t>(std::count_if(history.begin(), history.end(), [&](const auto& m) {
    return m.outgoing && m.state == state;
  }));
}

std::optional<core::MailboxUser> mailbox_user(core::Node& mailbox, const std::string& fingerprint) {
  auto info = mailbox.mailbox();
  REQUIRE(info.is_ok());
  for (const auto& u : info.value().users) {
    if (u.fingerprint == fingerprint) return u;
  }
  return std::nullopt;
}

}  // namespace sotto::test
