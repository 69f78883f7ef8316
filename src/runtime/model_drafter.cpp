#include "runtime/model_drafter.h"

#include <algorithm>
#include <string>

#include "util/error.h"

namespace weblm {

void require_same_vocabulary(const Vocab& target, const Vocab& draft) {
  const size_t shared = std::min(target.tokens.size(), draft.tokens.size());
  size_t differ = 0;
  while (differ < shared && target.tokens[differ] == draft.tokens[differ]) ++differ;
  const std::string first_difference =
      differ < shared ? str_cat("token id ", differ, ": \"", draft.tokens[differ], "\" where the target has \"",
                                target.tokens[differ], "\"")
                      : "";
  if (target.tokens.size() != draft.tokens.size())
    fail("the draft model's vocabulary has ", draft.tokens.size(), " tokens, the target's ", target.tokens.size(),
         first_difference.empty() ? "" : ", and they first differ at ", first_difference,
         ": speculative decoding needs the same vocabulary");
  if (!first_difference.empty())
    fail("the draft model's vocabulary differs from the target's at ", first_difference,
         ": speculative decoding needs the same vocabulary");
}

ModelDrafter::ModelDrafter(const Model& draft, int32_t target_n_vocab, EngineOptions options)
    : engine_(draft, options) {
  if (engine_.n_vocab() != target_n_vocab)
    fail("the draft model has ", engine_.n_vocab(), " output rows (vocabulary size), the target ", target_n_vocab,
         ": speculative decoding needs the same vocabulary");
}

int32_t ModelDrafter::open() {
  const int32_t seq = engine_.kv().create_sequence();
  for (size_t i = 0; i < streams_.size(); ++i) {
    if (streams_[i].seq < 0) {
      streams_[i] = Stream{seq, 0, {}};
      return static_cast<int32_t>(i);
    }
  }
  streams_.push_back(Stream{seq, 0, {}});
  return static_cast<int32_t>(streams_.size() - 1);
}

void ModelDrafter::close(int32_t stream) {
  Stream& s = streams_.at(static_cast<size_t>(stream));
  if (s.seq < 0) return;
  engine_.kv().release_sequence(s.seq);
  s = Stream{};
}

void ModelDrafter::start(int32_t stream, std::span<const int32_t> prompt) {
  Stream& s = streams_.at(static_cast<size_t>(stream));
  if (s.seq < 0 || prompt.empty()) return;
  try {
    engine_.prefill(s.seq, prompt, false);
    s.fed.assign(prompt.begin(), prompt.end());
  } catch (const Error&) {
    // Too long for the draft cache: the first proposal starts over from a window instead.
    engine_.kv().truncate(s.seq, 0);
    s = Stream{s.seq, 0, {}};
  }
}

void ModelDrafter::propose(int32_t stream, std::span<const int32_t> context, int32_t max_tokens,
                           std::vector<int32_t>& out) {
  out.clear();
  Stream& s = streams_.at(static_cast<size_t>(stream));
  if (max_tokens <= 0 || context.empty() || s.seq < 0) return;
  try {
    draft(s, context, max_tokens, out);
  } catch (const Error&) {
    // The draft cache is full (the target's choices share prompt pages, the draft's do not) or
    // the context reached its end: no proposal this time, and the stream starts over cleanly.
    out.clear();
    engine_.kv().truncate(s.seq, 0);
    s = Stream{s.seq, 0, {}};
  }
}

void ModelDrafter::draft(Stream& s, std::span<const int32_t> context, int32_t max_tokens, std::vector<int32_t>& out) {
  if (s.offset >= context.size()) s = Stream{s.seq, 0, {}};
  // Keep the shared prefix, but always feed at least the last context token: its logits are
  // where the draft starts.
  const std::span<const int32_t> seen = context.subspan(s.offset);
  const auto diverge = std::mismatch(s.fed.begin(), s.fed.end(), seen.begin(), seen.end());
  size_t keep = std::min(static_cast<size_t>(diverge.first - s.fed.begin()), seen.size() - 1);
  if (!s.fed.empty() && seen.size() - keep > kCatchUpLimit) {
    s.offset = context.size() - kWindow;
    keep = 0;
  }
  engine_.kv().truncate(s.seq, static_cast<int32_t>(keep));
  s.fed.resize(keep);
  const std::span<const int32_t> missing = context.subspan(s.offset + keep);
  const std::vector<float>* logits = &engine_.prefill(s.seq, missing, false);
  s.fed.insert(s.fed.end(), missing.begin(), missing.end());
  const auto argmax = [&] {
    return static_cast<int32_t>(std::max_element(logits->begin(), logits->end()) - logits->begin());
  };
  const int32_t room = engine_.options().n_ctx - static_cast<int32_t>(s.fed.size());
  max_tokens = std::min(max_tokens, room);
  while (static_cast<int32_t>(out.size()) < max_tokens) {
    out.push_back(argmax());
    if (static_cast<int32_t>(out.size()) == max_tokens) break;
    const SequenceInput in{s.seq, std::span<const int32_t>(&out.back(), 1), Logits::Last};
    logits = &engine_.forward(std::span<const SequenceInput>(&in, 1));
    s.fed.push_back(out.back());
  }
}

}  // namespace weblm
