// Finished sequences kept in the KV cache so a later request can skip recomputing the prompt
// tokens they share. A new request forks the cached sequence with the longest common token
// prefix, up to the first differing token: a follow-up turn reuses the whole conversation, a
// regenerated or edited turn reuses everything before the edit. Forks share pages (copy-on-write),
// so the cache entry stays intact for the next request.
//
// Bounded twice: at most max_entries sequences (least recently used dropped first), and the
// service evicts entries whenever it needs their pages for running requests.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "runtime/kv_cache.h"

namespace weblm::api {

class PrefixCache {
 public:
  PrefixCache(KvCache& kv, int32_t max_entries) : kv_(kv), max_entries_(max_entries) {}
  ~PrefixCache();
  PrefixCache(const PrefixCache&) = delete;
  PrefixCache& operator=(const PrefixCache&) = delete;

  struct Hit {
    int32_t seq;     // a new sequence holding the first `length` tokens' KV (maybe none)
    int32_t length;
  };
  // A sequence for a request whose tokens are `tokens`, pre-filled with the longest cached
  // prefix of at most `limit` of them.
  Hit acquire(std::span<const int32_t> tokens, int32_t limit);

  // Takes over `seq`, whose KV holds `tokens`. Entries that hold a prefix of `tokens` go (this
  // one covers them), then the least recently used while over max_entries.
  void store(int32_t seq, std::vector<int32_t> tokens);

  // Releases the least recently used entry; false when there is none.
  bool evict_one();
  void clear();
  int32_t size() const { return static_cast<int32_t>(entries_.size()); }

 private:
  struct Entry {
    int32_t seq;
    std::vector<int32_t> tokens;
    uint64_t last_used;
  };
  void erase(size_t index);

  KvCache& kv_;
  int32_t max_entries_;
  std::vector<Entry> entries_;
  uint64_t clock_ = 0;
};

}  // namespace weblm::api
