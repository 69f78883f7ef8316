// k_cache[batch KV row of t] = k[t], likewise v.
//!include batch.wgsl
//!include grid.wgsl

struct Params {
  n_tokens: u32,
  k_cols: u32,
  v_cols: u32,
  k_at: u32,
  k_stride: u32,
  v_at: u32,
  v_stride: u32,
  k_cache_at: u32,
  k_cache_stride: u32,
  v_cache_at: u32,
  v_cache_stride: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> mem: array<f32>;
@group(0) @binding(4) var<storage, read_write> k_cache: array<f32>;
@group(0) @binding(5) var<storage, read_write> v_cache: array<f32>;

@compute @workgroup_size(ELEMENT_THREADS)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let width = max(p.k_cols, p.v_cols);
  let i = element_index(group, groups, lid);
  if (i >= p.n_tokens * width) {
    return;
  }
  let t = i / width;
  let c = i % width;
  let row = batch_kv_row(t);
  if (c < p.k_cols) {
    k_cache[p.k_cache_at + row * p.k_cache_stride + c] = mem[p.k_at + t * p.k_stride + c];
  }
  if (c < p.v_cols) {
    v_cache[p.v_cache_at + row * p.v_cache_stride + c] = mem[p.v_at + t * p.v_stride + c];
  }
}
