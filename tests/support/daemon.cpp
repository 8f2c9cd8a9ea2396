#include "tests/support/daemon.h"

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "sotto/core/control_client.h"
#include "tests/support/sanitizers.h"
#include "tests/support/wait.h"

namespace sotto::test {

using nlohmann::json;

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(json::parse(text.substr(start, end - start)));
    start = end + 1;
  }
  return out;
}

DaemonProfile::DaemonProfile(const std::string& name, const std::string& parent)
    : dir_(parent.empty() ? tmp_ / "p" : parent + "/p"), pass_(tmp_ / "pass") {
  write_file(pass_, "pw\n");
  init(name);
}

DaemonProfile::~DaemonProfile() {
  if (daemon_) stop(SIGTERM);
}

void DaemonProfile::init(const std::string& name) {
  auto result = run_sotto({"--profile", dir_, "--passphrase-file", pass_, "--json", "init",
                           "--name", name, "--kdf", "interactive"});
  if (result.exit_code != 0) {
    throw std::runtime_error("sotto init failed (" + std::to_string(result.exit_code) +
                             "): " + result.err);
  }
}

void DaemonProfile::remove_profile() {
  if (daemon_) throw std::runtime_error("remove_profile: the daemon still runs");
  std::filesystem::remove_all(dir_);
}

void DaemonProfile::start(const std::vector<std::string>& extra, const std::string& listen) {
  if (daemon_) throw std::runtime_error("start: a daemon already runs");
  std::vector<std::string> args = {"--profile", dir_,     "--passphrase-file", pass_,
                                   "--json",    "daemon", "--listen",          listen};
  if (!discovery_) args.push_back("--no-discovery");
  args.insert(args.end(), extra.begin(), extra.end());
  if (!launcher_.empty()) args.insert(args.begin(), launcher_.begin() + 1, launcher_.end());
  daemon_ = std::make_unique<BackgroundProcess>(
      launcher_.empty() ? sotto_binary() : launcher_.front(), args);
  auto line = daemon_->wait_for_line("\"started\"", 15000);
  if (!line) {
    const std::string output = daemon_->output();
    daemon_->stop(SIGKILL);
    daemon_.reset();
    throw std::runtime_error("the daemon did not start: " + output);
  }
  auto started = json::parse(*line);
  endpoint_ = started["endpoint"].get<std::string>();
  fingerprint_ = started["fingerprint"].get<std::string>();
}

int DaemonProfile::stop(int signal) {
  if (!daemon_) return -1;
  const int code = daemon_->stop(signal, 10000);
  last_output_ = daemon_->output();
  daemon_.reset();
  return code;
}

std::optional<std::string> DaemonProfile::wait_for_output(const std::string& needle,
                                                          int timeout_ms) {
  if (!daemon_) return std::nullopt;
  return daemon_->wait_for_line(needle, timeout_ms * kSlowdown);
}

uint16_t DaemonProfile::port() const {
  return static_cast<uint16_t>(std::stoi(endpoint_.substr(endpoint_.rfind(':') + 1)));
}

CommandResult DaemonProfile::sotto(std::vector<std::string> args,
                                   const std::string* stdin_text) const {
  args.insert(args.begin(), {"--profile", dir_});
  return run_command(sotto_binary(), args, stdin_text);
}

std::string DaemonProfile::sotto_ok(const std::vector<std::string>& args, bool unlocked) const {
  const CommandResult result = unlocked ? sotto_unlocked(args) : sotto(args);
  if (result.exit_code == 0) return result.out;
  std::string command = "sotto";
  for (const auto& arg : args) command += " " + arg;
  throw std::runtime_error(command + " -> exit " + std::to_string(result.exit_code) +
                           ", stderr: " + result.err);
}

CommandResult DaemonProfile::sotto_unlocked(std::vector<std::string> args) const {
  args.insert(args.begin(), {"--passphrase-file", pass_});
  return sotto(std::move(args));
}

json DaemonProfile::request(const json& request, int timeout_ms) const {
  auto client = core::ControlClient::connect(dir_);
  if (!client.is_ok()) throw std::runtime_error("control socket: " + client.status().message());
  auto reply = client.value()->request(request.dump(), timeout_ms * kSlowdown);
  if (!reply.is_ok()) {
    throw std::runtime_error("control request " + request.dump() + ": " + reply.status().message());
  }
  return json::parse(reply.value());
}

std::vector<json> DaemonProfile::history(const std::string& to) const {
  if (core::node_running(dir_)) {
    json reply = request({{"cmd", "history"}, {"to", to}, {"limit", 1000000}}, 30000);
    if (!reply.value("ok", false)) throw std::runtime_error("history: " + reply.dump());
    return reply["messages"].get<std::vector<json>>();
  }
  std::vector<std::string> args = {"--json", "history", "--limit", "1000000"};
  if (!to.empty()) args.push_back(to);
  auto result = sotto_unlocked(args);
  if (result.exit_code != 0) throw std::runtime_error("sotto history: " + result.err);
  return json_lines(result.out);
}

