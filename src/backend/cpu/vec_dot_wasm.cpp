// WebAssembly SIMD128 kernels. wasm has no 8-bit dot product: codes are sign-extended to 16
// bits and multiplied with i32x4.dot_i16x8_s (pmaddwd on x86). Each micro-tile extends a weight
// block once for all its activation rows and an activation block once for all its weight rows.
#include "backend/cpu/vec_dot_kernels.h"

#if WEBLM_VEC_DOT_WASM

#include <wasm_simd128.h>

#include <type_traits>
#include <vector>

#include "format/quants.h"

namespace weblm::cpu::kernels {

namespace {

// Block scales f16 -> f32 by table, as ggml does without F16C: converting with integer and
// float operations costs a dozen scalar instructions per block and row, as much as the block's
// SIMD dot product.
struct F16Table {
  float value[1 << 16];
  F16Table() {
    for (uint32_t h = 0; h < (1u << 16); ++h) value[h] = f16_to_f32(static_cast<f16_bits>(h));
  }
};
const F16Table f16_table;

inline float scale(f16_bits h) { return f16_table.value[h]; }

// (x0 + x2) + (x1 + x3)
float hsum(v128_t x) {
  x = wasm_f32x4_add(x, wasm_i32x4_shuffle(x, x, 2, 3, 2, 3));
  return wasm_f32x4_extract_lane(x, 0) + wasm_f32x4_extract_lane(x, 1);
}

v128_t load(const void* p) { return wasm_v128_load(p); }

// ---- 32-element blocks -----------------------------------------------------------------------
//
// wasm's only integer dot product is i32x4.dot_i16x8_s, so 8-bit codes must become 16-bit lanes.
// Rather than sign-extending halves of a vector (two instructions for the high half on x86), a
// vector's bytes are split into its even and odd bytes, each in the 16-bit lanes they already
// sit in: one or two instructions each, and 4-bit codes come out of their bytes the same way.
// Dot products only need weights and activations split alike. Activations are split once per
// tile call (ActBlock), not once per weight row.

// A block's 32 codes as 16-bit lanes: codes 0-15 at even, then odd positions, codes 16-31 at
// even, then odd positions.
using Codes = v128_t[4];

void split_signed(v128_t bytes, v128_t& even, v128_t& odd) {
  even = wasm_i16x8_shr(wasm_i16x8_shl(bytes, 8), 8);
  odd = wasm_i16x8_shr(bytes, 8);
}

void split_unsigned(v128_t bytes, v128_t& even, v128_t& odd) {
  even = wasm_v128_and(bytes, wasm_i16x8_splat(0x00FF));
  odd = wasm_u16x8_shr(bytes, 8);
}

// 16 bytes of packed nibbles: code i in the low nibble of byte i, code 16 + i in its high nibble.
void split_nibbles(v128_t q, Codes out) {
  const v128_t low4 = wasm_i16x8_splat(0x000F);
  out[0] = wasm_v128_and(q, low4);
  out[1] = wasm_v128_and(wasm_u16x8_shr(q, 8), low4);
  out[2] = wasm_v128_and(wasm_u16x8_shr(q, 4), low4);
  out[3] = wasm_u16x8_shr(q, 12);
}

// 16 where bit j of the 16 bits at p is set, for bytes j = 0..15.
v128_t fifth_bits(const uint8_t* p) {
  const v128_t bits = wasm_v128_load16_splat(p);
  const v128_t byte = wasm_i8x16_swizzle(bits, wasm_i8x16_make(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
  const v128_t bit = wasm_u8x16_make(1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);
  return wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(byte, bit), bit), wasm_i8x16_splat(0x10));
}

// 5-bit codes: nibbles plus a fifth bit per code from qh.
void split_five_bits(const uint8_t* qs, const uint8_t* qh, Codes out) {
  const v128_t q = load(qs);
  split_unsigned(wasm_v128_or(wasm_v128_and(q, wasm_i8x16_splat(0x0F)), fifth_bits(qh)), out[0], out[1]);
  split_unsigned(wasm_v128_or(wasm_u8x16_shr(q, 4), fifth_bits(qh + 2)), out[2], out[3]);
}

// Each type: its weight and activation blocks, its codes, and the offset its codes are stored
// with (value = d * (code - kOffset), + m for Q4_1/Q5_1).
struct Q4_0 {
  using W = BlockQ4_0;
  using A = BlockQ8_0;
  static constexpr int kOffset = 8;
  static void codes(const W& b, Codes out) { split_nibbles(load(b.qs), out); }
};
struct Q4_1 {
  using W = BlockQ4_1;
  using A = BlockQ8_1;
  static constexpr int kOffset = 0;
  static void codes(const W& b, Codes out) { split_nibbles(load(b.qs), out); }
};
struct Q5_0 {
  using W = BlockQ5_0;
  using A = BlockQ8_0;
  static constexpr int kOffset = 16;
  static void codes(const W& b, Codes out) { split_five_bits(b.qs, b.qh, out); }
};
struct Q5_1 {
  using W = BlockQ5_1;
  using A = BlockQ8_1;
  static constexpr int kOffset = 0;
  static void codes(const W& b, Codes out) { split_five_bits(b.qs, b.qh, out); }
};
struct Q8_0 {
  using W = BlockQ8_0;
  using A = BlockQ8_0;
  static constexpr int kOffset = 0;
  static void codes(const W& b, Codes out) {
    split_signed(load(b.qs), out[0], out[1]);
    split_signed(load(b.qs + 16), out[2], out[3]);
  }
};

// One activation block, split for the dot products above.
struct ActBlock {
  Codes q;
  v128_t offset;  // {-kOffset * sum of the codes, 0, 0, 0}: undoes the weights' code offset
  float d;
  float s;        // Q8_1's d * sum of the codes
};

template <class F>
struct Blocks32 {
  static constexpr bool kHasMin = std::is_same_v<typename F::A, BlockQ8_1>;

