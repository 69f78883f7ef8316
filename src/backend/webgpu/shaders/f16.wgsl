// Half-precision conversions in integer arithmetic, so they need no `shader-f16` and round
// exactly like the CPU backend (ggml): round to nearest even, subnormals kept.

// The f16 bits (low 16 bits of the result) nearest to x.
fn f32_to_f16_bits(x: f32) -> u32 {
  let u = bitcast<u32>(x);
  let sign = (u >> 16u) & 0x8000u;
  let a = u & 0x7fffffffu;
  if (a >= 0x7f800000u) {  // inf, or NaN kept quiet
    return sign | select(0x7c00u, 0x7e00u, a > 0x7f800000u);
  }
  if (a >= 0x477ff000u) {  // at or past 65520: rounds to infinity
    return sign | 0x7c00u;
  }
  if (a >= 0x38800000u) {  // normal f16: drop 13 mantissa bits, round half to even, rebias
    let rounded = a + 0xfffu + ((a >> 13u) & 1u);
    return sign | ((rounded - 0x38000000u) >> 13u);
  }
  // Subnormal f16 (or zero): the value in units of 2^-24 is mantissa24 >> (126 - exponent).
  let shift = 126u - (a >> 23u);
  if (shift > 24u) {
    return sign;
  }
  let mantissa = (a & 0x7fffffu) | 0x800000u;
  let q = mantissa >> shift;
  let rest = mantissa & ((1u << shift) - 1u);
  let half = 1u << (shift - 1u);
  return sign | (q + select(0u, 1u, rest > half || (rest == half && (q & 1u) == 1u)));
}

// Exact for every input; unpack2x16float may flush subnormals on some devices.
fn f16_bits_to_f32(h: u32) -> f32 {
  let sign = (h & 0x8000u) << 16u;
  let exponent = (h >> 10u) & 0x1fu;
  let mantissa = h & 0x3ffu;
  if (exponent == 0u) {  // zero or subnormal: mantissa * 2^-24, exact in f32
    return bitcast<f32>(sign | bitcast<u32>(f32(mantissa) * 5.9604644775390625e-8));
  }
  let biased = select(exponent + 112u, 255u, exponent == 31u);  // 31: infinity or NaN
  return bitcast<f32>(sign | (biased << 23u) | (mantissa << 13u));
}

fn bf16_bits_to_f32(h: u32) -> f32 {
  return bitcast<f32>(h << 16u);
}
