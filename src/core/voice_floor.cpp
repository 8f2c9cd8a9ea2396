#include "src/core/voice_floor.h"

#include "sotto/crypto/primitives.h"

namespace sotto::core {

Bytes floor_rank(ByteView channel_id, ByteView transmission_id) {
  Bytes input(channel_id.begin(), channel_id.end());
  input.insert(input.end(), transmission_id.begin(), transmission_id.end());
  return crypto::sha256(input);
}

}  // namespace sotto::core
