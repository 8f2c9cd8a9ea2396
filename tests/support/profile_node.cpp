#include "tests/support/profile_node.h"

#include <stdexcept>

#include "sotto/storage/profile.h"
#include "storage/profile_header.h"
#include "tests/support/profiles.h"

namespace sotto::test {

core::NodeOptions loopback_with_peers(const std::vector<std::string>& peers) {
  core::NodeOptions options = loopback_options();
  for (const auto& text : peers) {
    auto spec = core::PeerSpec::parse(text);
    if (!spec.is_ok()) throw std::runtime_error("bad peer " + text);
    options.peers.push_back(spec.value());
  }
  return options;
}

ProfileNode::ProfileNode(const std::string& name) : dir_(tmp_ / "profile") {
  fingerprint_ = create_account(dir_, name)->fingerprint();
}

ProfileNode::~ProfileNode() {
  stop();
}

void ProfileNode::start(core::NodeOptions options) {
  if (node_) throw std::runtime_error("ProfileNode: already running");
  account_ = open_account(dir_);
  auto node = core::Node::create(*account_, std::move(options), clock_);
  if (!node.is_ok()) {
    account_.reset();  // the profile's lock goes with it, so a later start can open it again
    throw std::runtime_error("starting node: " + node.status().message());
  }
  node_ = std::move(node).value();
  thread_ = std::thread([this] { (void)node_->run(); });
  wait_until_looping(*node_);  // on failure the destructor (or stop()) ends the thread
}

void ProfileNode::stop() {
  if (!node_) return;
  node_->stop();
  if (thread_.joinable()) thread_.join();
  node_.reset();
  account_.reset();
}

std::string ProfileNode::database_path() const {
  return dir_ + "/" + storage::Profile::kDatabaseFile;
}

Bytes ProfileNode::database_key() const {
  auto header = storage::ProfileHeader::read_file(dir_ + "/" + storage::Profile::kHeaderFile);
  if (!header.is_ok()) throw std::runtime_error("reading header: " + header.status().message());
  auto key = storage::derive_key(passphrase(kTestPassphrase), header->salt, header->kdf);
  if (!key.is_ok()) throw std::runtime_error("deriving key: " + key.status().message());
  return Bytes(key->view().begin(), key->view().end());
}

uint16_t ProfileNode::port() const {
  const std::string& ep = node_->endpoint();
  return static_cast<uint16_t>(std::stoi(ep.substr(ep.rfind(':') + 1)));
}

bool ProfileNode::sees_online(const std::string& fingerprint) {
  for (const auto& peer : node_->peers()) {
    if (peer.fingerprint == fingerprint) return peer.state == net::PeerState::kOnline;
  }
  return false;
}

uint64_t ProfileNode::counter(const std::string& name) {
  return node_->stats().get(name);
}

std::vector<core::MessageInfo> ProfileNode::history(const std::string& to) {
  auto list = node_->history(to, 1000000);
  if (!list.is_ok()) throw std::runtime_error("history: " + list.status().message());
  return std::move(list).value();
}

}  // namespace sotto::test
