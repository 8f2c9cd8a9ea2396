#include "sotto/core/config.h"

#include <fcntl.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "sotto/net/beacon.h"

namespace sotto::core {
namespace {

std::string where(const std::string& path, const toml::source_region& source) {
  return path + " line " + std::to_string(source.begin.line);
}

}  // namespace

Result<NodeConfig> load_config(const std::string& path) {
  NodeConfig config;
  if (!std::filesystem::exists(path)) return config;
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& error) {
    return Status::invalid_argument(where(path, error.source()) + ": " +
                                    std::string(error.description()));
  }
  static const std::set<std::string> kKnown = {"listen",           "interface",        "peers",
                                               "discovery",        "beacon_port",      "voice_port",
                                               "network_key_file", "accept_unknown",   "mailbox",
                                               "serve_mailbox",    "mailbox_quota_mib"};
  for (const auto& [key, node] : table) {
    if (!kKnown.count(std::string(key.str()))) {
      return Status::invalid_argument(where(path, node.source()) + ": unknown setting '" +
                                      std::string(key.str()) + "'");
    }
  }
  auto text = [&](const char* key, std::optional<std::string>& out) -> Status {
    const toml::node* node = table.get(key);
    if (node == nullptr) return Status::ok();
    if (!node->is_string()) {
      return Status::invalid_argument(where(path, node->source()) + ": " + key +
                                      " must be a string");
    }
    out = node->as_string()->get();
    return Status::ok();
  };
  SOTTO_RETURN_IF_ERROR(text("listen", config.listen));
  SOTTO_RETURN_IF_ERROR(text("interface", config.interface));
  SOTTO_RETURN_IF_ERROR(text("network_key_file", config.network_key_file));
  SOTTO_RETURN_IF_ERROR(text("mailbox", config.mailbox));
  if (const toml::node* node = table.get("peers")) {
    const toml::array* peers = node->as_array();
    if (peers == nullptr) {
      return Status::invalid_argument(where(path, node->source()) +
                                      ": peers must be an array of strings");
    }
    for (const toml::node& peer : *peers) {
      if (!peer.is_string()) {
        return Status::invalid_argument(where(path, peer.source()) +
                                        ": peers must be an array of strings");
      }
      config.peers.push_back(peer.as_string()->get());
    }
  }
  for (auto [key, out] : {std::pair{"discovery", &config.discovery},
                          std::pair{"accept_unknown", &config.accept_unknown},
                          std::pair{"serve_mailbox", &config.serve_mailbox}}) {
    const toml::node* node = table.get(key);
    if (node == nullptr) continue;
    if (!node->is_boolean()) {
      return Status::invalid_argument(where(path, node->source()) + ": " + key +
                                      " must be true or false");
    }
    *out = node->as_boolean()->get();
  }
  for (auto [key, out] : {std::pair{"beacon_port", &config.beacon_port},
                          std::pair{"voice_port", &config.voice_port}}) {
    const toml::node* node = table.get(key);
    if (node == nullptr) continue;
    const auto* port = node->as_integer();
    if (port == nullptr || port->get() < 1 || port->get() > 65535) {
      return Status::invalid_argument(where(path, node->source()) + ": " + key +
                                      " must be a port number (1-65535)");
    }
    *out = static_cast<uint16_t>(port->get());
  }
  if (const toml::node* node = table.get("mailbox_quota_mib")) {
    const auto* quota = node->as_integer();
    if (quota == nullptr || quota->get() < 1 || quota->get() > kMaxMailboxQuotaMib) {
      return Status::invalid_argument(where(path, node->source()) +
                                      ": mailbox_quota_mib must be 1-" +
                                      std::to_string(kMaxMailboxQuotaMib));
    }
    config.mailbox_quota_mib = quota->get();
  }
  return config;
}

Result<SecretBytes> read_network_key(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::invalid_argument("cannot read network key file " + path + ": " +
                                    std::strerror(errno));
  }
  // One byte more than a key file may hold, so that a larger one shows.
  SecretBytes buffer(net::kMaxNetworkKeyBytes + 1);
  size_t size = 0;
  while (size < buffer.size()) {
    const ssize_t n = ::read(fd, buffer.data() + size, buffer.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Status::invalid_argument("cannot read network key file " + path + ": " +
                                      std::strerror(err));
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
  }
  ::close(fd);
  SecretBytes key = SecretBytes::copy_of(ByteView(buffer.data(), size));
  const Status strong = net::check_network_key(key.view());
  if (!strong.is_ok()) {
    return Status::invalid_argument(
        "network key file " + path + " refused: " + strong.message() +
        "; make one of 32 random bytes with: head -c 32 /dev/urandom > " + path);
  }
  return key;
}

}  // namespace sotto::core
