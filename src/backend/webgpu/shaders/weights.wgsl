// Weights in their GGUF block layout (blocks of 18 or 34 bytes are not 4-byte aligned), read as
// little-endian u32 words; WEIGHT_TYPE (ggml's type number) picks the decoder when the pipeline
// is made, so each pipeline dequantizes one type with no branching.
//!include f16.wgsl

@group(0) @binding(3) var<storage, read> weights: array<u32>;

override WEIGHT_TYPE: u32 = 0u;

fn w_u8(b: u32) -> u32 {
  return (weights[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu;
}

// Every block field is at an even byte offset: 16 and 32-bit reads need at most two words.
fn w_u16(b: u32) -> u32 {
  return (weights[b >> 2u] >> ((b & 2u) * 8u)) & 0xffffu;
}

fn w_u32(b: u32) -> u32 {
  let i = b >> 2u;
  if ((b & 2u) == 0u) {
    return weights[i];
  }
  return (weights[i] >> 16u) | (weights[i + 1u] << 16u);
}

fn w_f16(b: u32) -> f32 {
  return f16_bits_to_f32(w_u16(b));
}

fn bytes4(q: u32) -> vec4<u32> {
  return vec4<u32>(q, q >> 8u, q >> 16u, q >> 24u) & vec4<u32>(0xffu);
}

fn signed_bytes4(q: u32) -> vec4<f32> {
  return vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(q << 24u, q << 16u, q << 8u, q)) >> vec4<u32>(24u));
}

// The low (high) nibbles of 4 bytes: elements j (j + 16) of a 32-element block.
fn nibbles4(q: u32, high: bool) -> vec4<u32> {
  return (bytes4(q) >> vec4<u32>(select(0u, 4u, high))) & vec4<u32>(0xfu);
}

// Elements at or past the row length n read as 0 (only plain float rows have n % 4 != 0).
fn in_row(k: u32, n: u32) -> vec4<bool> {
  return vec4<u32>(k, k + 1u, k + 2u, k + 3u) < vec4<u32>(n);
}

fn w4_f32(row: u32, k: u32, n: u32) -> vec4<f32> {
  let i = (row >> 2u) + k;
  let v = vec4<f32>(bitcast<f32>(weights[i]), bitcast<f32>(weights[i + 1u]), bitcast<f32>(weights[i + 2u]),
                    bitcast<f32>(weights[i + 3u]));
  return select(vec4<f32>(0.0), v, in_row(k, n));
}

fn w4_half(row: u32, k: u32, n: u32, brain: bool) -> vec4<f32> {
  let lo = w_u32(row + 2u * k);
  let hi = w_u32(row + 2u * k + 4u);
  let h = vec4<u32>(lo & 0xffffu, lo >> 16u, hi & 0xffffu, hi >> 16u);
  var v: vec4<f32>;
  if (brain) {
    v = bitcast<vec4<f32>>(h << vec4<u32>(16u));
  } else {
    v = vec4<f32>(f16_bits_to_f32(h.x), f16_bits_to_f32(h.y), f16_bits_to_f32(h.z), f16_bits_to_f32(h.w));
  }
  return select(vec4<f32>(0.0), v, in_row(k, n));
}

// x = (q - 8) * d
fn w4_q4_0(row: u32, k: u32) -> vec4<f32> {
  let base = row + (k / 32u) * 18u;
  let i = k % 32u;
  let q = nibbles4(w_u32(base + 2u + (i % 16u)), i >= 16u);
  return (vec4<f32>(q) - 8.0) * w_f16(base);
}

// x = q * d + m
fn w4_q4_1(row: u32, k: u32) -> vec4<f32> {
  let base = row + (k / 32u) * 20u;
  let i = k % 32u;
  let q = nibbles4(w_u32(base + 4u + (i % 16u)), i >= 16u);
  return vec4<f32>(q) * w_f16(base) + w_f16(base + 2u);
}

// Bit 4 of element i of a Q5 block is bit i of qh.
fn q5_high4(qh: u32, i: u32) -> vec4<u32> {
  return ((vec4<u32>(qh) >> vec4<u32>(i, i + 1u, i + 2u, i + 3u)) & vec4<u32>(1u)) << vec4<u32>(4u);
}

// x = (q - 16) * d
fn w4_q5_0(row: u32, k: u32) -> vec4<f32> {
  let base = row + (k / 32u) * 22u;
  let i = k % 32u;
  let q = nibbles4(w_u32(base + 6u + (i % 16u)), i >= 16u) | q5_high4(w_u32(base + 2u), i);
  return (vec4<f32>(q) - 16.0) * w_f16(base);
}

