// One model loaded in the wasm module: the GGUF bytes (in the wasm heap, read in place), the
// backend chosen for it, the tokenizer and the engine. The C API (api.cpp) hands sessions to JS.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/engine.h"
#include "tokenizer/tokenizer.h"
#include "wasm/backend_factory.h"

namespace weblm::wasm {

struct SessionOptions {
  int32_t n_ctx = 0;          // positions per sequence; 0 = min(4096, the model's), as natively
  int32_t n_batch = 512;      // tokens per forward pass
  int32_t n_seq_max = 1;      // sequences that may hold KV at once
  int32_t threads = 1;        // CPU backend threads (the JS host sizes its worker pool to match)
  BackendChoice backend = BackendChoice::Auto;
  std::string name = "model.gguf";  // for error messages
  std::vector<uint64_t> parts;      // the files' sizes when the bytes are several (a split model)

  // From {"n_ctx": 0, "n_batch": 512, "n_seq_max": 1, "threads": 4, "backend": "auto",
  // "name": "x.gguf", "parts": [size, ...]} (every key optional); Error naming an unknown key or a bad value.
  static SessionOptions from_json(const nlohmann::json& j);
};

class Session {
 public:
  // Takes ownership of `file` (malloc'ed, `size` bytes): it is freed with the session, or at
  // once when loading fails.
  Session(uint8_t* file, size_t size, const SessionOptions& options);

  Engine& engine() { return *engine_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const ModelConfig& config() const { return loaded_.model->config(); }
  // Backend, why it was chosen, the model's shape and special tokens, as JSON.
  nlohmann::json info() const;

 private:
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> file_;
  size_t file_size_;
  int32_t threads_;
  ModelOnBackend loaded_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace weblm::wasm
