// AVX2 + FMA + F16C kernels. For quantized weights each (weight row, activation row) pair
// computes exactly what ggml-cpu's AVX2 build computes (same integer lanes, same float
// accumulation, FMAs where its compiler fused, same final horizontal sum), so the results are
// bit-identical to its vec_dot; the micro-tiles only share the weight decoding between rows.
// Float weights sum in their own order (within float rounding of ggml's).
#include "backend/cpu/vec_dot_kernels.h"

#if WEBLM_VEC_DOT_AVX2

#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <type_traits>

#include "format/quants.h"

namespace weblm::cpu::kernels {

namespace {

float f16(f16_bits h) { return _cvtsh_ss(h); }

// ((x0 + x4) + (x2 + x6)) + ((x1 + x5) + (x3 + x7))
float hsum(__m256 x) {
  __m128 r = _mm_add_ps(_mm256_extractf128_ps(x, 1), _mm256_castps256_ps128(x));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

// (x0 + x2) + (x1 + x3)
float hsum(__m128 x) {
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

int hsum(__m128i x) {
  x = _mm_add_epi32(x, _mm_unpackhi_epi64(x, x));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(x);
}

__m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
__m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// Sums of 4 adjacent products u8 x i8 into 8 int32 lanes.
__m256i dot_u8_i8(__m256i u, __m256i s) { return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)); }

// acc + dot_u8_i8(u, s). VNNI does it in one instruction with the same lanes: maddubs's int16
// pair sums cannot saturate for the codes used here (|u| <= 128, |s| <= 128 and not both 128).
__m256i dot_u8_i8_acc(__m256i acc, __m256i u, __m256i s) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
  return _mm256_dpbusd_epi32(acc, u, s);
#elif defined(__AVXVNNI__)
  return _mm256_dpbusd_avx_epi32(acc, u, s);
#else
  return _mm256_add_epi32(acc, dot_u8_i8(u, s));
#endif
}

// 16 bytes of nibbles -> 32 bytes: the low nibbles, then the high nibbles.
__m256i unpack_nibbles(const uint8_t* q) {
  const __m128i v = load128(q);
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), _mm256_set1_epi8(0x0F));
}

// Byte j = 0xFF where bit j of the little-endian 32-bit word at p is set, else 0.
__m256i expand_bits(const uint8_t* p) {
  uint32_t bits;
  std::memcpy(&bits, p, sizeof bits);
  const __m256i byte_of_bit = _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303);
  const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), byte_of_bit);
  const __m256i bit_of_byte = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201));
  return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit_of_byte), bit_of_byte);
}

// ---- 32-element blocks -----------------------------------------------------------------------

// Codes as maddubs wants them, unsigned: value = d (code - kOffset) (+ m for Q4_1/Q5_1, whose
// activations are Q8_1). Q8_0's codes are signed: its signs move onto the activations instead.
struct Q4_0 {
  using W = BlockQ4_0;
  using A = BlockQ8_0;
  static constexpr int kOffset = 8;
  static __m256i codes(const W& b) { return unpack_nibbles(b.qs); }
};
// 5-bit codes: the nibbles plus 16 where the bit in qh is set.
__m256i codes5(const uint8_t* qh, const uint8_t* qs) {
  return _mm256_or_si256(unpack_nibbles(qs), _mm256_and_si256(expand_bits(qh), _mm256_set1_epi8(0x10)));
}
struct Q5_0 {
  using W = BlockQ5_0;
  using A = BlockQ8_0;
  static constexpr int kOffset = 16;
  static __m256i codes(const W& b) { return codes5(b.qh, b.qs); }
};
struct Q8_0 {
  using W = BlockQ8_0;
  using A = BlockQ8_0;
  static constexpr int kOffset = -1;  // signed codes
  static __m256i codes(const W& b) { return load256(b.qs); }
};
struct Q4_1 {
  using W = BlockQ4_1;
  using A = BlockQ8_1;
  static constexpr int kOffset = 0;
  static __m256i codes(const W& b) { return unpack_nibbles(b.qs); }
};
struct Q5_1 {
  using W = BlockQ5_1;
  using A = BlockQ8_1;
  static constexpr int kOffset = 0;
  static __m256i codes(const W& b) { return codes5(b.qh, b.qs); }
};