// x = q * d + m
fn w4_q5_1(row: u32, k: u32) -> vec4<f32> {
  let base = row + (k / 32u) * 24u;
  let i = k % 32u;
  let q = nibbles4(w_u32(base + 8u + (i % 16u)), i >= 16u) | q5_high4(w_u32(base + 4u), i);
  return vec4<f32>(q) * w_f16(base) + w_f16(base + 2u);
}

fn w4_q8_0(row: u32, k: u32) -> vec4<f32> {
  let base = row + (k / 32u) * 34u;
  return signed_bytes4(w_u32(base + 2u + (k % 32u))) * w_f16(base);
}

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K block, packed in 12 bytes at s.
fn k4_scale_min(s: u32, j: u32) -> vec2<f32> {
  if (j < 4u) {
    return vec2<f32>(f32(w_u8(s + j) & 63u), f32(w_u8(s + j + 4u) & 63u));
  }
  let b = w_u8(s + j + 4u);
  return vec2<f32>(f32((b & 0xfu) | ((w_u8(s + j - 4u) >> 6u) << 4u)), f32((b >> 4u) | ((w_u8(s + j) >> 6u) << 4u)));
}

// Elements 64p .. 64p+63 of a block: the low nibbles of 32 bytes, then their high nibbles, each
// half with its own scale and min. Q5_K adds bit 2p (low half) or 2p+1 (high half) of qh.
fn w4_k_quant(row: u32, k: u32, block_bytes: u32, qs_at: u32, qh_at: u32) -> vec4<f32> {
  let base = row + (k / 256u) * block_bytes;
  let e = k % 256u;
  let pair = e / 64u;
  let high = (e % 64u) >= 32u;
  let l = e % 32u;
  var q = nibbles4(w_u32(base + qs_at + pair * 32u + l), high);
  if (qh_at != 0u) {
    let bit = 2u * pair + select(0u, 1u, high);
    q |= ((bytes4(w_u32(base + qh_at + l)) >> vec4<u32>(bit)) & vec4<u32>(1u)) << vec4<u32>(4u);
  }
  let sm = k4_scale_min(base + 4u, 2u * pair + select(0u, 1u, high));
  let d = w_f16(base) * sm.x;
  let m = w_f16(base + 2u) * sm.y;
  return d * vec4<f32>(q) - m;
}

// Q6_K: per 128 elements, 4 runs of 32: low nibbles of ql[0..32), of ql[32..64), high nibbles of
// the same, each with 2 bits of qh[0..32) (bits 0-1, 2-3, 4-5, 6-7), 16 elements per 8-bit scale.
fn w4_q6_k(row: u32, k: u32) -> vec4<f32> {
  let base = row + (k / 256u) * 210u;
  let e = k % 256u;
  let n = e / 128u;
  let run = (e % 128u) / 32u;
  let l = e % 32u;
  let low = nibbles4(w_u32(base + 64u * n + 32u * (run & 1u) + l), run >= 2u);
  let high = (bytes4(w_u32(base + 128u + 32u * n + l)) >> vec4<u32>(2u * run)) & vec4<u32>(3u);
  let q = vec4<f32>(vec4<i32>(low | (high << vec4<u32>(4u))) - vec4<i32>(32));
  let scale = f32(bitcast<i32>(w_u8(base + 192u + 8u * n + l / 16u + 2u * run) << 24u) >> 24u);
  return w_f16(base + 208u) * scale * q;
}

// Elements k..k+3 (k % 4 == 0) of the weight row that starts at byte `row`; n = row length.
fn weight4(row: u32, k: u32, n: u32) -> vec4<f32> {
  switch (WEIGHT_TYPE) {
    case 1u: { return w4_half(row, k, n, false); }
    case 30u: { return w4_half(row, k, n, true); }
    case 2u: { return w4_q4_0(row, k); }
    case 3u: { return w4_q4_1(row, k); }
    case 6u: { return w4_q5_0(row, k); }
    case 7u: { return w4_q5_1(row, k); }
    case 8u: { return w4_q8_0(row, k); }
    case 12u: { return w4_k_quant(row, k, 144u, 16u, 0u); }
    case 13u: { return w4_k_quant(row, k, 176u, 48u, 16u); }
    case 14u: { return w4_q6_k(row, k); }
    default: { return w4_f32(row, k, n); }
  }
}
