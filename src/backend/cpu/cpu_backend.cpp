#include "backend/cpu/cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "backend/cpu/vec_dot.h"
#include "format/quants.h"
#include "util/error.h"

namespace weblm {

namespace {

void require_f32(const Tensor& t, const char* op, const char* what) {
  if (t.type != DType::F32) fail(op, ": ", what, " must be f32, is ", dtype_name(t.type));
}

void require_shape(const Tensor& t, int64_t cols, int64_t rows, const char* op, const char* what) {
  if (t.cols != cols || t.rows != rows)
    fail(op, ": ", what, " is ", t.rows, "x", t.cols, ", expected ", rows, "x", cols);
}

// ggml computes GELU through a table indexed by the f16 bits of the input; we do the same so
// gemma's activations match llama.cpp's to the last bit.
const std::vector<uint16_t>& gelu_f16_table() {
  static const std::vector<uint16_t> table = [] {
    std::vector<uint16_t> t(1 << 16);
    constexpr float kSqrt2OverPi = 0.79788456080286535587989211986876f;
    constexpr float kCoefA = 0.044715f;
    for (uint32_t i = 0; i < t.size(); ++i) {
      const float x = f16_to_f32(static_cast<uint16_t>(i));
      t[i] = f32_to_f16(0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + kCoefA * x * x))));
    }
    return t;
  }();
  return table;
}

inline float gelu_tanh(float x, const uint16_t* table) {
  if (x <= -10.0f) return 0.0f;
  if (x >= 10.0f) return x;
  return f16_to_f32(table[f32_to_f16(x)]);
}

inline float silu(float x) { return x / (1.0f + std::exp(-x)); }

// Rows per task: enough work to amortize dispatch, enough tasks to balance the threads.
int64_t rows_per_task(int64_t rows, int threads) {
  return std::max<int64_t>(1, rows / (threads * 4));
}

}  // namespace

CpuBackend::CpuBackend(int n_threads)
    : pool_(std::max(1, n_threads)), thread_scratch_(static_cast<size_t>(std::max(1, n_threads))) {
  storage_.emplace_back();  // buffer 0 is never handed out: a zero Tensor is "no tensor"
}

CpuBackend::~CpuBackend() = default;

std::string CpuBackend::name() const { return str_cat("cpu (", pool_.size(), " threads)"); }

bool CpuBackend::supports(Op op, DType weight_type) const {
  return is_weight_type(weight_type);
}

uint32_t CpuBackend::add_storage(Storage s) {
  storage_.push_back(std::move(s));
  return static_cast<uint32_t>(storage_.size() - 1);
}

Tensor CpuBackend::load_weight(DType type, int64_t cols, int64_t rows, std::span<const uint8_t> bytes) {
  const size_t stride = row_bytes(type, cols);
  if (bytes.size() != stride * static_cast<size_t>(rows))
    fail("weight of ", rows, "x", cols, " ", dtype_name(type), " needs ", stride * rows, " bytes, got ",
         bytes.size());
  Storage s;
  s.external = bytes.data();
  s.size = bytes.size();
  return Tensor{type, cols, rows, stride, add_storage(std::move(s)), 0};
}

Tensor CpuBackend::alloc(DType type, int64_t cols, int64_t rows, Lifetime lifetime) {
  const size_t stride = row_bytes(type, cols);
  const size_t size = stride * static_cast<size_t>(rows);
  if (lifetime == Lifetime::Forward) {
    if (forward_next_ == forward_buffers_.size()) forward_buffers_.push_back(add_storage(Storage{}));
    const uint32_t id = forward_buffers_[forward_next_++];
    Storage& s = storage_[id];
    if (s.size < size) {
      s.owned.reset(new uint8_t[size]);
      s.size = size;
    }
    return Tensor{type, cols, rows, stride, id, 0};
  }
  Storage s;
  s.owned.reset(new uint8_t[size]());
  s.size = size;
  return Tensor{type, cols, rows, stride, add_storage(std::move(s)), 0};
}