  // The tile's activation rows as ActBlocks, in a per-thread buffer.
  static const ActBlock* prepare(const Tile& t) {
    thread_local std::vector<ActBlock> buffer;
    const int64_t nb = t.n / 32;
    buffer.resize(static_cast<size_t>(nb * t.n_a));
    const v128_t ones = wasm_i16x8_splat(1);
    for (int c = 0; c < t.n_a; ++c) {
      for (int64_t i = 0; i < nb; ++i) {
        const typename F::A& b = block_at<typename F::A>(t.a, t.a_stride, c, i);
        ActBlock& a = buffer[c * nb + i];
        split_signed(load(b.qs), a.q[0], a.q[1]);
        split_signed(load(b.qs + 16), a.q[2], a.q[3]);
        int32_t sum = 0;
        if constexpr (F::kOffset != 0) {
          v128_t s = wasm_i32x4_dot_i16x8(a.q[0], ones);
          for (int k = 1; k < 4; ++k) s = wasm_i32x4_add(s, wasm_i32x4_dot_i16x8(a.q[k], ones));
          sum = wasm_i32x4_extract_lane(s, 0) + wasm_i32x4_extract_lane(s, 1) + wasm_i32x4_extract_lane(s, 2) +
                wasm_i32x4_extract_lane(s, 3);
        }
        a.offset = wasm_i32x4_make(-F::kOffset * sum, 0, 0, 0);
        a.d = scale(b.d);
        if constexpr (kHasMin) a.s = scale(b.s);
      }
    }
    return buffer.data();
  }

