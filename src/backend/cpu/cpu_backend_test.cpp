// Every op of the CPU backend against a plain reference computed here in double precision, on
// odd shapes, several threads, and every weight type (in the spirit of ggml's test-backend-ops).
#include "backend/cpu/cpu_backend.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "format/quants.h"

namespace weblm {
namespace {

std::vector<float> random_values(size_t n, uint32_t seed, float scale = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

class Ops : public ::testing::Test {
 protected:
  CpuBackend b{3};
  ForwardBatch batch;

  Tensor upload(const std::vector<float>& v, int64_t cols) {
    Tensor t = b.alloc(DType::F32, cols, static_cast<int64_t>(v.size()) / cols, Lifetime::Forward);
    std::memcpy(b.mutable_data(t), v.data(), v.size() * sizeof(float));
    return t;
  }
  std::vector<float> download(const Tensor& t) {
    std::vector<float> v(static_cast<size_t>(t.rows * t.cols));
    for (int64_t r = 0; r < t.rows; ++r)
      std::memcpy(v.data() + r * t.cols, b.data(t) + r * t.row_stride, t.cols * sizeof(float));
    return v;
  }
  // A batch of n tokens of one sequence at positions [start, start + n), pages of 4 in reverse
  // order so page tables matter.
  void begin(int n, int start = 0, int n_pages = 64) {
    batch = ForwardBatch{};
    batch.page_size = 4;
    batch.page_tables.push_back({});
    for (int p = 0; p < n_pages; ++p) batch.page_tables[0].push_back(n_pages - 1 - p);
    for (int i = 0; i < n; ++i) {
      const int pos = start + i;
      batch.tokens.push_back(i % 7);
      batch.positions.push_back(pos);
      batch.seq_index.push_back(0);
      batch.kv_rows.push_back(batch.page_tables[0][pos / 4] * 4 + pos % 4);
    }
    b.begin_forward(batch);
  }
};

class MatMul : public Ops, public ::testing::WithParamInterface<DType> {};

TEST_P(MatMul, MatchesDequantizedReference) {
  const DType type = GetParam();
  const int64_t k = traits(type).block_size == 256 ? 512 : 96;
  for (const auto& [n_w, n_x] : std::vector<std::pair<int64_t, int64_t>>{{37, 1}, {64, 5}, {33, 70}}) {
    begin(static_cast<int>(n_x));
    const std::vector<float> wf = random_values(n_w * k, 1);
    const std::vector<uint8_t> wq = quantize_tensor(type, wf, k);
    const Tensor w = b.load_weight(type, k, n_w, wq);
    std::vector<float> wd(wf.size());
    for (int64_t r = 0; r < n_w; ++r) dequantize_row(type, wq.data() + r * row_bytes(type, k), wd.data() + r * k, k);
    const std::vector<float> xf = random_values(n_x * k, 2);
    const Tensor x = upload(xf, k);
    const Tensor out = b.alloc(DType::F32, n_w, n_x, Lifetime::Forward);
    b.matmul(out, w, x);
    const std::vector<float> got = download(out);
    // Quantized weights see 8-bit activations: allow that rounding (about 1/127 of |x| per element).
    const double rel = traits(type).quantized ? 2e-2 : type == DType::F32 ? 1e-5 : 1e-2;
    for (int64_t r = 0; r < n_x; ++r) {
      for (int64_t i = 0; i < n_w; ++i) {
        double want = 0, mag = 0;
        for (int64_t j = 0; j < k; ++j) {
          want += static_cast<double>(wd[i * k + j]) * xf[r * k + j];
          mag += std::abs(static_cast<double>(wd[i * k + j]) * xf[r * k + j]);
        }
        ASSERT_NEAR(got[r * n_w + i], want, rel * mag + 1e-5) << dtype_name(type) << " row " << r << " col " << i;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllWeightTypes, MatMul,
                         ::testing::Values(DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1,
                                           DType::Q5_0, DType::Q5_1, DType::Q4_K, DType::Q5_K, DType::Q6_K),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST_F(Ops, RmsNormAddGluSoftcap) {
  begin(3);
  const std::vector<float> xf = random_values(3 * 10, 3), wf = random_values(10, 4);
  const Tensor x = upload(xf, 10);
  const Tensor w = b.load_weight(DType::F32, 10, 1, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(wf.data()), 40));
  const Tensor y = b.alloc(DType::F32, 10, 3, Lifetime::Forward);
  b.rms_norm(y, x, w, 1e-5f);
  const std::vector<float> got = download(y);
  for (int r = 0; r < 3; ++r) {
    double ss = 0;
    for (int i = 0; i < 10; ++i) ss += xf[r * 10 + i] * xf[r * 10 + i];
    for (int i = 0; i < 10; ++i)
      EXPECT_NEAR(got[r * 10 + i], xf[r * 10 + i] / std::sqrt(ss / 10 + 1e-5) * wf[i], 1e-5);
  }
  const Tensor bias = upload(std::vector<float>(wf.begin(), wf.end()), 10);
  b.add(y, x, bias);  // one-row broadcast
  EXPECT_FLOAT_EQ(download(y)[25], xf[25] + wf[5]);

  const Tensor up = upload(random_values(30, 5), 10);
  const std::vector<float> upf = download(up);
  b.glu(y, x, up, Activation::Silu);
  EXPECT_NEAR(download(y)[7], xf[7] / (1 + std::exp(-xf[7])) * upf[7], 1e-6);
  b.glu(y, x, up, Activation::GeluTanh);
  const double g = 0.5 * xf[7] * (1 + std::tanh(0.7978845608 * (xf[7] + 0.044715 * xf[7] * xf[7] * xf[7])));
  EXPECT_NEAR(download(y)[7], g * upf[7], 2e-3 * std::abs(upf[7]) + 1e-4);  // f16 table, as ggml

  b.softcap(x, 0.5f);
  for (float v : download(x)) EXPECT_LT(std::abs(v), 0.5f);
}

TEST_F(Ops, RopeBothLayouts) {
  const int heads = 2, hd = 8;
  begin(2, 5);
  for (RopeLayout layout : {RopeLayout::Adjacent, RopeLayout::Halves}) {
    const std::vector<float> xf = random_values(2 * heads * hd, 6);
    const Tensor x = upload(xf, heads * hd);
    b.rope(x, RopeSpec{heads, hd, hd, 10000.f, 0.5f, layout, nullptr});
    const std::vector<float> got = download(x);
    for (int t = 0; t < 2; ++t) {
      for (int h = 0; h < heads; ++h) {
        for (int i = 0; i < hd / 2; ++i) {
          const double angle = (5 + t) * 0.5 * std::pow(10000.0, -2.0 * i / hd);
          const int a = layout == RopeLayout::Adjacent ? 2 * i : i;
          const int c = layout == RopeLayout::Adjacent ? 2 * i + 1 : i + hd / 2;
          const float* in = &xf[(t * heads + h) * hd];
          const float* out = &got[(t * heads + h) * hd];
          EXPECT_NEAR(out[a], in[a] * std::cos(angle) - in[c] * std::sin(angle), 1e-5);
          EXPECT_NEAR(out[c], in[a] * std::sin(angle) + in[c] * std::cos(angle), 1e-5);
        }
      }
    }
  }
}

// Paged, causal, grouped-query attention with a sliding window and soft-capping, against a
// direct computation over the tokens in order.
TEST_F(Ops, AttentionOverPagedCache) {
  const int n = 11, heads = 4, kv_heads = 2, hd = 6;
  for (const auto& [window, cap] : std::vector<std::pair<int, float>>{{0, 0.f}, {5, 0.f}, {0, 1.5f}}) {
    begin(n, 0);
    const Tensor k_cache = b.alloc(DType::F32, kv_heads * hd, 256, Lifetime::Persistent);
    const Tensor v_cache = b.alloc(DType::F32, kv_heads * hd, 256, Lifetime::Persistent);
    const std::vector<float> qf = random_values(n * heads * hd, 7), kf = random_values(n * kv_heads * hd, 8),
                             vf = random_values(n * kv_heads * hd, 9);
    const Tensor q = upload(qf, heads * hd), k = upload(kf, kv_heads * hd), v = upload(vf, kv_heads * hd);
    b.store_kv(k_cache, v_cache, k, v);
    const Tensor out = b.alloc(DType::F32, heads * hd, n, Lifetime::Forward);
    const float scale = 0.4f;
    b.attention(out, q, k_cache, v_cache, AttentionSpec{heads, kv_heads, hd, scale, cap, window});
    const std::vector<float> got = download(out);
    for (int t = 0; t < n; ++t) {
      for (int h = 0; h < heads; ++h) {
        const int g = h / (heads / kv_heads);
        std::vector<double> s;
        for (int j = 0; j <= t; ++j) {
          double d = 0;
          for (int i = 0; i < hd; ++i) d += qf[(t * heads + h) * hd + i] * kf[(j * kv_heads + g) * hd + i];
          d *= scale;
          if (cap > 0) d = cap * std::tanh(d / cap);
          s.push_back(window > 0 && t - j >= window ? -INFINITY : d);
        }
        double mx = -INFINITY, sum = 0;
        for (double x : s) mx = std::max(mx, x);
        for (double& x : s) sum += (x = std::exp(x - mx));
        for (int i = 0; i < hd; ++i) {
          double want = 0;
          for (int j = 0; j <= t; ++j) want += s[j] / sum * vf[(j * kv_heads + g) * hd + i];
          ASSERT_NEAR(got[(t * heads + h) * hd + i], want, 1e-5) << "window " << window << " cap " << cap;
        }
      }
    }
  }
}

TEST_F(Ops, EmbedAndSelectRows) {
  begin(4);
  const std::vector<float> table = random_values(7 * 32, 10);
  const std::vector<uint8_t> q = quantize_tensor(DType::Q8_0, table, 32);
  const Tensor t = b.load_weight(DType::Q8_0, 32, 7, q);
  const Tensor out = b.alloc(DType::F32, 32, 4, Lifetime::Forward);
  b.embed(out, t, 2.f);
  std::vector<float> row(32);
  dequantize_row(DType::Q8_0, q.data() + 3 * sizeof(BlockQ8_0), row.data(), 32);
  EXPECT_FLOAT_EQ(download(out)[3 * 32 + 5], 2.f * row[5]);  // token 3 at position 3
  batch.output_rows = {1, 3};
  const Tensor sel = b.alloc(DType::F32, 32, 2, Lifetime::Forward);
  b.select_rows(sel, out);
  EXPECT_FLOAT_EQ(download(sel)[32 + 5], 2.f * row[5]);
}

}  // namespace
}  // namespace weblm
