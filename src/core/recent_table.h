// RecentTable: a map with a size cap for state kept per source (an address, an identity) that
// a flood could otherwise grow without bound. When full, a new key takes the place of the one
// used longest ago: a flood of new sources pushes out its own entries one by one, and never
// resets everybody's state at once (which would hand every source a fresh allowance).
// Thread-safety: none; the node's loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
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
      if (entries_.size() >= capacity_ && !entries_.empty()) evict_stalest();
      it = entries_.emplace(key, Entry{make(), now_ms, {}}).first;
      it->second.place = by_use_.insert(by_use_.end(), &it->first);
    } else {
      by_use_.splice(by_use_.end(), by_use_, it->second.place);
    }
    it->second.used_ms = now_ms;
    return it->second.value;
  }
  Value* find(const Key& key) {
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second.value;
  }
  void erase(const Key& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    by_use_.erase(it->second.place);
    entries_.erase(it);
  }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Value value;
    int64_t used_ms = 0;
    typename std::list<const Key*>::iterator place;  // in by_use_
  };
  // A table at its cap may be one every beacon passes through (each is signed afresh, so each is
  // new): the stalest entry is the front of a list kept in order of use, not found by a scan.
  void evict_stalest() {
    const Key* stalest = by_use_.front();
    by_use_.pop_front();
    entries_.erase(*stalest);
  }

  size_t capacity_;
  std::map<Key, Entry> entries_;
  std::list<const Key*> by_use_;  // keys of entries_, used longest ago first
};

}  // namespace sotto::core
