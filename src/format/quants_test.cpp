// Byte-for-byte against ggml itself: the prebuilt libggml-base.so that node-llama-cpp ships (the
// llama.cpp release our oracle runs) is loaded at run time and fed the same inputs.
#include "format/quants.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "util/error.h"

namespace weblm {
namespace {

// The parts of ggml.h / ggml-cpu.h we call, declared by their C ABI.
struct GgmlTypeTraits {
  const char* type_name;
  int64_t blck_size;
  int64_t blck_size_interleave;
  size_t type_size;
  bool is_quantized;
  void (*to_float)(const void* x, float* y, int64_t k);
  void (*from_float_ref)(const float* x, void* y, int64_t k);
};
struct GgmlCpuTypeTraits {
  void (*from_float)(const float* x, void* y, int64_t k);
  void* vec_dot;
  int vec_dot_type;
  int64_t nrows;
};
struct GgmlBf16 {
  uint16_t bits;
};

struct Ggml {
  size_t (*quantize_chunk)(int type, const float* src, void* dst, int64_t start, int64_t nrows, int64_t n_per_row,
                           const float* imatrix);
  const GgmlTypeTraits* (*type_traits)(int type);
  float (*fp16_to_fp32)(uint16_t);
  uint16_t (*fp32_to_fp16)(float);
  float (*bf16_to_fp32)(GgmlBf16);
  GgmlBf16 (*fp32_to_bf16)(float);
  const GgmlCpuTypeTraits* (*cpu_type_traits)(int type);  // from the baseline x86-64 CPU build
};

void* open_library(const std::string& file) {
  const std::string path =
      std::string(WEBLM_SOURCE_DIR) + "/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/" + file;
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) ADD_FAILURE() << "cannot load the ggml oracle " << path << " (" << dlerror() << "); run scripts/setup.sh";
  return h;
}

template <class Fn>
void bind(void* lib, const char* name, Fn& fn) {
  fn = reinterpret_cast<Fn>(dlsym(lib, name));
  if (!fn) ADD_FAILURE() << "ggml oracle has no symbol " << name;
}

const Ggml* ggml() {
  static const Ggml* loaded = []() -> const Ggml* {
    void* base = open_library("libggml-base.so");
    void* cpu = open_library("libggml-cpu-x64.so");
    if (!base || !cpu) return nullptr;
    static Ggml g;
    bind(base, "ggml_quantize_chunk", g.quantize_chunk);
    bind(base, "ggml_get_type_traits", g.type_traits);
    bind(base, "ggml_fp16_to_fp32", g.fp16_to_fp32);
    bind(base, "ggml_fp32_to_fp16", g.fp32_to_fp16);
    bind(base, "ggml_bf16_to_fp32", g.bf16_to_fp32);
    bind(base, "ggml_fp32_to_bf16", g.fp32_to_bf16);
    bind(cpu, "ggml_get_type_traits_cpu", g.cpu_type_traits);
    void (*cpu_init)() = nullptr;
    bind(cpu, "ggml_cpu_init", cpu_init);
    if (cpu_init) cpu_init();
    return &g;
  }();
  return loaded;
}

#define REQUIRE_GGML()                   \
  const Ggml* g = ggml();                \
  ASSERT_NE(g, nullptr);                 \
  ASSERT_NE(g->quantize_chunk, nullptr); \
  ASSERT_NE(g->cpu_type_traits, nullptr)

uint32_t bits_of(float f) { return detail::bits_from_float(f); }

// ---- types --------------------------------------------------------------------------------

TEST(DType, TraitsMatchGgml) {
  REQUIRE_GGML();
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0,
                  DType::Q8_1, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q8_K}) {
    const GgmlTypeTraits* gt = g->type_traits(static_cast<int>(t));
    EXPECT_EQ(dtype_name(t), gt->type_name);
    EXPECT_EQ(traits(t).block_size, gt->blck_size) << gt->type_name;
    EXPECT_EQ(traits(t).block_bytes, gt->type_size) << gt->type_name;
    EXPECT_EQ(traits(t).quantized, gt->is_quantized) << gt->type_name;
    EXPECT_EQ(parse_dtype(gt->type_name), t);
  }
}

TEST(DType, ParsesNamesIgnoringCase) {
  EXPECT_EQ(parse_dtype("Q4_K"), DType::Q4_K);
  EXPECT_EQ(parse_dtype("F16"), DType::F16);
  EXPECT_EQ(parse_dtype("bf16"), DType::BF16);
  try {
    parse_dtype("q3_k");
    FAIL() << "q3_k is not supported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("q4_K"), std::string::npos) << e.what();
  }
}

