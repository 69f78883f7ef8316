// The engine: a model, its paged KV cache, and one action — a forward pass over tokens from any
// number of sequences at once. Prompt processing (chunks of up to n_batch tokens), decoding (one
// token per sequence), speculative verification (several drafted tokens) and continuous batching
// (many sequences in one pass) are all this one action with different inputs.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/model.h"
#include "runtime/kv_cache.h"

namespace weblm {

struct EngineOptions {
  int32_t n_ctx = 2048;     // positions per sequence
  int32_t n_seq_max = 1;    // sequences that may hold KV at once
  int32_t n_batch = 512;    // tokens per forward pass
  int32_t page_size = 32;   // KV positions per page
};

enum class Logits : uint8_t { None, Last, All };

// Tokens to append to one sequence, and which of their logits the caller wants.
struct SequenceInput {
  int32_t seq = 0;
  std::span<const int32_t> tokens;
  Logits logits = Logits::Last;
};

class Engine {
 public:
  Engine(const Model& model, EngineOptions options);

  const Model& model() const { return model_; }
  const EngineOptions& options() const { return options_; }
  KvCache& kv() { return kv_; }
  int32_t n_vocab() const { return static_cast<int32_t>(model_.config().n_vocab); }

  // Appends the tokens of each input to its sequence in ONE forward pass (the total must be
  // <= n_batch) and returns the wanted logits, input by input, [rows, n_vocab] row-major.
  // Throws Error (and stores nothing) when a sequence would pass n_ctx.
  // forward() = forward_submit() + forward_collect().
  const std::vector<float>& forward(std::span<const SequenceInput> inputs);

  // The two halves of forward(), for hosts that must not block while the backend works (wasm
  // with WebGPU, where a GPU read completes only after the JS event loop turns). submit records
  // and submits the pass (the CPU backend computes it right there); once forward_ready() is
  // true, forward_collect() returns the logits without waiting. forward_collect() before that
  // waits (blocks) like forward(). Nothing else may be called on the engine in between.
  void forward_submit(std::span<const SequenceInput> inputs);
  bool forward_ready() const { return model_.backend().ready(); }
  const std::vector<float>& forward_collect();

  // Appends a whole prompt to one sequence in chunks of n_batch; returns the logits of the last
  // token (or of every token when all_logits).
  const std::vector<float>& prefill(int32_t seq, std::span<const int32_t> tokens, bool all_logits);

 private:
  const Model& model_;
  EngineOptions options_;
  KvCache kv_;
  ForwardBatch batch_;
  std::vector<float> logits_;
  std::vector<float> all_logits_;
  bool pending_ = false;  // a pass was submitted and not collected
};

}  // namespace weblm
