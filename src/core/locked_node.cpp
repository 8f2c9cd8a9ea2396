#include <sodium.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "sotto/core/locked.h"
#include "sotto/net/poller.h"
#include "sotto/net/zmq_socket.h"
#include "sotto/storage/profile.h"
#include "src/core/control_server.h"

namespace sotto::core {
namespace {

using nlohmann::json;

constexpr long kStopCheckMs = 200;
constexpr int kReplyFlushMs = 1000;

std::string reply_json(bool ok, const std::string& code, const std::string& error) {
  json reply{{"ok", ok}, {"locked", true}};
  if (!ok) {
    reply["code"] = code;
    reply["error"] = error;
  }
  return reply.dump();
}

std::string code_of(const Status& status) {
  return std::string(status_code_name(status.code()));
}

// The loop's state: the hold on the profile, dropped only for the moment Account::open takes
// the profile itself, and the account once an unlock succeeded.
class LockedProfile {
 public:
  explicit LockedProfile(std::string dir, std::unique_ptr<storage::ProfileHold> hold)
      : dir_(std::move(dir)), hold_(std::move(hold)) {}

  bool unlocked() const { return account_ != nullptr; }
  std::unique_ptr<Account> take_account() { return std::move(account_); }

  std::string unlock(const std::optional<SecretBytes>& passphrase) {
    if (!passphrase) {
      return reply_json(
          false, "invalid_argument",
          "malformed unlock request: expected passphrase_hex, a string of hex digits");
    }
    hold_.reset();
    auto account = Account::open(dir_, *passphrase);
    if (account.is_ok()) {
      account_ = std::move(account).value();
      return reply_json(true, "", "");
    }
    // Back to waiting; should another process have slipped in meanwhile, it has the profile.
    auto hold = storage::ProfileHold::take(dir_);
    if (hold.is_ok()) hold_ = std::move(hold).value();
    return reply_json(false, code_of(account.status()), account.status().message());
  }

 private:
  std::string dir_;
  std::unique_ptr<storage::ProfileHold> hold_;
  std::unique_ptr<Account> account_;
};

}  // namespace

SecretBytes unlock_request(const SecretBytes& passphrase) {
  static constexpr std::string_view kHead = R"({"cmd":"unlock","passphrase_hex":")";
  static constexpr std::string_view kTail = R"("})";
  SecretBytes request(kHead.size() + passphrase.size() * 2 + kTail.size());
  uint8_t* out = request.data();
  std::copy(kHead.begin(), kHead.end(), out);
  sodium_bin2hex(reinterpret_cast<char*>(out + kHead.size()), passphrase.size() * 2 + 1,
                 passphrase.data(), passphrase.size());
  // bin2hex wrote a terminating NUL where the tail starts; the tail overwrites it.
  std::copy(kTail.begin(), kTail.end(), out + kHead.size() + passphrase.size() * 2);
  return request;
}

Result<std::unique_ptr<Account>> wait_for_unlock(const std::string& dir,
                                                 const std::function<bool()>& stop_requested,
                                                 const std::function<void()>& on_waiting) {
  SOTTO_ASSIGN_OR_RETURN(auto hold, storage::ProfileHold::take(dir));
  LockedProfile locked(dir, std::move(hold));
  net::ZmqContext context;
  net::Poller poller;
  ControlServer::Handlers handlers;
  handlers.unlock = [&](std::optional<SecretBytes> passphrase, const ControlServer::Reply& reply) {
    reply(locked.unlock(passphrase));
  };
  handlers.command = [&](const std::string& cmd, const std::string&,
                         const ControlServer::Reply& reply) {
    if (cmd == "lock") {
      reply(reply_json(true, "", ""));
    } else {
      reply(
          reply_json(false, "unavailable", "the profile is locked: unlock it with 'sotto unlock'"));
    }
    return true;
  };
  SOTTO_ASSIGN_OR_RETURN(auto server,
                         ControlServer::start(context, poller, dir + "/control.sock", handlers));
  if (on_waiting) on_waiting();
  while (!locked.unlocked()) {
    if (stop_requested()) return Status::unavailable("stopped while locked");
    SOTTO_RETURN_IF_ERROR(poller.poll(kStopCheckMs).status());
  }
  server->deliver_replies_on_close(kReplyFlushMs);
  return locked.take_account();
}

}  // namespace sotto::core