TEST(DType, RowBytes) {
  EXPECT_EQ(row_bytes(DType::F32, 7), 28u);
  EXPECT_EQ(row_bytes(DType::BF16, 7), 14u);
  EXPECT_EQ(row_bytes(DType::Q4_0, 96), 3 * sizeof(BlockQ4_0));
  EXPECT_EQ(row_bytes(DType::Q6_K, 512), 2 * sizeof(BlockQ6_K));
  EXPECT_THROW(row_bytes(DType::Q4_0, 100), Error);
  EXPECT_THROW(row_bytes(DType::Q4_K, 32), Error);
  EXPECT_EQ(dtype_traits(10), nullptr);  // q2_K: not supported
  EXPECT_THROW(traits(static_cast<DType>(10)), Error);
}

// ---- f16 / bf16 ---------------------------------------------------------------------------

// Every float class: zeros, subnormals, normals near every boundary, infinities, NaNs.
std::vector<float> tricky_floats() {
  std::vector<float> v;
  std::mt19937 rng(7);
  for (int i = 0; i < 1 << 20; ++i) v.push_back(detail::float_from_bits(rng()));
  for (uint32_t h = 0; h < 0x10000; ++h) {  // every half, and its neighbours as floats
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    v.push_back(f);
    v.push_back(std::nextafter(f, 0.f));
    v.push_back(std::nextafter(f, std::numeric_limits<float>::infinity()));
    v.push_back(detail::float_from_bits(bits_of(f) + 0x1000));  // exactly halfway to the next half
  }
  for (float f : {0.f, -0.f, 65504.f, 65520.f, 65519.99f, 1e-8f, 3e-8f, 6e-8f, 1e-40f, 3.4e38f,
                  std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                  std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
                  std::numeric_limits<float>::signaling_NaN()})
    v.push_back(f);
  return v;
}

TEST(Half, EveryHalfDecodesAsGgml) {
  REQUIRE_GGML();
  for (uint32_t h = 0; h < 0x10000; ++h)
    ASSERT_EQ(bits_of(f16_to_f32(static_cast<uint16_t>(h))), bits_of(g->fp16_to_fp32(static_cast<uint16_t>(h))))
        << std::hex << h;
}

TEST(Half, RoundsAsGgml) {
  REQUIRE_GGML();
  for (float f : tricky_floats()) ASSERT_EQ(f32_to_f16(f), g->fp32_to_fp16(f)) << std::hex << bits_of(f);
}

TEST(BFloat16, ConvertsAsGgml) {
  REQUIRE_GGML();
  for (uint32_t h = 0; h < 0x10000; ++h)
    ASSERT_EQ(bits_of(bf16_to_f32(static_cast<uint16_t>(h))), bits_of(g->bf16_to_fp32({static_cast<uint16_t>(h)})));
  for (float f : tricky_floats()) ASSERT_EQ(f32_to_bf16(f), g->fp32_to_bf16(f).bits) << std::hex << bits_of(f);
}

// ---- quantization --------------------------------------------------------------------------

// Rows that exercise every branch of the quantizers. `cols` is a multiple of 256.
std::vector<float> test_rows(int64_t cols, int64_t& rows) {
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_real_distribution<float> uniform(-1.f, 1.f);
  std::vector<float> v;
  auto row = [&](auto value) {
    for (int64_t i = 0; i < cols; ++i) v.push_back(value(i));
  };
  for (int r = 0; r < 6; ++r) row([&](int64_t) { return normal(rng); });
  row([&](int64_t) { return uniform(rng) + 0.75f; });                                // mostly positive
  row([&](int64_t) { return uniform(rng) * 0.01f - 3.f; });                          // all negative
  row([&](int64_t) { return 0.f; });                                                 // all zero
  row([&](int64_t) { return 0.3f; });                                                // constant
  row([&](int64_t i) { return i % 97 == 0 ? 1.f : 0.f; });                           // sparse
  row([&](int64_t i) { return normal(rng) * std::pow(10.f, (i / 32) % 9 - 4.f); });  // mixed scales
  row([&](int64_t) { return normal(rng) * 1e30f; });                                 // huge
  row([&](int64_t) { return uniform(rng) * 3e38f; });                                // near FLT_MAX
  row([&](int64_t) { return normal(rng) * 1e-12f; });                                // tiny
  row([&](int64_t) { return normal(rng) * 1e-20f; });                                // below K-quant eps
  row([&](int64_t) { return normal(rng) * 1e-39f; });                                // subnormal
  row([&](int64_t i) { return (i % 16) * 0.125f - 1.f; });                           // exact grid, ties
  row([&](int64_t i) { return std::round(normal(rng) * 8.f) / 8.f; });               // many ties
  rows = static_cast<int64_t>(v.size()) / cols;                                      // an odd number
  return v;
}

class Quantize : public ::testing::TestWithParam<DType> {};

