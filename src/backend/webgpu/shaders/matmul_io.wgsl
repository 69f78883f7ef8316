// What matmul.wgsl and matvec_subgroups.wgsl share: parameters, the scratch arena, activations.

struct Params {
  k: u32,           // row length of w and x
  w_stride: u32,    // bytes between weight rows
  w_rows: u32,      // weight rows in this buffer (output columns)
  w_at: u32,        // byte of the buffer where the first of them starts
  x_at: u32,
  x_stride: u32,
  x_rows: u32,
  out_at: u32,      // output column of the buffer's first weight row
  out_stride: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> mem: array<f32>;

// Elements k..k+3 of activation row r; those at or past the row length read as 0.
fn x4(r: u32, k: u32) -> vec4<f32> {
  let at = p.x_at + r * p.x_stride + k;
  let v = vec4<f32>(mem[at], mem[at + 1u], mem[at + 2u], mem[at + 3u]);
  return select(vec4<f32>(0.0), v, vec4<u32>(k, k + 1u, k + 2u, k + 3u) < vec4<u32>(p.k));
}
