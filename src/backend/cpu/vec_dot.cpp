#include "backend/cpu/vec_dot.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "backend/cpu/vec_dot_kernels.h"
#include "format/quants.h"
#include "util/error.h"

namespace weblm::cpu {

namespace {

// ggml-cpu's x86 activation quantizer (quantize_row_q8_0/q8_1 with AVX): unlike the reference
// quantizer it scales by 127 / amax, rounds ties to even (_mm256_round_ps) and converts with
// _mm256_cvtps_epi32 (INT32_MIN when out of range) and saturating packs.
template <class Block>
void quantize_q8_x86(const float* x, Block* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.f;
    const float id = amax != 0.0f ? 127.f / amax : 0.0f;
    y[i].d = f32_to_f16(d);
    uint32_t sum = 0;  // wraps like the epi32 adds
    for (int j = 0; j < 32; ++j) {
      const float v = std::nearbyint(x[j] * id);
      const int32_t q = v >= -2147483648.0f && v < 2147483648.0f ? static_cast<int32_t>(v) : INT32_MIN;
      sum += static_cast<uint32_t>(q);
      y[i].qs[j] = static_cast<int8_t>(std::clamp<int32_t>(q, -128, 127));
    }
    if constexpr (std::is_same_v<Block, BlockQ8_1>)
      y[i].s = f32_to_f16(d * static_cast<float>(static_cast<int32_t>(sum)));
  }
}

kernels::TileFn find_kernel(DType weight) {
#if WEBLM_VEC_DOT_AVX2
  if (kernels::TileFn f = kernels::avx2_tile(weight)) return f;
#elif WEBLM_VEC_DOT_WASM
  if (kernels::TileFn f = kernels::wasm_tile(weight)) return f;
#endif
  return kernels::scalar_tile(weight);
}

// Kernel and block size by type number (DType values are ggml's, all below 32).
struct Kernel {
  kernels::TileFn fn = nullptr;
  int block_size = 0;
};
const Kernel& kernel(DType weight) {
  static const std::array<Kernel, 32> table = [] {
    std::array<Kernel, 32> t{};
    for (uint32_t type = 0; type < t.size(); ++type) {
      const DTypeTraits* tr = dtype_traits(type);
      if (!tr) continue;
      t[type].fn = find_kernel(static_cast<DType>(type));
      t[type].block_size = tr->block_size;
    }
    return t;
  }();
  const auto index = static_cast<uint32_t>(weight);
  if (index < table.size() && table[index].fn) return table[index];
  if (const DTypeTraits* t = dtype_traits(index)) fail("vec_dot: weights of type ", t->name, " have no dot product");
  fail("vec_dot: unsupported weight type ", index);
}

}  // namespace

DType activation_type(DType weight) {
  switch (weight) {
    case DType::F32:
    case DType::F16:
    case DType::BF16: return weight;
    case DType::Q4_0:
    case DType::Q5_0:
    case DType::Q8_0: return DType::Q8_0;
    case DType::Q4_1:
    case DType::Q5_1: return DType::Q8_1;
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K: return DType::Q8_K;
    default: fail("vec_dot: weights of type ", dtype_name(weight), " have no dot product");
  }
}

void convert_activation(DType act_type, const float* x, void* dst, int64_t n) {
  const int64_t nb = n / traits(act_type).block_size;
  row_bytes(act_type, n);  // validates n
  switch (act_type) {
    case DType::Q8_0: return quantize_q8_x86(x, static_cast<BlockQ8_0*>(dst), nb);
    case DType::Q8_1: return quantize_q8_x86(x, static_cast<BlockQ8_1*>(dst), nb);
    case DType::F32:  // ggml-cpu converts these as the reference does (F16C rounds to nearest even too)
    case DType::F16:
    case DType::BF16:
    case DType::Q8_K: return quantize_row(act_type, x, dst, n);
    default: fail("convert_activation: ", dtype_name(act_type), " is not an activation type");
  }
}

float vec_dot(DType weight, int64_t n, const void* w_row, const void* act_row) {
  float out;
  vec_dot_tile(weight, n, w_row, 0, 1, act_row, 0, 1, &out, 0);
  return out;
}

void vec_dot_tile(DType weight, int64_t n, const void* w, size_t w_stride, int n_w, const void* a, size_t a_stride,
                  int n_a, float* out, size_t out_stride) {
  const Kernel& k = kernel(weight);
  if (n % k.block_size != 0)
    fail("vec_dot: rows of ", n, " elements are not whole ", dtype_name(weight), " blocks of ", k.block_size);
  k.fn({n, static_cast<const uint8_t*>(w), w_stride, n_w, static_cast<const uint8_t*>(a), a_stride, n_a, out,
        out_stride, 1});
}

}  // namespace weblm::cpu
