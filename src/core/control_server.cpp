#include "src/core/control_server.h"

#include <malloc.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "sotto/core/json.h"

namespace sotto::core {
namespace {

using nlohmann::json;

std::string error_reply(const Status& status) {
  return to_text(error_object(status));
}

// Takes the value of "passphrase_hex" out of a request's text, overwriting its hex digits with
// '0' in place, before the text is parsed. Only the run of hex digits right after the value's
// opening quote is touched: '0' for a hex digit leaves every JSON token as it was, so a request
// parses (or fails to) as it would have, and "cmd" is never changed (it would have to be that
// value). The passphrase is returned when that run is the whole value, of even, non-zero length,
// and the key occurs once; otherwise nullopt.
std::optional<SecretBytes> take_passphrase(std::string& request) {
  static constexpr std::string_view kKey = R"("passphrase_hex")";
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  std::optional<SecretBytes> passphrase;
  int found = 0;
  for (size_t at = request.find(kKey); at != std::string::npos; at = request.find(kKey, at)) {
    at += kKey.size();
    while (at < request.size() && is_space(request[at])) ++at;
    if (at == request.size() || request[at] != ':') continue;
    ++at;
    while (at < request.size() && is_space(request[at])) ++at;
    if (at == request.size() || request[at] != '"') continue;
    const size_t begin = ++at;
    while (at < request.size() && std::isxdigit(static_cast<unsigned char>(request[at]))) ++at;
    const size_t length = at - begin;
    const bool whole = at < request.size() && request[at] == '"';
    if (++found == 1 && whole && length > 0 && length % 2 == 0) {
      passphrase.emplace(length / 2);
      if (sodium_hex2bin(passphrase->data(), passphrase->size(), request.data() + begin, length,
                         nullptr, nullptr, nullptr) != 0) {
        passphrase.reset();
      }
    }
    std::fill_n(request.begin() + static_cast<std::ptrdiff_t>(begin), length, '0');
  }
  if (found != 1) passphrase.reset();
  return passphrase;
}

// The node's loop runs on a thread of its own, and glibc's malloc_trim cannot shrink the top of
// a thread's arena (only the main arena's). A fixed trim threshold makes free() hand that top
// back itself once it passes the threshold; glibc would otherwise raise both thresholds to the
// size of the largest block ever freed (a 40 MB reply), and keep that much for good. Blocks
// above the mmap threshold are mapped on their own and returned when freed.
void keep_allocator_thresholds_fixed() {
  constexpr int kMmapThresholdBytes = 1 << 20;
  constexpr int kTrimThresholdBytes = 128 << 10;  // glibc's own default, kept from growing
  ::mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes);
  ::mallopt(M_TRIM_THRESHOLD, kTrimThresholdBytes);
}

}  // namespace

std::string peer_json(const PeerInfo& peer) {
  return to_text(peer_object(peer));
}
std::string event_json(const Event& event) {
  return to_text(event_object(event));
}

std::string message_json(const MessageInfo& message) {
  return to_text(message_object(message));
}
std::string channel_json(const ChannelInfo& channel) {
  return to_text(channel_object(channel));
}
std::string contact_json(const ContactInfo& contact) {
  return to_text(contact_object(contact));
}
std::string ok_json() {
  return to_text(json{{"ok", true}});
}
std::string error_json(const std::string& message) {
  return error_reply(Status::invalid_argument(message));
}

Result<std::unique_ptr<ControlServer>> ControlServer::start(net::ZmqContext& context,
                                                            net::Poller& poller,
                                                            const std::string& path,
                                                            Handlers handlers) {
  // sockaddr_un holds 107 characters.
  if (path.size() > 100) {
    return Status::invalid_argument("profile path too long for its control socket: " + path);
  }
  std::unique_ptr<ControlServer> server(new ControlServer(poller, path, std::move(handlers)));
  keep_allocator_thresholds_fixed();
  ::unlink(path.c_str());
  SOTTO_ASSIGN_OR_RETURN(server->socket_, net::ZmqSocket::create(context, ZMQ_ROUTER));
  server->socket_.wipe_received();  // an unlock request carries the passphrase
  SOTTO_RETURN_IF_ERROR(server->socket_.set(ZMQ_MAXMSGSIZE, int64_t{kMaxRequestBytes}));
  // A subscriber that went away is noticed on the next send instead of piling up events.
  SOTTO_RETURN_IF_ERROR(server->socket_.set(ZMQ_ROUTER_MANDATORY, 1));
  SOTTO_RETURN_IF_ERROR(server->socket_.set(ZMQ_SNDHWM, 10000));
  SOTTO_RETURN_IF_ERROR(server->socket_.bind("ipc://" + path));
  if (::chmod(path.c_str(), 0600) != 0) {
    return Status::io_error("restricting " + path + " to its owner");
  }
  poller.add_socket(server->socket_.get(), [raw = server.get()] { raw->on_readable(); });
  return server;
}

ControlServer::~ControlServer() {
  poller_.remove_socket(socket_.get());
  socket_.close();
  ::unlink(path_.c_str());
}

