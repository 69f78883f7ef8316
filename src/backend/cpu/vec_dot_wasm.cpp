// WebAssembly SIMD128 kernels. wasm has no 8-bit dot product: codes are sign-extended to 16
// bits and multiplied with i32x4.dot_i16x8_s (pmaddwd on x86). Each micro-tile extends a weight
// block once for all its activation rows and an activation block once for all its weight rows.
#include "backend/cpu/vec_dot_kernels.h"

#if WEBLM_VEC_DOT_WASM

#include <wasm_simd128.h>

#include <type_traits>

#include "format/quants.h"

namespace weblm::cpu::kernels {

namespace {

// (x0 + x2) + (x1 + x3)
float hsum(v128_t x) {
  x = wasm_f32x4_add(x, wasm_i32x4_shuffle(x, x, 2, 3, 2, 3));
  return wasm_f32x4_extract_lane(x, 0) + wasm_f32x4_extract_lane(x, 1);
}

v128_t load(const void* p) { return wasm_v128_load(p); }

// 16 int8 -> two i16x8 halves.
struct I16x16 {
  v128_t lo, hi;
};
I16x16 widen(v128_t v) { return {wasm_i16x8_extend_low_i8x16(v), wasm_i16x8_extend_high_i8x16(v)}; }

// Sums of 4 adjacent products of two widened 16-value groups, in 4 int32 lanes.
v128_t dot16(const I16x16& x, const I16x16& y) {
  return wasm_i32x4_add(wasm_i32x4_dot_i16x8(x.lo, y.lo), wasm_i32x4_dot_i16x8(x.hi, y.hi));
}

// ---- 32-element blocks -----------------------------------------------------------------------

// Codes of values 0-15 and 16-31 as int8 (value = d code, + m for Q4_1/Q5_1).
v128_t low_nibbles(v128_t q) { return wasm_v128_and(q, wasm_i8x16_splat(0x0F)); }

// 16 where bit j of the 16 bits at p is set, for bytes j = 0..15.
v128_t fifth_bits(const uint8_t* p) {
  const v128_t bits = wasm_v128_load16_splat(p);
  const v128_t byte = wasm_i8x16_swizzle(bits, wasm_i8x16_make(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
  const v128_t bit = wasm_u8x16_make(1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);
  return wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(byte, bit), bit), wasm_i8x16_splat(0x10));
}

struct Q4_0 {
  using W = BlockQ4_0;
  using A = BlockQ8_0;
  static void codes(const W& b, v128_t& first16, v128_t& last16) {
    const v128_t q = load(b.qs);
    first16 = wasm_i8x16_sub(low_nibbles(q), wasm_i8x16_splat(8));
    last16 = wasm_i8x16_sub(wasm_u8x16_shr(q, 4), wasm_i8x16_splat(8));
  }
};
struct Q4_1 {
  using W = BlockQ4_1;
  using A = BlockQ8_1;
  static void codes(const W& b, v128_t& first16, v128_t& last16) {
    const v128_t q = load(b.qs);
    first16 = low_nibbles(q);
    last16 = wasm_u8x16_shr(q, 4);
  }
};
struct Q5_0 {
  using W = BlockQ5_0;
  using A = BlockQ8_0;
  static void codes(const W& b, v128_t& first16, v128_t& last16) {
    const v128_t q = load(b.qs);
    first16 = wasm_i8x16_sub(wasm_v128_or(low_nibbles(q), fifth_bits(b.qh)), wasm_i8x16_splat(16));
    last16 = wasm_i8x16_sub(wasm_v128_or(wasm_u8x16_shr(q, 4), fifth_bits(b.qh + 2)), wasm_i8x16_splat(16));
  }
};
struct Q5_1 {
  using W = BlockQ5_1;
  using A = BlockQ8_1;
  static void codes(const W& b, v128_t& first16, v128_t& last16) {
    const v128_t q = load(b.qs);
    first16 = wasm_v128_or(low_nibbles(q), fifth_bits(b.qh));
    last16 = wasm_v128_or(wasm_u8x16_shr(q, 4), fifth_bits(b.qh + 2));
  }
};
struct Q8_0 {
  using W = BlockQ8_0;
  using A = BlockQ8_0;
  static void codes(const W& b, v128_t& first16, v128_t& last16) {
    first16 = load(b.qs);
    last16 = load(b.qs + 16);
  }
};

template <class F>
struct Blocks32 {
  static constexpr bool kHasMin = std::is_same_v<typename F::A, BlockQ8_1>;