// f16 broadcast to 8 floats.
__m256 splat_f16(f16_bits h) { return _mm256_cvtph_ps(_mm_set1_epi16(static_cast<short>(h))); }

// Per pair of blocks: 8 int32 lanes, each the sum of 4 adjacent code * activation products
// (ggml's lanes), converted to float and accumulated with one FMA by d_w * d_a. The offset of
// Q4_0/Q5_0 comes off each lane as kOffset * (sum of its 4 activations).
template <class F>
struct Blocks32 {
  static constexpr bool kHasMin = std::is_same_v<typename F::A, BlockQ8_1>;

  template <int RW, int RA>
  static void run(const Tile& t) {
    using W = typename F::W;
    using A = typename F::A;
    __m256 acc[RW][RA];
    float sum_min[RW][RA];
    for (int r = 0; r < RW; ++r)
      for (int c = 0; c < RA; ++c) {
        acc[r][c] = _mm256_setzero_ps();
        sum_min[r][c] = 0;
      }
    for (int64_t i = 0; i < t.n / 32; ++i) {
      __m256i qy[RA], minus_offset[RA];
      __m256 dy[RA];
      float sy[RA];
      for (int c = 0; c < RA; ++c) {
        const A& y = block_at<A>(t.a, t.a_stride, c, i);
        qy[c] = load256(y.qs);
        dy[c] = splat_f16(y.d);
        minus_offset[c] = _mm256_setzero_si256();
        if constexpr (F::kOffset > 0)
          minus_offset[c] = _mm256_sub_epi32(minus_offset[c], dot_u8_i8(_mm256_set1_epi8(F::kOffset), qy[c]));
        if constexpr (kHasMin) sy[c] = f16(y.s);
      }
      for (int r = 0; r < RW; ++r) {
        const W& x = block_at<W>(t.w, t.w_stride, r, i);
        const __m256i qx = F::codes(x);
        const __m256 dx = splat_f16(x.d);
        for (int c = 0; c < RA; ++c) {
          const __m256i p = F::kOffset < 0
                                ? dot_u8_i8_acc(minus_offset[c], _mm256_sign_epi8(qx, qx), _mm256_sign_epi8(qy[c], qx))
                                : dot_u8_i8_acc(minus_offset[c], qx, qy[c]);
          acc[r][c] = _mm256_fmadd_ps(_mm256_mul_ps(dx, dy[c]), _mm256_cvtepi32_ps(p), acc[r][c]);
          if constexpr (kHasMin) sum_min[r][c] = std::fma(f16(x.m), sy[c], sum_min[r][c]);
        }
      }
    }
    for (int c = 0; c < RA; ++c)
      for (int r = 0; r < RW; ++r) t.out[c * t.out_stride + r * t.out_w_step] = hsum(acc[r][c]) + sum_min[r][c];
  }
};

// ---- K-quants ------------------------------------------------------------------------------

// Q4_K/Q5_K scales and mins as 16 bytes: the 8 scales, then the 8 mins.
__m128i k_scales_mins(const uint8_t* packed) {
  uint32_t u[4];
  std::memcpy(u, packed, 12);
  constexpr uint32_t low6 = 0x3F3F3F3F, low4 = 0x0F0F0F0F, low2 = 0x03030303;
  u[3] = ((u[2] >> 4) & low4) | (((u[1] >> 6) & low2) << 4);  // mins 4-7
  const uint32_t mins_0_3 = u[1] & low6;
  u[1] = (u[2] & low4) | (((u[0] >> 6) & low2) << 4);  // scales 4-7
  u[2] = mins_0_3;
  u[0] &= low6;  // scales 0-3
  return load128(u);
}

// int16 lanes all equal to 16-bit element k of v (k < 8, either 128-bit half).
__m256i broadcast_i16(__m256i v, int k) {
  const __m256i pick = _mm256_set1_epi16(static_cast<int16_t>((2 * k) | ((2 * k + 1) << 8)));
  return _mm256_shuffle_epi8(v, pick);
}

