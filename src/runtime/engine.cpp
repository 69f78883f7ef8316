#include "runtime/engine.h"

#include <algorithm>

#include "util/error.h"

namespace weblm {

namespace {
KvCacheOptions cache_options(const EngineOptions& o) {
  if (o.n_ctx <= 0 || o.n_seq_max <= 0 || o.n_batch <= 0 || o.page_size <= 0)
    fail("context, sequences, batch and page size must all be positive");
  const int32_t pages_per_seq = (o.n_ctx + o.page_size - 1) / o.page_size;
  return KvCacheOptions{pages_per_seq * o.n_seq_max, o.page_size};
}
}  // namespace

Engine::Engine(const Model& model, EngineOptions options)
    : model_(model), options_(options), kv_(model.backend(), model.config(), cache_options(options)) {}

const std::vector<float>& Engine::forward(std::span<const SequenceInput> inputs) {
  forward_submit(inputs);
  return forward_collect();
}

void Engine::forward_submit(std::span<const SequenceInput> inputs) {
  if (pending_) fail("forward: the previous pass was submitted but its logits were never collected");
  size_t total = 0;
  for (const SequenceInput& in : inputs) {
    if (in.tokens.empty()) fail("forward: an input has no tokens");
    const int64_t end = kv_.length(in.seq) + static_cast<int64_t>(in.tokens.size());
    if (end > options_.n_ctx)
      fail("sequence of ", end, " tokens exceeds the context size of ", options_.n_ctx,
           " (raise it with -c / n_ctx, or shorten the prompt)");
    for (int32_t t : in.tokens)
      if (t < 0 || t >= n_vocab()) fail("token id ", t, " is outside the vocabulary of ", n_vocab());
    total += in.tokens.size();
  }
  if (total > static_cast<size_t>(options_.n_batch))
    fail("forward: ", total, " tokens exceed the batch size of ", options_.n_batch);

  ForwardBatch& b = batch_;
  b.tokens.clear();
  b.positions.clear();
  b.seq_index.clear();
  b.kv_rows.clear();
  b.output_rows.clear();
  b.page_size = kv_.page_size();
  b.page_tables.resize(inputs.size());
  std::vector<int32_t> starts;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const SequenceInput& in = inputs[i];
    const int32_t start = kv_.length(in.seq);
    try {
      kv_.extend(in.seq, start + static_cast<int32_t>(in.tokens.size()));
    } catch (const Error&) {
      for (size_t j = 0; j < i; ++j) kv_.truncate(inputs[j].seq, starts[j]);
      throw;
    }
    starts.push_back(start);
    b.page_tables[i] = kv_.page_table(in.seq);
    for (size_t t = 0; t < in.tokens.size(); ++t) {
      const int32_t pos = start + static_cast<int32_t>(t);
      if (in.logits == Logits::All || (in.logits == Logits::Last && t + 1 == in.tokens.size())) b.output_rows.push_back(static_cast<int32_t>(b.tokens.size()));
      b.tokens.push_back(in.tokens[t]);
      b.positions.push_back(pos);
      b.seq_index.push_back(static_cast<int32_t>(i));
      b.kv_rows.push_back(kv_.kv_row(in.seq, pos));
    }
  }
  logits_.resize(b.output_rows.size() * static_cast<size_t>(n_vocab()));
  model_.enqueue_forward(b, kv_.layers(), logits_.data());
  pending_ = true;
}

const std::vector<float>& Engine::forward_collect() {
  if (!pending_) fail("forward_collect: no pass was submitted");
  model_.backend().wait();
  pending_ = false;
  return logits_;
}

const std::vector<float>& Engine::prefill(int32_t seq, std::span<const int32_t> tokens, bool all_logits) {
  if (tokens.empty()) fail("prefill: no tokens");
  const int64_t end = kv_.length(seq) + static_cast<int64_t>(tokens.size());
  if (end > options_.n_ctx)
    fail("prompt of ", tokens.size(), " tokens (", end, " with the history) exceeds the context size of ",
         options_.n_ctx, " (raise it with -c / n_ctx, or shorten the prompt)");
  all_logits_.clear();
  for (size_t done = 0; done < tokens.size();) {
    const size_t n = std::min(tokens.size() - done, static_cast<size_t>(options_.n_batch));
    const bool last_chunk = done + n == tokens.size();
    const SequenceInput in{seq, tokens.subspan(done, n),
                             all_logits ? Logits::All : last_chunk ? Logits::Last : Logits::None};
    const std::vector<float>& out = forward(std::span<const SequenceInput>(&in, 1));
    if (all_logits) all_logits_.insert(all_logits_.end(), out.begin(), out.end());
    else if (last_chunk) return out;
    done += n;
  }
  return all_logits_;
}

}  // namespace weblm
