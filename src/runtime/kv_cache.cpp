#include "runtime/kv_cache.h"

#include "util/error.h"

namespace weblm {

KvCache::KvCache(Backend& backend, const ModelConfig& config, KvCacheOptions options)
    : backend_(backend), n_pages_(options.n_pages), page_size_(options.page_size) {
  if (n_pages_ <= 0 || page_size_ <= 0) fail("KV cache needs a positive number and size of pages");
  const int64_t rows = static_cast<int64_t>(n_pages_) * page_size_;
  for (int l = 0; l < config.n_layers(); ++l) {
    layers_.push_back({backend.alloc(DType::F32, config.kv_width(l), rows, Lifetime::Persistent),
                       backend.alloc(DType::F32, config.kv_width(l), rows, Lifetime::Persistent)});
  }
  refs_.assign(n_pages_, 0);
  for (int32_t p = n_pages_ - 1; p >= 0; --p) free_.push_back(p);
}

KvCache::Sequence& KvCache::get(int32_t seq) {
  if (seq < 0 || static_cast<size_t>(seq) >= sequences_.size() || !sequences_[seq].live)
    fail("KV cache: no sequence ", seq);
  return sequences_[seq];
}

const KvCache::Sequence& KvCache::get(int32_t seq) const {
  return const_cast<KvCache*>(this)->get(seq);
}

int32_t KvCache::take_page() {
  if (free_.empty())
    fail("KV cache is full (", n_pages_, " pages of ", page_size_, " positions); use a larger context (-c)");
  const int32_t page = free_.back();
  free_.pop_back();
  refs_[page] = 1;
  return page;
}

void KvCache::drop_page(int32_t page) {
  if (--refs_[page] == 0) free_.push_back(page);
}

int32_t KvCache::create_sequence() {
  for (size_t i = 0; i < sequences_.size(); ++i) {
    if (!sequences_[i].live) {
      sequences_[i] = Sequence{true, 0, {}};
      return static_cast<int32_t>(i);
    }
  }
  sequences_.push_back(Sequence{true, 0, {}});
  return static_cast<int32_t>(sequences_.size() - 1);
}

void KvCache::release_sequence(int32_t seq) {
  truncate(seq, 0);
  get(seq).live = false;
}

int32_t KvCache::fork(int32_t seq, int32_t length) {
  const Sequence& from = get(seq);
  if (length < 0 || length > from.length) fail("KV cache: fork of ", length, " positions from ", from.length);
  const int32_t id = create_sequence();
  Sequence& to = sequences_[id];
  const Sequence& src = sequences_[seq];  // re-fetch: create_sequence may have reallocated
  to.length = length;
  to.pages.assign(src.pages.begin(), src.pages.begin() + (length + page_size_ - 1) / page_size_);
  for (int32_t p : to.pages) ++refs_[p];
  return id;
}

int32_t KvCache::length(int32_t seq) const { return get(seq).length; }

void KvCache::extend(int32_t seq, int32_t new_length) {
  Sequence& s = get(seq);
  if (new_length < s.length) fail("KV cache: extend to ", new_length, " below the length ", s.length);
  // The page holding the current end may be shared: the new positions would overwrite rows a
  // sibling still reads past its own end, so take a private copy first.
  if (s.length % page_size_ != 0 && new_length > s.length) {
    const size_t last = s.length / page_size_;
    const int32_t page = s.pages[last];
    if (refs_[page] > 1) {
      const int32_t copy = take_page();
      for (const KvLayer& layer : layers_) {
        for (const Tensor* t : {&layer.k, &layer.v}) {
          // copy_rows works within one tensor: pages are row ranges of the same pool.
          backend_.copy_rows(*t, static_cast<int64_t>(page) * page_size_,
                                     static_cast<int64_t>(copy) * page_size_, page_size_);
        }
      }
      drop_page(page);
      s.pages[last] = copy;
    }
  }
  const size_t needed = (static_cast<size_t>(new_length) + page_size_ - 1) / page_size_;
  try {
    while (s.pages.size() < needed) s.pages.push_back(take_page());
  } catch (const Error&) {
    truncate(seq, s.length);  // give back what this call took
    throw;
  }
  s.length = new_length;
}

void KvCache::truncate(int32_t seq, int32_t new_length) {
  Sequence& s = get(seq);
  if (new_length < 0) fail("KV cache: negative length");
  if (new_length > s.length) return;
  const size_t keep = (static_cast<size_t>(new_length) + page_size_ - 1) / page_size_;
  while (s.pages.size() > keep) {
    drop_page(s.pages.back());
    s.pages.pop_back();
  }
  s.length = new_length;
}

const std::vector<int32_t>& KvCache::page_table(int32_t seq) const { return get(seq).pages; }

int32_t KvCache::page_references(int32_t page) const {
  if (page < 0 || page >= n_pages_) fail("KV cache: no page ", page);
  return refs_[page];
}

int32_t KvCache::kv_row(int32_t seq, int32_t pos) const {
  const Sequence& s = get(seq);
  if (pos < 0 || pos >= s.length) fail("KV cache: position ", pos, " outside sequence ", seq, " of length ", s.length);
  return s.pages[pos / page_size_] * page_size_ + pos % page_size_;
}

}  // namespace weblm
