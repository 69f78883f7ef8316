// The CPU backend: ops run eagerly on the calling thread plus a pool of workers.
// Weights stay where the caller's bytes are (usually a mapped GGUF): nothing is copied or repacked,
// so peak memory is the file plus the KV cache plus scratch.
#pragma once

#include <memory>
#include <vector>

#include "backend/backend.h"
#include "util/thread_pool.h"

namespace weblm {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int n_threads);
  ~CpuBackend() override;

  std::string name() const override;
  bool supports(Op op, DType weight_type) const override;

  Tensor load_weight(DType type, int64_t cols, int64_t rows, std::span<const uint8_t> bytes) override;
  Tensor alloc(DType type, int64_t cols, int64_t rows, Lifetime lifetime) override;
  void copy_rows(const Tensor& t, int64_t src_row, int64_t dst_row, int64_t count) override;
  size_t memory_used() const override;

  void begin_forward(const ForwardBatch& batch) override;
  void end_forward(const Tensor& logits, float* dst) override;
  void wait() override {}
  bool ready() const override { return true; }  // ops ran eagerly: a pass is done when submitted

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

  // Direct access for tests and host-side reads of small tensors.
  const uint8_t* data(const Tensor& t) const;
  uint8_t* mutable_data(const Tensor& t);

 private:
  struct Storage {
    const uint8_t* external = nullptr;  // weights: caller-owned bytes
    std::unique_ptr<uint8_t[]> owned;
    size_t size = 0;
    uint8_t* writable() const { return owned.get(); }
    const uint8_t* bytes() const { return external ? external : owned.get(); }
  };
  uint32_t add_storage(Storage s);
  float* rows_f32(const Tensor& t, int64_t row);
  // The first row of a small tensor (norm weights, rope factors) as floats, without copying f32.
  const float* f32_row(const Tensor& t, std::vector<float>& scratch);

  ThreadPool pool_;
  std::vector<Storage> storage_;
  std::vector<uint32_t> forward_buffers_;  // reused in allocation order, pass after pass
  size_t forward_next_ = 0;
  const ForwardBatch* batch_ = nullptr;
  std::vector<uint8_t> activations_;
  std::vector<float> weight_scratch_;  // matmul inputs converted to the weight's dot type
  std::vector<std::vector<float>> thread_scratch_;
};

}  // namespace weblm