TEST_P(Quantize, BytesMatchGgml) {
  REQUIRE_GGML();
  const DType type = GetParam();
  for (int64_t cols : {256, 768}) {
    int64_t rows = 0;
    const std::vector<float> x = test_rows(cols, rows);
    const std::vector<uint8_t> ours = quantize_tensor(type, x, cols);
    std::vector<uint8_t> theirs(ours.size(), 0);
    const size_t written = g->quantize_chunk(static_cast<int>(type), x.data(), theirs.data(), 0, rows, cols, nullptr);
    ASSERT_EQ(written, ours.size());
    const size_t stride = row_bytes(type, cols);
    for (int64_t r = 0; r < rows; ++r)
      ASSERT_EQ(std::memcmp(ours.data() + r * stride, theirs.data() + r * stride, stride), 0)
          << dtype_name(type) << ": row " << r << " of " << cols << " columns differs";
  }
}

TEST_P(Quantize, DequantizesAsGgml) {
  REQUIRE_GGML();
  const DType type = GetParam();
  const int64_t cols = 512;
  int64_t rows = 0;
  const std::vector<float> x = test_rows(cols, rows);
  std::vector<uint8_t> q = quantize_tensor(type, x, cols);
  // Arbitrary bytes too: scales and codes the quantizer never writes.
  std::mt19937 rng(3);
  for (int64_t i = 0; i < 4 * static_cast<int64_t>(row_bytes(type, cols)); ++i)
    q.push_back(static_cast<uint8_t>(rng()));
  rows += 4;
  const size_t stride = row_bytes(type, cols);
  std::vector<float> ours(cols), theirs(cols);
  for (int64_t r = 0; r < rows; ++r) {
    dequantize_row(type, q.data() + r * stride, ours.data(), cols);
    if (type == DType::F32) {
      std::memcpy(theirs.data(), q.data() + r * stride, stride);  // stored as is
    } else {
      g->type_traits(static_cast<int>(type))->to_float(q.data() + r * stride, theirs.data(), cols);
    }
    for (int64_t i = 0; i < cols; ++i) {  // NaN scales in the random rows: any NaN matches any NaN
      if (!(std::isnan(ours[i]) && std::isnan(theirs[i]))) {
        ASSERT_EQ(bits_of(ours[i]), bits_of(theirs[i])) << dtype_name(type) << ": row " << r << ", column " << i;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, Quantize,
                         ::testing::Values(DType::F32, DType::F16, DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                                           DType::Q5_1, DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// The activation formats have no ggml_quantize_chunk entry: compare with the row quantizers
// ggml registers for them.
TEST(Quantize, Q8_1MatchesGgmlReference) {
  REQUIRE_GGML();
  int64_t rows = 0;
  const std::vector<float> x = test_rows(256, rows);
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> ours(row_bytes(DType::Q8_1, n)), theirs(ours.size());
  quantize_row(DType::Q8_1, x.data(), ours.data(), n);
  g->type_traits(static_cast<int>(DType::Q8_1))->from_float_ref(x.data(), theirs.data(), n);
  EXPECT_EQ(ours, theirs);
}

TEST(Quantize, Q8_KMatchesGgmlReference) {
  REQUIRE_GGML();
  int64_t rows = 0;
  const std::vector<float> x = test_rows(256, rows);
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> ours(row_bytes(DType::Q8_K, n)), theirs(ours.size(), 0);
  quantize_row(DType::Q8_K, x.data(), ours.data(), n);
  // ggml's baseline x86 build quantizes Q8_K activations with quantize_row_q8_K_ref. It leaves
  // bsums unwritten in all-zero blocks; the zero-filled buffer makes those match our zeros.
  g->cpu_type_traits(static_cast<int>(DType::Q8_K))->from_float(x.data(), theirs.data(), n);
  EXPECT_EQ(ours, theirs);
  std::vector<float> y(n);
  dequantize_row(DType::Q8_K, ours.data(), y.data(), n);
  const auto* b = reinterpret_cast<const BlockQ8_K*>(ours.data());
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], b[i / QK_K].d * b[i / QK_K].qs[i % QK_K]);
}

// Large tensors are quantized on several threads: the rows must come out the same.
TEST(Quantize, LargeTensorEqualsRowByRow) {
  const int64_t rows = 1031, cols = 1024;
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> x(rows * cols);
  for (float& v : x) v = normal(rng);
  const std::vector<uint8_t> tensor = quantize_tensor(DType::Q4_K, x, cols);
  const size_t stride = row_bytes(DType::Q4_K, cols);
  std::vector<uint8_t> row(stride);
  for (int64_t r = 0; r < rows; ++r) {
    quantize_row(DType::Q4_K, x.data() + r * cols, row.data(), cols);
    ASSERT_EQ(std::memcmp(row.data(), tensor.data() + r * stride, stride), 0) << "row " << r;
  }
}

TEST(Quantize, RejectsPartialRows) {
  const std::vector<float> x(100);
  EXPECT_THROW(quantize_tensor(DType::Q8_0, x, 50), Error);  // 50 is not a multiple of 32
  EXPECT_THROW(quantize_tensor(DType::F32, x, 30), Error);   // 100 is not a multiple of 30
}

}  // namespace
}  // namespace weblm