  template <int RW, int RA>
  static void run(const Tile& t) {
    using A = typename F::A;
    v128_t acc[RW][RA];
    float sum_min[RW][RA];
    for (int r = 0; r < RW; ++r)
      for (int c = 0; c < RA; ++c) {
        acc[r][c] = wasm_f32x4_splat(0.f);
        sum_min[r][c] = 0;
      }
    for (int64_t i = 0; i < t.n / 32; ++i) {
      I16x16 y[RA][2];
      float dy[RA], sy[RA];
      for (int c = 0; c < RA; ++c) {
        const A& b = block_at<A>(t.a, t.a_stride, c, i);
        y[c][0] = widen(load(b.qs));
        y[c][1] = widen(load(b.qs + 16));
        dy[c] = f16_to_f32(b.d);
        if constexpr (kHasMin) sy[c] = f16_to_f32(b.s);
      }
      for (int r = 0; r < RW; ++r) {
        const typename F::W& b = block_at<typename F::W>(t.w, t.w_stride, r, i);
        v128_t first16, last16;
        F::codes(b, first16, last16);
        const I16x16 x0 = widen(first16), x1 = widen(last16);
        const float dx = f16_to_f32(b.d);
        for (int c = 0; c < RA; ++c) {
          const v128_t isum = wasm_i32x4_add(dot16(x0, y[c][0]), dot16(x1, y[c][1]));
          acc[r][c] =
              wasm_f32x4_add(acc[r][c], wasm_f32x4_mul(wasm_f32x4_splat(dx * dy[c]), wasm_f32x4_convert_i32x4(isum)));
          if constexpr (kHasMin) sum_min[r][c] += f16_to_f32(b.m) * sy[c];
        }
      }
    }
    for (int c = 0; c < RA; ++c)
      for (int r = 0; r < RW; ++r) t.out[c * t.out_stride + r * t.out_w_step] = hsum(acc[r][c]) + sum_min[r][c];
  }
};

// ---- K-quants against Q8_K -------------------------------------------------------------------

// Scale and 8-bit activations of one sub-block, the products summed in 4 int32 lanes per
// activation row, scaled, and added to sumi.
template <int RA>
void scaled_dots(const I16x16* x, int groups, int scale, const int8_t* const* q8, v128_t* sumi) {
  for (int c = 0; c < RA; ++c) {
    v128_t s = dot16(x[0], widen(load(q8[c])));
    for (int g = 1; g < groups; ++g) s = wasm_i32x4_add(s, dot16(x[g], widen(load(q8[c] + 16 * g))));
    sumi[c] = wasm_i32x4_add(sumi[c], wasm_i32x4_mul(s, wasm_i32x4_splat(scale)));
  }
}

// Q4_K and Q5_K: 4 chunks of 64 values; value l of a chunk has the low nibble of byte l, value
// 32 + l the high nibble (Q5_K adds bit 2 chunk (+1) of qh[l] as 16).
template <class W>
struct K4or5 {
  static constexpr bool kQ5 = std::is_same_v<W, BlockQ5_K>;

