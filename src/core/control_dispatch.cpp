#include "src/core/control_dispatch.h"

#include <utility>

#include "sotto/core/json.h"

namespace sotto::core {
namespace {

using nlohmann::json;
using Reply = ControlServer::Reply;

void send(const Reply& reply, const json& object) {
  reply(to_text(object));
}

json ok(const char* key, json value) {
  return json{{"ok", true}, {key, std::move(value)}};
}

template <typename T>
json array_of(const std::vector<T>& items, json (*object)(const T&)) {
  json out = json::array();
  for (const T& item : items) out.push_back(object(item));
  return out;
}

// `result`'s value as `object` under `key`, or its error.
template <typename T>
void answer(const Reply& reply, const Result<T>& result, const char* key,
            json (*object)(const T&)) {
  if (!result.is_ok()) return reply(ControlDispatcher::error_reply(result.status()));
  send(reply, ok(key, object(result.value())));
}

template <typename T>
void answer_list(const Reply& reply, const Result<std::vector<T>>& result, const char* key,
                 json (*object)(const T&)) {
  if (!result.is_ok()) return reply(ControlDispatcher::error_reply(result.status()));
  send(reply, ok(key, array_of(result.value(), object)));
}

}  // namespace

std::string ControlDispatcher::error_reply(const Status& status) {
  return to_text(error_object(status));
}

// One overload per command; each answers its reply exactly once.
struct ControlDispatcher::Visitor {
  ControlDispatcher& self;
  Reply reply;
  Messenger& messenger() { return self.target_.messaging(); }

  void operator()(const control::Unlock&) {
    reply(error_reply(Status::invalid_argument("the node is not locked")));
  }
  void operator()(const control::Lock&) {
    const std::optional<bool> answers_when_locked = self.target_.lock();
    if (!answers_when_locked) {
      return reply(error_reply(Status::unavailable("this node cannot lock; stop it instead")));
    }
    send(reply, {{"ok", true}, {"locked", false}, {"answers_when_locked", *answers_when_locked}});
  }
  void operator()(const control::Send& r) {
    messenger().send_text(r.to, r.text, [reply = reply](Result<MessageInfo> sent) {
      answer(reply, sent, "message", message_object);
    });
  }
  void operator()(const control::Add& r) {
    messenger().add_contact(r.peer, r.name, [reply = reply](Result<ContactInfo> added) {
      answer(reply, added, "contact", contact_object);
    });
  }
  void operator()(const control::Verify& r) {
    auto number = messenger().safety_number(r.to);
    if (!number.is_ok()) return reply(error_reply(number.status()));
    if (!r.confirm) return send(reply, ok("safety_number", number.value()));
    messenger().confirm_contact(r.to, [reply = reply, n = number.value()](Result<ContactInfo> c) {
      if (!c.is_ok()) return reply(error_reply(c.status()));
      send(reply, {{"ok", true}, {"safety_number", n}, {"contact", contact_object(c.value())}});
    });
  }
  void operator()(const control::Replace& r) {
    answer(reply, messenger().replace_contact(r.old_contact, r.new_contact), "contact",
           contact_object);
  }
  void operator()(const control::Contacts&) {
    answer_list(reply, messenger().contacts(), "contacts", contact_object);
  }
  void operator()(const control::History& r) {
    answer_list(reply, messenger().history(r.to, r.limit), "messages", message_object);
  }
  void operator()(const control::Channel& r) { self.channel(r, reply); }
  void operator()(const control::Talk& r) {
    self.target_.talk(r.channel, r.wav, [reply = reply](Result<MessageInfo> done) {
      answer(reply, done, "message", message_object);
    });
  }
  void operator()(const control::Expire& r) {
    answer(reply, messenger().set_expiry(r.to, r.expire_ms), "message", message_object);
  }
  void operator()(const control::Ptt& r) {
    const Status done = self.target_.push_to_talk(r.channel, r.on);
    reply(done.is_ok() ? to_text(json{{"ok", true}}) : error_reply(done));
  }
  void operator()(const control::Play& r) {
    answer(reply, self.target_.play(r.id, r.out, r.format), "played", played_object);
  }
  void operator()(const control::Search& r) {
    answer_list(reply, self.target_.archive().search(r.query, r.in, r.limit), "hits",
                search_hit_object);
  }
  void operator()(const control::Export& r) {
    self.target_.archive().start_export(r.options, [reply = reply](Result<ExportSummary> done) {
      answer(reply, done, "export", export_summary_object);
    });
  }
  void operator()(const control::Mailbox& r) {
    if (!r.use) return answer(reply, messenger().mailbox(), "mailbox", mailbox_object);
    messenger().use_mailbox(r.node, [reply = reply](Result<MailboxInfo> used) {
      answer(reply, used, "mailbox", mailbox_object);
    });
  }
  void operator()(const control::ExportProgress&) {
    auto progress = self.target_.archive().export_progress();
    send(reply, {{"ok", true},
                 {"running", progress.has_value()},
                 {"progress", export_progress_object(progress.value_or(core::ExportProgress{}))}});
  }
};

void ControlDispatcher::channel(const control::Channel& request, const Reply& reply) {
  Messenger& messenger = target_.messaging();
  using Action = control::ChannelAction;
  switch (request.action) {
    case Action::kList:
      return answer_list(reply, messenger.channels(), "channels", channel_object);
    case Action::kCreate:
      return answer(reply,
                    messenger.create_channel(request.name, request.strict, request.free_voice,
                                             request.members),
                    "channel", channel_object);
    case Action::kInvite:
      return answer(reply, messenger.invite_to_channel(request.name, request.members), "channel",
                    channel_object);
    case Action::kRemove:
      return answer(reply, messenger.remove_from_channel(request.name, request.peer), "channel",
                    channel_object);
    case Action::kLeave:
      return answer(reply, messenger.leave_channel(request.name), "channel", channel_object);
    case Action::kAccept:
      return answer(reply, messenger.accept_channel(request.name), "channel", channel_object);
    case Action::kDecline:
      return answer(reply, messenger.decline_channel(request.name), "channel", channel_object);
    case Action::kRoster:
      return answer(reply, messenger.channel(request.name), "channel", channel_object);
  }
}

bool ControlDispatcher::dispatch(const std::string& cmd, const json& request, Reply reply) {
  auto parsed = parse_control_request(cmd, request);
  if (!parsed) return false;
  if (!parsed->is_ok()) {
    reply(error_reply(parsed->status()));
    return true;
  }
  std::visit(Visitor{*this, std::move(reply)}, parsed->value());
  return true;
}

}  // namespace sotto::core