  template <int RW, int RA>
  static void run(const Tile& t) {
    v128_t acc[RW][RA];
    float sum_min[RW][RA];
    for (int r = 0; r < RW; ++r)
      for (int c = 0; c < RA; ++c) {
        acc[r][c] = wasm_f32x4_splat(0.f);
        sum_min[r][c] = 0;
      }
    for (int64_t i = 0; i < t.n / 32; ++i) {
      for (int r = 0; r < RW; ++r) {
        const typename F::W& b = block_at<typename F::W>(t.w, t.w_stride, r, i);
        Codes x;
        F::codes(b, x);
        const float dx = scale(b.d);
        for (int c = 0; c < RA; ++c) {
          const ActBlock& y = block_at<ActBlock>(t.a, t.a_stride, c, i);
          v128_t isum = wasm_i32x4_add(wasm_i32x4_dot_i16x8(x[0], y.q[0]), y.offset);
          for (int k = 1; k < 4; ++k) isum = wasm_i32x4_add(isum, wasm_i32x4_dot_i16x8(x[k], y.q[k]));
          acc[r][c] = wasm_f32x4_add(acc[r][c], wasm_f32x4_mul(wasm_f32x4_splat(dx * y.d), wasm_f32x4_convert_i32x4(isum)));
          if constexpr (kHasMin) sum_min[r][c] += scale(b.m) * y.s;
        }
      }
    }
    for (int c = 0; c < RA; ++c)
      for (int r = 0; r < RW; ++r) t.out[c * t.out_stride + r * t.out_w_step] = hsum(acc[r][c]) + sum_min[r][c];
  }
};

// Decode (one activation row): 4 weight rows at once. Prompts: each weight block's codes serve
// 4 activation rows.
template <class F>
void blocks32_tile(const Tile& t) {
  Tile split = t;
  split.a = reinterpret_cast<const uint8_t*>(Blocks32<F>::prepare(t));
  split.a_stride = static_cast<size_t>(t.n / 32) * sizeof(ActBlock);
  run_micro_tiles<Blocks32<F>, 1, 4, 4>(split);
}

// ---- K-quants against Q8_K -------------------------------------------------------------------

// One Q8_K activation block, split like the 32-element blocks' (ActBlock).
struct KActBlock {
  v128_t q[QK_K / 16][2];  // values 16k .. 16k + 15: even, then odd positions, as i16
  float d;
  int16_t bsums[QK_K / 16];
};

const KActBlock* prepare_k(const Tile& t) {
  thread_local std::vector<KActBlock> buffer;
  const int64_t nb = t.n / QK_K;
  buffer.resize(static_cast<size_t>(nb * t.n_a));
  for (int c = 0; c < t.n_a; ++c) {
    for (int64_t i = 0; i < nb; ++i) {
      const BlockQ8_K& b = block_at<BlockQ8_K>(t.a, t.a_stride, c, i);
      KActBlock& a = buffer[c * nb + i];
      for (int k = 0; k < QK_K / 16; ++k) split_signed(load(b.qs + 16 * k), a.q[k][0], a.q[k][1]);
      a.d = b.d;
      for (int k = 0; k < QK_K / 16; ++k) a.bsums[k] = b.bsums[k];
    }
  }
  return buffer.data();
}

// Products of a weight group's codes (even, odd) with activation group k, in 4 int32 lanes.
v128_t group_dot(v128_t even, v128_t odd, const KActBlock& y, int k) {
  return wasm_i32x4_add(wasm_i32x4_dot_i16x8(even, y.q[k][0]), wasm_i32x4_dot_i16x8(odd, y.q[k][1]));
}

// Q4_K and Q5_K: 4 chunks of 64 values; value l of a chunk has the low nibble of byte l, value
// 32 + l the high nibble (Q5_K adds bit 2 chunk (+1) of qh[l] as 16). Values 16 k .. 16 k + 15
// form group k of the activations.
template <class W>
struct K4or5 {
  static constexpr bool kQ5 = std::is_same_v<W, BlockQ5_K>;

  // Codes of chunk j, bytes 16 g .. 16 g + 15: out[0..1] values 64 j + 16 g + (0..15) (even,
  // odd), out[2..3] values 64 j + 32 + 16 g + (0..15).
  static void codes(const W& x, int j, int g, Codes out) {
    const v128_t b = load(x.qs + 32 * j + 16 * g);
    if constexpr (kQ5) {
      const v128_t h = load(x.qh + 16 * g);
      const v128_t bit4 = wasm_i8x16_splat(0x10);
      const v128_t lo = wasm_v128_or(wasm_v128_and(b, wasm_i8x16_splat(0x0F)),
                                     wasm_v128_and(wasm_i8x16_shl(wasm_u8x16_shr(h, 2 * j), 4), bit4));
      const v128_t hi = wasm_v128_or(wasm_u8x16_shr(b, 4), wasm_v128_and(wasm_i8x16_shl(wasm_u8x16_shr(h, 2 * j + 1), 4), bit4));
      split_unsigned(lo, out[0], out[1]);
      split_unsigned(hi, out[2], out[3]);
    } else {
      split_nibbles(b, out);
    }
  }

