// out[r] = x[r] / rms(x[r]) * w, one workgroup per row; w is in `aux` (a weight) or in `mem`.
//!include grid.wgsl

struct Params {
  cols: u32,
  rows: u32,
  x_at: u32,
  x_stride: u32,
  out_at: u32,
  out_stride: u32,
  w_at: u32,
  w_in_aux: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> mem: array<f32>;
@group(0) @binding(3) var<storage, read> aux: array<u32>;

const THREADS: u32 = 64u;
var<workgroup> partial: array<f32, THREADS>;

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let r = workgroup_index(group, groups);
  if (r >= p.rows) {
    return;
  }
  let x = p.x_at + r * p.x_stride;
  var sum = 0.0;
  for (var c = lid; c < p.cols; c += THREADS) {
    sum += mem[x + c] * mem[x + c];
  }
  partial[lid] = sum;
  workgroupBarrier();
  for (var half = THREADS / 2u; half > 0u; half /= 2u) {
    if (lid < half) {
      partial[lid] += partial[lid + half];
    }
    workgroupBarrier();
  }
  let scale = 1.0 / sqrt(partial[0] / f32(p.cols) + p.eps);
  let out = p.out_at + r * p.out_stride;
  for (var c = lid; c < p.cols; c += THREADS) {
    let w = select(mem[p.w_at + c], bitcast<f32>(aux[p.w_at + c]), p.w_in_aux != 0u);
    mem[out + c] = (mem[x + c] * scale) * w;
  }
}