void ControlServer::on_readable() {
  for (int i = 0; i < 64; ++i) {
    auto message = socket_.receive_message(3);
    if (!message.is_ok()) {
      ++malformed_;
      continue;
    }
    if (!message.value()) return;
    auto& parts = *message.value();
    // ROUTER: [routing id][request] from a DEALER, [routing id][empty][request] from a REQ.
    if (parts.size() < 2) {
      ++malformed_;
      continue;
    }
    const Bytes routing_id = parts.front().data;
    const Bytes& body = parts.back().data;
    const bool from_req = parts.size() == 3 && parts[1].data.empty();
    Reply later = [this, routing_id, from_req](const std::string& json) {
      send_reply(routing_id, from_req, json);
    };
    {
      std::string request(body.begin(), body.end());
      std::optional<SecretBytes> passphrase = take_passphrase(request);
      auto now = handle(routing_id, request, std::move(passphrase), later);
      if (now) send_reply(routing_id, from_req, *now);
      wipe(request.data(), request.size());
    }
    for (net::ZmqPart& part : parts) wipe(part.data.data(), part.data.size());
    return_memory_if_large_reply();
  }
}

void ControlServer::return_memory_if_large_reply() {
  // A large reply (a history of 100,000 messages is about 40 MB, built from a JSON tree several
  // times that) leaves its memory freed but kept by the allocator. Handed back here, once the
  // handler that built it has returned, so that a long-running daemon does not stay at the size
  // of the largest request it ever answered. A reply sent later is handed back on the next
  // request.
  if (!large_reply_sent_) return;
  large_reply_sent_ = false;
  ::malloc_trim(0);
}

void ControlServer::send_reply(const Bytes& routing_id, bool from_req, const std::string& json) {
  static const Bytes kEmpty;
  std::vector<ByteView> reply_parts = {routing_id};
  if (from_req) reply_parts.push_back(kEmpty);
  reply_parts.push_back(as_bytes(json));
  (void)socket_.send(reply_parts);
  poller_.touched(socket_.get());  // a reply sent later may have taken a request's signal
  constexpr size_t kLargeReply = 1 << 20;
  large_reply_sent_ = large_reply_sent_ || json.size() >= kLargeReply;
}

std::optional<std::string> ControlServer::handle(const Bytes& routing_id,
                                                 const std::string& request,
                                                 std::optional<SecretBytes> passphrase,
                                                 const Reply& reply) {
  json parsed = json::parse(request, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("cmd") ||
      !parsed["cmd"].is_string()) {
    ++malformed_;
    return error_reply(Status::invalid_argument("malformed request: expected {\"cmd\": \"...\"}"));
  }
  const std::string cmd = parsed["cmd"].get<std::string>();
  if (cmd == "id" && handlers_.identity) {
    IdentityInfo id = handlers_.identity();
    return to_text(json{{"ok", true},
                        {"name", id.name},
                        {"fingerprint", id.fingerprint},
                        {"identity_key", to_hex(id.identity_key)},
                        {"transport_key", to_z85(id.transport_key)},
                        {"endpoint", id.endpoint}});
  }
  if (cmd == "peers" && handlers_.peers) {
    json peers = json::array();
    for (const PeerInfo& peer : handlers_.peers()) peers.push_back(peer_object(peer));
    return to_text(json{{"ok", true}, {"peers", peers}});
  }
  if (cmd == "stats" && handlers_.stats) {
    json counters = json::object();
    for (const auto& [name, value] : handlers_.stats().counters) counters[name] = value;
    return to_text(json{{"ok", true}, {"counters", counters}});
  }
  if (cmd == "subscribe") {
    if (subscribers_.size() >= kMaxSubscribers && !subscribers_.count(routing_id)) {
      return error_reply(Status::busy("too many event subscribers"));
    }
    subscribers_.insert(routing_id);
    return to_text(json{{"ok", true}});
  }
  if (cmd == "unsubscribe") {
    subscribers_.erase(routing_id);
    return to_text(json{{"ok", true}});
  }
  if (cmd == "unlock" && handlers_.unlock) {
    // The key seen by take_passphrase may have been part of another (a "x\"passphrase_hex").
    if (!parsed.contains("passphrase_hex")) passphrase.reset();
    handlers_.unlock(std::move(passphrase), reply);
    return std::nullopt;
  }
  if (handlers_.request && handlers_.request(cmd, parsed, reply)) return std::nullopt;
  if (handlers_.command && handlers_.command(cmd, request, reply)) return std::nullopt;
  ++malformed_;
  return error_reply(Status::invalid_argument("unknown command: " + cmd));
}

void ControlServer::deliver_replies_on_close(int timeout_ms) {
  (void)socket_.set(ZMQ_LINGER, timeout_ms);
}

void ControlServer::publish(const Event& event) {
  if (subscribers_.empty()) return;
  const std::string text = event_json(event);
  for (auto it = subscribers_.begin(); it != subscribers_.end();) {
    // Unreachable (gone) or hopelessly behind: drop the subscription.
    if (!socket_.send({*it, as_bytes(text)}).is_ok()) {
      it = subscribers_.erase(it);
    } else {
      ++it;
    }
  }
  poller_.touched(socket_.get());  // see send_reply
}

}  // namespace sotto::core