std::vector<json> DaemonProfile::contacts() const {
  if (core::node_running(dir_)) {
    json reply = request({{"cmd", "contacts"}});
    if (!reply.value("ok", false)) throw std::runtime_error("contacts: " + reply.dump());
    return reply["contacts"].get<std::vector<json>>();
  }
  auto result = sotto_unlocked({"--json", "contacts"});
  if (result.exit_code != 0) throw std::runtime_error("sotto contacts: " + result.err);
  return json_lines(result.out);
}

std::optional<json> DaemonProfile::contact(const std::string& name) const {
  for (auto& c : contacts()) {
    if (c.value("name", "") == name && !c.contains("namesake_of")) return c;
  }
  return std::nullopt;
}

json DaemonProfile::stats() const {
  json reply = request({{"cmd", "stats"}});
  if (!reply.value("ok", false)) throw std::runtime_error("stats: " + reply.dump());
  return reply["counters"];
}

std::string DaemonProfile::peer_state(const std::string& who) const {
  json reply = request({{"cmd", "peers"}});
  for (const auto& peer : reply.value("peers", json::array())) {
    if (peer.value("name", "") == who || peer.value("fingerprint", "") == who) {
      return peer.value("state", "");
    }
  }
  return "";
}

void DaemonProfile::accept_invitation(const std::string& admin_fingerprint,
                                      const std::string& channel) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(8 * kSlowdown);
  for (;;) {
    json reply = request({{"cmd", "channel"}, {"action", "roster"}, {"name", channel}});
    if (reply.value("ok", false) && reply["channel"].value("state", "") == "invited") break;
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("no invitation to #" + channel + ": " + reply.dump());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  sotto_ok({"verify", admin_fingerprint.substr(0, 16), "--confirm"});
  sotto_ok({"channel", "accept", channel});
}

namespace {

bool has_body(const DaemonProfile& node, const std::string& to, const std::string& body) {
  for (const json& m : node.history(to)) {
    if (m.value("body", "") == body) return true;
  }
  return false;
}

void require(bool done, const std::string& what) {
  if (!done) throw std::runtime_error("share_channel: " + what + " did not happen in time");
}

}  // namespace

void share_channel(const DaemonProfile& admin, const DaemonProfile& member,
                   const std::string& member_name, const std::string& channel) {
  using namespace std::chrono_literals;
  const std::string to = "#" + channel;
  require(wait_until([&] { return admin.peer_state(member_name) == "online"; }, 8s),
          "seeing the member online");
  admin.sotto_ok({"add", member_name});
  admin.sotto_ok({"verify", member_name, "--confirm"});
  admin.sotto_ok({"channel", "create", channel});
  admin.sotto_ok({"channel", "invite", channel, member_name});
  member.accept_invitation(admin.fingerprint(), channel);
  require(wait_until(
              [&] {
                return member.sotto({"send", to, "member here"}).exit_code == 0;
              },
              8s),
          "the member's first text");
  require(wait_until([&] { return has_body(admin, to, "member here"); }, 8s),
          "the member's text arriving");
  admin.sotto_ok({"send", to, "admin here"});
  require(wait_until([&] { return has_body(member, to, "admin here"); }, 8s),
          "the admin's text arriving");
}

std::string DaemonProfile::passphrase() const {
  const Bytes raw = read_file(pass_);
  std::string pass(raw.begin(), raw.end());
  while (!pass.empty() && (pass.back() == '\n' || pass.back() == '\r')) pass.pop_back();
  return pass;
}

void open_channel(DaemonProfile& admin, DaemonProfile& member, const std::string& member_name,
                  const std::string& channel) {
  const std::string hash = "#" + channel;
  auto has_text = [&](const DaemonProfile& node, const std::string& body) {
    for (const json& m : node.history(hash)) {
      if (m.value("body", "") == body) return true;
    }
    return false;
  };
  if (!wait_until([&] { return admin.peer_state(member_name) == "online"; },
                  std::chrono::seconds(8))) {
    throw std::runtime_error(member_name + " is not online for the admin");
  }
  admin.sotto_ok({"add", member_name});
  admin.sotto_ok({"verify", member_name, "--confirm"});
  admin.sotto_ok({"channel", "create", channel});
  admin.sotto_ok({"channel", "invite", channel, member_name});
  member.accept_invitation(admin.fingerprint(), channel);
  // A text each way: sessions and sender keys are in place before anyone talks.
  if (!wait_until(
          [&] {
            return member.sotto({"send", hash, "member here"}).exit_code == 0;
          },
          std::chrono::seconds(8)) ||
      !wait_until([&] { return has_text(admin, "member here"); }, std::chrono::seconds(8))) {
    throw std::runtime_error("the member's text did not reach the admin on " + hash);
  }
  admin.sotto_ok({"send", hash, "admin here"});
  if (!wait_until([&] { return has_text(member, "admin here"); }, std::chrono::seconds(8))) {
    throw std::runtime_error("the admin's text did not reach the member on " + hash);
  }
}

}  // namespace sotto::test
