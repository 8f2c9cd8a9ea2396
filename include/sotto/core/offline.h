// Messaging reads and trust decisions on an unlocked profile with no node running: the archive,
// contacts, safety numbers. (Sending and adding contacts need the node: they need the network.)
// Thread-safety: the caller's thread, which owns the Account.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "sotto/base/status.h"
#include "sotto/core/account.h"
#include "sotto/core/archive.h"
#include "sotto/core/events.h"

namespace sotto::core {

Result<std::vector<MessageInfo>> offline_history(Account& account, const std::string& to,
                                                 int64_t limit);
Result<std::vector<ContactInfo>> offline_contacts(Account& account);
Result<std::string> offline_safety_number(Account& account, const std::string& to);
// Marks the contact verified (a changed one adopts its new identity). Without a node no session
// can be built for a new identity; `sotto add` does that once both are online.
Result<ContactInfo> offline_confirm(Account& account, const std::string& to);
// Writes the archived voice clip `id` (a hex prefix of its message id) to the file `out`.
Result<PlayedClip> offline_play(Account& account, const std::string& id, const std::string& out,
                                VoiceFileFormat format);
// Full-text search and export of the archive (archive.h); `progress` is called after every page.
Result<std::vector<SearchHit>> offline_search(Account& account, const std::string& query,
                                              const std::string& in, int64_t limit);
Result<ExportSummary> offline_export(Account& account, const ExportOptions& options,
                                     const std::function<void(const ExportProgress&)>& progress);

}  // namespace sotto::core
