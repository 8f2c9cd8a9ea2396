// ControlDispatcher: answers the node's control commands (control_request.h) on the loop. The
// request arrives parsed once, at the socket; it becomes a typed request, is acted on through a
// ControlTarget, and its reply is written once, as the JSON the CLI reads
// ({"ok": true, KEY: OBJECT} or {"ok": false, "error": ..., "code": ...}).
// Thread-safety: the node's loop thread.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "sotto/base/status.h"
#include "sotto/core/events.h"
#include "src/core/archive_service.h"
#include "src/core/control_request.h"
#include "src/core/control_server.h"
#include "src/core/messenger.h"
#include "src/core/voice_engine.h"

namespace sotto::core {

// What the commands act on: the node's own operations, run on its loop.
class ControlTarget {
 public:
  virtual ~ControlTarget() = default;
  virtual Messenger& messaging() = 0;
  virtual ArchiveService& archive() = 0;
  // Transmits the WAV recording to the channel; `done` once it has ended.
  virtual void talk(const std::string& channel, const std::string& wav,
                    VoiceEngine::TalkDone done) = 0;
  virtual Status push_to_talk(const std::string& channel, bool on) = 0;
  virtual Result<PlayedClip> play(const std::string& id, const std::string& out,
                                  VoiceFileFormat format) = 0;
  // Hands the profile to the front end's lock: whether the locked process will answer on the
  // control socket, or nullopt when this node cannot lock.
  virtual std::optional<bool> lock() = 0;
};

class ControlDispatcher {
 public:
  // REQUIRES: `target` outlives the dispatcher and every reply it holds.
  explicit ControlDispatcher(ControlTarget& target) : target_(target) {}

  // Answers one request through `reply` (now or later, once); false when `cmd` is unknown.
  bool dispatch(const std::string& cmd, const nlohmann::json& request, ControlServer::Reply reply);

  // {"ok": false, "error": MESSAGE, "code": NAME}
  static std::string error_reply(const Status& status);

 private:
  struct Visitor;
  void channel(const control::Channel& request, const ControlServer::Reply& reply);

  ControlTarget& target_;
};

}  // namespace sotto::core
