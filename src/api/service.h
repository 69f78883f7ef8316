// The engine's service layer, in the spirit of mlc-llm's serve engine: explicit state and a few
// actions instead of a blocking call per request. Requests are submitted with a sink for their
// results; each step runs ONE forward pass over every running request together (decode tokens of
// generating requests first, then prompt chunks, up to n_batch tokens) and streams what it
// produced to the sinks. The CLI, the server (continuous batching) and the wasm host all drive
// the same object; step() is split into step_submit() and step_complete() so that a host which
// must not block (WebGPU in a browser) can await between the two.
//
// Guarantees:
// - Batching changes no result: each choice has its own sampler and generator, and a token's
//   logits do not depend on the other rows of its pass, so a request's output (temperature 0,
//   or any fixed seed) is the same alone or batched.
// - Requests are validated before any compute (ApiError from submit()).
// - Prefix reuse: finished sequences stay in the KV cache (prefix_cache.h); a request starts from
//   the longest cached prefix of its prompt (reported as usage.prompt_tokens_details.cached_tokens).
// - Context policy: prompt tokens + max_tokens must fit in n_ctx, else the request is rejected
//   (400, code "context_length_exceeded"); without max_tokens a request may generate until the
//   context is full (finish_reason "length"). Nothing is silently truncated or slid.
// - Admission reserves the KV pages a request may need (its prompt plus max_tokens, for each
//   choice; choices share the prompt's pages), evicting cached prefixes when needed, so a running
//   request never fails for lack of KV space; a request that does not fit yet waits its turn.
// - Speculative decoding (ServiceOptions::drafter): a choice's decode input carries its last
//   token plus the drafted ones with every row's logits, verified token by token
//   (runtime/speculative_verify.h); the KV of rejected positions is truncated away. Output at
//   temperature 0 is the same token for token; at temperature > 0 the same distribution.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "api/api_error.h"
#include "api/chat_prompt.h"
#include "api/json.h"
#include "api/prefix_cache.h"
#include "api/request.h"
#include "api/response.h"
#include "runtime/drafter.h"
#include "runtime/engine.h"
#include "tokenizer/tokenizer.h"

namespace weblm::api {

using RequestId = int64_t;

struct ServiceOptions {
  std::string model_id = "weblm";  // "model" of responses to requests that name none
  int32_t cached_sequences = -1;   // finished sequences kept for prefix reuse; < 0: n_seq_max, 0: none
  // Speculative decoding: what proposes tokens for every choice (null: off), and the most
  // tokens drafted per step (the bound of the adaptive draft length).
  std::shared_ptr<Drafter> drafter;
  int32_t draft_max = 8;
};

// Where the time of one request went, and its token counts (what `usage` reports, plus timings).
struct RequestStats {
  int32_t prompt_tokens = 0;
  int32_t cached_tokens = 0;
  int32_t completion_tokens = 0;
  double queued_ms = 0;  // submitted -> admitted
  double prompt_ms = 0;  // admitted -> first token sampled
  double decode_ms = 0;  // first token -> finished
  SpeculationStats speculation;  // all choices; the response's usage.speculative when speculating
};

// Callbacks for one request's results, each optional. They run inside step_complete() (or
// step_submit() for requests that end there); they may call submit() and cancel() but must not
// throw.
struct ResponseSink {
  // stream requests: each chunk, exactly as OpenAI streams it (chat.completion.chunk /
  // text_completion), ending with the usage chunk when stream_options.include_usage.
  std::function<void(const Json& chunk)> on_chunk;
  // the whole response (for stream requests too), when the request is done or cancelled
  std::function<void(const Json& response, const RequestStats& stats)> on_done;
  // the request failed after it was accepted (an engine error); no on_done follows
  std::function<void(const ApiError& error)> on_error;
};

class Service {
 public:
  // The chat template is parsed here: a model whose template does not parse is an Error.
  Service(Engine& engine, const Tokenizer& tokenizer, ServiceOptions options = {});
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Parses, renders and tokenizes the request and checks it against the context; throws
  // ApiError before any compute. Otherwise queues it and returns its id.
  RequestId submit(const Json& body, Endpoint endpoint, ResponseSink sink);
  RequestId submit(Request request, ResponseSink sink);

  // Ends the request at the next step: its output so far is delivered with finish_reason
  // "cancelled". Returns false when no such request is queued or running.
  bool cancel(RequestId id);

  bool idle() const;  // nothing queued or running

  // Admits queued requests, builds ONE forward pass over every running request and submits it.
  // Returns false when there was nothing to compute.
  bool step_submit();
  // Collects the pass's logits (waiting for the backend if need be), samples, streams deltas,
  // finishes requests.
  void step_complete();
  // step_submit() + step_complete(); returns false when there was nothing to compute.
  bool step();

  // submit + step until this request is done (other requests progress too); stream requests'
  // chunks go to on_chunk. Returns the whole response; throws ApiError.
  struct Completion {
    Json response;
    RequestStats stats;
  };
  Completion run(Request request, const std::function<void(const Json& chunk)>& on_chunk = {});
  Json run(const Json& body, Endpoint endpoint);

  // The prompt tokens a request would run on (chat: rendered with the template).
  std::vector<int32_t> prompt_tokens(const Request& request) const;

 private:
  struct Choice;
  struct Job;
  struct Slot {  // one input of the pass in flight
    Job* job;
    int32_t choice;  // < 0: a chunk of the prompt
    int32_t count;   // tokens
    int32_t row;     // logits row, or -1
  };

  bool admit(Job& job);
  int64_t committed_pages() const;
  int64_t pages_needed(const Job& job) const;
  void start_generation(Job& job, const float* logits);
  void advance(Job& job, Choice& choice, const float* logits);
  // Records one sampled token of a generating choice; returns false when the choice ended.
  bool take(Job& job, Choice& choice, int32_t token, std::span<const float> logits);
  void draft(Job& job, Choice& choice, int32_t room);
  void verify(Job& job, Choice& choice, const float* rows, int32_t count);
  void finish_choice(Choice& choice, FinishReason reason, ChoiceDelta& delta);
  void close_draft_stream(Choice& choice);
  void emit(Job& job, const ChoiceDelta& delta);
  void finalize(Job& job);
  void fail_job(Job& job, const ApiError& error);
  void release_sequences(Job& job, bool keep_for_reuse);
  void reap();

  Engine& engine_;
  const Tokenizer& tokenizer_;
  ServiceOptions options_;
  ChatPrompt chat_prompt_;
  PrefixCache cache_;
  uint64_t random_state_;
  RequestId next_id_ = 1;
  std::vector<std::unique_ptr<Job>> queue_;    // submitted, not admitted (FIFO)
  std::vector<std::unique_ptr<Job>> running_;  // admitted, in admission order
  size_t decode_rotation_ = 0;
  std::vector<SequenceInput> inputs_;
  std::vector<Slot> slots_;
  std::vector<int32_t> draft_context_;  // scratch: a choice's tokens so far, for its drafter
  bool in_flight_ = false;
  std::chrono::steady_clock::time_point step_started_;  // times steps for the adaptive draft length
};

}  // namespace weblm::api
