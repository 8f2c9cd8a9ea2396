#include "tests/support/test_node.h"

#include <chrono>
#include <future>
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

void wait_until_looping(core::Node& node) {
  // send_text_async is the one call always queued for the loop, never run by the caller; an
  // empty text is refused there at once and changes nothing. Once the loop has run the task,
  // it marked itself running first, so every later call goes through it.
  auto probe = node.send_text_async("", "");
  if (probe.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    throw std::runtime_error("the node's loop did not start");
  }
  if (probe.get().is_ok()) throw std::runtime_error("the loop probe sent a text");
}

TestNode::TestNode(const std::string& name, core::NodeOptions options)
    : profile_dir_(tmp_ / "profile") {
  account_ = create_account(profile_dir_, name);
  auto node = core::Node::create(*account_, std::move(options), clock_);
  if (!node.is_ok()) throw std::runtime_error("starting node: " + node.status().message());
  node_ = std::move(node).value();
  thread_ = std::thread([this] { (void)node_->run(); });
  try {
    wait_until_looping(*node_);
  } catch (...) {
    stop();
    throw;
  }
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
