// The op vocabulary: the only way model code touches numbers.
//
// A backend owns memory and executes ops. Model architectures (src/model) are written once
// against this interface; every backend (CPU here, WebGPU in wasm) runs every model.
//
// A forward pass is: begin_forward(batch), a sequence of ops, end_forward(logits, dst), wait().
// Ops may execute eagerly (CPU) or be recorded and submitted at end_forward (WebGPU); the host
// sees results only after wait(). In wasm, where a GPU read cannot block, the JS host awaits the
// backend's completion instead of calling wait(); nothing else changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "format/dtype.h"

namespace weblm {

// A 2-D view of backend memory: `rows` rows of `cols` elements (ggml's ne0 = cols, ne1 = rows).
// Rows of quantized types are whole blocks. Views share storage with the tensor they came from.
struct Tensor {
  DType type = DType::F32;
  int64_t cols = 0;
  int64_t rows = 0;
  size_t row_stride = 0;  // bytes from one row to the next
  uint32_t buffer = 0;    // backend storage handle
  size_t offset = 0;      // bytes from the start of that storage

  bool contiguous() const;
  size_t bytes() const;  // extent of the view in bytes
  Tensor row_range(int64_t first, int64_t count) const;
  // Same bytes, other shape (contiguous tensors only): [rows, cols] -> [rows*cols/c, c].
  Tensor reshape(int64_t new_cols) const;
};

// The tokens of one forward pass, from one or more sequences, and where their keys and values
// live in the paged KV cache. Every op reads what it needs from here (positions for rope, KV
// rows for store_kv, page tables for attention, output_rows for select_rows).
struct ForwardBatch {
  std::vector<int32_t> tokens;       // [n_tokens]
  std::vector<int32_t> positions;    // [n_tokens] position of the token within its sequence
  std::vector<int32_t> seq_index;    // [n_tokens] which entry of page_tables the token belongs to
  std::vector<int32_t> kv_rows;      // [n_tokens] row of the KV pool that receives its K and V
  std::vector<int32_t> output_rows;  // ascending token indices whose logits are wanted
  int32_t page_size = 0;             // KV rows per page
  // page_tables[s][i]: the KV page holding positions [i*page_size, (i+1)*page_size) of seq s.
  std::vector<std::vector<int32_t>> page_tables;

  int64_t size() const { return static_cast<int64_t>(tokens.size()); }
  // Throws Error unless the arrays agree in length and every position maps to a page.
  void validate() const;
};

enum class RopeLayout : uint8_t {
  Adjacent,  // rotate pairs (2i, 2i+1): llama, mistral3 (ggml's "normal" mode)
  Halves,    // rotate pairs (i, i + n_rot/2): qwen2/3, phi3, gemma (ggml's "neox" mode)
};

struct RopeSpec {
  int n_heads = 0;
  int head_dim = 0;
  int n_rot = 0;             // leading dims of each head that rotate; the rest pass through
  float freq_base = 10000.f;
  float freq_scale = 1.f;    // linear position scaling (1 / factor)
  RopeLayout layout = RopeLayout::Adjacent;
  const Tensor* freq_factors = nullptr;  // optional [n_rot/2] divisors of the frequencies
};

struct AttentionSpec {
  int n_heads = 0;
  int n_kv_heads = 0;  // n_heads % n_kv_heads == 0 (grouped-query attention)
  int head_dim = 0;    // of keys and values
  float scale = 1.f;   // multiplies q.k
  float softcap = 0.f; // when > 0, scores become softcap * tanh(score / softcap) (gemma2)
  int window = 0;      // when > 0, a query at p sees keys at j with p - j < window (sliding window)
};

enum class Activation : uint8_t { Silu, GeluTanh };

// Ops a backend may lack for some weight types; models check before loading.
enum class Op : uint8_t { MatMul, Embed };

enum class Lifetime : uint8_t {
  Forward,     // scratch: valid until the next begin_forward
  Persistent,  // lives until the backend is destroyed (KV cache)
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string name() const = 0;
  virtual bool supports(Op op, DType weight_type) const = 0;

  // --- memory -------------------------------------------------------------------------------
  // A weight in its GGUF layout. The bytes must outlive the backend (CPU keeps pointing at them,
  // e.g. into a mapped file); GPU backends copy them into device memory.
  virtual Tensor load_weight(DType type, int64_t cols, int64_t rows,
                             std::span<const uint8_t> bytes) = 0;
  virtual Tensor alloc(DType type, int64_t cols, int64_t rows, Lifetime lifetime) = 0;
  // Copies rows of one persistent tensor to other rows of the same tensor (KV copy-on-write).
  virtual void copy_rows(const Tensor& t, int64_t src_row, int64_t dst_row, int64_t count) = 0;
  // Bytes of device memory in use (weights + KV + scratch), for stats and fit checks.
  virtual size_t memory_used() const = 0;

  // --- a forward pass -----------------------------------------------------------------------
  virtual void begin_forward(const ForwardBatch& batch) = 0;
  // Schedules the copy of `logits` [output_rows, vocab] to dst and submits the pass.
  virtual void end_forward(const Tensor& logits, float* dst) = 0;
  // Blocks until the pass is done and dst is filled.
  virtual void wait() = 0;
  // True once the submitted pass is done (wait() would return at once). A host that must not
  // block awaits the backend's completion signal (wasm: Module.weblmBackendIdle) until then.
  virtual bool ready() const = 0;

  // --- ops (all activations F32; `out` may be one of the inputs for elementwise ops) ----------
  // out[t] = table[batch.tokens[t]] * scale                       out [n_tokens, table.cols]
  virtual void embed(const Tensor& out, const Tensor& table, float scale) = 0;
  // out[r][i] = sum_k x[r][k] * w[i][k]                           out [x.rows, w.rows]
  virtual void matmul(const Tensor& out, const Tensor& w, const Tensor& x) = 0;
  // out = a + b; b has a.rows rows or one row (broadcast: biases)
  virtual void add(const Tensor& out, const Tensor& a, const Tensor& b) = 0;
  // out[r] = x[r] / rms(x[r]) * w; w is one row of x.cols
  virtual void rms_norm(const Tensor& out, const Tensor& x, const Tensor& w, float eps) = 0;
  // Rotates each head of x [n_tokens, n_heads*head_dim] in place by batch.positions.
  virtual void rope(const Tensor& x, const RopeSpec& spec) = 0;
  // k_cache[batch.kv_rows[t]] = k[t], likewise v.
  virtual void store_kv(const Tensor& k_cache, const Tensor& v_cache, const Tensor& k,
                        const Tensor& v) = 0;
  // Causal attention of q [n_tokens, n_heads*head_dim] over each token's sequence in the cache.
  virtual void attention(const Tensor& out, const Tensor& q, const Tensor& k_cache,
                         const Tensor& v_cache, const AttentionSpec& spec) = 0;
  // out = act(gate) * up
  virtual void glu(const Tensor& out, const Tensor& gate, const Tensor& up, Activation act) = 0;
  // x = cap * tanh(x / cap), in place
  virtual void softcap(const Tensor& x, float cap) = 0;
  // out[i] = x[batch.output_rows[i]]
  virtual void select_rows(const Tensor& out, const Tensor& x) = 0;
};

}  // namespace weblm
