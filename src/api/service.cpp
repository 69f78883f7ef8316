#include "api/service.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <optional>
#include <random>

#include "api/stop_matcher.h"
#include "runtime/draft_length.h"
#include "runtime/sampler.h"
#include "runtime/speculative_verify.h"

namespace weblm::api {

namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void add_speculation(Json& body, const SpeculationStats& s) {
  body["usage"]["speculative"] = {{"drafted", s.drafted}, {"accepted", s.accepted}, {"acceptance_rate", s.acceptance_rate()}};
}

int64_t characters(std::string_view utf8) {
  return std::count_if(utf8.begin(), utf8.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

}  // namespace

struct Service::Choice {
  Choice(int32_t index, const SamplingParams& params, int32_t n_vocab, const Tokenizer& tokenizer,
         std::vector<std::string> stops, int32_t draft_max)
      : index(index), sampler(params, n_vocab), decoder(tokenizer), stop(std::move(stops)), draft_length(draft_max) {}

  int32_t index;
  int32_t seq = -1;
  Sampler sampler;
  StreamDecoder decoder;
  StopMatcher stop;
  int32_t next_token = -1;         // sampled, not yet in the KV: the next pass feeds it
  std::vector<int32_t> generated;  // every counted token, in order
  ChoiceResult result;
  int64_t characters = 0;  // of the token texts so far (legacy logprobs' text_offset)
  bool announced = false;  // its first delta went out
  bool done = false;
  // Speculation: the drafter's stream, the adaptive draft length, this step's decode input
  // (next_token, then the drafted tokens) and what was drafted and accepted so far.
  int32_t stream = -1;
  DraftLength draft_length;
  std::vector<int32_t> pass;
  SpeculationStats speculation;
};

struct Service::Job {
  RequestId id = 0;
  Request request;
  ResponseSink sink;
  ResponseHead head;
  std::vector<int32_t> prompt;
  std::string echo;  // completions with echo: the prompt text each choice starts with
  int32_t max_tokens = 0;
  int32_t prompt_seq = -1;  // the prompt's sequence until generation starts (then choice 0's)
  int32_t prompt_done = 0;  // prompt tokens in the KV
  int32_t cached = 0;       // of them, reused from the prefix cache
  bool generating = false;
  bool cancelled = false;
  bool ended = false;  // delivered (or failed): to be removed
  std::vector<Choice> choices;
  Clock::time_point submitted, admitted, first_token;
};

Service::Service(Engine& engine, const Tokenizer& tokenizer, ServiceOptions options)
    : engine_(engine),
      tokenizer_(tokenizer),
      options_(std::move(options)),
      chat_prompt_(tokenizer),
      cache_(engine.kv(), options_.cached_sequences < 0 ? engine.options().n_seq_max : options_.cached_sequences),
      random_state_((static_cast<uint64_t>(std::random_device{}()) << 32) ^ static_cast<uint64_t>(std::time(nullptr))) {
  if (options_.drafter && options_.draft_max < 1) fail("the draft length limit must be at least 1, got ", options_.draft_max);
}

Service::~Service() {
  try {
    if (in_flight_) engine_.forward_collect();
    for (auto& job : running_) release_sequences(*job, false);
  } catch (const Error&) {
    // The engine is going away with us; nothing left to report to.
  }
}

std::vector<int32_t> Service::prompt_tokens(const Request& r) const {
  if (r.endpoint == Endpoint::ChatCompletions)
    return tokenize_prompt(tokenizer_, chat_prompt_.render(r.messages, r.tools, true, r.template_kwargs));
  if (r.prompt_tokens) return *r.prompt_tokens;
  return tokenize_prompt(tokenizer_, r.prompt_text);
}

RequestId Service::submit(const Json& body, Endpoint endpoint, ResponseSink sink) {
  return submit(parse_request(body, endpoint, engine_.n_vocab()), std::move(sink));
}

RequestId Service::submit(Request request, ResponseSink sink) {
  auto job = std::make_unique<Job>();
  Job& j = *job;
  const bool chat = request.endpoint == Endpoint::ChatCompletions;
  const std::string prompt_param = chat ? "messages" : "prompt";
  j.prompt = prompt_tokens(request);
  const int64_t n_prompt = static_cast<int64_t>(j.prompt.size());
  if (j.prompt.empty()) reject(prompt_param, "invalid_value", "The prompt is empty: it has no tokens.");
  for (int32_t t : j.prompt)
    if (t < 0 || t >= engine_.n_vocab()) reject(prompt_param, "invalid_value", str_cat("Token id ", t, " is outside the model's vocabulary."));

  const int64_t n_ctx = engine_.options().n_ctx;
  if (request.max_tokens ? n_prompt + *request.max_tokens > n_ctx : n_prompt >= n_ctx) {
    const int64_t asked = request.max_tokens ? *request.max_tokens : 1;
    reject(prompt_param, "context_length_exceeded",
           str_cat("This model's maximum context length is ", n_ctx, " tokens. However, you requested ",
                   request.max_tokens ? "" : "at least ", n_prompt + asked, " tokens (", n_prompt, " in the ",
                   prompt_param, ", ", request.max_tokens ? "" : "at least ", asked,
                   " in the completion), which exceeds the context size. Please reduce the length of the ",
                   prompt_param, " or completion."));
  }
  j.max_tokens = request.max_tokens ? *request.max_tokens : static_cast<int32_t>(n_ctx - n_prompt);

  std::vector<std::string> stops = request.stop;
  if (chat)
    for (std::string& s : chat_prompt_.default_stop()) stops.push_back(std::move(s));
  const uint64_t seed = request.seed ? *request.seed : splitmix64(random_state_);
  j.choices.reserve(static_cast<size_t>(request.n));
  try {
    for (int32_t i = 0; i < request.n; ++i) {
      SamplingParams params = request.sampling;
      uint64_t choice_seed = seed + static_cast<uint64_t>(i);
      params.seed = i == 0 ? seed : splitmix64(choice_seed);  // choice 0 is what n = 1 would give
      j.choices.emplace_back(i, params, engine_.n_vocab(), tokenizer_, stops, std::max(options_.draft_max, 1));
    }
  } catch (const ApiError&) {
    throw;
  } catch (const Error& e) {
    reject("", "invalid_value", e.what());
  }
  j.request = std::move(request);
  if (pages_needed(j) > engine_.kv().total_pages())
    reject("n", "invalid_value",
           str_cat("Invalid value for 'n': ", j.request.n, " choices of up to ", n_prompt + j.max_tokens,
                   " tokens need up to ", pages_needed(j), " KV pages, but the cache has ", engine_.kv().total_pages(),
                   " (allow more parallel sequences, or ask for fewer choices or tokens)."));

  j.id = next_id_++;
  j.sink = std::move(sink);
  j.head.id = make_response_id(j.request.endpoint, splitmix64(random_state_));
  j.head.created = static_cast<int64_t>(std::time(nullptr));
  j.head.model = j.request.model.empty() ? options_.model_id : j.request.model;
  j.head.endpoint = j.request.endpoint;
  j.head.logprobs = j.request.logprobs;
  j.head.include_usage = j.request.stream && j.request.include_usage;
  if (j.request.echo) j.echo = j.request.prompt_tokens ? tokenizer_.decode(j.prompt, false) : j.request.prompt_text;
  j.submitted = Clock::now();
  const RequestId id = j.id;
  queue_.push_back(std::move(job));
  return id;
}

bool Service::cancel(RequestId id) {
  for (auto* list : {&queue_, &running_})
    for (auto& job : *list)
      if (job->id == id && !job->ended) {
        job->cancelled = true;
        return true;
      }
  return false;
}

bool Service::idle() const { return queue_.empty() && running_.empty(); }

// Upper bound of the KV pages `job` may still take before it reaches its final length (prompt +
// max_tokens) in every choice. A sequence grows from the pages it holds, plus one when a write
// into its partly filled last page must first copy it (shared with a cache entry or a sibling).
// Choices not yet forked will share the prompt's last page with choice 0: both copy it.
int64_t Service::pages_needed(const Job& job) const {
  const KvCache& kv = engine_.kv();
  const int64_t page = kv.page_size();
  const int64_t n_prompt = static_cast<int64_t>(job.prompt.size());
  const int64_t final_pages = (n_prompt + job.max_tokens + page - 1) / page;
  auto held = [&](int64_t length) { return (length + page - 1) / page; };
  auto growth = [&](int32_t seq) {
    const int64_t length = kv.length(seq);
    const bool copies = length % page != 0 && kv.page_references(kv.page_table(seq).back()) > 1;
    return final_pages - held(length) + (copies ? 1 : 0);
  };
  if (job.generating) {
    int64_t pages = 0;
    for (const Choice& c : job.choices)
      if (!c.done) pages += growth(c.seq);
    return pages;
  }
  const int64_t forks = static_cast<int64_t>(job.choices.size()) - 1;
  const int64_t shared_tail = forks > 0 && n_prompt % page != 0 ? 1 : 0;
  const int64_t first = job.prompt_seq >= 0 ? growth(job.prompt_seq) : final_pages;
  return first + shared_tail + forks * (final_pages - held(n_prompt) + shared_tail);
}

int64_t Service::committed_pages() const {
  int64_t pages = 0;
  for (const auto& job : running_) pages += pages_needed(*job);
  return pages;
}

bool Service::admit(Job& job) {
  KvCache& kv = engine_.kv();
  const PrefixCache::Hit hit = cache_.acquire(job.prompt, static_cast<int32_t>(job.prompt.size()) - 1);
  job.prompt_seq = hit.seq;
  job.prompt_done = job.cached = hit.length;
  // Evicting a cached prefix frees its pages, and may unshare pages (no copy needed any more).
  auto fits = [&] { return kv.free_pages() >= committed_pages() + pages_needed(job); };
  while (!fits() && cache_.evict_one()) {
  }
  if (!fits()) {
    kv.release_sequence(job.prompt_seq);
    job.prompt_seq = -1;
    job.prompt_done = job.cached = 0;
    return false;
  }
  job.admitted = Clock::now();
  return true;
}

bool Service::step_submit() {
  if (in_flight_) fail("step_submit: the previous pass was not completed (call step_complete first)");
  step_started_ = Clock::now();
  for (auto* list : {&queue_, &running_})
    for (auto& job : *list)
      if (job->cancelled && !job->ended) finalize(*job);
  reap();
  while (!queue_.empty() && admit(*queue_.front())) {
    running_.push_back(std::move(queue_.front()));
    queue_.erase(queue_.begin());
  }

  inputs_.clear();
  slots_.clear();
  int32_t budget = engine_.options().n_batch;
  int32_t rows = 0;
  // Decode tokens first (running requests keep their pace), starting at a rotating request so
  // that none starves when they exceed the batch.
  const size_t n_running = running_.size();
  for (size_t k = 0; k < n_running; ++k) {
    Job& job = *running_[(decode_rotation_ + k) % n_running];
    if (!job.generating) continue;
    for (Choice& c : job.choices) {
      if (c.done || budget == 0) continue;
      draft(job, c, budget - 1);
      const int32_t count = static_cast<int32_t>(c.pass.size());
      inputs_.push_back({c.seq, c.pass, count > 1 ? Logits::All : Logits::Last});
      slots_.push_back({&job, c.index, count, rows});
      rows += count;
      budget -= count;
    }
  }
  if (n_running > 0) decode_rotation_ = (decode_rotation_ + 1) % n_running;
  // Then prompt chunks, in admission order, with what is left of the batch.
  for (auto& job : running_) {
    if (job->generating || budget == 0) continue;
    const int32_t n = std::min(static_cast<int32_t>(job->prompt.size()) - job->prompt_done, budget);
    const bool last = job->prompt_done + n == static_cast<int32_t>(job->prompt.size());
    inputs_.push_back({job->prompt_seq, std::span<const int32_t>(job->prompt).subspan(job->prompt_done, n),
                       last ? Logits::Last : Logits::None});
    slots_.push_back({job.get(), -1, n, last ? rows++ : -1});
    budget -= n;
  }
  if (inputs_.empty()) return false;
  try {
    engine_.forward_submit(inputs_);
  } catch (const Error& e) {
    const ApiError error = server_error(str_cat("The forward pass failed: ", e.what()));
    for (const Slot& s : slots_)
      if (!s.job->ended) fail_job(*s.job, error);
    slots_.clear();
    reap();
    return false;
  }
  in_flight_ = true;
  return true;
}

void Service::step_complete() {
  if (!in_flight_) fail("step_complete: no pass was submitted");
  in_flight_ = false;
  const std::vector<float>* logits = nullptr;
  try {
    logits = &engine_.forward_collect();
  } catch (const Error& e) {
    const ApiError error = server_error(str_cat("The forward pass failed: ", e.what()));
    for (const Slot& s : slots_)
      if (!s.job->ended) fail_job(*s.job, error);
    slots_.clear();
    reap();
    return;
  }
  const size_t n_vocab = static_cast<size_t>(engine_.n_vocab());
  const double step_ms = ms_between(step_started_, Clock::now());
  for (const Slot& s : slots_) {
    Job& job = *s.job;
    if (job.ended) continue;
    const float* row = s.row >= 0 ? logits->data() + static_cast<size_t>(s.row) * n_vocab : nullptr;
    if (s.choice >= 0) {
      Choice& c = job.choices[s.choice];
      const SpeculationStats before = c.speculation;
      const size_t generated = c.generated.size();
      if (s.count > 1) verify(job, c, row, s.count);
      else advance(job, c, row);
      c.draft_length.record(static_cast<int32_t>(c.speculation.drafted - before.drafted),
                            static_cast<int32_t>(c.speculation.accepted - before.accepted),
                            static_cast<int32_t>(c.generated.size() - generated), step_ms);
    } else {
      job.prompt_done += s.count;
      if (row) start_generation(job, row);
    }
  }
  slots_.clear();
  for (auto& job : running_) {
    if (job->ended) continue;
    const bool all_done = std::all_of(job->choices.begin(), job->choices.end(), [](const Choice& c) { return c.done; });
    if (all_done || job->cancelled) finalize(*job);
  }
  reap();
}

bool Service::step() {
  if (!step_submit()) return false;
  step_complete();
  return true;
}

void Service::start_generation(Job& job, const float* logits) {
  job.generating = true;
  const int32_t n_prompt = static_cast<int32_t>(job.prompt.size());
  for (Choice& c : job.choices) {
    c.seq = c.index == 0 ? job.prompt_seq : engine_.kv().fork(job.prompt_seq, n_prompt);
    if (options_.drafter) {
      c.stream = options_.drafter->open();
      options_.drafter->start(c.stream, job.prompt);
    }
  }
  job.first_token = Clock::now();  // the drafter's prompt counts as prompt time
  job.prompt_seq = -1;
  for (Choice& c : job.choices) advance(job, c, logits);
}

void Service::advance(Job& job, Choice& c, const float* logits) {
  const std::span<const float> row(logits, static_cast<size_t>(engine_.n_vocab()));
  take(job, c, c.sampler.sample(row), row);
}

// The choice's decode input for this step: its next token, then (when speculating) up to
// `room` drafted tokens, no more than it may still generate.
void Service::draft(Job& job, Choice& c, int32_t room) {
  c.pass.assign(1, c.next_token);
  if (!options_.drafter) return;
  const int32_t left = job.max_tokens - static_cast<int32_t>(c.generated.size());
  const int32_t wanted = std::min({c.draft_length.next(), room, left});
  if (wanted <= 0) return;
  draft_context_.assign(job.prompt.begin(), job.prompt.end());
  draft_context_.insert(draft_context_.end(), c.generated.begin(), c.generated.end());
  std::vector<int32_t> drafted;
  options_.drafter->propose(c.stream, draft_context_, wanted, drafted);
  drafted.resize(std::min(drafted.size(), static_cast<size_t>(wanted)));
  c.pass.insert(c.pass.end(), drafted.begin(), drafted.end());
}

// The pass evaluated [next token, drafts] at every row: take tokens while the drafts hold,
// then drop the KV of the rejected drafts (whole pages past the end go back to the pool).
void Service::verify(Job& job, Choice& c, const float* rows, int32_t count) {
  KvCache& kv = engine_.kv();
  const int32_t start = kv.length(c.seq) - count;
  const std::span<const int32_t> drafted(c.pass.data() + 1, static_cast<size_t>(count - 1));
  const size_t n_vocab = static_cast<size_t>(engine_.n_vocab());
  const int32_t accepted =
      verify_draft(c.sampler, std::span<const float>(rows, static_cast<size_t>(count) * n_vocab), drafted,
                   [&](int32_t token, std::span<const float> row) { return take(job, c, token, row); });
  c.speculation.drafted += count - 1;
  c.speculation.accepted += accepted;
  if (c.seq < 0) return;  // finished, sequence released
  // In the KV: everything generated but the pending next token (a finished choice keeps its
  // last token too), never a rejected draft.
  const int32_t generated_end = static_cast<int32_t>(job.prompt.size() + c.generated.size()) - (c.done ? 0 : 1);
  kv.truncate(c.seq, std::min(start + 1 + accepted, generated_end));
}

bool Service::take(Job& job, Choice& c, int32_t token, std::span<const float> row) {
  ChoiceDelta d;
  d.index = c.index;
  if (!c.announced) {
    c.announced = true;
    d.first = true;
    d.text = job.echo;
    c.characters = characters(job.echo);
  }
  if (!job.request.ignore_eos && tokenizer_.is_end_of_generation(token)) {
    finish_choice(c, FinishReason::Stop, d);
  } else {
    if (job.request.logprobs) {
      TokenLogprob lp;
      lp.bytes = tokenizer_.piece(token, false);
      lp.logprob = c.sampler.logprob(row, token);
      lp.text_offset = c.characters;
      c.characters += characters(printable(lp.bytes));
      for (const TokenProb& alt : c.sampler.top_logprobs(row, job.request.top_logprobs))
        lp.top.emplace_back(tokenizer_.piece(alt.token, false), alt.logprob);
      d.logprobs.push_back(std::move(lp));
    }
    c.sampler.accept(token);
    c.generated.push_back(token);
    d.text += c.stop.push(c.decoder.push(token));
    if (c.stop.stopped()) finish_choice(c, FinishReason::Stop, d);
    else if (static_cast<int32_t>(c.generated.size()) >= job.max_tokens) finish_choice(c, FinishReason::Length, d);
    else c.next_token = token;
  }
  c.result.text += d.text;
  c.result.logprobs.insert(c.result.logprobs.end(), d.logprobs.begin(), d.logprobs.end());
  emit(job, d);
  return !c.done;
}

void Service::finish_choice(Choice& c, FinishReason reason, ChoiceDelta& d) {
  if (reason != FinishReason::Cancelled && !c.stop.stopped()) {
    d.text += c.stop.push(c.decoder.finish());
    if (!c.stop.stopped()) d.text += c.stop.finish();
  }
  c.done = true;
  c.result.finish = reason;
  d.finish = reason;
  close_draft_stream(c);
  // Choice 0's sequence is kept for the prefix cache when the request ends.
  if (c.index != 0 && c.seq >= 0) {
    engine_.kv().release_sequence(c.seq);
    c.seq = -1;
  }
}

void Service::close_draft_stream(Choice& c) {
  if (c.stream < 0) return;
  options_.drafter->close(c.stream);
  c.stream = -1;
}

// A delta as OpenAI streams it: the role alone first (chat), then text and logprobs, then the
// finish reason with an empty delta.
void Service::emit(Job& job, const ChoiceDelta& d) {
  if (!job.request.stream || !job.sink.on_chunk) return;
  const bool chat = job.request.endpoint == Endpoint::ChatCompletions;
  if (d.first && chat) {
    ChoiceDelta role;
    role.index = d.index;
    role.first = true;
    job.sink.on_chunk(chunk_json(job.head, role));
  }
  if (!d.text.empty() || !d.logprobs.empty()) {
    ChoiceDelta body;
    body.index = d.index;
    body.text = d.text;
    body.logprobs = d.logprobs;
    job.sink.on_chunk(chunk_json(job.head, body));
  }
  if (d.finish) {
    ChoiceDelta end;
    end.index = d.index;
    end.finish = d.finish;
    job.sink.on_chunk(chunk_json(job.head, end));
  }
}

void Service::finalize(Job& job) {
  for (Choice& c : job.choices) {
    if (c.done) continue;
    ChoiceDelta d;
    d.index = c.index;
    finish_choice(c, FinishReason::Cancelled, d);
    emit(job, d);
  }
  job.ended = true;
  release_sequences(job, true);
  const auto now = Clock::now();
  RequestStats stats;
  stats.prompt_tokens = static_cast<int32_t>(job.prompt.size());
  stats.cached_tokens = job.cached;
  std::vector<ChoiceResult> results;
  for (const Choice& c : job.choices) {
    stats.completion_tokens += static_cast<int32_t>(c.generated.size());
    stats.speculation.drafted += c.speculation.drafted;
    stats.speculation.accepted += c.speculation.accepted;
    results.push_back(c.result);
  }
  const bool admitted = job.admitted != Clock::time_point();
  const bool generated = job.first_token != Clock::time_point();
  stats.queued_ms = ms_between(job.submitted, admitted ? job.admitted : now);
  stats.prompt_ms = admitted ? ms_between(job.admitted, generated ? job.first_token : now) : 0;
  stats.decode_ms = generated ? ms_between(job.first_token, now) : 0;
  const Usage usage{stats.prompt_tokens, stats.completion_tokens, stats.cached_tokens};
  Json response = response_json(job.head, results, usage);
  if (options_.drafter) add_speculation(response, stats.speculation);
  if (job.head.include_usage && job.sink.on_chunk) {
    Json chunk = usage_chunk_json(job.head, usage);
    if (options_.drafter) add_speculation(chunk, stats.speculation);
    job.sink.on_chunk(chunk);
  }
  if (job.sink.on_done) job.sink.on_done(response, stats);
}

void Service::fail_job(Job& job, const ApiError& error) {
  job.ended = true;
  release_sequences(job, false);
  if (job.sink.on_error) job.sink.on_error(error);
}

// Gives the job's sequences back; with keep_for_reuse, the one holding the prompt (and choice
// 0's tokens) goes to the prefix cache instead.
void Service::release_sequences(Job& job, bool keep_for_reuse) {
  KvCache& kv = engine_.kv();
  auto hand_back = [&](int32_t seq, std::vector<int32_t> tokens) {
    if (keep_for_reuse) cache_.store(seq, std::move(tokens));
    else kv.release_sequence(seq);
  };
  if (job.prompt_seq >= 0) {
    hand_back(job.prompt_seq, std::vector<int32_t>(job.prompt.begin(), job.prompt.begin() + job.prompt_done));
    job.prompt_seq = -1;
  }
  for (Choice& c : job.choices) {
    close_draft_stream(c);
    if (c.seq < 0) continue;
    if (c.index == 0) {
      std::vector<int32_t> tokens = job.prompt;
      const size_t fed = static_cast<size_t>(kv.length(c.seq)) - job.prompt.size();
      tokens.insert(tokens.end(), c.generated.begin(), c.generated.begin() + static_cast<std::ptrdiff_t>(fed));
      hand_back(c.seq, std::move(tokens));
    } else {
      kv.release_sequence(c.seq);
    }
    c.seq = -1;
  }
}

void Service::reap() {
  for (auto* list : {&queue_, &running_})
    list->erase(std::remove_if(list->begin(), list->end(), [](const auto& job) { return job->ended; }), list->end());
}

Service::Completion Service::run(Request request, const std::function<void(const Json& chunk)>& on_chunk) {
  Completion completion;
  std::optional<ApiError> error;
  bool done = false;
  ResponseSink sink;
  sink.on_chunk = on_chunk;
  sink.on_done = [&](const Json& response, const RequestStats& stats) {
    completion = {response, stats};
    done = true;
  };
  sink.on_error = [&](const ApiError& e) {
    error = e;
    done = true;
  };
  submit(std::move(request), std::move(sink));
  while (!done)
    if (!step() && !done) throw server_error("The request could not be scheduled: the KV cache has no room for it.");
  if (error) throw *error;
  return completion;
}

Json Service::run(const Json& body, Endpoint endpoint) {
  return run(parse_request(body, endpoint, engine_.n_vocab())).response;
}

}  // namespace weblm::api
