// out[i] = x[batch output row i]
//!include batch.wgsl
//!include grid.wgsl

struct Params {
  n_out: u32,
  cols: u32,
  x_at: u32,
  x_stride: u32,
  out_at: u32,
  out_stride: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> mem: array<f32>;

@compute @workgroup_size(ELEMENT_THREADS)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = element_index(group, groups, lid);
  if (i >= p.n_out * p.cols) {
    return;
  }
  let r = i / p.cols;
  let c = i % p.cols;
  mem[p.out_at + r * p.out_stride + c] = mem[p.x_at + batch_output_row(r) * p.x_stride + c];
}