  template <int RW, int RA>
  static void run(const Tile& t) {
    v128_t acc[RW][RA];
    float sum_min[RW][RA];
    for (int r = 0; r < RW; ++r)
      for (int c = 0; c < RA; ++c) {
        acc[r][c] = wasm_f32x4_splat(0.f);
        sum_min[r][c] = 0;
      }
    const v128_t low4 = wasm_i8x16_splat(0x0F);
    for (int64_t i = 0; i < t.n / QK_K; ++i) {
      for (int r = 0; r < RW; ++r) {
        const W& x = block_at<W>(t.w, t.w_stride, r, i);
        uint8_t sc[8], mins[8];
        for (int j = 0; j < 8; ++j) k_scale_min(j, x.scales, sc[j], mins[j]);
        v128_t sumi[RA];
        for (int c = 0; c < RA; ++c) sumi[c] = wasm_i32x4_splat(0);
        for (int j = 0; j < 4; ++j) {  // 64 values: 32 low nibbles, then 32 high nibbles
          const v128_t b0 = load(x.qs + 32 * j), b1 = load(x.qs + 32 * j + 16);
          v128_t q_lo[2] = {wasm_v128_and(b0, low4), wasm_v128_and(b1, low4)};
          v128_t q_hi[2] = {wasm_u8x16_shr(b0, 4), wasm_u8x16_shr(b1, 4)};
          if constexpr (kQ5) {
            for (int g = 0; g < 2; ++g) {
              const v128_t h = load(x.qh + 16 * g);
              const v128_t bit4 = wasm_i8x16_splat(0x10);
              q_lo[g] = wasm_v128_or(q_lo[g], wasm_v128_and(wasm_i8x16_shl(wasm_u8x16_shr(h, 2 * j), 4), bit4));
              q_hi[g] = wasm_v128_or(q_hi[g], wasm_v128_and(wasm_i8x16_shl(wasm_u8x16_shr(h, 2 * j + 1), 4), bit4));
            }
          }
          const I16x16 lo[2] = {widen(q_lo[0]), widen(q_lo[1])};
          const I16x16 hi[2] = {widen(q_hi[0]), widen(q_hi[1])};
          const int8_t* q8_lo[RA];
          const int8_t* q8_hi[RA];
          for (int c = 0; c < RA; ++c) {
            q8_lo[c] = block_at<BlockQ8_K>(t.a, t.a_stride, c, i).qs + 64 * j;
            q8_hi[c] = q8_lo[c] + 32;
          }
          scaled_dots<RA>(lo, 2, sc[2 * j], q8_lo, sumi);
          scaled_dots<RA>(hi, 2, sc[2 * j + 1], q8_hi, sumi);
        }
        const float dx = f16_to_f32(x.d), dminx = f16_to_f32(x.dmin);
        for (int c = 0; c < RA; ++c) {
          const BlockQ8_K& y = block_at<BlockQ8_K>(t.a, t.a_stride, c, i);
          int msum = 0;
          for (int j = 0; j < 8; ++j) msum += mins[j] * (y.bsums[2 * j] + y.bsums[2 * j + 1]);
          acc[r][c] =
              wasm_f32x4_add(acc[r][c], wasm_f32x4_mul(wasm_f32x4_splat(y.d * dx), wasm_f32x4_convert_i32x4(sumi[c])));
          sum_min[r][c] += -y.d * dminx * static_cast<float>(msum);
        }
      }
    }
    for (int c = 0; c < RA; ++c)
      for (int r = 0; r < RW; ++r) t.out[c * t.out_stride + r * t.out_w_step] = hsum(acc[r][c]) + sum_min[r][c];
  }
};

// Q6_K (layout in quantize_q6_k): codes minus 32, one scale per 16 values.
struct Q6K {
  template <int RW, int RA>
  static void run(const Tile& t) {
    v128_t acc[RW][RA];
    for (int r = 0; r < RW; ++r)
      for (int c = 0; c < RA; ++c) acc[r][c] = wasm_f32x4_splat(0.f);
    const v128_t low4 = wasm_i8x16_splat(0x0F), low2 = wasm_i8x16_splat(0x03), bias = wasm_i8x16_splat(32);
    for (int64_t i = 0; i < t.n / QK_K; ++i) {
      for (int r = 0; r < RW; ++r) {
        const BlockQ6_K& x = block_at<BlockQ6_K>(t.w, t.w_stride, r, i);
        v128_t sumi[RA];
        for (int c = 0; c < RA; ++c) sumi[c] = wasm_i32x4_splat(0);
        for (int h = 0; h < 2; ++h) {
          for (int g = 0; g < 2; ++g) {  // values 16 g .. 16 g + 15 of each quarter of this half
            const v128_t ql0 = load(x.ql + 64 * h + 16 * g), ql1 = load(x.ql + 64 * h + 32 + 16 * g);
            const v128_t qh = load(x.qh + 32 * h + 16 * g);
            const v128_t q[4] = {
                wasm_v128_or(wasm_v128_and(ql0, low4), wasm_i8x16_shl(wasm_v128_and(qh, low2), 4)),
                wasm_v128_or(wasm_v128_and(ql1, low4), wasm_i8x16_shl(wasm_v128_and(wasm_u8x16_shr(qh, 2), low2), 4)),
                wasm_v128_or(wasm_u8x16_shr(ql0, 4), wasm_i8x16_shl(wasm_v128_and(wasm_u8x16_shr(qh, 4), low2), 4)),
                wasm_v128_or(wasm_u8x16_shr(ql1, 4), wasm_i8x16_shl(wasm_u8x16_shr(qh, 6), 4)),
            };
            for (int k = 0; k < 4; ++k) {
              const I16x16 xk = widen(wasm_i8x16_sub(q[k], bias));
              const int8_t* q8[RA];
              for (int c = 0; c < RA; ++c)
                q8[c] = block_at<BlockQ8_K>(t.a, t.a_stride, c, i).qs + 128 * h + 32 * k + 16 * g;
              scaled_dots<RA>(&xk, 1, x.scales[8 * h + 2 * k + g], q8, sumi);
            }
          }
        }
        const float dx = f16_to_f32(x.d);
        for (int c = 0; c < RA; ++c) {
          const float d = block_at<BlockQ8_K>(t.a, t.a_stride, c, i).d * dx;
          acc[r][c] = wasm_f32x4_add(acc[r][c], wasm_f32x4_mul(wasm_f32x4_splat(d), wasm_f32x4_convert_i32x4(sumi[c])));
        }
      }
    }
    for (int c = 0; c < RA; ++c)
      for (int r = 0; r < RW; ++r) t.out[c * t.out_stride + r * t.out_w_step] = hsum(acc[r][c]);
  }
};

// ---- floats ------------------------------------------------------------------------------------

struct F32 {
  using T = float;
  static v128_t load4(const float* p) { return load(p); }
  static float load1(float v) { return v; }
};
// Exact f16 -> f32 for 4 lanes with integer operations only (float arithmetic on subnormals is
// slow on x86): the half sits in the top 16 bits of each lane; normal values get their exponent
// rebiased, zero and subnormals are mantissa * 2^-24 (as 0.5 + m * 2^-24 - 0.5), infinities
// and NaNs get the f32 exponent (and NaNs the quiet bit), then the sign is put back.
struct F16 {
  using T = f16_bits;
  static v128_t load4(const f16_bits* p) {
    const v128_t w = wasm_i32x4_shl(wasm_u32x4_load16x4(p), 16);
    const v128_t m = wasm_v128_and(w, wasm_i32x4_splat(0x7FFF0000));
    const v128_t normal = wasm_i32x4_add(wasm_u32x4_shr(m, 3), wasm_i32x4_splat(112 << 23));
    const v128_t small =
        wasm_f32x4_sub(wasm_v128_or(wasm_u32x4_shr(m, 16), wasm_i32x4_splat(0x3F000000)), wasm_f32x4_splat(0.5f));
    v128_t v = wasm_v128_bitselect(small, normal, wasm_i32x4_lt(m, wasm_i32x4_splat(0x04000000)));
    v = wasm_v128_or(v, wasm_v128_and(wasm_i32x4_gt(m, wasm_i32x4_splat(0x7BFF0000)), wasm_i32x4_splat(0x7F800000)));
    v = wasm_v128_or(v, wasm_v128_and(wasm_i32x4_gt(m, wasm_i32x4_splat(0x7C000000)), wasm_i32x4_splat(0x00400000)));
    return wasm_v128_or(v, wasm_v128_and(w, wasm_i32x4_splat(static_cast<int32_t>(0x80000000u))));
  }
  static float load1(f16_bits v) { return f16_to_f32(v); }
};
struct BF16 {
  using T = bf16_bits;
  static v128_t load4(const bf16_bits* p) { return wasm_i32x4_shl(wasm_u32x4_load16x4(p), 16); }
  static float load1(bf16_bits v) { return bf16_to_f32(v); }
};

template <class E>
struct Floats {
  template <int RW, int RA>
  static void run(const Tile& t) {
    using T = typename E::T;
    const T* x[RW];
    const T* y[RA];
    for (int r = 0; r < RW; ++r) x[r] = reinterpret_cast<const T*>(t.w + r * t.w_stride);
    for (int c = 0; c < RA; ++c) y[c] = reinterpret_cast<const T*>(t.a + c * t.a_stride);
    v128_t acc[RW][RA][2];
    for (int r = 0; r < RW; ++r)
      for (int c = 0; c < RA; ++c) acc[r][c][0] = acc[r][c][1] = wasm_f32x4_splat(0.f);
    int64_t i = 0;
    for (; i + 8 <= t.n; i += 8) {
      v128_t a0[RA], a1[RA];
      for (int c = 0; c < RA; ++c) {
        a0[c] = E::load4(y[c] + i);
        a1[c] = E::load4(y[c] + i + 4);
      }
      for (int r = 0; r < RW; ++r) {
        const v128_t w0 = E::load4(x[r] + i), w1 = E::load4(x[r] + i + 4);
        for (int c = 0; c < RA; ++c) {
          acc[r][c][0] = wasm_f32x4_add(acc[r][c][0], wasm_f32x4_mul(w0, a0[c]));
          acc[r][c][1] = wasm_f32x4_add(acc[r][c][1], wasm_f32x4_mul(w1, a1[c]));
        }
      }
    }
    for (int c = 0; c < RA; ++c) {
      for (int r = 0; r < RW; ++r) {
        float sum = hsum(wasm_f32x4_add(acc[r][c][0], acc[r][c][1]));
        for (int64_t k = i; k < t.n; ++k) sum += E::load1(x[r][k]) * E::load1(y[c][k]);
        t.out[c * t.out_stride + r * t.out_w_step] = sum;
      }
    }
  }
};

}  // namespace

TileFn wasm_tile(DType weight) {
  switch (weight) {
    case DType::F32: return run_micro_tiles<Floats<F32>, 2, 2>;
    case DType::F16: return run_micro_tiles<Floats<F16>, 2, 2>;
    case DType::BF16: return run_micro_tiles<Floats<BF16>, 2, 2>;
    case DType::Q4_0: return run_micro_tiles<Blocks32<Q4_0>, 4, 1, 4>;
    case DType::Q4_1: return run_micro_tiles<Blocks32<Q4_1>, 4, 1, 4>;
    case DType::Q5_0: return run_micro_tiles<Blocks32<Q5_0>, 4, 1, 4>;
    case DType::Q5_1: return run_micro_tiles<Blocks32<Q5_1>, 4, 1, 4>;
    case DType::Q8_0: return run_micro_tiles<Blocks32<Q8_0>, 4, 1, 4>;
    case DType::Q4_K: return run_micro_tiles<K4or5<BlockQ4_K>, 1, 4>;
    case DType::Q5_K: return run_micro_tiles<K4or5<BlockQ5_K>, 1, 4>;
    case DType::Q6_K: return run_micro_tiles<Q6K, 1, 4>;
    default: return nullptr;
  }
}

}  // namespace weblm::cpu::kernels

#endif  // WEBLM_VEC_DOT_WASM
