#include "api/prefix_cache.h"

#include <algorithm>

namespace weblm::api {

PrefixCache::~PrefixCache() { clear(); }

PrefixCache::Hit PrefixCache::acquire(std::span<const int32_t> tokens, int32_t limit) {
  size_t best = entries_.size();
  int32_t best_length = 0;
  const size_t max_length = std::min(tokens.size(), static_cast<size_t>(std::max(limit, 0)));
  for (size_t i = 0; i < entries_.size(); ++i) {
    const std::vector<int32_t>& cached = entries_[i].tokens;
    const size_t n = std::min(max_length, cached.size());
    const int32_t common = static_cast<int32_t>(std::mismatch(tokens.begin(), tokens.begin() + n, cached.begin()).first - tokens.begin());
    if (common > best_length) {
      best = i;
      best_length = common;
    }
  }
  if (best == entries_.size()) return {kv_.create_sequence(), 0};
  entries_[best].last_used = ++clock_;
  return {kv_.fork(entries_[best].seq, best_length), best_length};
}

void PrefixCache::store(int32_t seq, std::vector<int32_t> tokens) {
  if (max_entries_ <= 0 || tokens.empty()) {
    kv_.release_sequence(seq);
    return;
  }
  for (size_t i = entries_.size(); i-- > 0;) {
    const std::vector<int32_t>& cached = entries_[i].tokens;
    if (cached.size() <= tokens.size() && std::equal(cached.begin(), cached.end(), tokens.begin())) erase(i);
  }
  while (size() >= max_entries_) evict_one();
  entries_.push_back({seq, std::move(tokens), ++clock_});
}

bool PrefixCache::evict_one() {
  if (entries_.empty()) return false;
  const auto oldest = std::min_element(entries_.begin(), entries_.end(),
                                       [](const Entry& a, const Entry& b) { return a.last_used < b.last_used; });
  erase(static_cast<size_t>(oldest - entries_.begin()));
  return true;
}

void PrefixCache::clear() {
  while (evict_one()) {
  }
}

void PrefixCache::erase(size_t index) {
  kv_.release_sequence(entries_[index].seq);
  entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(index));
}

}  // namespace weblm::api
