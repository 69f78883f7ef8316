// out[t] = table[batch token t] * scale, over the table rows one weight buffer holds (large
// tables are split across buffers; each buffer's dispatch fills the tokens whose row it has).
//!include weights.wgsl
//!include batch.wgsl

struct Params {
  cols: u32,
  n_tokens: u32,
  row_stride: u32,  // bytes
  first_row: u32,   // table row of the buffer's first row
  n_rows: u32,      // rows in this buffer
  w_at: u32,        // byte of the buffer where its first row starts
  out_at: u32,
  out_stride: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> mem: array<f32>;

// x: 4-element groups of a row, y: tokens.
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let k = id.x * 4u;
  let t = id.y;
  if (k >= p.cols || t >= p.n_tokens) {
    return;
  }
  let token = batch_token(t);
  if (token < p.first_row || token >= p.first_row + p.n_rows) {
    return;
  }
  let v = weight4(p.w_at + (token - p.first_row) * p.row_stride, k, p.cols) * p.scale;
  let out = p.out_at + t * p.out_stride + k;
  for (var i = 0u; i < 4u && k + i < p.cols; i++) {
    mem[out + i] = v[i];
  }
}
