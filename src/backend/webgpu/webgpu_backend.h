// The WebGPU backend (wasm only): the op vocabulary as WGSL kernels (shaders/), run through a
// small JS bridge (wasm/webgpu_bridge.js) on the GPUDevice the JS host hands over as
// Module.webgpuDevice (Module.requestWebGpuDevice(navigator.gpu) asks an adapter for one with its
// own limits and its optional features).
//
// Memory: weights are copied once into GPU buffers in their GGUF block layout (tensors larger
// than one binding may cover are split by rows across buffers) and dequantized in the kernels;
// each persistent tensor (the KV cache) has a buffer of its own; per-pass scratch is one arena
// buffer bound once per kernel, so in-place ops never bind one buffer twice.
// A pass: ops are recorded as a command stream, end_forward appends the copy of the logits and
// submits it all as one command buffer. Only the logits come back. The host then awaits
// Module.weblmBackendIdle() (ready() turns true) before it collects them; wait() cannot block in
// wasm and throws when the pass is still running. Device loss, out-of-memory and rejected commands
// become an Error at the next call.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "backend/backend.h"
#include "backend/webgpu/batch_words.h"
#include "backend/webgpu/command_stream.h"
#include "backend/webgpu/gpu_device.h"
#include "format/gguf.h"

namespace weblm {

// The backend on the host's GPUDevice, once `file`'s tensors are known to fit the device's
// limits. Error saying why not otherwise (no device handed over, a row past the limits).
std::unique_ptr<Backend> create_webgpu_backend(const GgufFile& file);

struct WebGpuOptions {
  // > 0: weights are split into buffers of at most this many bytes, below the device's limits
  // (tests split small weights this way).
  size_t weight_buffer_limit = 0;
  // Use the device's `subgroups` feature where it has one (tests turn it off to run the kernels
  // that every device can).
  bool subgroups = true;
};

class WebGpuBackend final : public Backend {
 public:
  // Error when the host handed no GPUDevice over.
  explicit WebGpuBackend(const WebGpuOptions& options = {});
  ~WebGpuBackend() override;

  std::string name() const override;
  bool supports(Op op, DType weight_type) const override;

  Tensor load_weight(DType type, int64_t cols, int64_t rows, std::span<const uint8_t> bytes) override;
  Tensor alloc(DType type, int64_t cols, int64_t rows, Lifetime lifetime) override;
  void copy_rows(const Tensor& t, int64_t src_row, int64_t dst_row, int64_t count) override;
  size_t memory_used() const override;

  void begin_forward(const ForwardBatch& batch) override;
  void end_forward(const Tensor& logits, float* dst) override;
  void wait() override;
  bool ready() const override;

  void embed(const Tensor& out, const Tensor& table, float scale) override;
  void matmul(const Tensor& out, const Tensor& w, const Tensor& x) override;
  void add(const Tensor& out, const Tensor& a, const Tensor& b) override;
  void rms_norm(const Tensor& out, const Tensor& x, const Tensor& w, float eps) override;
  void rope(const Tensor& x, const RopeSpec& spec) override;
  void store_kv(const Tensor& k_cache, const Tensor& v_cache, const Tensor& k, const Tensor& v) override;
  void attention(const Tensor& out, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                 const AttentionSpec& spec) override;
  void glu(const Tensor& out, const Tensor& gate, const Tensor& up, Activation act) override;
  void softcap(const Tensor& x, float cap) override;
  void select_rows(const Tensor& out, const Tensor& x) override;

  // Host bytes (rows of row_bytes(t.type, t.cols), back to back) into a scratch or persistent
  // tensor, in order with the ops of the pass being recorded: how tests put inputs in place.
  void write(const Tensor& t, std::span<const uint8_t> bytes);
  const webgpu::Limits& limits() const { return device_.limits(); }
  // Kernel dispatches of the last submitted pass (the bench reports them per token).
  size_t last_pass_dispatches() const { return last_pass_dispatches_; }

 private:
  // A run of a tensor's rows inside one GPU buffer.
  struct Chunk {
    uint32_t buffer = 0;
    int64_t first_row = 0;
    int64_t rows = 0;
  };
  struct Storage {
    std::vector<Chunk> chunks;   // weights: split by rows; persistent: one; the arena: none
    size_t row_stride = 0;
    std::vector<float> host_row;  // one-row weights as f32 (rope's frequency factors are read here)
  };
  // An f32 tensor as a kernel addresses it: buffer handle (or stand-in), first element, row stride.
  struct Bound {
    uint32_t buffer;
    uint32_t at;
    uint32_t stride;
  };
  // Part of a weight's rows in one buffer: view rows [first_row, first_row + rows) start at byte
  // `at` of `buffer`.
  struct WeightPiece {
    uint32_t buffer;
    uint32_t at;
    int64_t first_row;
    int64_t rows;
  };

  bool in_arena(const Tensor& t) const;
  Bound scratch(const Tensor& t, const char* op, const char* what) const;
  Bound resident(const Tensor& t, const char* op, const char* what) const;  // one buffer, not scratch
  std::vector<WeightPiece> weight_pieces(const Tensor& w, const char* op) const;
  webgpu::Grid grid(uint64_t groups) const { return webgpu::linear_grid(groups, device_.limits().max_groups); }
  // out = op(a, b) elementwise over out's rows; b_stride 0 broadcasts b's first row.
  void elementwise(int op, const Tensor& out, const Bound& a, const Bound& b, uint32_t b_stride, uint32_t aux,
                   float cap);
  uint32_t gelu_table();
  uint32_t dummy();
  void ensure_buffer(uint32_t& buffer, size_t& capacity, size_t needed, webgpu::BufferUsage usage, const char* what);
  void submit(uint32_t readback, void* dst, size_t bytes);
  const ForwardBatch& batch(const char* op) const;

  webgpu::Device device_;
  webgpu::CommandStream stream_;
  webgpu::BatchWords batch_words_;
  std::vector<Storage> storage_;
  const ForwardBatch* batch_ = nullptr;
  size_t scratch_top_ = 0;  // bytes of the arena handed out in this pass
  uint32_t arena_ = 0, batch_buffer_ = 0, params_ = 0, readback_ = 0, gelu_ = 0, dummy_ = 0;
  size_t arena_bytes_ = 0, batch_bytes_ = 0, params_bytes_ = 0, readback_bytes_ = 0;
  size_t last_pass_dispatches_ = 0;
  size_t weight_buffer_limit_;
  bool subgroups_;
};

}  // namespace weblm
