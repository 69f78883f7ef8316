// Drafting with a smaller model over the same vocabulary: it keeps its own engine and paged KV
// cache (one sequence per stream) on the target's backend and proposes its greedy continuation.
// Between calls the context may have lost a rejected tail: the draft KV is truncated back to
// the longest prefix it shares with the new context (whole pages past it are released, nothing
// is copied) and only the missing tokens are fed. After a pause in drafting, a stream that lags
// by more than kCatchUpLimit tokens restarts from the last kWindow tokens of the context instead
// of catching up on all of them: a probe then costs a bounded prefill (the draft's view is
// shorter, which only lowers its acceptance; the output is the target's either way).
#pragma once

#include <memory>

#include "runtime/drafter.h"
#include "runtime/engine.h"
#include "tokenizer/vocab.h"

namespace weblm {

// Throws Error unless the two vocabularies are the same token for token, naming the sizes or
// the first token id that differs.
void require_same_vocabulary(const Vocab& target, const Vocab& draft);

class ModelDrafter final : public Drafter {
 public:
  static constexpr size_t kCatchUpLimit = 32;
  static constexpr size_t kWindow = 16;

  // `draft` must outlive the drafter. Its engine gets `options` (use the target's context and
  // sequence counts); n_vocab must match the target's (checked).
  ModelDrafter(const Model& draft, int32_t target_n_vocab, EngineOptions options);

  int32_t open() override;
  void close(int32_t stream) override;
  void start(int32_t stream, std::span<const int32_t> prompt) override;
  void propose(int32_t stream, std::span<const int32_t> context, int32_t max_tokens,
               std::vector<int32_t>& out) override;

 private:
  struct Stream {
    int32_t seq = -1;
    size_t offset = 0;         // the context position the draft KV starts at
    std::vector<int32_t> fed;  // the tokens in the draft KV: context[offset ...], in order
  };
  void draft(Stream& s, std::span<const int32_t> context, int32_t max_tokens, std::vector<int32_t>& out);

  Engine engine_;
  std::vector<Stream> streams_;  // by stream id; seq < 0: free
};

}  // namespace weblm