  template <int RW, int RA>
  static void run(const Tile& t) {
    v128_t acc[RW][RA];
    float sum_min[RW][RA];
    for (int r = 0; r < RW; ++r)
      for (int c = 0; c < RA; ++c) {
        acc[r][c] = wasm_f32x4_splat(0.f);
        sum_min[r][c] = 0;
      }
    for (int64_t i = 0; i < t.n / QK_K; ++i) {
      for (int r = 0; r < RW; ++r) {
        const W& x = block_at<W>(t.w, t.w_stride, r, i);
        uint8_t sc[8], mins[8];
        for (int j = 0; j < 8; ++j) k_scale_min(j, x.scales, sc[j], mins[j]);
        v128_t sumi[RA];
        for (int c = 0; c < RA; ++c) sumi[c] = wasm_i32x4_splat(0);
        for (int j = 0; j < 4; ++j) {  // 64 values: 32 low nibbles (scale 2 j), 32 high (2 j + 1)
          Codes x0, x1;
          codes(x, j, 0, x0);
          codes(x, j, 1, x1);
          for (int c = 0; c < RA; ++c) {
            const KActBlock& y = block_at<KActBlock>(t.a, t.a_stride, c, i);
            const v128_t lo = wasm_i32x4_add(group_dot(x0[0], x0[1], y, 4 * j), group_dot(x1[0], x1[1], y, 4 * j + 1));
            const v128_t hi = wasm_i32x4_add(group_dot(x0[2], x0[3], y, 4 * j + 2), group_dot(x1[2], x1[3], y, 4 * j + 3));
            sumi[c] = wasm_i32x4_add(sumi[c], wasm_i32x4_add(wasm_i32x4_mul(lo, wasm_i32x4_splat(sc[2 * j])),
                                                             wasm_i32x4_mul(hi, wasm_i32x4_splat(sc[2 * j + 1]))));
          }
        }
        const float dx = scale(x.d), dminx = scale(x.dmin);
        for (int c = 0; c < RA; ++c) {
          const KActBlock& y = block_at<KActBlock>(t.a, t.a_stride, c, i);
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

// Q6_K (layout in quantize_q6_k): codes minus 32, one scale per group of 16 values.
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
          for (int g = 0; g < 2; ++g) {  // q[k]: values 128 h + 32 k + 16 g + (0..15), group 8 h + 2 k + g
            const v128_t ql0 = load(x.ql + 64 * h + 16 * g), ql1 = load(x.ql + 64 * h + 32 + 16 * g);
            const v128_t qh = load(x.qh + 32 * h + 16 * g);
            const v128_t q[4] = {
                wasm_v128_or(wasm_v128_and(ql0, low4), wasm_i8x16_shl(wasm_v128_and(qh, low2), 4)),
                wasm_v128_or(wasm_v128_and(ql1, low4), wasm_i8x16_shl(wasm_v128_and(wasm_u8x16_shr(qh, 2), low2), 4)),
                wasm_v128_or(wasm_u8x16_shr(ql0, 4), wasm_i8x16_shl(wasm_v128_and(wasm_u8x16_shr(qh, 4), low2), 4)),
                wasm_v128_or(wasm_u8x16_shr(ql1, 4), wasm_i8x16_shl(wasm_u8x16_shr(qh, 6), 4)),
            };
            for (int k = 0; k < 4; ++k) {
              v128_t even, odd;
              split_signed(wasm_i8x16_sub(q[k], bias), even, odd);
              const int group = 8 * h + 2 * k + g;
              const v128_t group_scale = wasm_i32x4_splat(x.scales[group]);
              for (int c = 0; c < RA; ++c) {
                const KActBlock& y = block_at<KActBlock>(t.a, t.a_stride, c, i);
                sumi[c] = wasm_i32x4_add(sumi[c], wasm_i32x4_mul(group_dot(even, odd, y, group), group_scale));
              }
            }
          }
        }
        const float dx = scale(x.d);
        for (int c = 0; c < RA; ++c) {
          const float d = block_at<KActBlock>(t.a, t.a_stride, c, i).d * dx;
          acc[r][c] = wasm_f32x4_add(acc[r][c], wasm_f32x4_mul(wasm_f32x4_splat(d), wasm_f32x4_convert_i32x4(sumi[c])));
        }
      }
    }
    for (int c = 0; c < RA; ++c)
      for (int r = 0; r < RW; ++r) t.out[c * t.out_stride + r * t.out_w_step] = hsum(acc[r][c]);
  }
};

// Activations split once per tile call; one weight row at a time, its codes serving 4
// activation rows in prompts.
template <class Micro>
void k_tile(const Tile& t) {
  Tile split = t;
  split.a = reinterpret_cast<const uint8_t*>(prepare_k(t));
  split.a_stride = static_cast<size_t>(t.n / QK_K) * sizeof(KActBlock);
  run_micro_tiles<Micro, 1, 4>(split);
}

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
    case DType::Q4_0: return blocks32_tile<Q4_0>;
    case DType::Q4_1: return blocks32_tile<Q4_1>;
    case DType::Q5_0: return blocks32_tile<Q5_0>;
    case DType::Q5_1: return blocks32_tile<Q5_1>;
    case DType::Q8_0: return blocks32_tile<Q8_0>;
    case DType::Q4_K: return k_tile<K4or5<BlockQ4_K>>;
    case DType::Q5_K: return k_tile<K4or5<BlockQ5_K>>;
    case DType::Q6_K: return k_tile<Q6K>;
    default: return nullptr;
  }
}

}  // namespace weblm::cpu::kernels

#endif  // WEBLM_VEC_DOT_WASM