// Sums of adjacent pairs of Q8_K's 16 bsums: the sums of its 8 sub-blocks of 32.
__m128i q8k_sums32(const BlockQ8_K& y) {
  const __m256i bsums = load256(y.bsums);
  return _mm_hadd_epi16(_mm256_castsi256_si128(bsums), _mm256_extracti128_si256(bsums, 1));
}

// Q4_K and Q5_K: 4 chunks of 64 values; value l of a chunk has the low nibble of byte l, value
// 32 + l the high nibble (Q5_K adds bit 2 chunk (+1) of qh[l] as 16).
template <class W>
struct K4or5 {
  static constexpr bool kQ5 = std::is_same_v<W, BlockQ5_K>;

  template <int RW, int RA>
  static void run(const Tile& t) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m256 acc[RW][RA];
    __m128 acc_min[RW][RA];  // Q4_K: 4 lanes of min terms
    float sum_min[RW][RA];   // Q5_K: min terms summed as a scalar
    for (int r = 0; r < RW; ++r)
      for (int c = 0; c < RA; ++c) {
        acc[r][c] = _mm256_setzero_ps();
        acc_min[r][c] = _mm_setzero_ps();
        sum_min[r][c] = 0;
      }
    for (int64_t i = 0; i < t.n / QK_K; ++i) {
      for (int r = 0; r < RW; ++r) {
        const W& x = block_at<W>(t.w, t.w_stride, r, i);
        const __m256i scales_mins = _mm256_cvtepu8_epi16(k_scales_mins(x.scales));
        const __m256i scales = _mm256_permute2x128_si256(scales_mins, scales_mins, 0x00);
        const __m128i mins = _mm256_extracti128_si256(scales_mins, 1);
        __m256i high_bits;
        if constexpr (kQ5) high_bits = load256(x.qh);
        __m256i sumi[RA];
        for (int c = 0; c < RA; ++c) sumi[c] = _mm256_setzero_si256();
        for (int j = 0; j < 4; ++j) {
          const __m256i scale_lo = broadcast_i16(scales, 2 * j);
          const __m256i scale_hi = broadcast_i16(scales, 2 * j + 1);
          const __m256i bits = load256(x.qs + 32 * j);
          __m256i q_lo = _mm256_and_si256(bits, low4);
          __m256i q_hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), low4);
          if constexpr (kQ5) {
            const __m256i bit4 = _mm256_set1_epi8(0x10);
            q_lo = _mm256_add_epi8(q_lo, _mm256_and_si256(_mm256_slli_epi16(high_bits, 4), bit4));
            q_hi = _mm256_add_epi8(q_hi, _mm256_and_si256(_mm256_slli_epi16(high_bits, 3), bit4));
            high_bits = _mm256_srli_epi16(high_bits, 2);
          }
          for (int c = 0; c < RA; ++c) {
            const BlockQ8_K& y = block_at<BlockQ8_K>(t.a, t.a_stride, c, i);
            const __m256i p_lo = _mm256_madd_epi16(scale_lo, _mm256_maddubs_epi16(q_lo, load256(y.qs + 64 * j)));
            const __m256i p_hi = _mm256_madd_epi16(scale_hi, _mm256_maddubs_epi16(q_hi, load256(y.qs + 64 * j + 32)));
            sumi[c] = _mm256_add_epi32(sumi[c], _mm256_add_epi32(p_lo, p_hi));
          }
        }
        const float dx = f16(x.d), dminx = f16(x.dmin);
        for (int c = 0; c < RA; ++c) {
          const BlockQ8_K& y = block_at<BlockQ8_K>(t.a, t.a_stride, c, i);
          const float d = y.d * dx;
          const float dmin = -y.d * dminx;
          const __m128i prod = _mm_madd_epi16(mins, q8k_sums32(y));
          if constexpr (kQ5) {
            sum_min[r][c] = std::fma(dmin, static_cast<float>(hsum(prod)), sum_min[r][c]);
          } else {
            acc_min[r][c] = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(prod), acc_min[r][c]);
          }
          acc[r][c] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi[c]), acc[r][c]);
        }
      }
    }
    for (int c = 0; c < RA; ++c)
      for (int r = 0; r < RW; ++r)
        t.out[c * t.out_stride + r * t.out_w_step] = hsum(acc[r][c]) + (kQ5 ? sum_min[r][c] : hsum(acc_min[r][c]));
  }
};

