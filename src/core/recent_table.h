// RecentTable: a map with a size cap for state kept per source (an address, an identity) that
// a flood could otherwise grow without bound. When full, a new key takes the place of the one
// used longest ago: a flood of new sources pushes out its own entries one by one, and never
// resets everybody's state at once (which would hand every source a fresh allowance).
// Thread-safety: none; the node's loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>

namespace sotto::core {

template <typename Key, typename Value>
class RecentTable {
 public:
  explicit RecentTable(size_t capacity) : capacity_(capacity) {}

  // The entry for `key`, made with `make()` when absent; either way it counts as used now.
  template <typename Make>
  Value& use(const Key& key, int64_t now_ms, Make make) {
    auto it = entries_.find(key);
    if (it == entries_.end()) {
      if (entries_.size() >= capacity_) evict_stalest();
      it = entries_.emplace(key, Entry{make(), now_ms}).first;
    }
    it->second.used_ms = now_ms;
    return it->second.value;
  }
  Value* find(const Key& key) {
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second.value;
  }
  void erase(const Key& key) { entries_.erase(key); }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Value value;
    int64_t used_ms = 0;
  };
  // A linear scan, only when full: a table at its cap is under a flood, and the scan's cost is
  // far below the signature check the entry guards.
  void evict_stalest() {
    auto stalest = entries_.begin();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->second.used_ms < stalest->second.used_ms) stalest = it;
    }
    if (stalest != entries_.end()) entries_.erase(stalest);
  }

  size_t capacity_;
  std::map<Key, Entry> entries_;
};

}  // namespace sotto::core
