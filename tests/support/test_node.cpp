#include "tests/support/test_node.h"

#include <stdexcept>

#include "sotto/base/bytes.h"
#include "tests/support/profiles.h"

namespace sotto::test {

core::NodeOptions loopback_options() {
  core::NodeOptions options;
  options.listen = "tcp://127.0.0.1:0";
  options.discovery = false;
  return options;
}

TestNode::TestNode(const std::string& name, core::NodeOptions options)
    : profile_dir_(tmp_ / "profile") {
  account_ = create_account(profile_dir_, name);
  auto node = core::Node::create(*account_, std::move(options), clock_);
  if (!node.is_ok()) throw std::runtime_error("starting node: " + node.status().message());
  node_ = std::move(node).value();
  thread_ = std::thread([this] { (void)node_->run(); });
}

TestNode::~TestNode() {
  stop();
}

void TestNode::stop() {
  if (!thread_.joinable()) return;
  node_->stop();
  thread_.join();
  node_.reset();
}

uint16_t TestNode::port() const {
  const std::string& ep = node_->endpoint();
  return static_cast<uint16_t>(std::stoi(ep.substr(ep.rfind(':') + 1)));
}

std::string TestNode::endpoint() const {
  return "tcp://127.0.0.1:" + std::to_string(port());
}

std::string TestNode::pinned_endpoint() const {
  return endpoint() + "#" + to_z85(account_->transport_public());
}

std::optional<core::PeerInfo> TestNode::peer(const std::string& fingerprint) {
  if (!node_) return std::nullopt;
  for (auto& info : node_->peers()) {
    if (info.fingerprint == fingerprint) return info;
  }
  return std::nullopt;
}

bool TestNode::sees_online(const TestNode& other) {
  auto info = peer(other.fingerprint());
  return info && (info->state == net::PeerState::kOnline);
}

uint64_t TestNode::counter(const std::string& name) {
  return node_->stats().get(name);
}

}  // namespace sotto::test