// Q6_K: per 128 values, ql holds the low nibbles of values l (low) and 64 + l (high) in byte l,
// of 32 + l and 96 + l in byte 32 + l; qh[l] holds the 2 high bits of l, 32 + l, 64 + l, 96 + l.
// Codes are used unsigned (0..63) and 32 * sum(scale * bsum) is subtracted.
struct Q6K {
  template <int RW, int RA>
  static void run(const Tile& t) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m256 acc[RW][RA];
    for (int r = 0; r < RW; ++r)
      for (int c = 0; c < RA; ++c) acc[r][c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < t.n / QK_K; ++i) {
      for (int r = 0; r < RW; ++r) {
        const BlockQ6_K& x = block_at<BlockQ6_K>(t.w, t.w_stride, r, i);
        const __m128i scales = load128(x.scales);
        __m256i sumi[RA];
        for (int c = 0; c < RA; ++c) sumi[c] = _mm256_setzero_si256();
        for (int h = 0; h < 2; ++h) {
          const __m256i ql0 = load256(x.ql + 64 * h);
          const __m256i ql1 = load256(x.ql + 64 * h + 32);
          const __m256i qh = load256(x.qh + 32 * h);
          const __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(0x03)), 4);
          const __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(0x0C)), 2);
          const __m256i h2 = _mm256_and_si256(qh, _mm256_set1_epi8(0x30));
          const __m256i h3 = _mm256_srli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(static_cast<char>(0xC0))), 2);
          const __m256i q[4] = {
              _mm256_or_si256(_mm256_and_si256(ql0, low4), h0),
              _mm256_or_si256(_mm256_and_si256(ql1, low4), h1),
              _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4), h2),
              _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4), h3),
          };
          // Quarter k of this half covers sub-blocks 8 h + 2 k and 8 h + 2 k + 1 (16 values each).
          __m256i scale[4];
          for (int k = 0; k < 4; ++k) {
            const int s = 8 * h + 2 * k;
            const __m128i pick = _mm_set_epi64x(0x0101010101010101LL * (s + 1), 0x0101010101010101LL * s);
            scale[k] = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, pick));
          }
          for (int c = 0; c < RA; ++c) {
            const BlockQ8_K& y = block_at<BlockQ8_K>(t.a, t.a_stride, c, i);
            const int8_t* q8 = y.qs + 128 * h;
            __m256i p[4];
            for (int k = 0; k < 4; ++k)
              p[k] = _mm256_madd_epi16(scale[k], _mm256_maddubs_epi16(q[k], load256(q8 + 32 * k)));
            sumi[c] = _mm256_add_epi32(sumi[c], _mm256_add_epi32(p[0], p[1]));
            sumi[c] = _mm256_add_epi32(sumi[c], _mm256_add_epi32(p[2], p[3]));
          }
        }
        const __m256i scales16 = _mm256_cvtepi8_epi16(scales);
        const float dx = f16(x.d);
        for (int c = 0; c < RA; ++c) {
          const BlockQ8_K& y = block_at<BlockQ8_K>(t.a, t.a_stride, c, i);
          const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(load256(y.bsums), scales16), 5);
          const __m256i s = _mm256_sub_epi32(sumi[c], offset);
          acc[r][c] = _mm256_fmadd_ps(_mm256_set1_ps(y.d * dx), _mm256_cvtepi32_ps(s), acc[r][c]);
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
  static __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
  static float load1(float v) { return v; }
};
struct F16 {
  using T = f16_bits;
  static __m256 load8(const f16_bits* p) { return _mm256_cvtph_ps(load128(p)); }
  static float load1(f16_bits v) { return f16(v); }
};
struct BF16 {
  using T = bf16_bits;
  static __m256 load8(const bf16_bits* p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(p)), 16));
  }
  static float load1(bf16_bits v) { return bf16_to_f32(v); }
};

