// Row-wise elementwise ops; OP picks one when the pipeline is made:
//   0 add       out = a + b (b one row: broadcast, b_stride 0)
//   1 glu silu  out = silu(a) * b
//   2 glu gelu  out = gelu(a) * b, gelu through ggml's table of f16 results (bound as aux)
//   3 softcap   out = cap * tanh(a / cap)
// b is in `mem` or, when b_in_aux, in `aux` (a weight: biases).
//!include f16.wgsl
//!include math.wgsl
//!include grid.wgsl

override OP: u32 = 0u;

struct Params {
  cols: u32,
  rows: u32,
  out_at: u32,
  out_stride: u32,
  a_at: u32,
  a_stride: u32,
  b_at: u32,
  b_stride: u32,
  b_in_aux: u32,
  cap: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> mem: array<f32>;
@group(0) @binding(3) var<storage, read> aux: array<u32>;

// ggml's GELU: 0 below -10, x above 10, else the table's f16 result for the f16 input.
fn gelu_table(x: f32) -> f32 {
  if (x <= -10.0) {
    return 0.0;
  }
  if (x >= 10.0) {
    return x;
  }
  let h = f32_to_f16_bits(x);
  return f16_bits_to_f32((aux[h / 2u] >> (16u * (h % 2u))) & 0xffffu);
}

@compute @workgroup_size(ELEMENT_THREADS)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = element_index(group, groups, lid);
  if (i >= p.cols * p.rows) {
    return;
  }
  let r = i / p.cols;
  let c = i % p.cols;
  let a = mem[p.a_at + r * p.a_stride + c];
  var b = 0.0;
  if (OP != 3u) {
    let b_at = p.b_at + r * p.b_stride + c;
    b = select(mem[b_at], bitcast<f32>(aux[b_at]), p.b_in_aux != 0u);
  }
  var v: f32;
  switch (OP) {
    case 0u: { v = a + b; }
    case 1u: { v = a / (1.0 + exp(-a)) * b; }
    case 2u: { v = gelu_table(a) * b; }
    default: { v = soft_cap(a, p.cap); }
  }
  mem[p.out_at + r * p.out_stride + c] = v;
}