void CpuBackend::copy_rows(const Tensor& t, int64_t src_row, int64_t dst_row, int64_t count) {
  if (src_row < 0 || dst_row < 0 || count < 0 || src_row + count > t.rows || dst_row + count > t.rows)
    fail("copy_rows outside a tensor of ", t.rows, " rows");
  uint8_t* base = mutable_data(t);
  for (int64_t i = 0; i < count; ++i)
    std::memmove(base + (dst_row + i) * t.row_stride, base + (src_row + i) * t.row_stride,
                 row_bytes(t.type, t.cols));
}

size_t CpuBackend::memory_used() const {
  size_t total = activations_.capacity();
  for (const Storage& s : storage_) total += s.size;
  return total;
}

const uint8_t* CpuBackend::data(const Tensor& t) const {
  if (t.buffer == 0 || t.buffer >= storage_.size()) fail("tensor has no storage");
  return storage_[t.buffer].bytes() + t.offset;
}

uint8_t* CpuBackend::mutable_data(const Tensor& t) {
  if (t.buffer == 0 || t.buffer >= storage_.size() || !storage_[t.buffer].owned)
    fail("tensor is not writable");
  return storage_[t.buffer].writable() + t.offset;
}

const float* CpuBackend::f32_row(const Tensor& t, std::vector<float>& scratch) {
  if (t.type == DType::F32) return reinterpret_cast<const float*>(data(t));
  scratch.resize(t.cols);
  dequantize_row(t.type, data(t), scratch.data(), t.cols);
  return scratch.data();
}

float* CpuBackend::rows_f32(const Tensor& t, int64_t row) {
  return reinterpret_cast<float*>(mutable_data(t) + row * t.row_stride);
}

void CpuBackend::begin_forward(const ForwardBatch& batch) {
  batch.validate();
  batch_ = &batch;
  forward_next_ = 0;
}

void CpuBackend::end_forward(const Tensor& logits, float* dst) {
  require_f32(logits, "end_forward", "logits");
  for (int64_t r = 0; r < logits.rows; ++r)
    std::memcpy(dst + r * logits.cols, data(logits) + r * logits.row_stride, logits.cols * sizeof(float));
  batch_ = nullptr;
}

void CpuBackend::embed(const Tensor& out, const Tensor& table, float scale) {
  require_f32(out, "embed", "out");
  require_shape(out, table.cols, batch_->size(), "embed", "out");
  const uint8_t* base = data(table);
  for (int64_t t = 0; t < out.rows; ++t) {
    const int32_t token = batch_->tokens[t];
    if (token < 0 || token >= table.rows) fail("token id ", token, " outside the vocabulary of ", table.rows);
    float* y = rows_f32(out, t);
    dequantize_row(table.type, base + token * table.row_stride, y, table.cols);
    if (scale != 1.0f)
      for (int64_t i = 0; i < out.cols; ++i) y[i] *= scale;
  }
}

// out[r][i] = dot(w[i], x[r]). Activations are first converted to the weight's dot type (e.g.
// 8-bit blocks for quantized weights, as ggml does), then tiles of weight rows x activation rows
// are spread over the threads.
void CpuBackend::matmul(const Tensor& out, const Tensor& w, const Tensor& x) {
  require_f32(x, "matmul", "x");
  require_f32(out, "matmul", "out");
  if (x.cols != w.cols) fail("matmul: x has ", x.cols, " columns, weight rows have ", w.cols);
  require_shape(out, w.rows, x.rows, "matmul", "out");
  const DType act_type = cpu::activation_type(w.type);
  const size_t act_stride = row_bytes(act_type, x.cols);
  const uint8_t* act;
  if (act_type == DType::F32) {
    act = data(x);
  } else {
    if (activations_.size() < act_stride * x.rows) activations_.resize(act_stride * x.rows);
    uint8_t* dst = activations_.data();
    const uint8_t* src = data(x);
    pool_.run(x.rows, [&](int64_t r, int) {
      cpu::convert_activation(act_type, reinterpret_cast<const float*>(src + r * x.row_stride),
                              dst + r * act_stride, x.cols);
    });
    act = dst;
  }
  const size_t a_stride = act_type == DType::F32 ? x.row_stride : act_stride;

  // Tiles: weight rows are split finely (decode is one activation row: the whole job is
  // streaming the weights once); activation rows in blocks that keep a weight tile in cache.
  constexpr int64_t kActBlock = 32;
  const int64_t act_blocks = (x.rows + kActBlock - 1) / kActBlock;
  const int64_t w_block = std::max<int64_t>(
      4, (rows_per_task(w.rows, pool_.size()) / act_blocks + 3) / 4 * 4);
  const int64_t w_blocks = (w.rows + w_block - 1) / w_block;
  const uint8_t* wdata = data(w);
  uint8_t* odata = mutable_data(out);
  const size_t out_stride = out.row_stride / sizeof(float);
  pool_.run(w_blocks * act_blocks, [&](int64_t task, int) {
    const int64_t wb = task % w_blocks, ab = task / w_blocks;
    const int64_t w0 = wb * w_block, a0 = ab * kActBlock;
    const int n_w = static_cast<int>(std::min(w_block, w.rows - w0));
    const int n_a = static_cast<int>(std::min(kActBlock, x.rows - a0));
    float* o = reinterpret_cast<float*>(odata + a0 * out.row_stride) + w0;
    cpu::vec_dot_tile(w.type, w.cols, wdata + w0 * w.row_stride, w.row_stride, n_w,
                      act + a0 * a_stride, a_stride, n_a, o, out_stride);
  });
}

