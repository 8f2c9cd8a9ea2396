#include "tests/support/channel_lab.h"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <stdexcept>

#include "tests/support/wait.h"

namespace sotto::test {

ChannelLab::ChannelLab(const std::vector<std::string>& names, Configure configure)
    : names_(names), configure_(std::move(configure)) {
  for (const auto& name : names_) {
    if (nodes_.count(name)) throw std::runtime_error("ChannelLab: duplicate name " + name);
    nodes_[name] = std::make_unique<ProfileNode>(name);
    start(name);
  }
}

ProfileNode& ChannelLab::operator[](const std::string& name) {
  auto it = nodes_.find(name);
  if (it == nodes_.end()) throw std::runtime_error("ChannelLab: no node " + name);
  return *it->second;
}

bool ChannelLab::all_online() {
  for (const auto& a : names_) {
    if (!nodes_[a]->running()) continue;
    for (const auto& b : names_) {
      if (a == b || !nodes_[b]->running()) continue;
      if (!nodes_[a]->sees_online(nodes_[b]->fingerprint())) return false;
    }
  }
  return true;
}

void ChannelLab::start(const std::string& name) {
  std::vector<std::string> others;
  for (const auto& other : names_) {
    if (other != name && nodes_.count(other) && nodes_[other]->running()) {
      others.push_back(nodes_[other]->endpoint());
    }
  }
  core::NodeOptions options = loopback_with_peers(others);
  if (configure_) configure_(name, options);
  (*this)[name].start(std::move(options));
}

void ChannelLab::add_verified(const std::string& who, const std::vector<std::string>& contacts) {
  core::Node& node = (*this)[who].node();
  for (const auto& contact : contacts) {
    auto added = node.add_contact(contact);
    if (!added.is_ok()) {
      throw std::runtime_error(who + " adding " + contact + ": " + added.status().message());
    }
    auto confirmed = node.confirm_contact(contact);
    if (!confirmed.is_ok()) {
      throw std::runtime_error(who + " confirming " + contact + ": " +
                               confirmed.status().message());
    }
    if (confirmed.value().trust != core::Trust::kVerified) {
      throw std::runtime_error(who + " confirmed " + contact + " but it is not verified");
    }
  }
}

void ChannelLab::accept_invitation(const std::string& member, const std::string& admin,
                                   const std::string& channel) {
  using namespace std::chrono_literals;
  ProfileNode& node = (*this)[member];
  auto invited = [&] {
    auto seen = channel_of(node, channel);
    return seen && seen->state == core::ChannelState::kInvited;
  };
  if (!wait_until(invited, 8s)) {
    throw std::runtime_error(member + " never got the invitation to #" + channel + ": " +
                             describe(channel_of(node, channel)));
  }
  // The admin reached it over their 1:1 session, so it is a contact: compared, then accepted.
  auto confirmed = node.node().confirm_contact((*this)[admin].fingerprint());
  if (!confirmed.is_ok()) {
    throw std::runtime_error(member + " confirming " + admin + ": " + confirmed.status().message());
  }
  auto accepted = node.node().accept_channel(channel);
  if (!accepted.is_ok()) {
    throw std::runtime_error(member + " accepting #" + channel + ": " +
                             accepted.status().message());
  }
}

void open_channel(ChannelLab& lab, const std::string& admin, const std::string& channel,
                  const std::vector<std::string>& members, bool free_voice) {
  using namespace std::chrono_literals;
  auto fail = [&](const std::string& what, const Status& status = Status::ok()) {
    throw std::runtime_error("opening #" + channel + ": " + what + " " + status.message());
  };
  if (!wait_until([&] { return lab.all_online(); }, 8s)) fail("the nodes never all came online");
  lab.add_verified(admin, members);
  if (auto created = lab[admin].node().create_channel(channel, true, free_voice);
      !created.is_ok()) {
    fail("create", created.status());
  }
  for (const auto& name : members) {
    auto invited = lab[admin].node().invite_to_channel(channel, name);
    if (!invited.is_ok()) fail("invite " + name, invited.status());
  }
  for (const auto& name : members) lab.accept_invitation(name, admin, channel);
  std::vector<std::string> all = {admin};
  all.insert(all.end(), members.begin(), members.end());
  for (const auto& from : all) {
    const std::string body = "hello from " + from;
    auto sent = lab[from].node().send_text("#" + channel, body);
    if (!sent.is_ok()) fail(from + " sending", sent.status());
    const bool everywhere = wait_until(
        [&] {
          return std::all_of(all.begin(), all.end(), [&](const std::string& name) {
            return count_text(lab[name].history("#" + channel), body) > 0;
          });
        },
        10s);
    if (!everywhere) fail(body + " did not reach every member");
  }
}

uint64_t talk_until_heard(ChannelLab& lab, const std::string& talker, const std::string& listener,
                          const std::string& channel, const std::string& recording) {
  auto sent = lab[talker].node().talk(channel, recording);
  if (!sent.is_ok()) throw std::runtime_error("talk: " + sent.status().message());
  const uint64_t frames = lab[talker].counter("voice_frames_sent");
  if (!wait_until([&] { return lab[listener].counter("voice_frames_received") == frames; },
                  std::chrono::seconds(5))) {
    throw std::runtime_error(listener + " received " +
                             std::to_string(lab[listener].counter("voice_frames_received")) +
                             " of the " + std::to_string(frames) + " frames " + talker + " sent");
  }
  return frames;
}

std::optional<core::ChannelInfo> channel_of(ProfileNode& node, const std::string& channel) {
  if (!node.running()) return std::nullopt;
  auto info = node.node().channel(channel);
  if (!info.is_ok()) return std::nullopt;
  return std::move(info).value();
}

const core::ChannelMember* member_named(const core::ChannelInfo& channel, const std::string& name) {
  for (const auto& member : channel.members) {
    if (member.name == name) return &member;
  }
  return nullptr;
}

std::set<std::string> member_fingerprints(const core::ChannelInfo& channel) {
  std::set<std::string> out;
  for (const auto& member : channel.members) out.insert(member.fingerprint);
  return out;
}

std::string describe(const std::optional<core::ChannelInfo>& channel) {
  if (!channel) return "(no such channel)";
  std::ostringstream out;
  out << "#" << channel->name << " state=" << core::to_string(channel->state)
      << " epoch=" << channel->epoch << " admin=" << channel->admin_name << " code=["
      << channel->security_code << "] members:";
  for (const auto& m : channel->members) {
    out << " " << m.name << "(" << m.fingerprint.substr(0, 8) << "," << core::to_string(m.trust);
    if (!m.vouched_by.empty()) out << " by " << m.vouched_by;
    if (m.admin) out << ",admin";
    if (m.online) out << ",online";
    out << ")";
  }
  return out.str();
}

bool is_security_code(const std::string& code) {
  // "ddddd ddddd ddddd ddddd ddddd ddddd" (no std::regex: GCC 12 warns inside it under ASan)
  if (code.size() != 35) return false;
  for (size_t i = 0; i < code.size(); ++i) {
    const bool separator = i % 6 == 5;
    if (separator ? code[i] != ' ' : !std::isdigit(static_cast<unsigned char>(code[i]))) {
      return false;
    }
  }
  return true;
}

size_t count_text(const std::vector<core::MessageInfo>& history, const std::string& body) {
  return static_cast<size_t>(std::count_if(history.begin(), history.end(), [&](const auto& m) {
    return m.kind == core::MessageKind::kText && m.body == body;
  }));
}

std::vector<core::MessageInfo> system_events(const std::vector<core::MessageInfo>& history) {
  std::vector<core::MessageInfo> out;
  for (const auto& m : history) {
    if (m.kind == core::MessageKind::kSystem) out.push_back(m);
  }
  return out;
}

size_t count_system(const std::vector<core::MessageInfo>& history, const std::string& needle) {
  return static_cast<size_t>(std::count_if(history.begin(), history.end(), [&](const auto& m) {
    return m.kind == core::MessageKind::kSystem && m.body.find(needle) != std::string::npos;
  }));
}

bool outgoing_delivered(const std::vector<core::MessageInfo>& history, size_t n) {
  size_t outgoing = 0, delivered = 0;
  for (const auto& m : history) {
    if (!m.outgoing || m.kind != core::MessageKind::kText) continue;
    ++outgoing;
    if (m.state == core::MessageState::kDelivered) ++delivered;
  }
  return outgoing == n && delivered == n;
}

std::vector<std::string> text_bodies(const std::vector<core::MessageInfo>& history) {
  std::vector<std::string> out;
  for (const auto& m : history) {
    if (m.kind == core::MessageKind::kText) out.push_back(m.body);
  }
  return out;
}

}  // namespace sotto::test
