// Rotates pairs of each head of x in place by its token's angles. The host computes cos/sin per
// (token, pair) exactly as the CPU backend does and puts them in the batch buffer, so angles of
// large positions need no range reduction here.
//!include batch.wgsl
//!include grid.wgsl

struct Params {
  n_tokens: u32,
  n_heads: u32,
  head_dim: u32,
  n_pairs: u32,    // n_rot / 2
  adjacent: u32,   // 1: pairs (2i, 2i+1); 0: pairs (i, i + n_rot/2)
  x_at: u32,
  x_stride: u32,
  table_at: u32,   // batch word of [token][pair] (cos, sin) as f32 bits
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> mem: array<f32>;

@compute @workgroup_size(ELEMENT_THREADS)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = element_index(group, groups, lid);
  if (i >= p.n_tokens * p.n_heads * p.n_pairs) {
    return;
  }
  let pair = i % p.n_pairs;
  let head = (i / p.n_pairs) % p.n_heads;
  let t = i / (p.n_pairs * p.n_heads);
  let angle = p.table_at + 2u * (t * p.n_pairs + pair);
  let c = bitcast<f32>(batch[angle]);
  let s = bitcast<f32>(batch[angle + 1u]);
  let v = p.x_at + t * p.x_stride + head * p.head_dim;
  let a = v + select(pair, 2u * pair, p.adjacent != 0u);
  let b = v + select(pair + p.n_pairs, 2u * pair + 1u, p.adjacent != 0u);
  let x0 = mem[a];
  let x1 = mem[b];
  mem[a] = x0 * c - x1 * s;
  mem[b] = x0 * s + x1 * c;
}