// Two accumulators per pair (alternate groups of 8) halve the FMA latency chain of a single
// pair; the tail below 8 is summed in scalar.
template <class E>
struct Floats {
  template <int RW, int RA>
  static void run(const Tile& t) {
    using T = typename E::T;
    const T* x[RW];
    const T* y[RA];
    for (int r = 0; r < RW; ++r) x[r] = reinterpret_cast<const T*>(t.w + r * t.w_stride);
    for (int c = 0; c < RA; ++c) y[c] = reinterpret_cast<const T*>(t.a + c * t.a_stride);
    __m256 acc[RW][RA][2];
    for (int r = 0; r < RW; ++r)
      for (int c = 0; c < RA; ++c) acc[r][c][0] = acc[r][c][1] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= t.n; i += 16) {
      __m256 a0[RA], a1[RA];
      for (int c = 0; c < RA; ++c) {
        a0[c] = E::load8(y[c] + i);
        a1[c] = E::load8(y[c] + i + 8);
      }
      for (int r = 0; r < RW; ++r) {
        const __m256 w0 = E::load8(x[r] + i), w1 = E::load8(x[r] + i + 8);
        for (int c = 0; c < RA; ++c) {
          acc[r][c][0] = _mm256_fmadd_ps(w0, a0[c], acc[r][c][0]);
          acc[r][c][1] = _mm256_fmadd_ps(w1, a1[c], acc[r][c][1]);
        }
      }
    }
    if (i + 8 <= t.n) {
      for (int r = 0; r < RW; ++r) {
        const __m256 w0 = E::load8(x[r] + i);
        for (int c = 0; c < RA; ++c) acc[r][c][0] = _mm256_fmadd_ps(w0, E::load8(y[c] + i), acc[r][c][0]);
      }
      i += 8;
    }
    for (int c = 0; c < RA; ++c) {
      for (int r = 0; r < RW; ++r) {
        float sum = hsum(_mm256_add_ps(acc[r][c][0], acc[r][c][1]));
        for (int64_t k = i; k < t.n; ++k) sum += E::load1(x[r][k]) * E::load1(y[c][k]);
        t.out[c * t.out_stride + r * t.out_w_step] = sum;
      }
    }
  }
};

}  // namespace

// AVX-512 gives the compiler 32 vector registers: enough accumulators for 4x4 tiles of 32-element
// blocks, which halves the weight decoding per product.
// Likewise 4 weight rows per float tile (whose activations, read again for every group of weight
// rows, are what the prompt kernel waits on).
#ifdef __AVX512F__
constexpr int kBlocks32Acts = 4;
constexpr int kFloatRows = 4;
#else
constexpr int kBlocks32Acts = 2;
constexpr int kFloatRows = 2;
#endif

TileFn avx2_tile(DType weight) {
  switch (weight) {
    case DType::F32: return run_micro_tiles<Floats<F32>, kFloatRows, 2, 4>;
    case DType::F16: return run_micro_tiles<Floats<F16>, kFloatRows, 2, 4>;
    case DType::BF16: return run_micro_tiles<Floats<BF16>, kFloatRows, 2, 4>;
    case DType::Q4_0: return run_micro_tiles<Blocks32<Q4_0>, 4, kBlocks32Acts>;
    case DType::Q4_1: return run_micro_tiles<Blocks32<Q4_1>, 4, kBlocks32Acts>;
    case DType::Q5_0: return run_micro_tiles<Blocks32<Q5_0>, 4, kBlocks32Acts>;
    case DType::Q5_1: return run_micro_tiles<Blocks32<Q5_1>, 4, kBlocks32Acts>;
    case DType::Q8_0: return run_micro_tiles<Blocks32<Q8_0>, 4, kBlocks32Acts>;
    case DType::Q4_K: return run_micro_tiles<K4or5<BlockQ4_K>, 2, 4>;
    case DType::Q5_K: return run_micro_tiles<K4or5<BlockQ5_K>, 2, 4>;
    case DType::Q6_K: return run_micro_tiles<Q6K, 2, 4>;
    default: return nullptr;
  }
}

}  // namespace weblm::cpu::kernels

#endif  // WEBLM_VEC_DOT_AVX2
