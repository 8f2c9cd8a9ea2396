// Commands around the running node: daemon (runs it), peers, events and stats (ask it).
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "sotto/base/clock.h"
#include "sotto/base/display_text.h"
#include "sotto/core/account.h"
#include "sotto/core/config.h"
#include "sotto/core/control_client.h"
#include "sotto/core/locked.h"
#include "sotto/core/node.h"
#include "sotto/core/profile_dir.h"
#include "src/cli/commands.h"

namespace sotto::cli {
namespace {

std::atomic<core::Node*> g_running_node{nullptr};
volatile sig_atomic_t g_interrupted = 0;

void on_stop_signal(int) {
  g_interrupted = 1;
  if (core::Node* node = g_running_node.load()) node->stop();
}

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

}  // namespace

// Command line over config.toml over defaults.
Result<core::NodeOptions> node_options(const GlobalOptions& options, const NodeArgs& args) {
  SOTTO_ASSIGN_OR_RETURN(core::NodeConfig config,
                         core::load_config(options.dir() + "/config.toml"));
  core::NodeOptions out;
  out.listen = !args.listen.empty() ? args.listen : config.listen.value_or("");
  out.interface = !args.interface.empty() ? args.interface : config.interface.value_or("");
  const std::vector<std::string>& peers = !args.peers.empty() ? args.peers : config.peers;
  for (const std::string& peer : peers) {
    SOTTO_ASSIGN_OR_RETURN(core::PeerSpec spec, core::PeerSpec::parse(peer));
    out.peers.push_back(std::move(spec));
  }
  out.discovery = !args.no_discovery && config.discovery.value_or(true);
  out.accept_unknown = config.accept_unknown.value_or(true);
  if (args.beacon_port != 0) {
    out.beacon_port = static_cast<uint16_t>(args.beacon_port);
  } else if (config.beacon_port) {
    out.beacon_port = *config.beacon_port;
  }
  if (args.voice_port != 0) {
    out.voice_port = static_cast<uint16_t>(args.voice_port);
  } else if (config.voice_port) {
    out.voice_port = *config.voice_port;
  }
  if (args.beacon_interval_ms != 0) out.beacon_interval_ms = args.beacon_interval_ms;
  if (args.beacon_interval_max_ms != 0) out.beacon_interval_max_ms = args.beacon_interval_max_ms;
  if (args.link_idle_ms != 0) out.link_idle_ms = args.link_idle_ms;
  const std::string key_file =
      !args.network_key_file.empty() ? args.network_key_file : config.network_key_file.value_or("");
  if (!key_file.empty()) {
    SOTTO_ASSIGN_OR_RETURN(SecretBytes key, core::read_network_key(key_file));
    out.network_key = std::move(key);
  }
  out.audio_in = args.audio_in;
  out.audio_out = args.audio_out;
  out.serve_mailbox = args.serve_mailbox || config.serve_mailbox.value_or(false);
  const int64_t quota_mib =
      args.mailbox_quota_mib != 0 ? args.mailbox_quota_mib : config.mailbox_quota_mib.value_or(0);
  if (quota_mib != 0) out.mailbox_limits.quota_bytes = quota_mib << 20;
  out.mailbox = config.mailbox.value_or("");
  return out;
}

namespace {

Result<nlohmann::json> ask(const GlobalOptions& options, const std::string& cmd) {
  SOTTO_ASSIGN_OR_RETURN(auto client, core::ControlClient::connect(options.dir()));
  SOTTO_ASSIGN_OR_RETURN(std::string reply, client->request(nlohmann::json{{"cmd", cmd}}.dump()));
  auto parsed = nlohmann::json::parse(reply, nullptr, false);
  if (!parsed.is_object()) return Status::internal("unexpected reply from the node");
  if (!parsed.value("ok", false)) return status_of_reply(parsed);
  return parsed;
}

std::string short_fp(const std::string& fingerprint) {
  return fingerprint.substr(0, 16);
}

void print_peer_line(const nlohmann::json& peer) {
  const std::string name = shown(peer, "name");
  std::cout << std::left << std::setw(11) << shown(peer, "state") << " " << std::setw(16)
            << (name.empty() ? "-" : name) << " " << short_fp(shown(peer, "fingerprint")) << "  "
            << shown(peer, "endpoint") << "\n";
}

}  // namespace

namespace {

// The account to run the node with: unlocked from the passphrase source, or, in the image a
// lock left behind, by `sotto unlock` (nullptr when stopped first).
Result<std::unique_ptr<core::Account>> daemon_account(const GlobalOptions& options,
                                                      const std::string& dir) {
  if (!options.start_locked) {
    SOTTO_ASSIGN_OR_RETURN(SecretBytes passphrase,
                           read_passphrase(options.passphrase, "Passphrase: ", false));
    return core::Account::open(dir, passphrase);
  }
  auto announce = [&] {
    if (options.json) {
      std::cout << json_line({{"event", "locked"}}) << std::endl;
    } else {
      std::cout << "sotto: locked; unlock with 'sotto unlock'" << std::endl;
    }
  };
  auto account = core::wait_for_unlock(
      dir, [] { return g_interrupted != 0; }, announce);
  if (!account.is_ok() && g_interrupted) return std::unique_ptr<core::Account>();
  return account;
}

}  // namespace

int run_daemon(const GlobalOptions& options, const NodeArgs& args) {
  auto node_opts = node_options(options, args);
  if (!node_opts.is_ok()) return fail(node_opts.status());
  const std::string dir = options.dir();
  if (!core::profile_exists(dir)) {
    return fail(
        Status::not_found("no profile in " + dir + "; create one with: sotto init --name NAME"));
  }
  install_stop_handlers();
  auto account = daemon_account(options, dir);
  if (!account.is_ok()) return fail(account.status());
  if (!account.value()) return kExitOk;  // stopped while locked

  std::atomic<bool> lock_requested{false};
  node_opts.value().on_lock = [&lock_requested] {
    lock_requested = true;
    if (core::Node* node = g_running_node.load()) node->stop();
    return true;
  };
  SteadyClock clock;
  auto node = core::Node::create(*account.value(), std::move(node_opts).value(), clock);
  if (!node.is_ok()) return fail(node.status().with_context("starting the node"));
  g_running_node = node.value().get();
  if (g_interrupted) node.value()->stop();
  if (options.json) {
    std::cout << json_line({{"event", "started"},
                            {"endpoint", node.value()->endpoint()},
                            {"voice_port", node.value()->voice_port()},
                            {"fingerprint", account.value()->fingerprint()}})
              << std::endl;
  } else {
    std::cout << "sotto: " << display_text(account.value()->name()) << " ("
              << short_fp(account.value()->fingerprint()) << ") listening on "
              << node.value()->endpoint() << std::endl;
  }
  Status ran = node.value()->run();
  g_running_node = nullptr;
  if (!ran.is_ok()) return fail(ran);
  if (!lock_requested) return kExitOk;
  // Peers see a clean goodbye and the database is closed before the image goes.
  const std::string endpoint = node.value()->endpoint();
  node.value().reset();
  account.value().reset();
  return relock_process(endpoint);
}

int run_peers(const GlobalOptions& options) {
  auto reply = ask(options, "peers");
  if (!reply.is_ok()) return fail(reply.status());
  const auto& peers = reply.value()["peers"];
  if (options.json) {
    for (const auto& peer : peers) std::cout << json_line(peer) << "\n";
    return kExitOk;
  }
  if (peers.empty()) {
    std::cout << "no peers yet\n";
    return kExitOk;
  }
  std::cout << std::left << std::setw(11) << "STATE"
            << " " << std::setw(16) << "NAME"
            << " " << std::setw(16) << "FINGERPRINT"
            << "  ENDPOINT\n";
  for (const auto& peer : peers) print_peer_line(peer);
  return kExitOk;
}

int run_stats(const GlobalOptions& options) {
  auto reply = ask(options, "stats");
  if (!reply.is_ok()) return fail(reply.status());
  const auto& counters = reply.value()["counters"];
  if (options.json) {
    std::cout << json_line(counters) << "\n";
    return kExitOk;
  }
  for (const auto& [name, value] : counters.items()) {
    std::cout << display_text(name) << " " << value << "\n";
  }
  return kExitOk;
}

int run_events(const GlobalOptions& options) {
  auto client = core::ControlClient::connect(options.dir());
  if (!client.is_ok()) return fail(client.status());
  auto subscribed = client.value()->request(R"({"cmd":"subscribe"})");
  if (!subscribed.is_ok()) return fail(subscribed.status());
  install_stop_handlers();
  int quiet_rounds = 0;
  while (!g_interrupted) {
    auto event = client.value()->next_event(500);
    if (!event.is_ok()) return fail(event.status());
    if (!event.value()) {
      // Nothing for a while: make sure the node is still there.
      if (++quiet_rounds >= 4) {
        quiet_rounds = 0;
        if (!core::node_running(options.dir())) {
          return fail(Status::unavailable("the node stopped"));
        }
      }
      continue;
    }
    quiet_rounds = 0;
    if (options.json) {
      std::cout << terminal_safe_json(*event.value()) << std::endl;
      continue;
    }
    auto parsed = nlohmann::json::parse(*event.value(), nullptr, false);
    if (parsed.is_object() && parsed.value("event", "") == "peer") {
      std::cout << "peer ";
      print_peer_line(parsed["peer"]);
      std::cout.flush();
    } else if (parsed.is_object() && parsed.value("event", "") == "voice") {
      const nlohmann::json& v = parsed["voice"];
      std::cout << "voice " << shown(parsed, "phase") << " #" << shown(v, "channel") << " "
                << shown(v, "talker_name") << " " << shown(v, "id").substr(0, 8);
      if (core::parse_voice_phase(parsed.value("phase", "")) == core::VoicePhase::kEnded &&
          !v.value("outgoing", false)) {
        std::cout << "  received " << v.value("frames_received", 0) << "/"
                  << v.value("frames_sent", 0) << ", concealed " << v.value("frames_concealed", 0)
                  << ", delay p50 " << v.value("delay_p50_ms", 0.0) << " ms";
      }
      if (v.contains("wav")) std::cout << "  " << shown(v, "wav");
      std::cout << std::endl;
    }
  }
  return kExitOk;
}

}  // namespace sotto::cli
