// The module's C API, called from JS (js/weblm.mjs). Conventions:
// - A call that fails returns -1 or a null pointer and leaves the message in weblm_last_error().
// - Strings and arrays returned belong to the session or sampler and stay valid until its next call.
// - Pointers are wasm32 addresses (JS reads them unsigned: memory may reach 4 GiB).
// A forward pass is split in two so that JS can await a WebGPU pass between them:
// weblm_forward_submit, then (once weblm_forward_ready) weblm_forward_collect.
#include <emscripten/emscripten.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "runtime/sampler.h"
#include "wasm/c_api.h"
#include "wasm/sampling_json.h"

namespace {

using weblm::wasm::guarded;
using weblm::wasm::SessionHandle;

struct SamplerHandle {
  weblm::Sampler sampler;
  weblm::StreamDecoder stream;
  int32_t n_vocab;
  std::string text;
};

}  // namespace

std::string& weblm::wasm::last_error() {
  static std::string message;
  return message;
}

extern "C" {

EMSCRIPTEN_KEEPALIVE const char* weblm_last_error() { return weblm::wasm::last_error().c_str(); }

// What this build of the module has: {"webgpu": bool, "threads": bool}.
EMSCRIPTEN_KEEPALIVE const char* weblm_build_info() {
  static const std::string info = nlohmann::json{{"webgpu", weblm::wasm::kHasWebGpu},
#ifdef __EMSCRIPTEN_PTHREADS__
                                                 {"threads", true},
#else
                                                 {"threads", false},
#endif
                                                }.dump();
  return info.c_str();
}

// `file` (malloc'ed, `size` bytes) becomes the session's, also when creation fails.
EMSCRIPTEN_KEEPALIVE SessionHandle* weblm_session_create(uint8_t* file, size_t size, const char* options_json) {
  return guarded("loading the model", static_cast<SessionHandle*>(nullptr), [&] {
    weblm::wasm::SessionOptions o;
    try {
      o = weblm::wasm::SessionOptions::from_json(nlohmann::json::parse(options_json));
    } catch (...) {
      std::free(file);
      throw;
    }
    return new SessionHandle(file, size, o);
  });
}

EMSCRIPTEN_KEEPALIVE void weblm_session_destroy(SessionHandle* h) { delete h; }

EMSCRIPTEN_KEEPALIVE const char* weblm_session_info(SessionHandle* h) {
  return guarded("session info", static_cast<const char*>(nullptr), [&] {
    h->text = h->session.info().dump();
    return h->text.c_str();
  });
}

// Returns the number of ids (read them at weblm_ids) or -1.
EMSCRIPTEN_KEEPALIVE int32_t weblm_tokenize(SessionHandle* h, const char* text, int add_special, int parse_special) {
  return guarded("tokenize", -1, [&] {
    h->ids = h->session.tokenizer().encode(text, add_special != 0, parse_special != 0);
    return static_cast<int32_t>(h->ids.size());
  });
}

EMSCRIPTEN_KEEPALIVE const int32_t* weblm_ids(SessionHandle* h) { return h->ids.data(); }

// Returns the text's size in bytes (read them at weblm_text: they may hold NUL) or -1.
EMSCRIPTEN_KEEPALIVE int32_t weblm_detokenize(SessionHandle* h, const int32_t* ids, int32_t n, int render_special) {
  return guarded("detokenize", -1, [&] {
    h->text = h->session.tokenizer().decode(std::span<const int32_t>(ids, n), render_special != 0);
    return static_cast<int32_t>(h->text.size());
  });
}

EMSCRIPTEN_KEEPALIVE const char* weblm_text(SessionHandle* h) { return h->text.data(); }

EMSCRIPTEN_KEEPALIVE int32_t weblm_is_end_of_generation(SessionHandle* h, int32_t token) {
  return h->session.tokenizer().is_end_of_generation(token) ? 1 : 0;
}

EMSCRIPTEN_KEEPALIVE int32_t weblm_seq_create(SessionHandle* h) {
  return guarded("creating a sequence", -1, [&] { return h->session.engine().kv().create_sequence(); });
}

EMSCRIPTEN_KEEPALIVE int32_t weblm_seq_release(SessionHandle* h, int32_t seq) {
  return guarded("releasing a sequence", -1, [&] {
    h->session.engine().kv().release_sequence(seq);
    return 0;
  });
}

EMSCRIPTEN_KEEPALIVE int32_t weblm_seq_length(SessionHandle* h, int32_t seq) {
  return guarded("sequence length", -1, [&] { return h->session.engine().kv().length(seq); });
}

EMSCRIPTEN_KEEPALIVE int32_t weblm_seq_truncate(SessionHandle* h, int32_t seq, int32_t length) {
  return guarded("truncating a sequence", -1, [&] {
    h->session.engine().kv().truncate(seq, length);
    return 0;
  });
}

// logits: 0 = none, 1 = the last token's, 2 = every token's. Returns the rows of logits the pass
// will produce, or -1.
EMSCRIPTEN_KEEPALIVE int32_t weblm_forward_submit(SessionHandle* h, int32_t seq, const int32_t* ids, int32_t n,
                                                  int32_t logits) {
  return guarded("forward", -1, [&] {
    if (logits < 0 || logits > 2) weblm::fail("logits mode ", logits, " (expected 0 none, 1 last, 2 all)");
    if (n <= 0) weblm::fail("no tokens to evaluate");
    const weblm::SequenceInput in{seq, std::span<const int32_t>(ids, n), static_cast<weblm::Logits>(logits)};
    h->session.engine().forward_submit(std::span<const weblm::SequenceInput>(&in, 1));
    return logits == 2 ? n : logits;
  });
}

EMSCRIPTEN_KEEPALIVE int32_t weblm_forward_ready(SessionHandle* h) {
  return h->session.engine().forward_ready() ? 1 : 0;
}

// [rows, n_vocab] floats, rows as weblm_forward_submit returned.
EMSCRIPTEN_KEEPALIVE const float* weblm_forward_collect(SessionHandle* h) {
  return guarded("forward", static_cast<const float*>(nullptr), [&] {
    return h->session.engine().forward_collect().data();
  });
}

// params_json: see sampling_json.h. The sampler reads the session's tokenizer: destroy it first.
EMSCRIPTEN_KEEPALIVE SamplerHandle* weblm_sampler_create(SessionHandle* h, const char* params_json) {
  return guarded("sampling parameters", static_cast<SamplerHandle*>(nullptr), [&] {
    const int32_t n_vocab = static_cast<int32_t>(h->session.config().n_vocab);
    return new SamplerHandle{weblm::Sampler(weblm::wasm::sampling_from_json(nlohmann::json::parse(params_json)), n_vocab),
                             weblm::StreamDecoder(h->session.tokenizer()), n_vocab, {}};
  });
}

EMSCRIPTEN_KEEPALIVE void weblm_sampler_destroy(SamplerHandle* s) { delete s; }

// Records a token of the context (prompt or generated) for the penalties.
EMSCRIPTEN_KEEPALIVE void weblm_sampler_accept(SamplerHandle* s, int32_t token) { s->sampler.accept(token); }

// Picks a token from one row of n_vocab logits.
EMSCRIPTEN_KEEPALIVE int32_t weblm_sampler_sample(SamplerHandle* s, const float* logits) {
  return guarded("sampling", -1, [&] { return s->sampler.sample(std::span<const float>(logits, s->n_vocab)); });
}

// The size in bytes of the text `token` adds to the stream (0 while a UTF-8 character is
// incomplete), or -1; the bytes are at weblm_sampler_text_data.
EMSCRIPTEN_KEEPALIVE int32_t weblm_sampler_text(SamplerHandle* s, int32_t token) {
  return guarded("detokenize", -1, [&] {
    s->text = s->stream.push(token);
    return static_cast<int32_t>(s->text.size());
  });
}

// Likewise for what the stream still holds, incomplete characters as U+FFFD.
EMSCRIPTEN_KEEPALIVE int32_t weblm_sampler_text_finish(SamplerHandle* s) {
  s->text = s->stream.finish();
  return static_cast<int32_t>(s->text.size());
}

EMSCRIPTEN_KEEPALIVE const char* weblm_sampler_text_data(SamplerHandle* s) { return s->text.data(); }

}  // extern "C"
