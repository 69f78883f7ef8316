// Portable kernels for every weight type: integer dot products per block, scaled in float. The
// fallback where an instruction set has no kernel of its own, and the reference the SIMD kernels
// are tested against.
#include <cstring>
#include <type_traits>

#include "backend/cpu/vec_dot_kernels.h"
#include "format/quants.h"

namespace weblm::cpu::kernels {

namespace {

// ---- 32-element blocks: the weight codes as int8, then one integer dot per block ------------

struct Q4_0 {
  using W = BlockQ4_0;
  using A = BlockQ8_0;
  static void codes(const W& b, int8_t* q) {
    for (int j = 0; j < 16; ++j) {
      q[j] = static_cast<int8_t>((b.qs[j] & 0xF) - 8);
      q[j + 16] = static_cast<int8_t>((b.qs[j] >> 4) - 8);
    }
  }
};

struct Q4_1 {
  using W = BlockQ4_1;
  using A = BlockQ8_1;
  static void codes(const W& b, int8_t* q) {
    for (int j = 0; j < 16; ++j) {
      q[j] = static_cast<int8_t>(b.qs[j] & 0xF);
      q[j + 16] = static_cast<int8_t>(b.qs[j] >> 4);
    }
  }
};

uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

struct Q5_0 {
  using W = BlockQ5_0;
  using A = BlockQ8_0;
  static void codes(const W& b, int8_t* q) {
    const uint32_t qh = load_u32(b.qh);
    for (int j = 0; j < 16; ++j) {
      q[j] = static_cast<int8_t>(((b.qs[j] & 0xF) | (((qh >> j) & 1) << 4)) - 16);
      q[j + 16] = static_cast<int8_t>(((b.qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16);
    }
  }
};

struct Q5_1 {
  using W = BlockQ5_1;
  using A = BlockQ8_1;
  static void codes(const W& b, int8_t* q) {
    const uint32_t qh = load_u32(b.qh);
    for (int j = 0; j < 16; ++j) {
      q[j] = static_cast<int8_t>((b.qs[j] & 0xF) | (((qh >> j) & 1) << 4));
      q[j + 16] = static_cast<int8_t>((b.qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4));
    }
  }
};

struct Q8_0 {
  using W = BlockQ8_0;
  using A = BlockQ8_0;
  static void codes(const W& b, int8_t* q) { std::memcpy(q, b.qs, 32); }
};

// Formats with a min (x = q d + m) add m * s, s being the activation block's d * sum(q).
template <class F>
constexpr bool kHasMin = std::is_same_v<typename F::A, BlockQ8_1>;

template <class F>
float dot_blocks32(int64_t n, const uint8_t* w, const uint8_t* a) {
  const auto* x = reinterpret_cast<const typename F::W*>(w);
  const auto* y = reinterpret_cast<const typename F::A*>(a);
  float sum = 0, sum_min = 0;
  for (int64_t i = 0; i < n / 32; ++i) {
    int8_t q[32];
    F::codes(x[i], q);
    int isum = 0;
    for (int j = 0; j < 32; ++j) isum += q[j] * y[i].qs[j];
    sum += (f16_to_f32(x[i].d) * f16_to_f32(y[i].d)) * static_cast<float>(isum);
    if constexpr (kHasMin<F>) sum_min += f16_to_f32(x[i].m) * f16_to_f32(y[i].s);
  }
  return sum + sum_min;
}

// ---- K-quants against Q8_K: integer sums per super-block -----------------------------------

// Sum over the 8 sub-blocks of their min times the activation sum, from Q8_K's bsums.
int min_sum(const uint8_t* mins, const BlockQ8_K& y) {
  int s = 0;
  for (int j = 0; j < 8; ++j) s += mins[j] * (y.bsums[2 * j] + y.bsums[2 * j + 1]);
  return s;
}

float dot_q4_k(int64_t n, const uint8_t* w, const uint8_t* a) {
  const auto* x = reinterpret_cast<const BlockQ4_K*>(w);
  const auto* y = reinterpret_cast<const BlockQ8_K*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    uint8_t sc[8], mins[8];
    for (int j = 0; j < 8; ++j) k_scale_min(j, x[i].scales, sc[j], mins[j]);
    int isum = 0;
    for (int j = 0; j < 8; ++j) {  // sub-block j: nibble j % 2 of bytes 32 (j / 2) ...
      const uint8_t* q = x[i].qs + 32 * (j / 2);
      const int shift = 4 * (j % 2);
      int s = 0;
      for (int l = 0; l < 32; ++l) s += ((q[l] >> shift) & 0xF) * y[i].qs[32 * j + l];
      isum += sc[j] * s;
    }
    sum += y[i].d * f16_to_f32(x[i].d) * static_cast<float>(isum) -
           y[i].d * f16_to_f32(x[i].dmin) * static_cast<float>(min_sum(mins, y[i]));
  }
  return sum;
}

float dot_q5_k(int64_t n, const uint8_t* w, const uint8_t* a) {
  const auto* x = reinterpret_cast<const BlockQ5_K*>(w);
  const auto* y = reinterpret_cast<const BlockQ8_K*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    uint8_t sc[8], mins[8];
    for (int j = 0; j < 8; ++j) k_scale_min(j, x[i].scales, sc[j], mins[j]);
    int isum = 0;
    for (int j = 0; j < 8; ++j) {  // as Q4_K, bit 4 of value l of sub-block j in bit j of qh[l]
      const uint8_t* q = x[i].qs + 32 * (j / 2);
      const int shift = 4 * (j % 2);
      int s = 0;
      for (int l = 0; l < 32; ++l)
        s += (((q[l] >> shift) & 0xF) | (((x[i].qh[l] >> j) & 1) << 4)) * y[i].qs[32 * j + l];
      isum += sc[j] * s;
    }
    sum += y[i].d * f16_to_f32(x[i].d) * static_cast<float>(isum) -
           y[i].d * f16_to_f32(x[i].dmin) * static_cast<float>(min_sum(mins, y[i]));
  }
  return sum;
}

float dot_q6_k(int64_t n, const uint8_t* w, const uint8_t* a) {
  const auto* x = reinterpret_cast<const BlockQ6_K*>(w);
  const auto* y = reinterpret_cast<const BlockQ8_K*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    int isum = 0;
    for (int h = 0; h < 2; ++h) {  // halves of 128: see quantize_q6_k for the layout
      const uint8_t* ql = x[i].ql + 64 * h;
      const uint8_t* qh = x[i].qh + 32 * h;
      const int8_t* q8 = y[i].qs + 128 * h;
      const int8_t* sc = x[i].scales + 8 * h;
      for (int l = 0; l < 32; ++l) {
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        const int is = l / 16;
        isum += sc[is] * q1 * q8[l] + sc[is + 2] * q2 * q8[l + 32] + sc[is + 4] * q3 * q8[l + 64] +
                sc[is + 6] * q4 * q8[l + 96];
      }
    }
    sum += y[i].d * f16_to_f32(x[i].d) * static_cast<float>(isum);
  }
  return sum;
}

// ---- floats: 8 interleaved partial sums, like an 8-lane SIMD register ------------------------

template <class T, float (*Load)(T)>
float dot_floats(int64_t n, const uint8_t* w, const uint8_t* a) {
  const T* x = reinterpret_cast<const T*>(w);
  const T* y = reinterpret_cast<const T*>(a);
  float lanes[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) lanes[l] += Load(x[i + l]) * Load(y[i + l]);
  float sum = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
  for (; i < n; ++i) sum += Load(x[i]) * Load(y[i]);
  return sum;
}

float load_f32(float v) { return v; }

template <float (*Dot)(int64_t, const uint8_t*, const uint8_t*)>
void tile(const Tile& t) {
  for (int j = 0; j < t.n_a; ++j)
    for (int i = 0; i < t.n_w; ++i)
      t.out[static_cast<size_t>(j) * t.out_stride + i * t.out_w_step] =
          Dot(t.n, t.w + static_cast<size_t>(i) * t.w_stride, t.a + static_cast<size_t>(j) * t.a_stride);
}

}  // namespace

TileFn scalar_tile(DType weight) {
  switch (weight) {
    case DType::F32: return tile<dot_floats<float, load_f32>>;
    case DType::F16: return tile<dot_floats<f16_bits, f16_to_f32>>;
    case DType::BF16: return tile<dot_floats<bf16_bits, bf16_to_f32>>;
    case DType::Q4_0: return tile<dot_blocks32<Q4_0>>;
    case DType::Q4_1: return tile<dot_blocks32<Q4_1>>;
    case DType::Q5_0: return tile<dot_blocks32<Q5_0>>;
    case DType::Q5_1: return tile<dot_blocks32<Q5_1>>;
    case DType::Q8_0: return tile<dot_blocks32<Q8_0>>;
    case DType::Q4_K: return tile<dot_q4_k>;
    case DType::Q5_K: return tile<dot_q5_k>;
    case DType::Q6_K: return tile<dot_q6_k>;
    default: return nullptr;
  }
}

}  // namespace weblm::cpu::kernels
