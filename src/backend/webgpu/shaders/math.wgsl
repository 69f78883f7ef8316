// tanh without overflow: exp of a large argument is inf, and inf / inf would be NaN.
fn tanh_finite(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - e) / (1.0 + e);
}

// The CPU backend's soft-capping (ggml's order): scale by 1/cap, tanh, scale by cap.
fn soft_cap(x: f32, cap: f32) -> f32 {
  return tanh_finite(x * (1.0 / cap)) * cap;
}