void CpuBackend::add(const Tensor& out, const Tensor& a, const Tensor& b) {
  require_f32(a, "add", "a");
  require_f32(b, "add", "b");
  require_shape(out, a.cols, a.rows, "add", "out");
  if (b.cols != a.cols || (b.rows != a.rows && b.rows != 1))
    fail("add: b is ", b.rows, "x", b.cols, ", a is ", a.rows, "x", a.cols);
  const uint8_t* pa = data(a);
  const uint8_t* pb = data(b);
  for (int64_t r = 0; r < a.rows; ++r) {
    const float* x = reinterpret_cast<const float*>(pa + r * a.row_stride);
    const float* y = reinterpret_cast<const float*>(pb + (b.rows == 1 ? 0 : r) * b.row_stride);
    float* o = rows_f32(out, r);
    for (int64_t i = 0; i < a.cols; ++i) o[i] = x[i] + y[i];
  }
}

void CpuBackend::rms_norm(const Tensor& out, const Tensor& x, const Tensor& w, float eps) {
  require_f32(x, "rms_norm", "x");
  require_shape(out, x.cols, x.rows, "rms_norm", "out");
  if (w.cols != x.cols || w.rows != 1) fail("rms_norm: weight has ", w.cols, " columns, x has ", x.cols);
  const float* weight = f32_row(w, weight_scratch_);
  const uint8_t* px = data(x);
  pool_.run(x.rows, [&](int64_t r, int) {
    const float* xr = reinterpret_cast<const float*>(px + r * x.row_stride);
    double sum = 0;  // ggml accumulates the squares in double
    for (int64_t i = 0; i < x.cols; ++i) sum += static_cast<double>(xr[i] * xr[i]);
    const float scale = 1.0f / std::sqrt(static_cast<float>(sum / x.cols) + eps);
    float* o = rows_f32(out, r);
    for (int64_t i = 0; i < x.cols; ++i) o[i] = (xr[i] * scale) * weight[i];
  });
}

