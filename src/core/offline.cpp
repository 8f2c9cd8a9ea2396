#include "sotto/core/offline.h"

#include "src/core/archive_export.h"
#include "src/core/clip_player.h"
#include "src/core/messenger.h"

namespace sotto::core {
namespace {

// A messenger with no network around it: no peers, nothing to send to, events nowhere.
Messenger offline_messenger(Account& account) {
  MessengerHooks hooks;
  hooks.send_frame = [](const std::string&, ByteView) { return false; };
  hooks.peer = [](const std::string&) { return std::optional<PeerInfo>(); };
  hooks.peers = [] { return std::vector<PeerInfo>(); };
  hooks.publish = [](Event) {};
  hooks.count = [](Counter, uint64_t) {};
  return Messenger(account, machine_clock(), MessengerOptions{}, std::move(hooks));
}

}  // namespace

Result<std::vector<MessageInfo>> offline_history(Account& account, const std::string& to,
                                                 int64_t limit) {
  return offline_messenger(account).history(to, limit);
}

Result<std::vector<ContactInfo>> offline_contacts(Account& account) {
  return offline_messenger(account).contacts();
}

Result<std::string> offline_safety_number(Account& account, const std::string& to) {
  return offline_messenger(account).safety_number(to);
}

Result<ContactInfo> offline_confirm(Account& account, const std::string& to) {
  Messenger messenger = offline_messenger(account);
  std::optional<Result<ContactInfo>> result;
  messenger.confirm_contact(to, [&](Result<ContactInfo> r) { result = std::move(r); });
  if (!result) return Status::internal("confirm did not finish");
  return std::move(*result);
}

Result<PlayedClip> offline_play(Account& account, const std::string& id, const std::string& out,
                                VoiceFileFormat format) {
  SOTTO_ASSIGN_OR_RETURN(ArchivedClip clip, offline_messenger(account).find_clip(id));
  return play_clip(clip, out, format);
}

Result<std::vector<SearchHit>> offline_search(Account& account, const std::string& query,
                                              const std::string& in, int64_t limit) {
  Messenger messenger = offline_messenger(account);
  return search_archive(messenger, account, query, in, limit);
}

Result<ExportSummary> offline_export(Account& account, const ExportOptions& options,
                                     const std::function<void(const ExportProgress&)>& progress) {
  Messenger messenger = offline_messenger(account);
  return run_export(messenger, account, options, progress);
}

}  // namespace sotto::core
