// What the Messenger's owners hand each other around a transaction: the frames it committed and
// what it produced to do only after its commit (doc/guide.md, Text: nothing leaves before the
// fsync).
// Thread-safety: values, built and used on the node's loop thread.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sotto/base/bytes.h"
#include "sotto/core/events.h"

namespace sotto::core {

// A committed frame that may go out once its transaction is durable.
struct Outgoing {
  std::string recipient;
  int64_t outbox_id = 0;
  int64_t row = 0;
  Bytes frame;
  // Already delivered another way (a voice clip heard live): count it as sent, and let the
  // retry timer send it only if no receipt comes.
  bool held = false;
};

// What one transaction collects to do after its commit.
struct Effects {
  std::map<std::string, std::vector<Bytes>> receipts;
  std::vector<Event> events;
  std::vector<Outgoing> out;
  std::vector<std::pair<std::string, Bytes>> live;  // frames outside the outbox (voice)
};

}  // namespace sotto::core