void CpuBackend::rope(const Tensor& x, const RopeSpec& spec) {
  require_f32(x, "rope", "x");
  require_shape(x, static_cast<int64_t>(spec.n_heads) * spec.head_dim, batch_->size(), "rope", "x");
  if (spec.n_rot <= 0 || spec.n_rot % 2 != 0 || spec.n_rot > spec.head_dim)
    fail("rope: rotated dims ", spec.n_rot, " invalid for head size ", spec.head_dim);
  const float* factors = nullptr;
  if (spec.freq_factors) {
    if (spec.freq_factors->cols * spec.freq_factors->rows != spec.n_rot / 2)
      fail("rope: ", spec.freq_factors->cols, " frequency factors for ", spec.n_rot, " rotated dims");
    factors = f32_row(*spec.freq_factors, weight_scratch_);
  }
  const float theta_scale = std::pow(spec.freq_base, -2.0f / spec.n_rot);
  const int half = spec.n_rot / 2;
  pool_.run(x.rows, [&](int64_t t, int thread) {
    std::vector<float>& cache = thread_scratch_[thread];
    cache.resize(spec.n_rot);
    // Same recurrence as ggml (theta multiplied step by step) so angles agree to the bit.
    float theta = static_cast<float>(batch_->positions[t]);
    for (int i = 0; i < half; ++i) {
      const float angle = spec.freq_scale * (factors ? theta / factors[i] : theta);
      cache[2 * i] = std::cos(angle);
      cache[2 * i + 1] = std::sin(angle);
      theta *= theta_scale;
    }
    float* row = rows_f32(x, t);
    for (int h = 0; h < spec.n_heads; ++h) {
      float* v = row + static_cast<int64_t>(h) * spec.head_dim;
      for (int i = 0; i < half; ++i) {
        const int a = spec.layout == RopeLayout::Adjacent ? 2 * i : i;
        const int b = spec.layout == RopeLayout::Adjacent ? 2 * i + 1 : i + half;
        const float c = cache[2 * i], s = cache[2 * i + 1];
        const float x0 = v[a], x1 = v[b];
        v[a] = x0 * c - x1 * s;
        v[b] = x0 * s + x1 * c;
      }
    }
  });
}

void CpuBackend::store_kv(const Tensor& k_cache, const Tensor& v_cache, const Tensor& k, const Tensor& v) {
  for (const Tensor* cache : {&k_cache, &v_cache}) require_f32(*cache, "store_kv", "cache");
  if (k.cols != k_cache.cols || v.cols != v_cache.cols) fail("store_kv: row width differs from the cache");
  const size_t kb = k.cols * sizeof(float), vb = v.cols * sizeof(float);
  for (int64_t t = 0; t < k.rows; ++t) {
    const int64_t row = batch_->kv_rows[t];
    if (row < 0 || row >= k_cache.rows) fail("store_kv: KV row ", row, " outside the cache of ", k_cache.rows);
    std::memcpy(rows_f32(k_cache, row), data(k) + t * k.row_stride, kb);
    std::memcpy(rows_f32(v_cache, row), data(v) + t * v.row_stride, vb);
  }
}

