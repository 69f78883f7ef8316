// The paged KV cache: one pool of fixed-size pages per layer (K and V), shared by all sequences.
// A sequence is a page table (position p lives in page table[p / page_size], row p % page_size).
// Pages are reference-counted so sequences can share a prefix (fork); writing into a shared page
// copies it first (copy-on-write). Truncating a sequence (rejected speculative tokens, an edited
// conversation) returns whole pages past the new end to the pool without copying anything.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/model.h"

namespace weblm {

struct KvCacheOptions {
  int32_t n_pages = 0;
  int32_t page_size = 32;
};

class KvCache {
 public:
  // Allocates K and V pools of n_pages * page_size rows for every layer of `config`.
  KvCache(Backend& backend, const ModelConfig& config, KvCacheOptions options);

  std::span<const KvLayer> layers() const { return layers_; }
  int32_t page_size() const { return page_size_; }
  int32_t free_pages() const { return static_cast<int32_t>(free_.size()); }
  int32_t total_pages() const { return n_pages_; }

  int32_t create_sequence();  // an empty sequence; returns its id
  void release_sequence(int32_t seq);
  // A new sequence holding the first `length` positions of `seq`, sharing its pages.
  int32_t fork(int32_t seq, int32_t length);

  int32_t length(int32_t seq) const;  // positions stored
  // Makes positions [length, new_length) writable (allocating pages, copying shared ones) and
  // sets the length. Throws Error when the pool is out of pages.
  void extend(int32_t seq, int32_t new_length);
  // Drops positions >= new_length.
  void truncate(int32_t seq, int32_t new_length);

  const std::vector<int32_t>& page_table(int32_t seq) const;
  // How many sequences hold `page`. Writing into a page held more than once copies it first, so
  // schedulers count that page when bounding what a sequence may still allocate.
  int32_t page_references(int32_t page) const;
  int32_t kv_row(int32_t seq, int32_t pos) const;

 private:
  struct Sequence {
    bool live = false;
    int32_t length = 0;
    std::vector<int32_t> pages;
  };
  Sequence& get(int32_t seq);
  const Sequence& get(int32_t seq) const;
  int32_t take_page();
  void drop_page(int32_t page);

  Backend& backend_;
  int32_t n_pages_;
  int32_t page_size_;
  std::vector<KvLayer> layers_;
  std::vector<int32_t> refs_;  // per page
  std::vector<int32_t> free_;
  std::vector<Sequence> sequences_;
};

}  // namespace weblm
