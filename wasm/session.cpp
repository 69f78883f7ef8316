#include "wasm/session.h"

#include <algorithm>

#include "tokenizer/vocab.h"
#include "util/error.h"

namespace weblm::wasm {

namespace {

int32_t positive_int(const nlohmann::json& v, const std::string& key, int32_t min) {
  if (!v.is_number_integer() || v.get<int64_t>() < min || v.get<int64_t>() > INT32_MAX)
    fail("session option ", key, " must be an integer >= ", min, ", got ", v.dump());
  return v.get<int32_t>();
}

}  // namespace

SessionOptions SessionOptions::from_json(const nlohmann::json& j) {
  if (!j.is_object()) fail("session options must be a JSON object, got ", j.dump());
  SessionOptions o;
  for (const auto& [key, v] : j.items()) {
    if (key == "n_ctx") o.n_ctx = positive_int(v, key, 0);
    else if (key == "n_batch") o.n_batch = positive_int(v, key, 1);
    else if (key == "n_seq_max") o.n_seq_max = positive_int(v, key, 1);
    else if (key == "threads") o.threads = positive_int(v, key, 1);
    else if (key == "backend") {
      if (!v.is_string()) fail("session option backend must be a string, got ", v.dump());
      o.backend = parse_backend_choice(v.get<std::string>());
    } else if (key == "name") {
      if (!v.is_string()) fail("session option name must be a string, got ", v.dump());
      o.name = v.get<std::string>();
    } else if (key == "parts") {
      if (!v.is_array()) fail("session option parts must be an array of sizes, got ", v.dump());
      for (const auto& size : v) {
        if (!size.is_number_unsigned()) fail("session option parts must be an array of sizes, got ", v.dump());
        o.parts.push_back(size.get<uint64_t>());
      }
    } else {
      fail("unknown session option '", key, "' (expected n_ctx, n_batch, n_seq_max, threads, backend, name, parts)");
    }
  }
  return o;
}

Session::Session(uint8_t* file, size_t size, const SessionOptions& options)
    : file_(file), file_size_(size), threads_(options.threads) {
#ifndef __EMSCRIPTEN_PTHREADS__
  threads_ = 1;  // the single-thread build: no workers to run a pool on
#endif
  const std::span<const uint8_t> bytes(file_.get(), size);
  loaded_ = load_model(bytes, options.parts, options.name, options.backend, threads_);
  tokenizer_ = std::make_unique<Tokenizer>(Vocab::from_gguf(loaded_.model->file()));
  EngineOptions eo;
  eo.n_ctx = options.n_ctx > 0 ? options.n_ctx
                               : static_cast<int32_t>(std::min<int64_t>(4096, config().n_ctx_train));
  eo.n_batch = options.n_batch;
  eo.n_seq_max = options.n_seq_max;
  engine_ = std::make_unique<Engine>(*loaded_.model, eo);
}

nlohmann::json Session::info() const {
  const ModelConfig& c = config();
  const Vocab& v = tokenizer_->vocab();
  const EngineOptions& eo = engine_->options();
  return {
      {"backend", loaded_.kind},
      {"backend_name", loaded_.backend->name()},
      {"backend_reason", loaded_.reason},
      {"threads", loaded_.kind == "cpu" ? threads_ : 0},
      {"arch", c.arch},
      {"name", c.name},
      {"n_vocab", c.n_vocab},
      {"n_layers", c.n_layers()},
      {"dim", c.dim},
      {"n_ctx_train", c.n_ctx_train},
      {"n_ctx", eo.n_ctx},
      {"n_batch", eo.n_batch},
      {"n_seq_max", eo.n_seq_max},
      {"bos", v.bos},
      {"eos", v.eos},
      {"add_bos", v.add_bos},
      {"chat_template", v.chat_template},
      {"file_bytes", file_size_},
      {"memory_used", loaded_.backend->memory_used()},
  };
}

}  // namespace weblm::wasm
