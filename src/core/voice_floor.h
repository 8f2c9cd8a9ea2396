// The floor of a channel (doc/guide.md, Text, doc/guide.md, Push-to-talk voice): a channel carries
// one talker at a time unless it is `free`. A PTT while someone talks is refused; starts that cross
// on the network are settled the same way on every member, in any arrival order: of the overlapping
// transmissions (our own included) the one with the smaller SHA-256(channel id ‖ transmission id)
// wins. started_at_us is the talker's wall clock, shown and used to measure delay, never to order.
//
// Thread-safety: values and a pure function; any thread.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "sotto/base/bytes.h"

namespace sotto::core {

// What settles the floor between overlapping transmissions: the same on every member whatever
// order the VoiceStarts arrive in, and nothing a talker sets by its clock.
Bytes floor_rank(ByteView channel_id, ByteView transmission_id);

// Floor rank, talker: the smaller holds the floor. The talker breaks a tie, which only a copied
// transmission id makes.
using FloorClaim = std::pair<Bytes, std::string>;

// The holder among the claims it is shown: their minimum. Every member ranks the same
// VoiceStarts the same way and the winner is their minimum, so every member agrees.
class FloorHolder {
 public:
  void consider(const Bytes& rank, const std::string& talker) {
    FloorClaim candidate{rank, talker};
    if (!holder_ || candidate < *holder_) holder_ = std::move(candidate);
  }
  const std::optional<FloorClaim>& holder() const { return holder_; }

 private:
  std::optional<FloorClaim> holder_;
};

}  // namespace sotto::core