// For each token and head: scores against every visible key of the token's sequence (found
// through its page table), softmax, weighted sum of values. Keys and values rows hold all KV
// heads side by side: [kv_row][n_kv_heads * head_dim].
void CpuBackend::attention(const Tensor& out, const Tensor& q, const Tensor& k_cache,
                           const Tensor& v_cache, const AttentionSpec& spec) {
  const int hd = spec.head_dim;
  if (spec.n_kv_heads <= 0 || spec.n_heads % spec.n_kv_heads != 0)
    fail("attention: ", spec.n_heads, " heads cannot share ", spec.n_kv_heads, " KV heads");
  require_shape(q, static_cast<int64_t>(spec.n_heads) * hd, batch_->size(), "attention", "q");
  require_shape(out, q.cols, q.rows, "attention", "out");
  if (k_cache.cols != static_cast<int64_t>(spec.n_kv_heads) * hd) fail("attention: KV row width mismatch");
  const int group = spec.n_heads / spec.n_kv_heads;
  const uint8_t* kbase = data(k_cache);
  const uint8_t* vbase = data(v_cache);
  const int32_t page = batch_->page_size;
  // One task per (token, KV head): the `group` query heads sharing a KV head read each key and
  // value row once. Keys of a page are consecutive rows, so their scores are one tile product.
  pool_.run(q.rows * spec.n_kv_heads, [&](int64_t task, int thread) {
    const int64_t t = task / spec.n_kv_heads;
    const int kvh = static_cast<int>(task % spec.n_kv_heads);
    const int32_t pos = batch_->positions[t];
    const std::vector<int32_t>& pages = batch_->page_tables[batch_->seq_index[t]];
    const int32_t first = spec.window > 0 ? std::max(0, pos - spec.window + 1) : 0;
    const int32_t n_keys = pos - first + 1;
    auto kv_row = [&](int32_t j) { return static_cast<int64_t>(pages[j / page]) * page + j % page; };
    const uint8_t* q_heads = data(q) + t * q.row_stride + static_cast<size_t>(kvh) * group * hd * sizeof(float);
    std::vector<float>& scores = thread_scratch_[thread];  // [group][n_keys]
    scores.resize(static_cast<size_t>(group) * n_keys);
    for (int32_t j = first; j <= pos;) {
      const int32_t run = std::min(pos + 1, (j / page + 1) * page) - j;
      const uint8_t* keys = kbase + kv_row(j) * k_cache.row_stride + static_cast<size_t>(kvh) * hd * sizeof(float);
      cpu::vec_dot_tile(DType::F32, hd, keys, k_cache.row_stride, run, q_heads, hd * sizeof(float), group,
                        scores.data() + (j - first), n_keys);
      j += run;
    }
    float* o = rows_f32(out, t) + static_cast<size_t>(kvh) * group * hd;  // [group][hd]
    std::fill(o, o + static_cast<size_t>(group) * hd, 0.0f);
    for (int g = 0; g < group; ++g) {
      float* s = scores.data() + static_cast<size_t>(g) * n_keys;
      float max_score = -INFINITY;
      for (int32_t j = 0; j < n_keys; ++j) {
        s[j] *= spec.scale;
        if (spec.softcap > 0) s[j] = std::tanh(s[j] * (1.0f / spec.softcap)) * spec.softcap;  // as ggml: scale, tanh, scale
        max_score = std::max(max_score, s[j]);
      }
      double sum = 0;
      for (int32_t j = 0; j < n_keys; ++j) {
        s[j] = std::exp(s[j] - max_score);
        sum += s[j];
      }
      const float inv = static_cast<float>(1.0 / sum);
      for (int32_t j = 0; j < n_keys; ++j) s[j] *= inv;
    }
    for (int32_t j = first; j <= pos; ++j) {
      const float* vj = reinterpret_cast<const float*>(vbase + kv_row(j) * v_cache.row_stride) + kvh * hd;
      for (int g = 0; g < group; ++g) {
        const float p = scores[static_cast<size_t>(g) * n_keys + (j - first)];
        float* og = o + static_cast<size_t>(g) * hd;
        for (int i = 0; i < hd; ++i) og[i] += p * vj[i];
      }
    }
  });
}

void CpuBackend::glu(const Tensor& out, const Tensor& gate, const Tensor& up, Activation act) {
  require_shape(up, gate.cols, gate.rows, "glu", "up");
  require_shape(out, gate.cols, gate.rows, "glu", "out");
  const uint16_t* table = act == Activation::GeluTanh ? gelu_f16_table().data() : nullptr;
  const uint8_t* pg = data(gate);
  const uint8_t* pu = data(up);
  pool_.run(gate.rows, [&](int64_t r, int) {
    const float* g = reinterpret_cast<const float*>(pg + r * gate.row_stride);
    const float* u = reinterpret_cast<const float*>(pu + r * up.row_stride);
    float* o = rows_f32(out, r);
    if (table) {
      for (int64_t i = 0; i < gate.cols; ++i) o[i] = gelu_tanh(g[i], table) * u[i];
    } else {
      for (int64_t i = 0; i < gate.cols; ++i) o[i] = silu(g[i]) * u[i];
    }
  });
}

void CpuBackend::softcap(const Tensor& x, float cap) {
  require_f32(x, "softcap", "x");
  for (int64_t r = 0; r < x.rows; ++r) {
    float* v = rows_f32(x, r);
    for (int64_t i = 0; i < x.cols; ++i) v[i] = std::tanh(v[i] * (1.0f / cap)) * cap;
  }
}

void CpuBackend::select_rows(const Tensor& out, const Tensor& x) {
  require_shape(out, x.cols, static_cast<int64_t>(batch_->output_rows.size()), "select_rows", "out");
  const size_t n = row_bytes(x.type, x.cols);
  for (size_t i = 0; i < batch_->output_rows.size(); ++i)
    std::memmove(mutable_data(out) + i * out.row_stride, data(x) + batch_->output_rows[i] * x.row_stride, n);
}

}  // namespace weblm
