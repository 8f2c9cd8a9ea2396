#include "sotto/core/config.h"

#include <toml++/toml.h>

#include <filesystem>
#include <set>

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
  static const std::set<std::string> kKnown = {"listen",        "interface",   "peers",
                                               "discovery",     "beacon_port", "network_key_file",
                                               "accept_unknown"};
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
                          std::pair{"accept_unknown", &config.accept_unknown}}) {
    const toml::node* node = table.get(key);
    if (node == nullptr) continue;
    if (!node->is_boolean()) {
      return Status::invalid_argument(where(path, node->source()) + ": " + key +
                                      " must be true or false");
    }
    *out = node->as_boolean()->get();
  }
  if (const toml::node* node = table.get("beacon_port")) {
    const auto* port = node->as_integer();
    if (port == nullptr || port->get() < 1 || port->get() > 65535) {
      return Status::invalid_argument(where(path, node->source()) +
                                      ": beacon_port must be a port number (1-65535)");
    }
    config.beacon_port = static_cast<uint16_t>(port->get());
  }
  return config;
}

}  // namespace sotto::core
