// The dot-product kernels against (1) the dot of the dequantized rows in double precision and
// (2) ggml-cpu's own kernels, loaded from the prebuilt llama.cpp that node-llama-cpp ships.
#include "backend/cpu/vec_dot.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>

#include "backend/cpu/vec_dot_kernels.h"
#include "format/quants.h"
#include "util/error.h"

namespace weblm::cpu {
namespace {

// ggml-cpu.h's type traits, declared by their C ABI.
struct GgmlCpuTypeTraits {
  void (*from_float)(const float* x, void* y, int64_t k);
  void (*vec_dot)(int n, float* s, size_t bs, const void* x, size_t bx, const void* y, size_t by, int nrc);
  int vec_dot_type;
  int64_t nrows;
};
using CpuTraitsFn = const GgmlCpuTypeTraits* (*)(int type);

#if WEBLM_VEC_DOT_AVX2
constexpr bool kAvx2Kernels = true;
#else
constexpr bool kAvx2Kernels = false;
#endif

struct Oracle {
  CpuTraitsFn traits = nullptr;
  bool avx2 = false;  // its AVX2 build, whose quantized dot products ours reproduce bit for bit
};

// The AVX2 build of ggml-cpu (the one llama.cpp picks on an AVX2 machine without AVX-512), or the
// baseline x86-64 one where this CPU cannot run it.
const Oracle& ggml_cpu() {
  static const Oracle oracle = []() -> Oracle {
    const std::string dir = std::string(WEBLM_SOURCE_DIR) + "/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/";
    for (const char* variant : {"libggml-cpu-haswell.so", "libggml-cpu-x64.so"}) {
      void* lib = dlopen((dir + variant).c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!lib) {
        ADD_FAILURE() << "cannot load the ggml oracle " << dir << variant << " (" << dlerror()
                      << "); run scripts/setup.sh";
        return {};
      }
      auto score = reinterpret_cast<int (*)()>(dlsym(lib, "ggml_backend_score"));
      auto init = reinterpret_cast<void (*)()>(dlsym(lib, "ggml_cpu_init"));
      auto get = reinterpret_cast<CpuTraitsFn>(dlsym(lib, "ggml_get_type_traits_cpu"));
      if (!score || !init || !get) {
        ADD_FAILURE() << variant << " lacks the expected ggml-cpu symbols";
        return {};
      }
      if (score() == 0) continue;  // built for instructions this CPU lacks
      init();
      return {get, std::string(variant) == "libggml-cpu-haswell.so"};
    }
    ADD_FAILURE() << "no ggml-cpu variant runs on this CPU";
    return {};
  }();
  return oracle;
}

constexpr DType kWeightTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                                  DType::Q5_1, DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};

std::string type_name(const ::testing::TestParamInfo<DType>& info) { return std::string(dtype_name(info.param)); }

std::vector<float> random_values(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  for (int64_t i = 0; i < n; i += 61) v[i] *= 8.f;  // outliers, as activations have
  return v;
}

// Row lengths: odd numbers of blocks, and for floats lengths that leave every SIMD tail.
std::vector<int64_t> sizes(DType type) {
  switch (traits(type).block_size) {
    case 1: return {1, 7, 8, 15, 16, 17, 33, 100, 2048, 4099};
    case 32: return {32, 96, 224, 2080, 4096};
    default: return {256, 768, 2304, 4096};
  }
}

// Rows of one type, built the way a matmul builds them.
struct Rows {
  std::vector<uint8_t> bytes;
  size_t stride;
};
Rows weight_rows(DType type, int64_t n, int rows, uint32_t seed) {
  Rows r{{}, row_bytes(type, n)};
  r.bytes = quantize_tensor(type, random_values(n * rows, seed), n);
  return r;
}
Rows activation_rows(DType weight, int64_t n, int rows, uint32_t seed) {
  const DType act = activation_type(weight);
  Rows r{std::vector<uint8_t>(row_bytes(act, n) * rows), row_bytes(act, n)};
  const std::vector<float> x = random_values(n * rows, seed);
  for (int j = 0; j < rows; ++j) convert_activation(act, x.data() + j * n, r.bytes.data() + j * r.stride, n);
  return r;
}

// The exact dot of the dequantized rows (double), and sum |w_i a_i| to scale the tolerance.
struct Reference {
  double dot = 0, magnitude = 0;
};
Reference reference(DType weight, int64_t n, const uint8_t* w, const uint8_t* a) {
  std::vector<float> wf(n), af(n);
  dequantize_row(weight, w, wf.data(), n);
  dequantize_row(activation_type(weight), a, af.data(), n);
  Reference ref;
  for (int64_t i = 0; i < n; ++i) {
    ref.dot += static_cast<double>(wf[i]) * af[i];
    ref.magnitude += std::fabs(static_cast<double>(wf[i]) * af[i]);
  }
  if (activation_type(weight) == DType::Q8_1) {
    // Min terms use the block's stored s = f16(d * sum(q)), not the exact sum: as in ggml.
    const auto* y = reinterpret_cast<const BlockQ8_1*>(a);
    const size_t w_block = traits(weight).block_bytes;
    for (int64_t b = 0; b < n / 32; ++b) {
      int sum = 0;
      for (int8_t q : y[b].qs) sum += q;
      f16_bits m;  // Q4_1 and Q5_1 both start with d, m
      std::memcpy(&m, w + b * w_block + sizeof(f16_bits), sizeof m);
      const double exact_s = static_cast<double>(f16_to_f32(y[b].d)) * sum;
      ref.dot += f16_to_f32(m) * (f16_to_f32(y[b].s) - exact_s);
    }
  }
  return ref;
}

constexpr double kRelTolerance = 1e-5;

void expect_close(double got, const Reference& ref, const std::string& what) {
  EXPECT_NEAR(got, ref.dot, kRelTolerance * ref.magnitude + 1e-30) << what;
}

class VecDot : public ::testing::TestWithParam<DType> {};

TEST_P(VecDot, MatchesDequantizedDot) {
  const DType type = GetParam();
  for (int64_t n : sizes(type)) {
    const Rows w = weight_rows(type, n, 3, 1), a = activation_rows(type, n, 3, 2);
    for (int r = 0; r < 3; ++r) {
      const uint8_t* wr = w.bytes.data() + r * w.stride;
      const uint8_t* ar = a.bytes.data() + r * a.stride;
      expect_close(vec_dot(type, n, wr, ar), reference(type, n, wr, ar), "n=" + std::to_string(n));
    }
  }
}

TEST_P(VecDot, ScalarKernelMatchesDequantizedDot) {
  const DType type = GetParam();
  for (int64_t n : sizes(type)) {
    const Rows w = weight_rows(type, n, 2, 3), a = activation_rows(type, n, 1, 4);
    float out[2];
    kernels::scalar_tile(type)({n, w.bytes.data(), w.stride, 2, a.bytes.data(), a.stride, 1, out, 2, 1});
    for (int r = 0; r < 2; ++r)
      expect_close(out[r], reference(type, n, w.bytes.data() + r * w.stride, a.bytes.data()), "n=" + std::to_string(n));
  }
}

TEST_P(VecDot, MatchesGgml) {
  const Oracle& ggml = ggml_cpu();
  ASSERT_NE(ggml.traits, nullptr);
  const DType type = GetParam();
  const GgmlCpuTypeTraits* gt = ggml.traits(static_cast<int>(type));
  // Float dots sum in a different order than ggml's; quantized ones are identical to its AVX2 build.
  const bool identical = kAvx2Kernels && ggml.avx2 && traits(type).quantized;
  ASSERT_EQ(static_cast<int>(activation_type(type)), gt->vec_dot_type);
  int exact = 0, total = 0;
  for (int64_t n : sizes(type)) {
    const Rows w = weight_rows(type, n, 4, 5), a = activation_rows(type, n, 1, 6);
    for (int r = 0; r < 4; ++r) {
      const uint8_t* wr = w.bytes.data() + r * w.stride;
      const float ours = vec_dot(type, n, wr, a.bytes.data());
      float theirs = 0;
      gt->vec_dot(static_cast<int>(n), &theirs, 0, wr, 0, a.bytes.data(), 0, 1);
      expect_close(ours, {theirs, reference(type, n, wr, a.bytes.data()).magnitude}, "n=" + std::to_string(n));
      if (identical) {
        EXPECT_EQ(detail::bits_from_float(ours), detail::bits_from_float(theirs)) << "n=" << n;
      }
      exact += ours == theirs;
      ++total;
    }
  }
  std::printf("%s: %d of %d dots bit-identical to ggml's\n", std::string(dtype_name(type)).c_str(), exact, total);
}

// Every tile shape (with padded strides) against single dots, bit for bit.
TEST_P(VecDot, TileEqualsSingleDots) {
  const DType type = GetParam();
  const int64_t n = sizes(type)[2];
  const int max_w = 11, max_a = 7;
  Rows w = weight_rows(type, n, max_w, 7), a = activation_rows(type, n, max_a, 8);
  // Re-lay the rows with padding so strides differ from row sizes.
  auto pad = [](const Rows& rows, int count) {
    Rows p{std::vector<uint8_t>((rows.stride + 64) * count, 0xAB), rows.stride + 64};
    for (int r = 0; r < count; ++r)
      std::memcpy(p.bytes.data() + r * p.stride, rows.bytes.data() + r * rows.stride, rows.stride);
    return p;
  };
  w = pad(w, max_w);
  a = pad(a, max_a);
  for (auto tile : {kernels::TileFn{nullptr}, kernels::scalar_tile(type)}) {
    for (int n_w = 1; n_w <= max_w; ++n_w) {
      for (int n_a = 1; n_a <= max_a; ++n_a) {
        const size_t out_stride = n_w + 3;
        std::vector<float> out(out_stride * n_a, -1.f);
        if (tile) {
          tile({n, w.bytes.data(), w.stride, n_w, a.bytes.data(), a.stride, n_a, out.data(), out_stride, 1});
        } else {
          vec_dot_tile(type, n, w.bytes.data(), w.stride, n_w, a.bytes.data(), a.stride, n_a, out.data(), out_stride);
        }
        for (int j = 0; j < n_a; ++j) {
          for (int i = 0; i < n_w; ++i) {
            const uint8_t* wr = w.bytes.data() + i * w.stride;
            const uint8_t* ar = a.bytes.data() + j * a.stride;
            float single;
            if (tile) {
              tile({n, wr, 0, 1, ar, 0, 1, &single, 0, 1});
            } else {
              single = vec_dot(type, n, wr, ar);
            }
            ASSERT_EQ(detail::bits_from_float(out[j * out_stride + i]), detail::bits_from_float(single))
                << (tile ? "scalar " : "") << n_w << "x" << n_a << " tile, element " << i << "," << j;
          }
          for (size_t i = n_w; i < out_stride; ++i) ASSERT_EQ(out[j * out_stride + i], -1.f) << "wrote past n_w";
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, VecDot, ::testing::ValuesIn(kWeightTypes), type_name);

// Activations quantized byte-for-byte as ggml-cpu's from_float does.
class ConvertActivation : public ::testing::TestWithParam<DType> {};

TEST_P(ConvertActivation, BytesMatchGgml) {
  const Oracle& ggml = ggml_cpu();
  ASSERT_NE(ggml.traits, nullptr);
  const DType act = GetParam();
  const int64_t n = 2048;
  std::vector<float> x = random_values(n, 9);
  for (int64_t i = 0; i < 256; ++i) x[i] = 0;                 // a zero super-block
  for (int64_t i = 256; i < 512; ++i) x[i] *= 1e-30f;         // tiny
  for (int64_t i = 512; i < 768; ++i) x[i] *= 1e30f;          // huge
  for (int64_t i = 768; i < 800; ++i) x[i] = (i % 3) * 0.5f;  // ties
  std::vector<uint8_t> ours(row_bytes(act, n)), theirs(ours.size(), 0);
  convert_activation(act, x.data(), ours.data(), n);
  ggml.traits(static_cast<int>(act))->from_float(x.data(), theirs.data(), n);
  EXPECT_EQ(ours, theirs);
}

INSTANTIATE_TEST_SUITE_P(Types, ConvertActivation,
                         ::testing::Values(DType::F16, DType::BF16, DType::Q8_0, DType::Q8_1, DType::Q8_K), type_name);

TEST(VecDotErrors, RejectsBadShapesAndTypes) {
  const std::vector<uint8_t> buf(4096);
  EXPECT_THROW(vec_dot(DType::Q4_0, 48, buf.data(), buf.data()), Error);
  EXPECT_THROW(vec_dot(DType::Q4_K, 128, buf.data(), buf.data()), Error);
  EXPECT_THROW(vec_dot(DType::Q8_K, 256, buf.data(), buf.data()), Error);
  EXPECT_THROW(activation_type(DType::Q8_1), Error);
  std::vector<float> x(64);
  EXPECT_THROW(convert_activation(DType::Q4_0, x.data(), std::vector<uint8_t>(64).data(), 64), Error);
}

}  // namespace
}  // namespace weblm::cpu
