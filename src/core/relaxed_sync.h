// RelaxedSync: commits made while it lives skip the fsync (synchronous=NORMAL; still safe from a
// killed process) when `relax`: for writes that a power cut may undo without losing a message,
// because the peer resends and the archive dedups. Received messages always commit with FULL.
// Thread-safety: as the Database's; the thread that owns it.
#pragma once

#include "sotto/storage/database.h"

namespace sotto::core {

class RelaxedSync {
 public:
  RelaxedSync(storage::Database& db, bool relax) : db_(db), relax_(relax) {
    if (relax_) (void)db_.set_synchronous(storage::Synchronous::kNormal);
  }
  ~RelaxedSync() {
    if (relax_) (void)db_.set_synchronous(storage::Synchronous::kFull);
  }
  RelaxedSync(const RelaxedSync&) = delete;
  RelaxedSync& operator=(const RelaxedSync&) = delete;

 private:
  storage::Database& db_;
  bool relax_;
};

}  // namespace sotto::core
