// How archive rows and contacts' trust are shown to the front ends (MessageInfo, Trust).
// Thread-safety: stateless functions.
#pragma once

#include <string>

#include "sotto/core/events.h"
#include "sotto/storage/contact_repo.h"
#include "sotto/storage/message_repo.h"

namespace sotto::core {

Trust trust_of(storage::Trust trust);

MessageInfo message_info(const storage::MessageRecord& record, const std::string& sender_name,
                         Trust trust, const std::string& channel_name);

}  // namespace sotto::core
